package api

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humafiber"

	"github.com/vetfield/vetfield/domain"
)

// DefaultPublicRate is how many requests to the public verification routes one client address
// may make per minute: plenty for a buyer scanning a herd's papers, little for a scraper.
const DefaultPublicRate = 120

// SetPublicRate changes the limit of the public routes while the server runs; 0 or less means
// DefaultPublicRate.
func (s *Server) SetPublicRate(perMinute int) {
	if perMinute <= 0 {
		perMinute = DefaultPublicRate
	}
	s.publicRate.Store(int64(perMinute))
}

// rateLimit counts a request of ctx's client address in the current minute, in the store (so
// several processes share the count), and answers ETOOMANY past the limit.
func (s *Server) rateLimit(ctx huma.Context) error {
	limit := int(s.publicRate.Load())
	now := s.Now()
	window := now.Truncate(time.Minute)
	ip := humafiber.Unwrap(ctx).IP()
	key := fmt.Sprintf("rl:public:%s:%d", ip, window.Unix())
	cctx, cancel := context.WithTimeout(ctx.Context(), 2*time.Second)
	defer cancel()
	n, err := s.Store.Incr(cctx, key, 1, window.Add(2*time.Minute))
	if err != nil {
		return err
	}
	if n > int64(limit) {
		wait := window.Add(time.Minute).Sub(now)
		return &domain.Error{Code: domain.ETOOMANY, Message: "too many requests from this address; try again shortly",
			RetryAfterSeconds: max(1, int(wait.Seconds()+0.999))}
	}
	ctx.SetHeader("RateLimit-Limit", strconv.Itoa(limit))
	return nil
}
