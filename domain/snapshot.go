package domain

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
)

// Snapshots is the part of the storage port that serves a tablet's first sync from the records
// themselves instead of replaying the change log: the snapshot index, a copy of every synced
// record as a tablet receives it (its rendered wire form), filed under each territory bucket of
// its scope (see Bucket) and ordered by bucket, cluster (see SnapshotEntry), collection and id.
// The sync service keeps it up to date from the change log (a projection: it may lag the log,
// never run ahead of what it read) and says up to which log position it is complete; a first pull
// reads the caller's buckets of the index in key order, a sequential range on every engine, then
// the log from that position.
//
// The index is a cache of the records, filed again from the log whenever the shapes it keeps
// change (sync.Service.ViewsVersion), and nothing but a first sync reads it.
type Snapshots interface {
	// PutSnapshot stores entries: each replaces the stored entry of its key unless that one has a
	// higher Version, so concurrent writers, and a writer repeating a batch after a crash, leave
	// every key at the newest version anyone wrote. An entry with nil Data says the record has left
	// the bucket (it is kept, with its version, so an older write cannot bring it back).
	PutSnapshot(ctx context.Context, entries []SnapshotEntry) error

	// Snapshot returns the entries with Data whose keys are in r and after after ("" for the
	// start), in key order, at most limit of them (at most MaxSnapshotPage), and next, the key to
	// read on after: "" once the range holds nothing more. A page may be empty with a next (it
	// held only records gone from the bucket).
	Snapshot(ctx context.Context, r SnapshotRange, after string, limit int) (entries []SnapshotEntry, next string, err error)
}

// MaxSnapshotPage bounds one read of the snapshot index: a whole pull page (sync's largest limit),
// so that a first sync's page is one range read.
const MaxSnapshotPage = 5000

// SnapshotEntry is one record of the snapshot index, in one bucket.
type SnapshotEntry struct {
	Bucket string
	// Cluster puts records that refer to one another side by side in the index: an animal, its
	// passport and its history share the animal's id, so a page of a first sync carries them
	// together and its compression finds the ids they repeat. A record with no cluster of its own
	// is its own (its id).
	Cluster    string
	Collection string
	ID         string
	Version    int64
	Scope      []string
	// Data is the record as a tablet receives it; nil when the record has left the bucket.
	Data json.RawMessage
}

// snapshotSep separates the parts of a snapshot key. It sorts before every character a bucket, a
// cluster, a collection name or an id holds (all printable ASCII), so keys sort as (bucket,
// cluster, collection, id) tuples and every key of a bucket starts with the bucket and the
// separator.
const snapshotSep = "\x1f"

// Key is the entry's key in the index: bucket, cluster, collection and id, in that order.
func (e SnapshotEntry) Key() string {
	cluster := e.Cluster
	if cluster == "" {
		cluster = e.ID
	}
	return e.Bucket + snapshotSep + cluster + snapshotSep + e.Collection + snapshotSep + e.ID
}

// ParseSnapshotKey fills the bucket, cluster, collection and id of e from a key made by Key.
func ParseSnapshotKey(k string, e *SnapshotEntry) bool {
	var ok1, ok2, ok3 bool
	e.Bucket, k, ok1 = strings.Cut(k, snapshotSep)
	e.Cluster, k, ok2 = strings.Cut(k, snapshotSep)
	e.Collection, e.ID, ok3 = strings.Cut(k, snapshotSep)
	return ok1 && ok2 && ok3
}

// SnapshotRange is a range of snapshot keys, From included and To not.
type SnapshotRange struct{ From, To string }

// SnapshotRanges are the ranges of the snapshot index that hold the buckets f selects, in key
// order (All selects no range: nobody reads the whole index at once).
func SnapshotRanges(f BucketFilter) []SnapshotRange {
	var out []SnapshotRange
	for _, b := range f.Buckets {
		// Every key of b, and only those: b, the separator, anything.
		out = append(out, SnapshotRange{From: b + snapshotSep, To: b + "\x20"})
	}
	for _, p := range f.Prefixes {
		out = append(out, SnapshotRange{From: p, To: p + "\x7f"})
	}
	return out
}

// SnapshotBuckets are the buckets of the snapshot index a record with scope is filed under: the
// bucket of each territory key, and "all" for reference data. Owners' keys are left out: a
// farmer's records are few, and the change log serves them at once.
func SnapshotBuckets(scope []string) []string {
	var out []string
	for _, k := range scope {
		if k != "all" && !strings.HasPrefix(k, "t:") {
			continue
		}
		if b := Bucket(k); !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}
