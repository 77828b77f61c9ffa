package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

type requestIDKey struct{}

// requestID returns the id of the request ctx belongs to.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// A client's X-Request-ID is kept only if it is short and plain, so it cannot inject into logs.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// observe is the outermost middleware: it gives each request an id (the client's X-Request-ID if
// sane), answers errors at once so the final status is known, then logs the request and counts it
// by route template and status.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	id := c.Get(fiber.HeaderXRequestID)
	if !requestIDPattern.MatchString(id) {
		id = newRequestID()
	}
	id = string([]byte(id)) // fasthttp reuses the header's memory after the request
	c.Set(fiber.HeaderXRequestID, id)
	ctx := context.WithValue(c.UserContext(), requestIDKey{}, id)
	c.SetUserContext(ctx)

	if err := c.Next(); err != nil {
		if herr := s.fiberErrors(c, err); herr != nil {
			return herr
		}
	}
	status := c.Response().StatusCode()
	// A request no route matched ends on the middleware registered at "/"; label it as one
	// series rather than one per probed path.
	route := c.Route().Path
	if route == "/" && c.Path() != "/" {
		route = "unmatched"
	}
	elapsed := time.Since(start)
	// Fiber's strings point into request memory that the next request reuses; a label value is
	// kept by the registry for good, so it is one of a fixed set or a copy.
	s.metrics.observe(methodLabel(c.Method()), strings.Clone(route), status, elapsed)
	if route != "/livez" && route != "/readyz" {
		s.Log.InfoContext(ctx, "request", "request_id", id, "method", c.Method(), "route", route,
			"status", status, "duration_ms", float64(elapsed.Microseconds())/1000)
	}
	return nil
}

// metrics are the Prometheus collectors, in a registry of the server's own (no global state).
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vetfield_http_requests_total",
			Help: "HTTP requests by method, route template and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vetfield_http_request_duration_seconds",
			Help:    "HTTP request durations by method and route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
	}
	m.registry.MustRegister(m.requests, m.duration,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
}

// methodLabel is the method as a metrics label: one of the methods vetfield serves, or OTHER,
// so probing with made-up methods neither grows the series nor keeps request memory.
func methodLabel(m string) string {
	switch m {
	case fiber.MethodGet:
		return fiber.MethodGet
	case fiber.MethodHead:
		return fiber.MethodHead
	case fiber.MethodPost:
		return fiber.MethodPost
	case fiber.MethodPut:
		return fiber.MethodPut
	case fiber.MethodPatch:
		return fiber.MethodPatch
	case fiber.MethodDelete:
		return fiber.MethodDelete
	case fiber.MethodOptions:
		return fiber.MethodOptions
	}
	return "OTHER"
}
