package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"

	"github.com/vetfield/vetfield/domain"
)

// statusOf is the one table that turns a domain error code into an HTTP status.
var statusOf = map[string]int{
	domain.EINVALID:      http.StatusUnprocessableEntity,
	domain.ENOTFOUND:     http.StatusNotFound,
	domain.ECONFLICT:     http.StatusConflict,
	domain.EUNAUTHORIZED: http.StatusUnauthorized,
	domain.EFORBIDDEN:    http.StatusForbidden,
	domain.ETOOMANY:      http.StatusTooManyRequests,
	domain.EUNAVAILABLE:  http.StatusServiceUnavailable,
	domain.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	domain.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	domain.EGONE:         http.StatusGone,
	domain.EPRECONDITION: http.StatusConflict,
	domain.EINTERNAL:     http.StatusInternalServerError,
}

// problemContentType is RFC 9457's media type; every error vetfield answers has it.
const problemContentType = "application/problem+json"

// problem turns any error from the domain into an RFC 9457 problem that huma writes. Messages of
// domain errors are written for the caller; anything else is logged with the request id and
// answered as "internal error", so no driver or Go error text reaches a client.
func (s *Server) problem(ctx context.Context, err error) error {
	var de *domain.Error
	if !errors.As(err, &de) || de.Code == domain.EINTERNAL {
		s.Log.ErrorContext(ctx, "internal error", "request_id", requestID(ctx), "err", err)
		return &huma.ErrorModel{Status: 500, Title: http.StatusText(500), Detail: "internal error"}
	}
	status, ok := statusOf[de.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if de.Code == domain.EUNAVAILABLE {
		s.Log.WarnContext(ctx, "dependency unavailable", "request_id", requestID(ctx), "err", err)
	}
	p := &huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: de.Message}
	if de.Field != "" {
		p.Errors = []*huma.ErrorDetail{{Message: de.Message, Location: de.Field}}
	}
	if de.RetryAfterSeconds > 0 {
		return huma.ErrorWithHeaders(p, http.Header{"Retry-After": {strconv.Itoa(de.RetryAfterSeconds)}})
	}
	return p
}

// fiberErrors answers errors that never reach a huma operation — unknown routes, wrong methods,
// bodies over Fiber's limit, panics — in the same problem shape.
func (s *Server) fiberErrors(c *fiber.Ctx, err error) error {
	status := http.StatusInternalServerError
	detail := "internal error"
	var fe *fiber.Error
	if errors.As(err, &fe) {
		status = fe.Code
		switch status {
		case http.StatusNotFound:
			detail = "no such route: " + c.Method() + " " + c.Path()
		case http.StatusMethodNotAllowed:
			detail = "this route does not take " + c.Method()
		case http.StatusRequestEntityTooLarge:
			detail = "the request body is too large"
		default:
			detail = http.StatusText(status)
		}
	} else {
		s.Log.ErrorContext(c.UserContext(), "internal error", "request_id", requestID(c.UserContext()), "err", err)
	}
	p := huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: detail}
	c.Set(fiber.HeaderContentType, problemContentType)
	return c.Status(status).JSON(p, problemContentType)
}
