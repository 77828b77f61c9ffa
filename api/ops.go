package api

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// livez answers GET /livez: the process is up.
func (s *Server) livez(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz answers GET /readyz: 200 while the database and the object store answer and the
// server is not shutting down; 503 otherwise, so a load balancer sends work elsewhere.
func (s *Server) readyz(c *fiber.Ctx) error {
	if s.draining.Load() {
		return s.notReady(c, "shutting down")
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		s.Log.WarnContext(ctx, "readiness: database", "err", err)
		return s.notReady(c, "the database does not answer")
	}
	if s.Objects != nil {
		if err := s.Objects.Ping(ctx); err != nil {
			s.Log.WarnContext(ctx, "readiness: object store", "err", err)
			return s.notReady(c, "the object store does not answer")
		}
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

func (s *Server) notReady(c *fiber.Ctx, detail string) error {
	return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{
		"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": detail,
	}, problemContentType)
}
