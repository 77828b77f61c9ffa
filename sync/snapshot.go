package sync

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/vetfield/vetfield/domain"
)

// The snapshot index (domain.Snapshots) serves a tablet's first sync: instead of replaying the
// change log from its start, with a read of each record it names and a render of each, a first pull
// in format 2 reads the caller's buckets of the index — every record of the district, already
// rendered as the tablet receives it, in one sequential range — and then the log from the
// position the index was complete at. The projector below keeps the index up to date from the log.
//
// Why that is a consistent snapshot: the projector reads a batch of log entries (Store.Changes
// hands out none while an earlier one may still commit), then the records they name, and files
// each record's current state under its buckets; only then does it move its position past the
// batch. So at position P the index holds, for every record with an entry at or before P, a
// version at least as new as that entry's. A pull reads P first, then the index (which may move
// on meanwhile: newer is fine, the client keeps the newest version), then the log after P, which
// has every change the index might not. A version the projector missed was written after it read
// the record, so its entry comes after the batch and a later batch files it.

// ProjectionSpec declares where the projector keeps its position in the change log.
var ProjectionSpec = domain.CollectionSpec{Name: "sync_projection"}

// projectionID is the one document of ProjectionSpec.
const projectionID = "snapshot"

// projection is the projector's position: every log entry at or before Seq is in the index, filed
// in the views of version Views.
type projection struct {
	domain.Meta
	Seq   int64 `json:"seq"`
	Views int   `json:"views"`
}

// The index keeps records as they were rendered, so a release whose views differ (a field added to
// a view, say) must not serve what an older one filed. Each entry's version in the index carries
// the views' version above the record's own (indexVersion), and the position names the views it
// was reached with: when Service.ViewsVersion is not the position's, the projector files the
// whole log again from its start, each entry replacing its older rendering in place, and a reader
// takes only entries of the current views — a record not filed again yet comes from the log, since
// its entries lie after the new position. First pulls read the log meanwhile, as before the index
// existed.
const recordVersionBits = 40

// indexVersion is the version an entry is filed under: the views' version, then the record's.
func (s *Service) indexVersion(record int64) int64 {
	return int64(s.ViewsVersion)<<recordVersionBits | record
}

// recordVersion is the record's version inside an entry's, and whether the entry was rendered by
// the current views.
func (s *Service) recordVersion(index int64) (int64, bool) {
	return index & (1<<recordVersionBits - 1), index>>recordVersionBits == int64(s.ViewsVersion)
}

// projectBatch is how many log entries the projector takes at once.
const projectBatch = 1000

// Project brings the snapshot index up to date with the change log, at most rounds batches, and
// reports how many records it filed and whether it reached the end of the log. Several processes
// may project at once: a batch filed twice is filed the same, and the position only moves forward.
func (s *Service) Project(ctx context.Context, rounds int) (filed int, done bool, err error) {
	for range rounds {
		pos, err := s.projected(ctx)
		if err != nil {
			return filed, false, err
		}
		entries, err := s.Store.Changes(ctx, pos.Seq, projectBatch)
		if err != nil {
			return filed, false, err
		}
		if len(entries) == 0 {
			return filed, true, nil
		}
		n, err := s.file(ctx, entries)
		if err != nil {
			return filed, false, err
		}
		filed += n
		if err := s.advance(ctx, pos, entries[len(entries)-1].Seq); err != nil {
			return filed, false, err
		}
		if len(entries) < projectBatch {
			return filed, true, nil
		}
	}
	return filed, false, nil
}

// ProjectAll files the whole change log in the snapshot index, for tests, benchmarks and tools that
// need the index complete now; the server projects in the background (cmd/vetfield).
func (s *Service) ProjectAll(ctx context.Context) error {
	for {
		_, done, err := s.Project(ctx, 100)
		if err != nil || done {
			return err
		}
	}
}

// projected reads the projector's position under the current views: 0 before it ever ran, and
// when the position was reached with other views (the index is then being filed again).
func (s *Service) projected(ctx context.Context) (*projection, error) {
	p, err := domain.GetEntity[projection](ctx, s.Store, ProjectionSpec.Name, projectionID)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return &projection{Meta: domain.Meta{ID: projectionID}, Views: s.ViewsVersion}, nil
	}
	if err == nil && p.Views != s.ViewsVersion {
		p.Seq, p.Views = 0, s.ViewsVersion
	}
	return p, err
}

// advance moves the position from pos to seq, unless another projector moved it further.
func (s *Service) advance(ctx context.Context, pos *projection, seq int64) error {
	return domain.RetryCAS(ctx, func() error {
		if pos.Seq >= seq {
			return nil
		}
		fresh := pos.Version == 0
		pos.Seq = seq
		var err error
		if fresh {
			err = domain.InsertEntity(ctx, s.Store, ProjectionSpec.Name, pos, nil)
		} else {
			err = domain.UpdateEntity(ctx, s.Store, ProjectionSpec.Name, pos, nil)
		}
		if err == nil || !domain.IsCode(err, domain.ECONFLICT) {
			return err
		}
		// Another projector wrote the position first: read it and try again from there.
		current, rerr := s.projected(ctx)
		if rerr != nil {
			return rerr
		}
		*pos = *current
		return domain.Again(err)
	}, "the snapshot position is busy")
}

// file writes the current state of the records that entries name into the index: under each
// bucket of the record's scope, and as gone from each bucket the entries had it in and it has left.
func (s *Service) file(ctx context.Context, entries []domain.Change) (int, error) {
	type key struct{ coll, id string }
	was := map[key][]string{}
	ids := map[string][]string{}
	for _, e := range entries {
		k := key{e.Collection, e.ID}
		if _, ok := was[k]; !ok {
			ids[e.Collection] = append(ids[e.Collection], e.ID)
		}
		was[k] = append(was[k], domain.SnapshotBuckets(slices.Concat(e.Scope, e.PrevScope))...)
	}
	var out []domain.SnapshotEntry
	for coll, list := range ids {
		slices.Sort(list)
		for start := 0; start < len(list); start += domain.MaxPageSize {
			recs, err := s.Store.GetMany(ctx, coll, list[start:min(start+domain.MaxPageSize, len(list))])
			if err != nil {
				return 0, err
			}
			for _, r := range recs {
				now, left := domain.SnapshotBuckets(r.Scope), was[key{coll, r.ID}]
				if len(now) == 0 && len(left) == 0 {
					continue // a record of owners only (domain.SnapshotBuckets): the log serves it
				}
				// Rendered even when the record left every bucket, for its cluster: the entry it
				// leaves behind must have the key it was filed by.
				data, err := s.render(ctx, true, coll, r) // the index serves staff only
				if err != nil {
					return 0, err
				}
				cluster := clusterOf(data, s.ClusterBy[coll])
				for _, b := range now {
					out = append(out, domain.SnapshotEntry{Bucket: b, Cluster: clusterIn(b, coll, cluster), Collection: coll, ID: r.ID,
						Version: s.indexVersion(r.Version), Scope: r.Scope, Data: data})
				}
				for _, b := range left {
					if !slices.Contains(now, b) {
						// The cluster of a record does not change (it names what the record is about),
						// so the entry left behind has the key this one has.
						out = append(out, domain.SnapshotEntry{Bucket: b, Cluster: clusterIn(b, coll, cluster), Collection: coll, ID: r.ID,
							Version: s.indexVersion(r.Version), Scope: r.Scope})
						now = append(now, b) // once
					}
				}
			}
		}
	}
	return len(out), s.Store.PutSnapshot(ctx, out)
}

// clusterIn is the cluster a record of coll is filed by in bucket b: reference data ("all") by
// collection, so a first sync reads the calendar, the restrictions in force and the territories
// each in one run before any district record; everything else by its ClusterBy field.
func clusterIn(b, coll, cluster string) string {
	if b == ScopeAll {
		return coll
	}
	return cluster
}

// clusterOf reads the string at path (dotted) in a rendered record, "" when path is "" or the
// record has no string there.
func clusterOf(data json.RawMessage, path string) string {
	if path == "" || len(data) == 0 {
		return ""
	}
	for part := range strings.SplitSeq(path, ".") {
		var obj map[string]json.RawMessage
		if json.Unmarshal(data, &obj) != nil {
			return ""
		}
		data = obj[part]
	}
	var s string
	if json.Unmarshal(data, &s) != nil || strings.ContainsFunc(s, func(r rune) bool { return r <= 0x20 || r >= 0x7f }) {
		return "" // a key part is printable ASCII (domain.SnapshotEntry.Key)
	}
	return s
}
