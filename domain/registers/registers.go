// Package registers holds what the public registers of the office services share: a search that
// reads a register's pages until it has a page of matches.
package registers

import (
	"context"

	"github.com/vetfield/vetfield/domain"
)

// MaxSearchPages bounds the pages Search reads for one answer.
const MaxSearchPages = 20

// Search reads q's pages of coll, keeping the entities keep accepts, until limit are kept, the
// index ends or MaxSearchPages were read; the cursor it answers continues after the last entity
// read, so a search over a large register pages on without losing or repeating any.
func Search[T any, P domain.Entity[T]](ctx context.Context, s domain.Store, coll string, q domain.Query, limit int, keep func(*T) bool) ([]*T, string, error) {
	if limit <= 0 {
		limit = domain.DefaultPageSize
	}
	out := []*T{}
	for range MaxSearchPages {
		q.Limit = limit - len(out)
		list, next, err := domain.ListEntities[T, P](ctx, s, coll, q)
		if err != nil {
			return nil, "", err
		}
		for _, v := range list {
			if keep(v) {
				out = append(out, v)
			}
		}
		if len(out) >= limit || next == "" {
			return out, next, nil
		}
		q.After = next
	}
	return out, q.After, nil
}
