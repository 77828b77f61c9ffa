package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vetfield/vetfield/media"
)

// uploadSweepEvery is how often abandoned photo uploads are looked for; an upload is abandoned
// after domain.DefaultUploadTTL without bytes, so a few minutes' delay costs nothing.
const uploadSweepEvery = 5 * time.Minute

// sweepUploads ends abandoned photo uploads until ctx is done: their segments (and any half-made
// object) are deleted and they are marked expired. Several processes may sweep at once harmlessly.
func sweepUploads(ctx context.Context, ps *media.PhotoStore, log *slog.Logger) {
	t := time.NewTicker(uploadSweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n, err := ps.Cleanup(ctx, now)
			if err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("sweeping abandoned photo uploads failed", "err", err)
			} else if n > 0 {
				log.Info("swept abandoned photo uploads", "count", n)
			}
		}
	}
}
