package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/media"
)

// fieldWork is service 1 wired together: the register of production objects, the inspection
// workflow, and the store of its photos, which the workflow asks to re-check evidence before a
// conclusion.
type fieldWork struct {
	Register    *domain.ObjectRegister
	Inspections *domain.Inspections
	PhotoStore  *media.PhotoStore
}

func newFieldWork(store domain.Store, objects media.Objects, documents *domain.Documents, calendar *domain.Calendar,
	accounts *domain.Accounts, log *slog.Logger, maxPhoto int64) fieldWork {
	register := &domain.ObjectRegister{Store: store, Now: time.Now}
	photos := &domain.Photos{Store: store, Now: time.Now, MaxSize: maxPhoto}
	inspections := &domain.Inspections{Store: store, Now: time.Now, Calendar: calendar, Documents: documents,
		Objects: register, Users: accounts, Photos: photos}
	ps := media.NewPhotoStore(photos, inspections, objects, log, media.PhotoConfig{})
	inspections.Evidence = ps
	return fieldWork{Register: register, Inspections: inspections, PhotoStore: ps}
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
