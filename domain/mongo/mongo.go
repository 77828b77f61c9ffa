// Package mongo implements domain.Store on MongoDB through the official driver, for deployments
// that outgrow one machine: several vetfield processes behind a load balancer, one replica set.
//
// It relies on nothing MongoDB-compatible engines commonly lack (its tests run against FerretDB
// 1.24): no multi-document transactions, change streams, TTL or geospatial indexes, and — because
// FerretDB 1.24 applies an update as a separate read and write, so two concurrent updates of one
// document can both "succeed" — no read-modify-write of shared state either. Everything several
// processes must agree on is decided by inserting a document with a chosen _id: exactly one insert
// of an _id can succeed, on any engine.
//
// # Documents
//
// A document is stored natively: _id is the id, _v the version, _scope the scope, _seq (synced
// collections only) the write that produced this version — see below — and the JSON data's
// top-level fields sit alongside, so the declared indexes are ordinary MongoDB indexes. Data may
// therefore not use top-level keys starting with '_', nor keys starting with '$' or containing '.'.
//
// Documents are never deleted, except by Sweep in an expiring collection (CollectionSpec.Expires,
// never a synced one): one deleteMany of the documents whose expiry field is a number at or before
// now, each document's deletion atomic on its own (no TTL index, which FerretDB lacks).
//
// # Counters
//
// MongoDB would count with one findOneAndUpdate($inc), but FerretDB 1.24 loses increments under
// concurrency (8 goroutines × 25 increments ended at 29 in a test). Incr therefore appends: a
// counter is a run of documents {_id: key#n, k, n, v, exp, at}; the next increment reads the
// highest n and inserts n+1 with v+delta, retrying when another process took n+1 first. Slots
// older than ten minutes are pruned as it goes, and Sweep deletes the slots of expired counters.
//
// # Units of work
//
// Apply has no transaction to lean on, so a unit of work is a list of ordered idempotent steps,
// each one of the single writes above with its own change-log entry. The guarantee is weaker
// than SQLite's one transaction, and precisely this:
//
//   - steps run in the order given, each only after the one before it succeeded; the first
//     failure (a conflict, a missing document, a dead connection) stops the set and is reported
//     as a *domain.StepError naming the step;
//   - the steps before a failure or a crash stay applied: a reader (Get, List, Changes, another
//     process) may see any prefix of the set, but never a step without every step before it;
//   - applying the same set again completes it. An insert whose id already holds exactly the
//     step's data and scope at Version 1, and an update whose document already holds exactly the
//     step's data and scope at the read version plus one, count as done, so the retry skips what
//     the first run wrote and writes the rest. The change log then holds one entry per write, the
//     first run's: a reader of it meets every entry with its document existing at that version or
//     later, since an entry is only emitted once its write is known to be in the document;
//   - a counter step is not idempotent: a retry counts again.
//
// Callers therefore choose ids they can derive again (domain.DerivedID), rebuild the same set on
// a retry, order the steps so that every prefix is a state they can resume from, and take a
// counter value that must not change between attempts before they build the set.
//
// # The change log
//
// Writes of synced collections are logged in _changes, one immutable entry per write:
// {_id: seq, coll, id, v, scope, prev_scope, b, w, prev, at}. Whether an entry counts is decided by a
// second immutable document, {_id: seq, ok} in _outcomes; no outcome yet means pending. A writer:
//
//  1. takes seq = the highest _id in _changes + 1 by inserting its pending entry with that _id,
//     retrying with the next seq when another writer took it. So seqs are never skipped: entry
//     n+1 can only be inserted once entry n exists;
//  2. writes the document with _seq = w, where w is the entry's seq (its write identity), with an
//     insert or a compare-and-swap on _v;
//  3. inserts the outcome: ok=false if the write definitely failed (duplicate key, version moved
//     on, not found), then returns the error; ok=true if it succeeded. If a reader already
//     inserted ok=false for it (it gave up on this writer), the write is logged again: a new entry
//     with a new seq and the same w, committed the same way, so readers that passed the old seq
//     still get the change. After an ambiguous failure (a network error) the writer leaves the
//     entry pending for a reader to decide.
//
// A reader (Changes) walks entries with _id > after in order and emits those whose outcome is ok,
// skips those whose outcome is not, and STOPS at the first entry without an outcome, or at a hole
// in the seqs, while it is younger than the pending timeout (WithPendingTimeout, default 10s;
// judged by the entry's time, or for a hole the time of the next entry). Past the timeout it
// decides itself, by inserting the outcome: ok=true if the entry's write is in the document —
// the document's _seq is the entry's w, or a later write was built on it, which the reader finds
// by following each entry's prev (the _seq of the version it replaced) back from the document's
// current _seq — and ok=false otherwise. A hole is decided ok=false. Whoever inserts an outcome
// first wins; everybody else reads it.
//
// Why no change is ever skipped: a reader only moves past seq n once n has an outcome. An outcome
// is immutable and the first insert wins, so writer and reader agree on it. If it is ok, the
// reader emits n. If it is not, either the write never happened, or it happened after the reader
// decided — and then the writer, finding ok=false when it tries to commit, logs the write again
// with a seq above every seq any reader has passed. A hole's seq can never be inserted later
// without meeting its ok=false outcome the same way. Clocks only decide how long readers wait;
// a wrong clock can make a reader give up on a live writer early, which costs a second entry, not
// a lost change.
//
// An entry re-logged after an abort is marked relog: its writer logs it only once its write is in
// the document, so a reader that finds it pending decides it committed without following the
// chain (whose older entries compaction may have deleted).
//
// # Buckets, and what a sharded deployment shards on
//
// Each entry carries b, its buckets (domain.Buckets: the district "t:3132" of each territory key
// of its scope and previous scope, the owner "o:<IIN>", "all"), under the multikey index
// {b, _id}. ChangesIn reads a caller's buckets through that index — a district's vet the
// district's and "all"'s, an oblast's inspector the districts under the oblast's prefix, first
// resolved to the buckets they hold with a distinct on the index — so that MongoDB merges the
// buckets' ranges in _id order and a pull reads the entries of its district, not the country's.
//
// It reads no further than the settled mark ({_id: "settled", seq} in _meta): a seq through which
// every entry and every hole has its outcome. Whoever reads by bucket first moves the mark as far
// as the log is decided, walking the log from the mark exactly as Changes does (waiting for young
// pending entries, deciding stale ones), so each entry is walked about once whatever the number
// of readers, and a bucket's reader pays for the rest of the log only by what was written since
// the last settle. Under the mark no entry can still commit, so a reader that resumes from the
// last entry it was handed never misses one, in its buckets or any other. A lost race between
// two settlers can move the mark back (FerretDB's updates are not atomic), which only makes
// readers wait a little longer.
//
// The bucket is the natural shard key of the log. Sharded on {b: 1, _id: 1} — a document's shard
// key may not be an array, so a sharded deployment would keep one small index document per
// bucket and entry, {_id: [b, seq]}, written with the entry, in a collection sharded on it, and
// leave _changes (by seq) and _outcomes on their own shard or hashed on _id — a district's pull
// is a range read on one shard, and the districts of an oblast stay together because their
// buckets share a prefix. Appends stay one sequence: the seq is the log's order, and the settled
// mark is what lets every shard's reader trust it.
//
// The snapshot index a first sync reads (domain.Snapshots) is _snapshot, one immutable document per
// key and version, its _id the key (bucket, cluster, collection, id) and the version (see
// snapshot.go). Sharded on _id by range it splits by district as the log does: a district's first
// sync is one range read on one shard.
//
// # Compaction
//
// Compact deletes an entry once later committed entries of the same record carry every scope key
// it had (domain.Superseded), and aborted entries, all under the settled mark: a reader whose
// checkpoint lies before a deleted entry still meets, in the same buckets, a later entry of the
// record with the same key, and reads the record's current state from there (a removal if it
// left the reader's scope), so no checkpoint becomes wrong and none needs a resync. It walks the
// log from its own mark ({_id: "compacted"} in _meta) and reads each record's entries through the
// index {coll, id, _id}. The entry goes first, then its outcome: an entry without an outcome
// under the settled mark would look pending.
//
// Deleting an entry frees its _id, and a process that had not looked at the log for a while
// would try that seq for its next entry (appends start after the last seq a process saw), where
// readers are already past it. So compaction first raises the floor — it inserts the highest seq
// it compacts under into _floors, a collection only ever inserted into (older floors are then
// deleted), whose highest _id never moves back — and only then deletes. A writer reads the floor
// after inserting its entry; if its seq is at or under the floor, the seq was freed: it decides
// the entry aborted, deletes it, and appends again after the floor. A reader by bucket that
// meets such a stray without an outcome under the settled mark decides it aborted itself, and
// Changes does not take the seqs under the floor for holes. The same read after committing
// covers a writer so slow that readers aborted its entry and compaction deleted it with its
// outcome before the writer came to commit: its commit then lands under the floor, so it logs the
// write again. The price is two reads of _floors per write.
//
// Consequences for consumers: an entry re-logged after an abort arrives with a later seq than
// the writes it raced with, so the versions of one document may arrive out of order across
// writers; compare Version before acting on Scope. An entry can also be delivered for a version
// that a later write then replaced — that is a change like any other.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/vetfield/vetfield/domain"
)

// Store is the MongoDB implementation of domain.Store. It is safe for concurrent use, and any
// number of Stores in any number of processes may share one database.
type Store struct {
	client   *mongo.Client
	db       *mongo.Database
	changes  *mongo.Collection
	outcomes *mongo.Collection
	counters *mongo.Collection
	meta     *mongo.Collection
	floors   *mongo.Collection
	snapshot *mongo.Collection
	now      func() time.Time
	pending  time.Duration
	seen     atomic.Int64 // the highest seq of the change log this process knows to exist
	logGate  gate         // one append to the change log at a time from this process
	stripes  [counterStripes]counterStripe
	sweeps   atomic.Int64 // Sweeps begun and ended, to forget the stripes' latest slots

	mu    sync.RWMutex
	colls map[string]*collection

	// Test hooks, set only by this package's tests: afterLog runs between inserting the pending
	// entry and writing the document, afterWrite between writing the document and deciding the
	// outcome. An error abandons the write there, as if the process had died.
	afterLog, afterWrite func(ctx context.Context, seq int64) error
}

var _ domain.Store = (*Store)(nil)

// Option configures Open.
type Option func(*Store)

// WithClock injects the clock used for change-log times, pending timeouts and counter expiry, so
// tests can move time.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// DefaultPendingTimeout is how long a reader of the change log waits for a writer that has taken
// a seq but not committed it, before deciding for it. It is far longer than a healthy write takes
// and short enough that a crashed writer does not hold back sync for long.
const DefaultPendingTimeout = 10 * time.Second

// WithPendingTimeout sets how long readers of the change log wait for an undecided entry before
// deciding it themselves; see the package documentation.
func WithPendingTimeout(d time.Duration) Option { return func(s *Store) { s.pending = d } }

// Reserved collections. Declared names must start with a letter, so they cannot clash.
const (
	changesColl  = "_changes"
	outcomesColl = "_outcomes"
	countersColl = "_counters"
	metaColl     = "_meta"
	floorsColl   = "_floors"
	snapshotColl = "_snapshot"
)

// Open connects to uri and uses database, or the database named in the URI's path when database
// is "", or "vetfield". It checks that the server answers and creates the adapter's own
// collections; the nouns' collections are created by Declare.
func Open(ctx context.Context, uri, database string, opts ...Option) (*Store, error) {
	if database == "" {
		if cs, err := connstring.ParseAndValidate(uri); err == nil {
			database = cs.Database
		}
	}
	if database == "" {
		database = "vetfield"
	}
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return nil, fmt.Errorf("mongo: connect: %w", err)
	}
	// Majority writes: an entry or an outcome that a failover rolled back would undo a decision
	// other processes have acted on.
	db := client.Database(database, options.Database().SetWriteConcern(writeconcern.Majority()))
	s := &Store{
		client: client, db: db,
		changes: db.Collection(changesColl), outcomes: db.Collection(outcomesColl), counters: db.Collection(countersColl),
		meta: db.Collection(metaColl), floors: db.Collection(floorsColl), snapshot: db.Collection(snapshotColl),
		now: time.Now, pending: DefaultPendingTimeout, colls: map[string]*collection{},
	}
	for _, o := range opts {
		o(s)
	}
	s.logGate = make(gate, 1)
	for i := range s.stripes {
		s.stripes[i].gate = make(gate, 1)
	}
	if err := client.Ping(ctx, nil); err != nil {
		client.Disconnect(context.Background())
		return nil, fmt.Errorf("mongo: ping %s: %w", database, err)
	}
	for _, name := range []string{changesColl, outcomesColl, countersColl, metaColl, floorsColl, snapshotColl} {
		if err := createCollection(ctx, db, name); err != nil {
			client.Disconnect(context.Background())
			return nil, fmt.Errorf("mongo: create %s: %w", name, err)
		}
	}
	_, err = s.counters.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "k", Value: 1}, {Key: "n", Value: -1}}, Options: options.Index().SetName("k_n"),
	})
	if err != nil {
		client.Disconnect(context.Background())
		return nil, fmt.Errorf("mongo: index counters: %w", err)
	}
	_, err = s.changes.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "b", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("b_id")})
	if err == nil {
		_, err = s.changes.Indexes().CreateOne(ctx, mongo.IndexModel{
			Keys: bson.D{{Key: "coll", Value: 1}, {Key: "id", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("record")})
	}
	if err != nil {
		client.Disconnect(context.Background())
		return nil, fmt.Errorf("mongo: index the change log: %w", err)
	}
	if err := s.backfillBuckets(ctx); err != nil {
		client.Disconnect(context.Background())
		return nil, fmt.Errorf("mongo: buckets of the change log: %w", err)
	}
	return s, nil
}

func createCollection(ctx context.Context, db *mongo.Database, name string) error {
	err := db.CreateCollection(ctx, name)
	var ce mongo.CommandError
	if errors.As(err, &ce) && (ce.Code == 48 || ce.Name == "NamespaceExists") {
		return nil
	}
	return err
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx, nil); err != nil {
		return domain.Internal("mongo: ping", err)
	}
	return nil
}

// Close disconnects from the server.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.client.Disconnect(ctx)
}

// collection is a declared collection.
type collection struct {
	name    string
	coll    *mongo.Collection
	synced  bool
	expires string // CollectionSpec.Expires: the field Sweep removes documents by, "" when none expire
	indexes map[string]*index
	order   []*index // declaration order, for deterministic conflict reports
}

type index struct {
	name   string
	fields []string
	unique bool
}

// keys is the index's key document: the fields, then _id for the order of a non-unique index.
func (x *index) keys() bson.D {
	d := bson.D{}
	for _, f := range x.fields {
		d = append(d, bson.E{Key: f, Value: int32(1)})
	}
	if !x.unique {
		d = append(d, bson.E{Key: "_id", Value: int32(1)})
	}
	return d
}

// ident is what collection, index and field names must look like.
var ident = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)

func (s *Store) newCollection(spec domain.CollectionSpec) (*collection, error) {
	if !ident.MatchString(spec.Name) {
		return nil, domain.Invalid("name", "collection name %q is not an identifier", spec.Name)
	}
	c := &collection{name: spec.Name, coll: s.db.Collection(spec.Name), synced: spec.Synced, indexes: map[string]*index{}}
	for _, ix := range spec.Indexes {
		if !ident.MatchString(ix.Name) {
			return nil, domain.Invalid("indexes", "index name %q of %s is not an identifier", ix.Name, spec.Name)
		}
		if c.indexes[ix.Name] != nil {
			return nil, domain.Invalid("indexes", "index %q of %s is declared twice", ix.Name, spec.Name)
		}
		if len(ix.Fields) == 0 {
			return nil, domain.Invalid("indexes", "index %q of %s has no fields", ix.Name, spec.Name)
		}
		for _, f := range ix.Fields {
			if !ident.MatchString(f) {
				return nil, domain.Invalid("indexes", "field %q of index %q is not an identifier", f, ix.Name)
			}
		}
		x := &index{name: ix.Name, fields: append([]string(nil), ix.Fields...), unique: ix.Unique}
		c.indexes[ix.Name] = x
		c.order = append(c.order, x)
	}
	if err := spec.CheckExpires(); err != nil {
		return nil, err
	}
	c.expires = spec.Expires
	return c, nil
}

// Declare creates the collections and their indexes if missing. An index whose declaration
// changed is rebuilt; one no longer declared is left alone, since an older process may still use
// it. Several processes may declare at once.
func (s *Store) Declare(ctx context.Context, specs ...domain.CollectionSpec) error {
	var colls []*collection
	for _, spec := range specs {
		c, err := s.newCollection(spec)
		if err != nil {
			return err
		}
		colls = append(colls, c)
	}
	for _, c := range colls {
		if err := createCollection(ctx, s.db, c.name); err != nil {
			return domain.Internal("mongo: declare "+c.name, err)
		}
		cur, err := c.coll.Indexes().List(ctx)
		if err != nil {
			return domain.Internal("mongo: declare "+c.name, err)
		}
		var have []struct {
			Name   string `bson:"name"`
			Key    bson.D `bson:"key"`
			Unique bool   `bson:"unique"`
		}
		if err := cur.All(ctx, &have); err != nil {
			return domain.Internal("mongo: declare "+c.name, err)
		}
		for _, x := range c.order {
			want := x.keys()
			exists, same := false, false
			for _, h := range have {
				if h.Name == x.name {
					exists, same = true, h.Unique == x.unique && sameKeys(h.Key, want)
				}
			}
			if same {
				continue
			}
			if exists {
				if err := c.coll.Indexes().DropOne(ctx, x.name); err != nil {
					return domain.Internal("mongo: declare "+c.name, err)
				}
			}
			_, err := c.coll.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: want, Options: options.Index().SetName(x.name).SetUnique(x.unique)})
			if err != nil {
				return domain.Internal("mongo: declare "+c.name+" index "+x.name, err)
			}
		}
	}
	s.mu.Lock()
	for _, c := range colls {
		s.colls[c.name] = c
	}
	s.mu.Unlock()
	return nil
}

func sameKeys(a, b bson.D) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || int64Of(a[i].Value) != int64Of(b[i].Value) {
			return false
		}
	}
	return true
}

// coll returns the declared collection, or EINVALID: using an undeclared collection is a bug that
// should fail loudly rather than look like a missing document.
func (s *Store) coll(name string) (*collection, error) {
	s.mu.RLock()
	c := s.colls[name]
	s.mu.RUnlock()
	if c == nil {
		return nil, domain.Errorf(domain.EINVALID, "collection %q is not declared", name)
	}
	return c, nil
}
