package domain

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"
)

// Store is the storage port: the few operations every noun needs, implemented once per engine
// (domain/sqlite, the embedded default; domain/mongo, for deployments that outgrow one machine) and
// checked by one contract suite (domain/storetest). It is deliberately narrow so that adding a noun
// means declaring a CollectionSpec, not writing queries for two engines.
//
// Documents are JSON objects. Index fields are top-level fields of that object and must hold
// strings, integers or booleans; a field used for ordering by time holds a sortable value (Unix
// milliseconds, or a fixed-width UTC string), never a time.Time's variable-width JSON form. Fields
// of a unique index must be present in every document of the collection.
type Store interface {
	// Declare creates the collections and their indexes if missing. It is idempotent and is called
	// once at start-up with every spec vetfield uses.
	Declare(ctx context.Context, specs ...CollectionSpec) error

	// Get returns the document with id, or ENOTFOUND.
	Get(ctx context.Context, coll, id string) (Record, error)

	// GetMany returns the documents with the given ids that exist, in no particular order.
	GetMany(ctx context.Context, coll string, ids []string) ([]Record, error)

	// GetBy returns the one document whose unique index has the given values, or ENOTFOUND.
	GetBy(ctx context.Context, coll, index string, values ...any) (Record, error)

	// Insert stores a new document with Version 1 and returns it as stored. If the id or any unique
	// key is already taken it writes nothing and returns ECONFLICT with Error.Key naming the key
	// ("_id" or the index name), so a retried create can fetch what the first attempt wrote.
	Insert(ctx context.Context, coll string, rec Record) (Record, error)

	// Update replaces the document if its stored version still equals rec.Version (compare and
	// swap) and returns it with Version+1. A moved-on version gives ECONFLICT with Key "_version";
	// a missing document ENOTFOUND; a clash on a unique key ECONFLICT with the index name.
	Update(ctx context.Context, coll string, rec Record) (Record, error)

	// Apply runs a unit of work: the inserts, compare-and-swap updates and counter steps of w, in
	// order, each with the meaning its single-write method has (an insert or update of a synced
	// collection produces its change-log entry). It returns one Result per step, in order. A
	// failed step stops the set: the error is a *StepError naming the step, unwrapping to what
	// the step alone would have returned (ECONFLICT with Key "_id", an index name or "_version";
	// ENOTFOUND). A set that writes one document twice, or has an unknown op, is EINVALID and
	// writes nothing.
	//
	// On every engine the steps are idempotent under the ids the caller gave, so applying the same
	// set again completes a set that was cut short: an insert that finds its id holding exactly
	// its own data and scope at Version 1, and an update that finds its document holding exactly
	// its own data and scope at the read version plus one, count as done and write nothing (no
	// second change-log entry either); see Step.DoneBy. A counter step is not idempotent: applied
	// again, it counts again.
	//
	// Engines differ in how much of the set a failure or a crash can leave, and domain code is
	// written for the weaker guarantee so that it is correct on both:
	//
	//   - SQLite applies the set in one transaction (one commit, one fsync): every step lands or
	//     none does, and a failed step writes nothing at all.
	//   - MongoDB (the adapter uses no multi-document transactions) applies the steps one after
	//     the other. A failure or a crash leaves the steps before it applied, and a reader may see
	//     such a prefix — never a later step without the earlier ones, and never a change-log
	//     entry whose write is not in its document. Applying the set again completes it.
	//
	// So a caller gives every document an id it can derive again (DerivedID), orders the steps
	// so that any prefix is a state it can resume from, rebuilds on a retry the very same set
	// from what it reads (skipping what is visibly done), and takes a counter value it must not
	// lose (a number printed on paper) with Incr before building the set.
	Apply(ctx context.Context, w *Writes) ([]Result, error)

	// List pages through a collection in the order of one declared index; see Query.
	List(ctx context.Context, coll string, q Query) (Page, error)

	// Incr adds delta to the named counter, creating it at 0 first, and returns the new value
	// atomically across processes. A counter with a non-zero expiry may be swept after it; the
	// expiry is set when the counter is created and not moved by later calls, so a key that names
	// a time window (a rate limit) counts that window only.
	Incr(ctx context.Context, key string, delta int64, expires time.Time) (int64, error)

	// Sweep removes counters that expired by now, the documents of expiring collections
	// (CollectionSpec.Expires) whose expiry is at or before now, and whatever else an engine keeps
	// only for a while. It is safe to call from several processes at once, and while others
	// write: a document is removed only if it is expired when it is removed, so one that a
	// compare-and-swap moved on meanwhile is kept, and a compare-and-swap on one that was removed
	// answers ENOTFOUND.
	Sweep(ctx context.Context, now time.Time) error

	// Changes returns entries of the change log with Seq > after, in Seq order, at most limit of
	// them. It never returns an entry while an earlier one may still commit: on an engine where
	// writes commit out of order it stops at the first entry not yet committed (and decides, after
	// a grace period, about entries whose writers died), so a reader that resumes from the last
	// Seq it saw never misses a change.
	Changes(ctx context.Context, after int64, limit int) ([]Change, error)

	// ChangesIn is Changes restricted to the entries indexed under the buckets f selects (see
	// Buckets), with the same promise: entries with Seq > after in Seq order, at most limit,
	// never one while an earlier entry of the log may still commit. Its cost follows the entries
	// in those buckets, not the size of the log, which is how a district's pull costs the same
	// whatever the rest of the country writes. A filter with All is Changes.
	ChangesIn(ctx context.Context, f BucketFilter, after int64, limit int) ([]Change, error)

	// Compact deletes change-log entries that later entries make redundant, looking at a batch
	// of at most limit entries (0 means a default batch) from where the last call stopped; it
	// returns how many it deleted and whether it reached the end of what it may compact (call it
	// again until done). An entry is deleted only if every scope key of its Scope and
	// PrevScope is also a scope key of a later committed entry of the same record, and only
	// below the point where nothing can still commit. So a reader resuming from any checkpoint
	// before a deleted entry still meets, in the same buckets and the same scope keys, a later
	// entry of the record, and reads its current state from there: compaction never makes a
	// checkpoint wrong, nor asks for a resync. The log then holds about one entry per record
	// and scope key it ever had, not one per write. Several processes may compact at once.
	Compact(ctx context.Context, limit int) (deleted int, done bool, err error)

	// Snapshots is the snapshot index a first sync reads.
	Snapshots

	// Ping checks that the engine answers.
	Ping(ctx context.Context) error

	// Close releases the engine.
	Close() error
}

// Record is one stored document.
type Record struct {
	ID string
	// Version is 1 after Insert and grows by one with every Update. Update takes the version the
	// caller read.
	Version int64
	// Scope lists the keys of who may see the document, for sync: for example "t:311010000" (a
	// territory, covering every territory beneath it) or "o:880101300123" (an owner). It is
	// written to the change log with each write of a synced collection; a write whose scope drops
	// a key tells that key's devices to remove the document.
	Scope []string
	// Data is the document itself, a JSON object.
	Data json.RawMessage
}

// CollectionSpec declares a collection and its indexes. Index and field names are ASCII
// identifiers.
type CollectionSpec struct {
	Name    string
	Indexes []Index
	// Synced collections feed the change log on every Insert and Update; the others (accounts,
	// throttles, idempotency records) do not.
	Synced bool
	// Expires, when set, makes the collection's documents expire: it names a top-level field
	// holding Unix milliseconds, and Sweep removes every document whose field is at or before its
	// now (a document without the field, or with a value that is not a number, never expires). The
	// field must lead one of the declared indexes, so a sweep is an index range, and a synced
	// collection cannot expire, since a removal writes no change-log entry. Until a sweep runs an
	// expired document is still there for Get, List and Update: code that reads one decides for
	// itself that it says nothing any more.
	//
	// A removed id may be inserted again, and starts again at Version 1. A caller that updates
	// documents by compare-and-swap must therefore not reuse ids of documents that can expire, or
	// a write based on a read of the removed document could land on its successor at the same
	// version: give each one a fresh id and find it by a unique index instead.
	Expires string
}

// CheckExpires refuses an Expires that an adapter could not sweep with the same meaning on every
// engine: on a synced collection, or naming a field no declared index leads with. Both adapters
// call it in Declare.
func (c CollectionSpec) CheckExpires() error {
	if c.Expires == "" {
		return nil
	}
	if c.Synced {
		return Invalid("expires", "%s is synced: its documents cannot expire", c.Name)
	}
	for _, ix := range c.Indexes {
		if len(ix.Fields) > 0 && ix.Fields[0] == c.Expires {
			return nil
		}
	}
	return Invalid("expires", "the expiry field %q of %s leads none of its indexes", c.Expires, c.Name)
}

// Index is a declared index: List orders by it and GetBy looks up by it when Unique.
type Index struct {
	Name   string
	Fields []string
	Unique bool
}

// Query selects a page of a collection in the order of Index: documents whose first len(Eq)
// index fields equal Eq, optionally with the next index field within [From, To) (either bound may
// be nil), ordered by the remaining index fields and then by id, ascending or Desc.
type Query struct {
	Index string
	Eq    []any
	From  any
	To    any
	Desc  bool
	// After is the Page.Next of the previous page, "" for the first.
	After string
	// Limit is at most MaxPageSize; 0 means DefaultPageSize.
	Limit int
}

// Page sizes: every list in vetfield is paginated with a hard maximum.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// PageLimit is the number of records a page of q holds: DefaultPageSize for 0, at most
// MaxPageSize; a negative limit is EINVALID. Every adapter applies it the same way.
func (q Query) PageLimit() (int, error) {
	switch {
	case q.Limit < 0:
		return 0, Invalid("limit", "limit must not be negative")
	case q.Limit == 0:
		return DefaultPageSize, nil
	case q.Limit > MaxPageSize:
		return MaxPageSize, nil
	}
	return q.Limit, nil
}

// Page is one page of a List. Next is "" on the last page; otherwise it is an opaque cursor for
// Query.After.
type Page struct {
	Records []Record
	Next    string
}

// Change is one entry of the change log: document ID of Collection was written at Seq, leaving it at
// Version with Scope; PrevScope is the scope it had before (nil after an Insert).
type Change struct {
	Seq        int64
	Collection string
	ID         string
	Version    int64
	Scope      []string
	PrevScope  []string
	At         time.Time
}

// Buckets are the partitions of the change log: an entry is indexed under the bucket of every
// scope key of its Scope and PrevScope, so that a pull reads its caller's buckets only. A
// territory key "t:<KATO>" falls in the bucket of its district, the first four digits
// ("t:313245100" in "t:3132"); any other key (an owner "o:<IIN>", "all") is a bucket of its own.
// A bucket is coarser than a scope: a reader filters the entries of its buckets by exact scope.
// On MongoDB the bucket is what a sharded log would be sharded on (see domain/mongo).
func Buckets(scope, prevScope []string) []string {
	out := make([]string, 0, len(scope)+len(prevScope))
	for _, keys := range [][]string{scope, prevScope} {
		for _, k := range keys {
			b := Bucket(k)
			if !slices.Contains(out, b) {
				out = append(out, b)
			}
		}
	}
	return out
}

// districtDigits is how much of a KATO code names its bucket: oblast and district.
const districtDigits = 4

// Bucket is the bucket of one scope key; see Buckets.
func Bucket(key string) string {
	if strings.HasPrefix(key, "t:") && len(key) > 2+districtDigits {
		return key[:2+districtDigits]
	}
	return key
}

// TerritoryBuckets is the filter of the entries that may concern territory t and everything
// beneath it: its district's bucket for a district or anything smaller, every bucket of its
// oblast for an oblast, every territory's for the whole republic (""). Entries of other
// territories' buckets never concern it.
func TerritoryBuckets(t Kato) BucketFilter {
	p := t.Prefix()
	if len(p) >= districtDigits {
		return BucketFilter{Buckets: []string{"t:" + p[:districtDigits]}}
	}
	return BucketFilter{Prefixes: []string{"t:" + p}}
}

// BucketFilter selects buckets of the change log for ChangesIn: every bucket (All), the named
// ones, and those that start with one of Prefixes.
type BucketFilter struct {
	All      bool
	Buckets  []string
	Prefixes []string
}

// With is f with the buckets of g added.
func (f BucketFilter) With(g BucketFilter) BucketFilter {
	return BucketFilter{All: f.All || g.All,
		Buckets:  append(slices.Clip(f.Buckets), g.Buckets...),
		Prefixes: append(slices.Clip(f.Prefixes), g.Prefixes...)}
}

// Matches reports whether f selects bucket b.
func (f BucketFilter) Matches(b string) bool {
	if f.All || slices.Contains(f.Buckets, b) {
		return true
	}
	for _, p := range f.Prefixes {
		if strings.HasPrefix(b, p) {
			return true
		}
	}
	return false
}

// Superseded reports which entries of one record's log (in Seq order) later entries make
// redundant, as Compact defines it: every scope key of the entry is a scope key of a later entry.
// It is the one rule both adapters compact by.
func Superseded(entries []Change) []bool {
	out := make([]bool, len(entries))
	later := map[string]bool{}
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		covered := i < len(entries)-1
		for _, keys := range [][]string{e.Scope, e.PrevScope} {
			for _, k := range keys {
				if !later[k] {
					covered = false
				}
			}
		}
		out[i] = covered
		for _, keys := range [][]string{e.Scope, e.PrevScope} {
			for _, k := range keys {
				later[k] = true
			}
		}
	}
	return out
}

// IndexValue normalises a value given for an index field (GetBy, Query.Eq, From, To) to the forms
// both adapters compare: a string, a bool or an int64; nil stays nil (a missing field). Any other
// integer type, an integral float and a json.Number become int64; anything else is refused.
func IndexValue(v any) (any, bool) {
	switch v := v.(type) {
	case nil, string, bool, int64:
		return v, true
	case int:
		return int64(v), true
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case uint:
		return int64(v), v <= math.MaxInt64
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint64:
		return int64(v), v <= math.MaxInt64
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<63 {
			return int64(v), true
		}
	case float32:
		return IndexValue(float64(v))
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n, true
		}
	}
	return nil, false
}
