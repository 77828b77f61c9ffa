package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/media"
)

// compactRounds bounds one sweep's compaction of the change log; what is left waits for the next
// sweep, so a large backlog (the first sweep after an upgrade) never holds the sweep for long.
const compactRounds = 500

// compactChanges deletes the change-log entries that later ones make redundant (domain.Store.
// Compact), batch after batch until the store says it is done or compactRounds batches have run.
// Several processes may compact at once; a device's checkpoint stays valid whatever is deleted.
func compactChanges(ctx context.Context, store domain.Store, log *slog.Logger) {
	total := 0
	for range compactRounds {
		n, done, err := store.Compact(ctx, 0)
		total += n
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				log.Warn("compacting the change log failed", "err", err)
			}
			break
		}
		if done {
			break
		}
	}
	if total > 0 {
		log.Info("compacted the change log", "deleted", total)
	}
}

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
