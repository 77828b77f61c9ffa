package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/vetfield/vetfield/domain"
)

// testSnapshot checks the snapshot index: a put keeps the newest version, a gone entry hides its
// key and cannot be brought back by an older put, a range holds its buckets only, paging with next
// reads every key once, and concurrent puts of one key's versions leave the newest.
func testSnapshot(t *testing.T, opened func(t *testing.T) domain.Store) {
	s := opened(t)
	ctx := t.Context()
	entry := func(bucket, id string, v int64) domain.SnapshotEntry {
		return domain.SnapshotEntry{Bucket: bucket, Collection: "animals", ID: id, Version: v,
			Scope: []string{"t:" + bucket[2:] + "45100", "o:880101300123"}, Data: json.RawMessage(fmt.Sprintf(`{"id":%q,"v":%d}`, id, v))}
	}
	readAll := func(r domain.SnapshotRange, limit int) map[string]domain.SnapshotEntry {
		t.Helper()
		out, after := map[string]domain.SnapshotEntry{}, ""
		for range 1000 {
			page, next, err := s.Snapshot(ctx, r, after, limit)
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			for _, e := range page {
				if _, dup := out[e.Key()]; dup {
					t.Fatalf("key %q read twice", e.Key())
				}
				out[e.Key()] = e
			}
			if next == "" {
				return out
			}
			after = next
		}
		t.Fatal("Snapshot never ended")
		return nil
	}
	district := domain.SnapshotRanges(domain.BucketFilter{Buckets: []string{"t:3132"}})[0]

	var batch []domain.SnapshotEntry
	for i := range 25 {
		batch = append(batch, entry("t:3132", fmt.Sprintf("a%02d", i), 1))
	}
	batch = append(batch, entry("t:3133", "b00", 1), entry("t:3114", "c00", 1),
		domain.SnapshotEntry{Bucket: "all", Collection: "calendar", ID: "2026", Version: 1, Scope: []string{"all"}, Data: json.RawMessage(`{}`)})
	if err := s.PutSnapshot(ctx, batch); err != nil {
		t.Fatalf("PutSnapshot: %v", err)
	}
	// The same batch again (a projector repeating after a crash) changes nothing.
	if err := s.PutSnapshot(ctx, batch); err != nil {
		t.Fatalf("PutSnapshot again: %v", err)
	}
	for _, limit := range []int{1, 7, 1000} {
		got := readAll(district, limit)
		if len(got) != 25 {
			t.Fatalf("limit %d: district t:3132 holds %d keys, want 25", limit, len(got))
		}
	}
	if got := readAll(domain.SnapshotRanges(domain.BucketFilter{Prefixes: []string{"t:31"}})[0], 10); len(got) != 27 {
		t.Fatalf("oblast t:31 holds %d keys, want 27", len(got))
	}
	if got := readAll(domain.SnapshotRanges(domain.BucketFilter{Buckets: []string{"all"}})[0], 10); len(got) != 1 {
		t.Fatalf("all holds %d keys, want 1", len(got))
	}
	e := readAll(district, 100)[entry("t:3132", "a03", 1).Key()]
	if e.Version != 1 || e.Collection != "animals" || e.ID != "a03" || e.Bucket != "t:3132" || len(e.Scope) != 2 || !SameJSON(t, e.Data, []byte(`{"id":"a03","v":1}`)) {
		t.Fatalf("entry read back as %+v", e)
	}

	// Newer versions replace, older ones do not; a gone entry hides the key for good.
	if err := s.PutSnapshot(ctx, []domain.SnapshotEntry{entry("t:3132", "a03", 3), entry("t:3132", "a04", 2)}); err != nil {
		t.Fatal(err)
	}
	gone := entry("t:3132", "a05", 4)
	gone.Data = nil
	if err := s.PutSnapshot(ctx, []domain.SnapshotEntry{entry("t:3132", "a03", 2), gone}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSnapshot(ctx, []domain.SnapshotEntry{entry("t:3132", "a05", 3)}); err != nil {
		t.Fatal(err)
	}
	got := readAll(district, 3)
	if v := got[entry("t:3132", "a03", 0).Key()].Version; v != 3 {
		t.Fatalf("a03 at version %d, want 3 (an older put must not win)", v)
	}
	if v := got[entry("t:3132", "a04", 0).Key()].Version; v != 2 {
		t.Fatalf("a04 at version %d, want 2", v)
	}
	if _, ok := got[gone.Key()]; ok || len(got) != 24 {
		t.Fatalf("a gone record is still read (or came back from an older put): %d keys", len(got))
	}

	// Records of one cluster are read side by side, whatever their collections and ids.
	clustered := []domain.SnapshotEntry{
		{Bucket: "t:3177", Cluster: "k1", Collection: "documents", ID: "zz", Version: 1, Data: json.RawMessage(`{}`)},
		{Bucket: "t:3177", Collection: "animals", ID: "k0", Version: 1, Data: json.RawMessage(`{}`)},
		{Bucket: "t:3177", Collection: "animals", ID: "k1", Version: 1, Data: json.RawMessage(`{}`)},
		{Bucket: "t:3177", Cluster: "k1", Collection: "animal_events", ID: "aa", Version: 1, Data: json.RawMessage(`{}`)},
		{Bucket: "t:3177", Collection: "animals", ID: "k2", Version: 1, Data: json.RawMessage(`{}`)},
	}
	if err := s.PutSnapshot(ctx, clustered); err != nil {
		t.Fatal(err)
	}
	page, _, err := s.Snapshot(ctx, domain.SnapshotRanges(domain.BucketFilter{Buckets: []string{"t:3177"}})[0], "", 10)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range page {
		order = append(order, e.Cluster+"/"+e.Collection+"/"+e.ID)
	}
	if got, want := fmt.Sprint(order), "[k0/animals/k0 k1/animal_events/aa k1/animals/k1 k1/documents/zz k2/animals/k2]"; got != want {
		t.Fatalf("clustered entries read as %s, want %s", got, want)
	}

	// Puts of older versions after a newer one (a slow projector) leave the newer one, however the
	// reads are cut.
	for _, v := range []int64{20, 18, 17, 19} {
		if err := s.PutSnapshot(ctx, []domain.SnapshotEntry{entry("t:3198", "late", v)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{1, 2, 10} {
		late := readAll(domain.SnapshotRanges(domain.BucketFilter{Buckets: []string{"t:3198"}})[0], limit)
		if e := late[entry("t:3198", "late", 0).Key()]; len(late) != 1 || e.Version != 20 {
			t.Fatalf("limit %d: after older puts the key reads as %+v, want version 20", limit, late)
		}
	}

	// Concurrent puts of versions 1..20 of one key leave 20.
	var wg sync.WaitGroup
	for v := range int64(20) {
		wg.Go(func() {
			if err := s.PutSnapshot(ctx, []domain.SnapshotEntry{entry("t:3199", "race", v+1)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	race := readAll(domain.SnapshotRanges(domain.BucketFilter{Buckets: []string{"t:3199"}})[0], 1)
	if len(race) != 1 || race[entry("t:3199", "race", 0).Key()].Version != 20 {
		t.Fatalf("after concurrent puts: %+v, want version 20", race)
	}
}
