package storetest

import (
	"sync"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// Clock is a frozen clock a test moves by hand, safe for concurrent use; inject its Now wherever
// vetfield takes a domain.Clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set stops the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Almaty is the local time in Asia/Almaty of a civil date ("2026-03-20") at hour:minute, for
// tests that set clocks and deadlines the way people read them.
func Almaty(date string, hour, minute int) time.Time {
	d, err := domain.ParseCivilDate(date)
	if err != nil {
		panic(err)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), hour, minute, 0, 0, domain.Almaty)
}
