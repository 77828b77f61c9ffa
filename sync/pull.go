package sync

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
)

// Item is one record in a pull: an upsert with the record's current data, or a removal (Deleted)
// when the record left the caller's scope.
type Item struct {
	Collection string          `json:"collection"`
	ID         string          `json:"id"`
	Version    int64           `json:"version"`
	Deleted    bool            `json:"deleted,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
}

// PullResult is one page of changes.
type PullResult struct {
	Items []Item `json:"items"`
	// Checkpoint is where the next pull starts; opaque to clients.
	Checkpoint string `json:"checkpoint"`
	// More is true when the client should pull again at once.
	More bool `json:"more"`
	// Resync is true when the checkpoint no longer fits the user (the role or territory changed,
	// or it belongs to another user): the client must drop its replica and pull from the start.
	Resync bool `json:"resync,omitempty"`
}

// Pull limits.
const (
	DefaultPullLimit = 500
	MaxPullLimit     = 5000
	// changesBatch is how many log entries one read of the log takes.
	changesBatch = 1000
	// maxScanned bounds the log entries one pull looks at, so a user whose scope is a small part
	// of their buckets (a rural district's vet in a busy district) gets an answer (with More) in
	// bounded time.
	maxScanned = 50_000
)

// checkpoint is what a client's opaque checkpoint holds.
type checkpoint struct {
	Seq   int64  `json:"s"`
	Epoch int64  `json:"e"`
	User  string `json:"u"`
}

func (c checkpoint) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCheckpoint(s string) (checkpoint, error) {
	var c checkpoint
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 512 || json.Unmarshal(b, &c) != nil || c.Seq < 0 {
		return c, domain.Invalid("checkpoint", "the checkpoint is not one this server gave")
	}
	return c, nil
}

// Service answers pulls and pushes.
type Service struct {
	Store    domain.Store
	Accounts *accounts.Accounts
	Now      domain.Clock
	// Handlers apply pushed mutations, by Mutation.Kind.
	Handlers map[string]Handler
	// Views turn a stored record into what a tablet receives, by collection: the same view the
	// API answers for that record, never the stored JSON with its index fields and bookkeeping.
	// The api package installs one for every synced collection; a collection without one (a
	// test's own) travels as stored.
	Views map[string]View
}

// A View renders a stored record of one collection for the wire.
type View func(ctx context.Context, rec domain.Record) (any, error)

// render is rec as a tablet receives it.
func (s *Service) render(ctx context.Context, coll string, rec domain.Record) (json.RawMessage, error) {
	view := s.Views[coll]
	if view == nil {
		return rec.Data, nil
	}
	v, err := view(ctx, rec)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, domain.Internal("render "+coll+" "+rec.ID, err)
	}
	return b, nil
}

// Pull answers the changes in the scope of user u since cp, at most limit items.
func (s *Service) Pull(ctx context.Context, u *accounts.User, device, cp string, limit int) (*PullResult, error) {
	if limit <= 0 {
		limit = DefaultPullLimit
	}
	limit = min(limit, MaxPullLimit)
	p := u.Principal()
	from := checkpoint{User: u.ID, Epoch: u.ScopeEpoch}
	if cp != "" {
		c, err := decodeCheckpoint(cp)
		if err != nil {
			return nil, err
		}
		if c.User != u.ID || c.Epoch != u.ScopeEpoch {
			return &PullResult{Items: []Item{}, Checkpoint: from.encode(), Resync: true}, nil
		}
		from.Seq = c.Seq
	}

	// Walk the caller's buckets of the log, keeping the last entry per record that touched the
	// caller's scope.
	type key struct{ coll, id string }
	touched := map[key]int{} // index into order
	var order []key
	seq, scanned, more := from.Seq, 0, false
	buckets := bucketsOf(p)
walk:
	for {
		entries, err := s.Store.ChangesIn(ctx, buckets, seq, changesBatch)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !inScope(p, e.Scope) && !inScope(p, e.PrevScope) {
				seq, scanned = e.Seq, scanned+1
				continue
			}
			k := key{e.Collection, e.ID}
			if _, ok := touched[k]; !ok {
				if len(order) == limit {
					more = true // this entry starts the next page
					break walk
				}
				touched[k] = len(order)
				order = append(order, k)
			}
			seq, scanned = e.Seq, scanned+1
		}
		if len(entries) < changesBatch {
			break
		}
		if scanned >= maxScanned {
			more = true
			break
		}
	}

	// Read the records' current state: what a client needs is the latest, and a record whose
	// current scope no longer includes the caller goes out as a removal even if it was in scope
	// at the logged write (a later entry says the same).
	ids := map[string][]string{}
	for _, k := range order {
		ids[k.coll] = append(ids[k.coll], k.id)
	}
	current := map[key]domain.Record{}
	for coll, list := range ids {
		slices.Sort(list) // the id index is then walked in order, page after page

		for start := 0; start < len(list); start += domain.MaxPageSize {
			recs, err := s.Store.GetMany(ctx, coll, list[start:min(start+domain.MaxPageSize, len(list))])
			if err != nil {
				return nil, err
			}
			for _, r := range recs {
				current[key{coll, r.ID}] = r
			}
		}
	}
	res := &PullResult{Items: make([]Item, 0, len(order)), More: more}
	for _, k := range order {
		r, ok := current[k]
		if ok && inScope(p, r.Scope) {
			data, err := s.render(ctx, k.coll, r)
			if err != nil {
				return nil, err
			}
			res.Items = append(res.Items, Item{Collection: k.coll, ID: k.id, Version: r.Version, Data: data})
		} else {
			res.Items = append(res.Items, Item{Collection: k.coll, ID: k.id, Version: r.Version, Deleted: true})
		}
	}
	res.Checkpoint = checkpoint{Seq: seq, Epoch: u.ScopeEpoch, User: u.ID}.encode()
	if err := s.notePull(ctx, u, device, seq); err != nil {
		return nil, err
	}
	return res, nil
}

// now returns the service's time.
func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}
