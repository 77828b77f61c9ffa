package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

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
	if de.Details != nil {
		return &Problem{ErrorModel: *p, Grounds: de.Details}
	}
	return p
}

// Problem is an RFC 9457 problem with vetfield's one extension member: the grounds of a refusal
// (a dispatch the epizootic situation refuses), each in Kazakh and Russian, as a reference's
// refusal cites them.
type Problem struct {
	huma.ErrorModel
	Grounds any `json:"grounds,omitempty" doc:"Why the request is refused: each ground with its code and its text in Kazakh and Russian"`
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

// The framework's own refusals (a body that is not JSON, a value of the wrong type, a schema
// violation) are built here too, so they read like vetfield's: huma's default echoes the whole
// body as the error's value — a password included — and passes on encoding/json's text, which
// speaks of Go struct fields. Installed once for the process; the framework has no per-API hook.
func init() {
	huma.NewError = newProblem
	huma.NewErrorWithContext = func(_ huma.Context, status int, msg string, errs ...error) huma.StatusError {
		return newProblem(status, msg, errs...)
	}
}

// maxProblemText bounds any message in a problem, so no input is ever answered at its own size.
const maxProblemText = 300

// newProblem is an RFC 9457 problem with the location and a clean message of each error, never a
// value the client sent.
func newProblem(status int, msg string, errs ...error) huma.StatusError {
	p := &huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: cleanMessage(msg)}
	for _, err := range errs {
		if err == nil {
			continue
		}
		d := &huma.ErrorDetail{Message: err.Error()}
		var ed huma.ErrorDetailer
		if errors.As(err, &ed) {
			d = ed.ErrorDetail()
		}
		p.Errors = append(p.Errors, &huma.ErrorDetail{Location: d.Location, Message: cleanMessage(d.Message)})
	}
	if len(p.Errors) == 1 && (p.Detail == "" || p.Detail == "validation failed") {
		p.Detail = p.Errors[0].Message
	}
	return p
}

// cleanMessage keeps what a client may read of a framework message: decoder text about Go types
// becomes a sentence about the input, and nothing is longer than maxProblemText.
func cleanMessage(m string) string {
	switch {
	case strings.Contains(m, "Go struct field") || strings.Contains(m, "Go value") || strings.Contains(m, "cannot unmarshal"):
		return "a value has the wrong type or is out of range"
	case strings.HasPrefix(m, "invalid character") || strings.Contains(m, "unexpected end of JSON") ||
		strings.HasPrefix(m, "json:") || strings.Contains(m, "looking for beginning of"):
		return "the body is not valid JSON"
	}
	if r := []rune(m); len(r) > maxProblemText {
		return string(r[:maxProblemText]) + "…"
	}
	return m
}
