package mongo

import (
	"context"
	"time"
)

// WithWriteDelay makes every write of a synced collection wait delay() after it has taken its
// place in the change log and before it writes the document: writes then commit out of order, as
// they do across busy processes. It exists for fault-injection tests of sync (pull must never
// skip the late write) and has no use in production.
func WithWriteDelay(delay func() time.Duration) Option {
	return func(s *Store) {
		s.afterLog = func(ctx context.Context, _ int64) error {
			select {
			case <-time.After(delay()):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}
