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

// checkpoint is what a client's opaque checkpoint holds: a position in the change log, and while
// a first pull in format 2 reads the snapshot index, where in it (Snap); the position is then the
// one the index was complete at, where the log takes over.
type checkpoint struct {
	Seq   int64       `json:"s"`
	Epoch int64       `json:"e"`
	User  string      `json:"u"`
	Snap  *snapCursor `json:"n,omitempty"`
}

// snapCursor is a place in the snapshot index: the range being read (an index into the caller's
// ranges, reference data first) and the last key read in it.
type snapCursor struct {
	Range int    `json:"r"`
	After string `json:"k,omitempty"`
}

func (c checkpoint) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCheckpoint(s string) (checkpoint, error) {
	var c checkpoint
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 512 || json.Unmarshal(b, &c) != nil || c.Seq < 0 || (c.Snap != nil && c.Snap.Range < 0) {
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
	// CompactViews replace Views in format 2 for the staff whose tablets keep a territory (and in
	// the snapshot index, which serves them), where such a tablet needs less than the API answers:
	// a district's passports without their QR codes. Farmers' pages keep the full views.
	CompactViews map[string]View
	// ClusterBy names, by collection, the field of a record's format 2 view (a dotted path) that
	// holds the id it is filed beside in the snapshot index (domain.SnapshotEntry.Cluster): an
	// animal's passport and history events name the animal. The field must never change over the
	// record's life (a record that leaves a bucket is marked gone under the key it was filed by). A
	// collection without one is filed by its own id.
	ClusterBy map[string]string
	// ViewsVersion names the shapes Views, CompactViews and ClusterBy give records. The snapshot
	// index keeps records as rendered, so a release that changes a shape raises it, and the
	// index is filed again (see indexVersion).
	ViewsVersion int
}

// A View renders a stored record of one collection for the wire.
type View func(ctx context.Context, rec domain.Record) (any, error)

// render is rec as a tablet receives it: in its compact view (CompactViews) or its full one.
func (s *Service) render(ctx context.Context, compact bool, coll string, rec domain.Record) (json.RawMessage, error) {
	view := s.Views[coll]
	if v := s.CompactViews[coll]; compact && v != nil {
		view = v
	}
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

// Pull answers the changes in the scope of user u since cp, at most limit items, in format 1.
func (s *Service) Pull(ctx context.Context, u *accounts.User, device, cp string, limit int) (*PullResult, error) {
	pg, err := s.pull(ctx, u, device, cp, limit, FormatItems)
	if err != nil {
		return nil, err
	}
	return &PullResult{Items: pg.items, Checkpoint: pg.checkpoint, More: pg.more, Resync: pg.resync}, nil
}

// page is one pull's answer before it is laid out in its format.
type page struct {
	items      []Item
	checkpoint string
	more       bool
	resync     bool
	// seq is the log position the checkpoint stands at, for supervision (Device.CheckpointSeq).
	seq int64
}

// pull answers one page in format f: from the snapshot index while a first pull in format 2 reads
// it, from the change log otherwise.
func (s *Service) pull(ctx context.Context, u *accounts.User, device, cp string, limit int, f Format) (*page, error) {
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
		// A snapshot checkpoint read on in format 1 would lose what the snapshot has not sent yet.
		if c.User != u.ID || c.Epoch != u.ScopeEpoch || (c.Snap != nil && f != FormatCollections) {
			return &page{items: []Item{}, checkpoint: from.encode(), resync: true}, nil
		}
		from = c
	} else if f == FormatCollections && pullsTerritory(p) {
		pos, err := s.projected(ctx)
		if err != nil {
			return nil, err
		}
		if pos.Seq > 0 {
			from.Seq, from.Snap = pos.Seq, &snapCursor{}
		}
	}
	var pg *page
	var err error
	if from.Snap != nil {
		pg, err = s.fromSnapshot(ctx, p, from, limit)
	} else {
		pg, err = s.fromLog(ctx, p, from, limit, f)
	}
	if err != nil {
		return nil, err
	}
	if err := s.notePull(ctx, u, device, pg.seq); err != nil {
		return nil, err
	}
	return pg, nil
}

// fromSnapshot reads the next page of the caller's ranges of the snapshot index, reference data
// first; after the last range the checkpoint goes over to the log at the index's position.
func (s *Service) fromSnapshot(ctx context.Context, p domain.Principal, from checkpoint, limit int) (*page, error) {
	ranges := snapshotRanges(p)
	cur := *from.Snap
	pg := &page{items: make([]Item, 0, limit)}
	// A rural district's vet reads the district's range and keeps its own part: the scan is bounded
	// as the log's is, so a page comes in bounded time.
	for scanned := 0; cur.Range < len(ranges) && len(pg.items) < limit && scanned < maxScanned; {
		entries, next, err := s.Store.Snapshot(ctx, ranges[cur.Range], cur.After, min(limit-len(pg.items), domain.MaxSnapshotPage))
		if err != nil {
			return nil, err
		}
		scanned += len(entries)
		for _, e := range entries {
			if v, current := s.recordVersion(e.Version); current && inScope(p, e.Scope) {
				pg.items = append(pg.items, Item{Collection: e.Collection, ID: e.ID, Version: v, Data: e.Data})
			}
		}
		if next == "" {
			cur = snapCursor{Range: cur.Range + 1}
		} else {
			cur.After = next
		}
	}
	next := checkpoint{Seq: from.Seq, Epoch: from.Epoch, User: from.User}
	if cur.Range < len(ranges) {
		next.Snap = &cur
	}
	// The log after the index's position is still to come.
	pg.checkpoint, pg.more, pg.seq = next.encode(), true, from.Seq
	return pg, nil
}

// snapshotRanges are the ranges of the snapshot index a first pull of p reads, reference data
// first, so that a tablet with a minute of signal knows the restrictions in force before anything
// else.
func snapshotRanges(p domain.Principal) []domain.SnapshotRange {
	return domain.SnapshotRanges(domain.BucketFilter{Buckets: []string{ScopeAll}}.With(domain.TerritoryBuckets(p.Territory)))
}

// fromLog reads the caller's buckets of the change log after from, keeping the last entry per
// record that touched the caller's scope, and answers each record's current state.
func (s *Service) fromLog(ctx context.Context, p domain.Principal, from checkpoint, limit int, f Format) (*page, error) {
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
	pg := &page{items: make([]Item, 0, len(order)), more: more}
	for _, k := range order {
		r, ok := current[k]
		if ok && inScope(p, r.Scope) {
			data, err := s.render(ctx, f == FormatCollections && pullsTerritory(p), k.coll, r)
			if err != nil {
				return nil, err
			}
			pg.items = append(pg.items, Item{Collection: k.coll, ID: k.id, Version: r.Version, Data: data})
		} else {
			pg.items = append(pg.items, Item{Collection: k.coll, ID: k.id, Version: r.Version, Deleted: true})
		}
	}
	pg.checkpoint, pg.seq = checkpoint{Seq: seq, Epoch: from.Epoch, User: from.User}.encode(), seq
	return pg, nil
}

// now returns the service's time.
func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}
