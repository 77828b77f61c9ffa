package mongo

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/storetest"
)

// A unit of work whose writer dies inside its second step — after writing the document, before
// committing its change-log entry — and is then applied again: the retry finds the insert and the
// update done and writes the rest, and once the reader has decided the dead entry the log holds
// exactly one entry per write, each for a document that exists at that version.
func TestApplyWriterDiesInsideAStep(t *testing.T) {
	w, r, clk := pair(t)
	base, err := w.Insert(t.Context(), "animals", animal("u2"))
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int32
	w.afterWrite = func(context.Context, int64) error {
		if writes.Add(1) == 2 {
			return errors.New("the writer died")
		}
		return nil
	}
	set := &domain.Writes{}
	set.Insert("animals", animal("u1"))
	up := base
	up.Scope, up.Data = []string{"t:2"}, []byte(`{"tag":"u2","name":"moved"}`)
	set.Update("animals", up)
	set.Insert("animals", animal("u3"))
	if _, err := w.Apply(t.Context(), set); err == nil {
		t.Fatal("the hook did not stop the unit")
	} else if k, _ := domain.FailedStep(err); k != 1 {
		t.Fatalf("failed at step %d, want 1", k)
	}
	wantChanges(t, r, 0, "u2@1", "u1@1") // the dead entry holds the reader back
	res, err := w.Apply(t.Context(), set)
	if err != nil {
		t.Fatalf("the retry: %v", err)
	}
	if res[0].Record.Version != 1 || res[1].Record.Version != 2 || res[2].Record.Version != 1 {
		t.Fatalf("results %+v", res)
	}
	wantChanges(t, r, 0, "u2@1", "u1@1")
	clk.Advance(timeout + time.Second)
	wantChanges(t, r, 0, "u2@1", "u1@1", "u2@2", "u3@1")
	for _, ch := range storetest.AllChanges(t, r, 0, 10) {
		if rec, err := r.Get(t.Context(), ch.Collection, ch.ID); err != nil || rec.Version < ch.Version {
			t.Errorf("entry %d names %s v%d: %+v, %v", ch.Seq, ch.ID, ch.Version, rec, err)
		}
	}
}
