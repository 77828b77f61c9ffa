package mongo

import (
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/storetest"
)

// compactAll compacts until done.
func compactAll(t *testing.T, s *Store) int {
	t.Helper()
	total := 0
	for range 100 {
		n, done, err := s.Compact(t.Context(), 0)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if done {
			return total
		}
	}
	t.Fatal("Compact never finishes")
	return 0
}

func update(t *testing.T, s *Store, id string, scope ...string) domain.Record {
	t.Helper()
	rec, err := s.Get(t.Context(), "animals", id)
	if err != nil {
		t.Fatal(err)
	}
	rec.Scope = scope
	if rec, err = s.Update(t.Context(), "animals", rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// A process that last looked at the log before compaction freed some seqs would take one of them
// for its next entry: readers are past it. The floor tells the writer, which drops the entry and
// logs the write after the floor, so readers still get it — and a stray entry left behind (the
// writer died before dropping it) is decided aborted by the reader that meets it.
func TestCompactFreedSeqIsNotTaken(t *testing.T) {
	w, r, _ := pair(t)
	if _, err := r.Insert(t.Context(), "animals", animal("x")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		update(t, r, "x", "t:1")
	}
	if n := compactAll(t, r); n != 3 {
		t.Fatalf("compacted %d entries, want 3", n)
	}
	head := storetest.AllChanges(t, r, 0, 10)
	if len(head) != 1 || head[0].Seq != 4 {
		t.Fatalf("after compaction: %+v", head)
	}
	w.seen.Store(1) // w last saw seq 1: its next try is the freed seq 2
	if _, err := w.Insert(t.Context(), "animals", animal("late")); err != nil {
		t.Fatal(err)
	}
	chs := storetest.AllChanges(t, r, 4, 10)
	if len(chs) != 1 || chs[0].ID != "late" || chs[0].Seq <= 4 {
		t.Fatalf("the write after compaction: %+v", chs)
	}
	in := storetest.AllChangesIn(t, r, domain.BucketFilter{Buckets: []string{"t:1"}}, 4, 10)
	if len(in) != 1 || in[0].ID != "late" {
		t.Fatalf("ChangesIn after compaction: %+v", in)
	}
	if n, _ := r.changes.CountDocuments(t.Context(), bson.D{{Key: "_id", Value: bson.D{{Key: "$lt", Value: 4}}}}); n != 0 {
		t.Fatalf("%d entries under the floor", n)
	}

	// A stray a writer left under the floor, pending: readers decide it and move on.
	stray := entry{Seq: 2, Coll: "animals", ID: "ghost", Version: 1, Scope: []string{"t:1"}, B: []string{"t:1"}, W: 2}
	if _, err := r.changes.InsertOne(t.Context(), stray); err != nil {
		t.Fatal(err)
	}
	in = storetest.AllChangesIn(t, r, domain.BucketFilter{Buckets: []string{"t:1"}}, 0, 10)
	if got := []string{in[0].ID, in[1].ID}; len(in) != 2 || !slices.Equal(got, []string{"x", "late"}) {
		t.Fatalf("ChangesIn over a stray: %+v", in)
	}
	if ok, known := outcome(t, r, 2); !known || ok {
		t.Fatalf("the stray: ok=%v known=%v", ok, known)
	}
}

// Compaction stays under the settled mark: an entry whose writer may still commit, and every
// entry after it, are left alone; readers of the compacted log do not take the deleted seqs for
// holes (no outcome is invented for them).
func TestCompactStaysUnderPending(t *testing.T) {
	w, r, _ := pair(t)
	if _, err := r.Insert(t.Context(), "animals", animal("x")); err != nil {
		t.Fatal(err)
	}
	update(t, r, "x", "t:1")
	entered, release := make(chan int64, 1), make(chan struct{})
	w.afterLog = hook(entered, release)
	done := make(chan error)
	go func() {
		_, err := w.Insert(t.Context(), "animals", animal("slow"))
		done <- err
	}()
	<-entered
	update(t, r, "x", "t:1")
	update(t, r, "x", "t:1")
	if n := compactAll(t, r); n != 1 {
		t.Fatalf("compacted %d entries under a pending one, want 1 (x@1)", n)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wantChanges(t, r, 0, "x@2", "slow@1", "x@3", "x@4")
	if n := compactAll(t, r); n != 2 {
		t.Fatalf("compacted %d entries once committed, want 2", n)
	}
	wantChanges(t, r, 0, "slow@1", "x@4")
	if _, known := outcome(t, r, 1); known {
		t.Fatal("a reader invented an outcome for a compacted seq")
	}
}

// An entry written by a process that predates buckets (a rolling upgrade) has no b: the reader
// that settles the log indexes it before passing it, so readers by bucket still get it.
func TestChangesInEntryWithoutBuckets(t *testing.T) {
	_, r, _ := pair(t)
	if _, err := r.Insert(t.Context(), "animals", animal("old")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.changes.UpdateMany(t.Context(), bson.D{}, bson.D{{Key: "$unset", Value: bson.D{{Key: "b", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}
	in := storetest.AllChangesIn(t, r, domain.BucketFilter{Buckets: []string{"t:1"}}, 0, 10)
	if len(in) != 1 || in[0].ID != "old" {
		t.Fatalf("ChangesIn of an entry without buckets: %+v", in)
	}
}

// A writer so slow that readers aborted its entry, and compaction then deleted the entry with
// its outcome, commits into the freed seq under the floor: it notices from the floor and logs
// the write again, so readers past the seq still get it.
func TestCompactAbortedEntryOfALateWriter(t *testing.T) {
	w, r, clk := pair(t)
	if _, err := r.Insert(t.Context(), "animals", animal("x")); err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan int64, 1), make(chan struct{})
	w.afterLog = hook(entered, release)
	done := make(chan error)
	go func() {
		_, err := w.Insert(t.Context(), "animals", animal("late"))
		done <- err
	}()
	seq := <-entered
	if _, err := r.Insert(t.Context(), "animals", animal("other")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(timeout + time.Second)
	wantChanges(t, r, 0, "x@1", "other@1")
	compactAll(t, r)
	if _, known := outcome(t, r, seq); known {
		t.Fatal("compaction kept the aborted entry's outcome")
	}
	last := storetest.AllChanges(t, r, 0, 10)[1].Seq
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wantChanges(t, r, last, "late@1")
	in := storetest.AllChangesIn(t, r, domain.BucketFilter{Buckets: []string{"t:1"}}, last, 10)
	if len(in) != 1 || in[0].ID != "late" {
		t.Fatalf("ChangesIn after the late commit: %+v", in)
	}
}
