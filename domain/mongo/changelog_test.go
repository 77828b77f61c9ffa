package mongo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/mongo/mongotest"
	"github.com/vetfield/vetfield/domain/storetest"
)

// These tests drive the change-log protocol through its failure points with two Stores on one
// database — two vetfield processes — and the hooks between its steps.

const timeout = time.Minute // the tests move the clock past it explicitly

// pair opens a writer and a reader on one fresh database, sharing a clock.
func pair(t *testing.T) (w, r *Store, clk *storetest.Clock) {
	t.Helper()
	uri := mongotest.Start(t)
	clk = storetest.NewClock(time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC))
	open := func() *Store {
		s, err := Open(t.Context(), uri, "", WithClock(clk.Now), WithPendingTimeout(timeout))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Declare(t.Context(), storetest.Specs()...); err != nil {
			t.Fatal(err)
		}
		return s
	}
	return open(), open(), clk
}

func animal(tag string) domain.Record {
	return domain.Record{ID: tag, Scope: []string{"t:1"}, Data: fmt.Appendf(nil, `{"tag":%q}`, tag)}
}

// hook makes a hook that acts once, on the first write: it tells entered, then either waits for
// release or, if release is nil, fails as a dead process would.
func hook(entered chan<- int64, release <-chan struct{}) func(context.Context, int64) error {
	var fired atomic.Bool
	return func(ctx context.Context, seq int64) error {
		if fired.Swap(true) {
			return nil
		}
		if entered != nil {
			entered <- seq
		}
		if release == nil {
			return errors.New("the writer died")
		}
		<-release
		return nil
	}
}

// changes reads the whole log and returns "id@version" for each entry.
func changes(t *testing.T, s *Store, after int64) []string {
	t.Helper()
	var out []string
	for _, ch := range storetest.AllChanges(t, s, after, 100) {
		out = append(out, fmt.Sprintf("%s@%d", ch.ID, ch.Version))
	}
	return out
}

func wantChanges(t *testing.T, s *Store, after int64, want ...string) {
	t.Helper()
	if got := changes(t, s, after); !slices.Equal(got, want) {
		t.Fatalf("Changes(%d) = %v, want %v", after, got, want)
	}
}

func outcome(t *testing.T, s *Store, seq int64) (ok, known bool) {
	t.Helper()
	var o struct {
		OK bool `bson:"ok"`
	}
	err := s.outcomes.FindOne(t.Context(), bson.D{{Key: "_id", Value: seq}}).Decode(&o)
	if err != nil {
		return false, false
	}
	return o.OK, true
}

// A writer delayed between taking its seq and writing holds readers back, even though a later
// seq is already committed, until it commits.
func TestChangesWaitForSlowWriter(t *testing.T) {
	w, r, _ := pair(t)
	entered, release := make(chan int64, 1), make(chan struct{})
	w.afterLog = hook(entered, release)
	done := make(chan error)
	go func() {
		_, err := w.Insert(t.Context(), "animals", animal("slow"))
		done <- err
	}()
	seq := <-entered
	if _, err := r.Insert(t.Context(), "animals", animal("fast")); err != nil {
		t.Fatal(err)
	}
	wantChanges(t, r, 0) // "fast" is committed but comes after the undecided "slow"
	if _, known := outcome(t, r, seq); known {
		t.Fatal("the reader decided a young entry")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wantChanges(t, r, 0, "slow@1", "fast@1")
}

// A writer that dies after logging and before writing is decided aborted once the timeout has
// passed, and readers move on.
func TestChangesWriterDiesBeforeWrite(t *testing.T) {
	w, r, clk := pair(t)
	entered := make(chan int64, 1)
	w.afterLog = hook(entered, nil)
	if _, err := w.Insert(t.Context(), "animals", animal("ghost")); err == nil {
		t.Fatal("the hook did not stop the write")
	}
	seq := <-entered
	if _, err := r.Insert(t.Context(), "animals", animal("next")); err != nil {
		t.Fatal(err)
	}
	wantChanges(t, r, 0)
	clk.Advance(timeout - time.Second)
	wantChanges(t, r, 0)
	clk.Advance(2 * time.Second)
	wantChanges(t, r, 0, "next@1")
	if ok, known := outcome(t, r, seq); !known || ok {
		t.Fatalf("outcome of the dead entry: ok=%v known=%v", ok, known)
	}
	_, err := r.Get(t.Context(), "animals", "ghost")
	storetest.WantErr(t, err, domain.ENOTFOUND, "")
}

// A writer that dies after writing the document and before committing is decided committed.
func TestChangesWriterDiesAfterWrite(t *testing.T) {
	w, r, clk := pair(t)
	w.afterWrite = hook(nil, nil)
	if _, err := w.Insert(t.Context(), "animals", animal("half")); err == nil {
		t.Fatal("the hook did not stop the commit")
	}
	if _, err := r.Insert(t.Context(), "animals", animal("next")); err != nil {
		t.Fatal(err)
	}
	wantChanges(t, r, 0)
	clk.Advance(timeout + time.Second)
	wantChanges(t, r, 0, "half@1", "next@1")
}

// A writer dies after updating a document to v2, another process updates it to v3 before a
// reader looks: the reader finds the dead write by following the chain from v3 back to v2.
func TestChangesWriterDiesBeforeLaterWrite(t *testing.T) {
	w, r, clk := pair(t)
	rec, err := w.Insert(t.Context(), "animals", animal("x"))
	if err != nil {
		t.Fatal(err)
	}
	w.afterWrite = hook(nil, nil)
	rec.Scope = []string{"t:2"}
	if _, err := w.Update(t.Context(), "animals", rec); err == nil {
		t.Fatal("the hook did not stop the commit")
	}
	v2, err := r.Get(t.Context(), "animals", "x")
	if err != nil || v2.Version != 2 {
		t.Fatalf("the dead write is not in the document: %+v, %v", v2, err)
	}
	// A competing entry for v2 whose writer lost the race and died: it must be aborted.
	loser := entry{Coll: "animals", ID: "x", Version: 2, Scope: []string{"t:9"}, PrevScope: []string{"t:1"}, Prev: 1, At: clk.Now().UnixMilli()}
	if err := r.appendEntry(t.Context(), &loser); err != nil {
		t.Fatal(err)
	}
	v2.Scope = []string{"t:3"}
	if _, err := r.Update(t.Context(), "animals", v2); err != nil {
		t.Fatal(err)
	}
	wantChanges(t, r, 0, "x@1")
	clk.Advance(timeout + time.Second)
	wantChanges(t, r, 0, "x@1", "x@2", "x@3")
	if ok, known := outcome(t, r, loser.Seq); !known || ok {
		t.Fatalf("the losing entry: ok=%v known=%v", ok, known)
	}
	chs := storetest.AllChanges(t, r, 0, 10)
	if !slices.Equal(chs[1].Scope, []string{"t:2"}) || !slices.Equal(chs[1].PrevScope, []string{"t:1"}) ||
		!slices.Equal(chs[2].PrevScope, []string{"t:2"}) {
		t.Fatalf("scopes: %+v", chs)
	}
}

// A reader gives up on a slow writer that has not written yet; the writer then writes, finds its
// entry aborted and logs the write again, so the change still reaches readers that already passed
// the first seq — exactly once.
func TestChangesAbortedWriterLogsAgain(t *testing.T) {
	w, r, clk := pair(t)
	entered, release := make(chan int64, 1), make(chan struct{})
	w.afterLog = hook(entered, release)
	done := make(chan error)
	go func() {
		rec, err := w.Insert(t.Context(), "animals", animal("late"))
		if err == nil && rec.Version != 1 {
			err = fmt.Errorf("version %d", rec.Version)
		}
		done <- err
	}()
	seq := <-entered
	if _, err := r.Insert(t.Context(), "animals", animal("other")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(timeout + time.Second)
	wantChanges(t, r, 0, "other@1")
	if ok, known := outcome(t, r, seq); !known || ok {
		t.Fatalf("the slow entry: ok=%v known=%v", ok, known)
	}
	last := storetest.AllChanges(t, r, 0, 10)[0].Seq
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wantChanges(t, r, last, "late@1")
	wantChanges(t, r, 0, "other@1", "late@1")
}

// A hole in the seqs (an entry lost to a failover) holds readers back for the timeout, then is
// decided aborted; an entry inserted into it later would meet that outcome and be logged again.
func TestChangesHole(t *testing.T) {
	w, r, clk := pair(t)
	for _, tag := range []string{"a", "b", "c"} {
		if _, err := w.Insert(t.Context(), "animals", animal(tag)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.changes.DeleteOne(t.Context(), bson.D{{Key: "_id", Value: int64(2)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.outcomes.DeleteOne(t.Context(), bson.D{{Key: "_id", Value: int64(2)}}); err != nil {
		t.Fatal(err)
	}
	wantChanges(t, r, 0, "a@1")
	clk.Advance(timeout + time.Second)
	wantChanges(t, r, 0, "a@1", "c@1")
	if ok, known := outcome(t, r, 2); !known || ok {
		t.Fatalf("the hole: ok=%v known=%v", ok, known)
	}
}

// Two processes write concurrently with random pauses inside the protocol and a pending timeout
// shorter than some pauses, while a third follows the log: every write arrives exactly once, in
// order per document.
func TestChangesInterleavedProcesses(t *testing.T) {
	uri := mongotest.Start(t)
	open := func() *Store {
		s, err := Open(t.Context(), uri, "", WithPendingTimeout(30*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Declare(t.Context(), storetest.Specs()...); err != nil {
			t.Fatal(err)
		}
		return s
	}
	pause := func(ctx context.Context, seq int64) error {
		if rand.IntN(4) == 0 {
			time.Sleep(time.Duration(rand.IntN(60)) * time.Millisecond)
		}
		return nil
	}
	procs := []*Store{open(), open()}
	for _, p := range procs {
		p.afterLog, p.afterWrite = pause, pause
	}
	reader := open()
	const perProc, writes = 3, 6
	var wg sync.WaitGroup
	for pi, p := range procs {
		for g := range perProc {
			wg.Go(func() {
				rec, err := p.Insert(t.Context(), "animals", animal(fmt.Sprintf("p%d-%d", pi, g)))
				for i := 1; i < writes && err == nil; i++ {
					rec.Scope = []string{fmt.Sprint("s:", i)}
					rec, err = p.Update(t.Context(), "animals", rec)
				}
				if err != nil {
					t.Error(err)
				}
			})
		}
	}
	var followed []domain.Change
	var after int64
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()
	deadline := time.Now().Add(time.Minute)
	for len(followed) < len(procs)*perProc*writes && time.Now().Before(deadline) {
		chs, err := reader.Changes(t.Context(), after, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(chs) > 0 {
			followed = append(followed, chs...)
			after = chs[len(chs)-1].Seq
			continue
		}
		time.Sleep(5 * time.Millisecond)
	}
	<-writersDone
	next := map[string]int64{}
	for _, ch := range followed {
		if ch.Version != next[ch.ID]+1 {
			t.Errorf("%s: version %d after %d", ch.ID, ch.Version, next[ch.ID])
		}
		next[ch.ID] = ch.Version
	}
	if len(followed) != len(procs)*perProc*writes {
		t.Errorf("followed %d changes, want %d", len(followed), len(procs)*perProc*writes)
	}
	if more := storetest.AllChanges(t, reader, after, 100); len(more) != 0 {
		t.Errorf("%d changes after the last expected one: %+v", len(more), more)
	}
}

// Increments from two processes are atomic together.
func TestIncrAcrossProcesses(t *testing.T) {
	a, b, _ := pair(t)
	var mu sync.Mutex
	var got []int64
	var wg sync.WaitGroup
	for _, s := range []*Store{a, b, a, b} {
		wg.Go(func() {
			for range 10 {
				v, err := s.Incr(t.Context(), "k", 1, time.Time{})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, v)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	for i, v := range got {
		if v != int64(i+1) {
			t.Fatalf("increment %d returned %d", i+1, v)
		}
	}
}
