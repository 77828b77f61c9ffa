package client_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/mongo"
	"github.com/vetfield/vetfield/domain/mongo/mongotest"
	vsync "github.com/vetfield/vetfield/sync"
	"github.com/vetfield/vetfield/sync/client"
	"github.com/vetfield/vetfield/sync/internal/faultproxy"
)

// writeConcurrently runs writers against the instances in turn: issuing passports in and out of
// the client's territory and revoking some, while pull runs all the while. It returns the number
// of writes.
func writeConcurrently(t *testing.T, instances []*instance, writers, perWriter int, pull func()) int64 {
	t.Helper()
	var writes atomic.Int64
	var wg gosync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := instances[w%len(instances)]
			var mine []*documents.Document
			for i := range perWriter {
				territory := bayzak
				if i%3 == 2 {
					territory = korday
				}
				if d := in.issue(t, territory); d != nil {
					mine = append(mine, d)
					writes.Add(1)
				}
				if i%5 == 4 && len(mine) > 0 {
					d := mine[rand.IntN(len(mine))]
					if _, err := in.docs.Revoke(context.Background(), d.ID, domain.Principal{UserID: "admin", Role: domain.RoleAdmin}, "test"); err == nil {
						writes.Add(1)
					}
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	pulls := 0
	for {
		select {
		case <-done:
			t.Logf("%d writes by %d writers on %d instances, %d pulls during them", writes.Load(), writers, len(instances), pulls)
			return writes.Load()
		default:
			pull()
			pulls++
		}
	}
}

// compacting compacts the change log of store, as the server's sweep does, until the test ends:
// tablets' checkpoints fall behind entries it deletes.
func compacting(t *testing.T, store domain.Store, every time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	deleted := 0
	t.Cleanup(func() { cancel(); <-done; t.Logf("compaction deleted %d entries", deleted) })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			n, _, err := store.Compact(ctx, 50)
			if err != nil && ctx.Err() == nil {
				t.Errorf("Compact: %v", err)
				return
			}
			deleted += n
			select {
			case <-ctx.Done():
			case <-time.After(every):
			}
		}
	}()
}

// TestPullNeverSkipsSQLite: two vetfield instances on one SQLite file, concurrent writers,
// compaction, and a tablet pulling all the while; at the end its replica equals the server's data
// exactly.
func TestPullNeverSkipsSQLite(t *testing.T) {
	sh := newShared(t)
	path := filepath.Join(t.TempDir(), "shared.db")
	a := sh.start(t, openSQLite(t, path))
	b := sh.start(t, openSQLite(t, path))
	a.user(t, "vet.bayzak", domain.RoleVet, bayzak)
	c := newClient(t, a.base, "tablet-1", "vet.bayzak")
	c.PageSize = 97
	compacting(t, b.store, 5*time.Millisecond)
	late := &newcomers{base: b.base, every: 20, most: 4, pageSize: 61}
	writeConcurrently(t, []*instance{a, b}, 4, 500, func() {
		if _, err := c.Pull(t.Context()); err != nil {
			t.Fatal(err)
		}
		late.maybe(t)
	})
	late.check(t, c, a.store)
}

// newcomers are tablets that sync for the first time while writers write: a first pull in format
// 2 reads the snapshot index as the projectors file it, then the log from where it was complete.
type newcomers struct {
	base     string
	every    int // a newcomer on every so many pulls of the tablet that was there from the start
	most     int // newcomers at most
	pageSize int
	pulls    int
	tablets  []*client.Client
}

// maybe starts a newcomer's first sync on every every-th call, at most most of them.
func (n *newcomers) maybe(t *testing.T) {
	n.pulls++
	if n.pulls%n.every != n.every/2 || len(n.tablets) >= n.most {
		return
	}
	l := newClient(t, n.base, fmt.Sprint("late-", len(n.tablets)), "vet.bayzak")
	l.PageSize = n.pageSize
	if _, err := l.Pull(t.Context()); err != nil {
		t.Fatal(err)
	}
	n.tablets = append(n.tablets, l)
}

// check pulls once more on every tablet, the first one c included, and compares each replica with
// the server's records.
func (n *newcomers) check(t *testing.T, c *client.Client, store domain.Store) {
	t.Helper()
	for _, c := range append(n.tablets, c) {
		if _, err := c.Pull(t.Context()); err != nil {
			t.Fatal(err)
		}
		assertReplica(t, c, store, bayzak)
	}
	if len(n.tablets) == 0 {
		t.Fatal("no tablet synced for the first time during the writes")
	}
}

// TestFaultyLink pushes and pulls through a link with latency, a bandwidth cap and connections
// reset mid-request and mid-response: nothing is lost, nothing is applied twice.
func TestFaultyLink(t *testing.T) {
	sh := newShared(t)
	srv := sh.start(t, openSQLite(t, filepath.Join(t.TempDir(), "faulty.db")))
	srv.user(t, "vet.bayzak", domain.RoleVet, bayzak)
	const n = 300
	var docs []*documents.Document
	for i := range n {
		territory := bayzak
		if i%4 == 3 {
			territory = korday
		}
		docs = append(docs, srv.issue(t, territory))
	}
	proxy, err := faultproxy.Start(srv.base[len("http://"):], faultproxy.Faults{
		Latency: time.Millisecond, BytesPerSecond: 512 << 10, ResetMeanBytes: 3 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	c := newClient(t, "http://"+proxy.Addr(), "tablet-1", "vet.bayzak")
	c.PageSize = 40
	c.HTTP.Timeout = 10 * time.Second
	c.Attempts = 200
	var trail []string
	c.Log = func(format string, args ...any) {
		trail = append(trail, fmt.Sprintf(format, args...))
	}
	defer func() {
		if t.Failed() && len(trail) > 0 {
			t.Logf("last failed tries:\n%s", strings.Join(trail[max(0, len(trail)-15):], "\n"))
		}
	}()
	if _, err := c.Pull(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertReplica(t, c, srv.store, bayzak)

	// Revoke every document of Bayzak offline, then push through the same bad link.
	mine, err := c.Records(t.Context(), documents.DocumentsSpec.Name)
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range mine {
		if err := c.Enqueue(t.Context(), vsync.Mutation{ID: "m-" + id, Kind: "document.revoke", RecordID: id,
			BaseVersion: r.Version, Data: []byte(`{"reason":"офлайн"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d connections reset by the proxy", proxy.Resets.Load())
	if proxy.Resets.Load() < 100 {
		t.Errorf("only %d faults: the link was not bad enough to prove anything", proxy.Resets.Load())
	}
	queue, err := c.Queue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range queue {
		if q.State != vsync.Applied {
			t.Errorf("mutation %s ended %s: %s", q.Mutation.ID, q.State, q.Answer)
		}
	}
	// Every Bayzak document was revoked exactly once (version 2), none elsewhere was touched.
	for _, d := range docs {
		got, err := srv.docs.Get(t.Context(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(1)
		if d.Subject.Territory == bayzak {
			want = 2
		}
		if got.Version != want {
			t.Fatalf("document %s (%s) at version %d, want %d", d.Number, d.Subject.Territory, got.Version, want)
		}
	}
	userID := mustUserID(t, srv, "vet.bayzak")
	for id := range mine {
		if _, err := srv.store.Get(t.Context(), vsync.MutationsSpec.Name, userID+":m-"+id); err != nil {
			t.Errorf("mutation m-%s has no recorded result: %v", id, err)
		}
	}
	proxy.SetFaults(faultproxy.Faults{})
	if _, err := c.Pull(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertReplica(t, c, srv.store, bayzak)
}

// TestPush checks the push contract over a good link.
func TestPush(t *testing.T) {
	sh := newShared(t)
	srv := sh.start(t, openSQLite(t, filepath.Join(t.TempDir(), "push.db")))
	srv.user(t, "vet.bayzak", domain.RoleVet, bayzak)
	here, here2, there := srv.issue(t, bayzak), srv.issue(t, bayzak), srv.issue(t, korday)
	c := newClient(t, srv.base, "tablet-1", "vet.bayzak")
	muts := []vsync.Mutation{
		{ID: "1", Kind: "document.revoke", RecordID: here.ID, BaseVersion: 1, Data: []byte(`{"reason":"died"}`)},
		{ID: "2", Kind: "document.revoke", RecordID: there.ID, Data: []byte(`{"reason":"not mine"}`)},
		{ID: "3", Kind: "animal.teleport", RecordID: here.ID},
		{ID: "4", Kind: "document.revoke", RecordID: here2.ID, Data: []byte(`{"reason":""}`)},
		{ID: "5", Kind: "document.revoke", RecordID: here2.ID, BaseVersion: 1, Data: []byte(`{"reason":"sold"}`)},
	}
	for _, m := range muts {
		if err := c.Enqueue(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Push(t.Context()); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	q, _ := c.Queue(t.Context())
	for _, r := range q {
		states[r.Mutation.ID] = r.State
	}
	want := map[string]string{"1": "applied", "2": "rejected", "3": "rejected", "4": "rejected", "5": "applied"}
	for id, s := range want {
		if states[id] != s {
			t.Errorf("mutation %s: %s, want %s", id, states[id], s)
		}
	}

	t.Run("APaperKeepsItsQRCode", func(t *testing.T) {
		// The revoked paper came back in the push answer with its QR code; the pull of the same
		// version, which on a staff tablet leaves the code out, does not take it away. The paper
		// the tablet only pulled has none.
		pulledOnly := srv.issue(t, bayzak)
		if _, err := c.Pull(t.Context()); err != nil {
			t.Fatal(err)
		}
		docs, err := c.Records(t.Context(), documents.DocumentsSpec.Name)
		if err != nil {
			t.Fatal(err)
		}
		if r := docs[here.ID]; r.Version != 2 || !strings.Contains(string(r.Data), `"verify_url"`) || !strings.Contains(string(r.Data), `"revoked"`) {
			t.Fatalf("the pushed paper in the replica: %s", r.Data)
		}
		if r := docs[there.ID]; r.Data != nil {
			t.Fatalf("a paper of another district reached the tablet: %s", r.Data)
		}
		if r := docs[pulledOnly.ID]; !strings.Contains(string(r.Data), `"number"`) || strings.Contains(string(r.Data), `"verify_url"`) {
			t.Fatalf("a pulled paper on a staff tablet: %s", r.Data)
		}
	})

	t.Run("RepeatWritesNothing", func(t *testing.T) {
		// A second tablet of the same user replays the very same mutation ids.
		again := newClient(t, srv.base, "tablet-1", "vet.bayzak")
		for _, m := range muts {
			again.Enqueue(t.Context(), m)
		}
		if err := again.Push(t.Context()); err != nil {
			t.Fatal(err)
		}
		q2, _ := again.Queue(t.Context())
		for i := range q2 {
			if q2[i].State != q[i].State || string(q2[i].Answer) != string(q[i].Answer) {
				t.Errorf("repeat of %s answered %s, first %s", q2[i].Mutation.ID, q2[i].Answer, q[i].Answer)
			}
		}
		d, _ := srv.docs.Get(t.Context(), here.ID)
		if d.Version != 2 {
			t.Errorf("a repeated revoke wrote again: version %d", d.Version)
		}
	})

	t.Run("ConflictKeptForSupervisor", func(t *testing.T) {
		// Another tablet revoked here2 with a stale view of it: the server's state stays.
		c3 := newClient(t, srv.base, "tablet-3", "vet.bayzak")
		c3.Enqueue(t.Context(), vsync.Mutation{ID: "6", Kind: "document.revoke", RecordID: here2.ID, BaseVersion: 1, Data: []byte(`{"reason":"lost"}`)})
		if err := c3.Push(t.Context()); err != nil {
			t.Fatal(err)
		}
		q3, _ := c3.Queue(t.Context())
		if q3[0].State != vsync.Conflict {
			t.Fatalf("stale revoke: %s %s", q3[0].State, q3[0].Answer)
		}
		conf, err := srv.store.Get(t.Context(), vsync.ConflictsSpec.Name, mustUserID(t, srv, "vet.bayzak")+":6")
		if err != nil {
			t.Fatalf("the losing change was not kept: %v", err)
		}
		_ = conf
	})
}

func mustUserID(t *testing.T, in *instance, username string) string {
	u, err := in.accounts.GetByUsername(t.Context(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestResync: moving the user to another territory makes the next pull start over, and the
// replica then holds the new territory's records only.
func TestResync(t *testing.T) {
	sh := newShared(t)
	srv := sh.start(t, openSQLite(t, filepath.Join(t.TempDir(), "resync.db")))
	u := srv.user(t, "vet.moving", domain.RoleVet, bayzak)
	for i := range 10 {
		srv.issue(t, []domain.Kato{bayzak, korday}[i%2])
	}
	c := newClient(t, srv.base, "tablet-1", "vet.moving")
	if _, err := c.Pull(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertReplica(t, c, srv.store, bayzak)
	shuStr := string(korday)
	if _, err := srv.accounts.Update(t.Context(), u.ID, accounts.UserChange{Territory: &shuStr}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pull(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertReplica(t, c, srv.store, korday)
}

// TestPullNeverSkipsMongo: the same scenario on the mongo adapter (compaction included), two
// vetfield instances on one
// MongoDB-wire database (FerretDB), with writes held back for a random time between taking their
// place in the change log and committing, so they commit out of order. FerretDB scans a whole
// collection for every query, so each write costs more as data grows: this run has a few hundred
// writes, the SQLite run above thousands.
func TestPullNeverSkipsMongo(t *testing.T) {
	uri := mongotest.Start(t)
	db := fmt.Sprintf("sync_%d", time.Now().UnixNano())
	delay := func() time.Duration { return time.Duration(rand.IntN(15)) * time.Millisecond }
	open := func() domain.Store {
		s, err := mongo.Open(t.Context(), uri, db, mongo.WithWriteDelay(delay), mongo.WithPendingTimeout(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	sh := newShared(t)
	sh.projectEvery = 250 * time.Millisecond
	a, b := sh.start(t, open()), sh.start(t, open())
	a.user(t, "vet.bayzak", domain.RoleVet, bayzak)
	c := newClient(t, b.base, "tablet-1", "vet.bayzak")
	c.PageSize = 53
	compacting(t, a.store, 200*time.Millisecond)
	late := &newcomers{base: a.base, every: 10, most: 1, pageSize: 53}
	writeConcurrently(t, []*instance{a, b}, 4, 60, func() {
		if _, err := c.Pull(t.Context()); err != nil {
			t.Fatal(err)
		}
		late.maybe(t)
		// FerretDB scans a collection for every query: pull at a tablet's pace, not in a spin.
		time.Sleep(100 * time.Millisecond)
	})
	late.check(t, c, a.store)
}
