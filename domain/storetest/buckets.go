package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// Scope keys of the bucket tests: two rural districts of one district (Bayzak, bucket t:3132),
// another district of the same oblast (t:3134), another oblast (t:3512), an owner and reference
// data.
const (
	keyRuralA  = "t:313245100"
	keyRuralB  = "t:313237100"
	keyOther   = "t:313445100"
	keyOblast2 = "t:351200000"
	keyOwner   = "o:880101300123"
)

// bucketFilters are the filters the tests read by, from a district's vet's to an admin's.
var bucketFilters = map[string]domain.BucketFilter{
	"district": {Buckets: []string{"t:3132", "all"}},
	"other":    {Buckets: []string{"t:3134"}},
	"oblast":   {Prefixes: []string{"t:31"}, Buckets: []string{"all"}},
	"farmer":   {Buckets: []string{keyOwner, "all"}},
	"two":      {Buckets: []string{"t:3512", "t:3134"}},
	"none":     {Buckets: []string{"t:9999"}},
	"admin":    {All: true},
}

// inFilter is the oracle: the entries of chs that f selects, by their buckets.
func inFilter(chs []domain.Change, f domain.BucketFilter) []domain.Change {
	var out []domain.Change
	for _, ch := range chs {
		if f.All || slices.ContainsFunc(domain.Buckets(ch.Scope, ch.PrevScope), f.Matches) {
			out = append(out, ch)
		}
	}
	return out
}

// AllChangesIn reads the entries of f's buckets from after to the current end in pages of limit.
func AllChangesIn(t testing.TB, s domain.Store, f domain.BucketFilter, after int64, limit int) []domain.Change {
	t.Helper()
	var out []domain.Change
	for {
		chs, err := s.ChangesIn(t.Context(), f, after, limit)
		if err != nil {
			t.Fatalf("ChangesIn(%+v, %d, %d): %v", f, after, limit, err)
		}
		if len(chs) > limit {
			t.Fatalf("ChangesIn(%+v, %d, %d) returned %d entries", f, after, limit, len(chs))
		}
		if len(chs) == 0 {
			return out
		}
		out = append(out, chs...)
		after = chs[len(chs)-1].Seq
	}
}

func seqs(chs []domain.Change) []int64 {
	out := make([]int64, len(chs))
	for i, ch := range chs {
		out[i] = ch.Seq
	}
	return out
}

func testBuckets(t *testing.T) {
	for _, c := range []struct {
		scope, prev []string
		want        []string
	}{
		{[]string{keyRuralA, keyOwner}, nil, []string{"t:3132", keyOwner}},
		{[]string{keyOther}, []string{keyRuralA, keyRuralB}, []string{"t:3134", "t:3132"}},
		{[]string{"all"}, []string{"all"}, []string{"all"}},
		{[]string{"t:1", "s:0"}, nil, []string{"t:1", "s:0"}},
		{nil, nil, []string{}},
	} {
		if got := domain.Buckets(c.scope, c.prev); !slices.Equal(got, c.want) {
			t.Errorf("Buckets(%q, %q) = %q, want %q", c.scope, c.prev, got, c.want)
		}
	}
	for kato, want := range map[domain.Kato]domain.BucketFilter{
		"313245100": {Buckets: []string{"t:3132"}},
		"313200000": {Buckets: []string{"t:3132"}},
		"310000000": {Prefixes: []string{"t:31"}},
	} {
		if got := domain.TerritoryBuckets(kato); !slices.Equal(got.Buckets, want.Buckets) || !slices.Equal(got.Prefixes, want.Prefixes) {
			t.Errorf("TerritoryBuckets(%s) = %+v, want %+v", kato, got, want)
		}
	}
}

// testChangesIn writes records across buckets, some moving between them, and checks that every
// filter reads exactly the entries of its buckets, in seq order, whatever the page size and the
// starting point.
func testChangesIn(t *testing.T, s domain.Store) {
	ctx := t.Context()
	type w struct {
		id    string
		scope []string
	}
	writes := []w{
		{"a", []string{keyRuralA, keyOwner}}, {"b", []string{keyOther}}, {"c", []string{"all"}},
		{"d", []string{keyOblast2}}, {"a", []string{keyRuralB, keyOwner}}, {"b", []string{keyRuralA}}, // b moves into the district
		{"e", []string{keyRuralB}}, {"a", []string{keyOther}}, // a moves out, and loses its owner
		{"d", []string{keyOblast2}}, {"c", []string{"all"}}, {"f", nil},
	}
	recs := map[string]domain.Record{}
	for i, x := range writes {
		rec, ok := recs[x.id]
		var err error
		if !ok {
			rec, err = s.Insert(ctx, "animals", domain.Record{ID: x.id, Scope: x.scope, Data: JSON(t, animal{Tag: x.id})})
		} else {
			rec.Scope, rec.Data = x.scope, JSON(t, animal{Tag: x.id, Name: fmt.Sprint(i)})
			rec, err = s.Update(ctx, "animals", rec)
		}
		if err != nil {
			t.Fatal(err)
		}
		recs[x.id] = rec
	}
	all := AllChanges(t, s, 0, 100)
	if len(all) != len(writes) {
		t.Fatalf("%d entries, want %d", len(all), len(writes))
	}
	for name, f := range bucketFilters {
		want := inFilter(all, f)
		for _, limit := range []int{1, 2, 3, 100} {
			for _, from := range []int{0, 3, len(all) - 1} {
				after := int64(0)
				if from > 0 {
					after = all[from-1].Seq
				}
				got := AllChangesIn(t, s, f, after, limit)
				wantFrom := inFilter(all[from:], f)
				if !slices.Equal(seqs(got), seqs(wantFrom)) {
					t.Errorf("%s: ChangesIn(after %d, limit %d) = %v, want %v", name, after, limit, seqs(got), seqs(wantFrom))
				}
				for i := range got {
					if w := wantFrom[i]; got[i].ID != w.ID || got[i].Version != w.Version ||
						!sameStrings(got[i].Scope, w.Scope) || !sameStrings(got[i].PrevScope, w.PrevScope) {
						t.Errorf("%s: entry %d = %+v, want %+v", name, i, got[i], w)
					}
				}
			}
		}
		if name == "district" {
			// a (moved out), b (moved in), c, e: every record that was ever in the district.
			ids := map[string]bool{}
			for _, ch := range want {
				ids[ch.ID] = true
			}
			if len(ids) != 4 || !ids["a"] || !ids["b"] || !ids["c"] || !ids["e"] {
				t.Errorf("the district's buckets hold %v", ids)
			}
		}
	}
	if chs, err := s.ChangesIn(ctx, bucketFilters["district"], all[len(all)-1].Seq, 10); err != nil || len(chs) != 0 {
		t.Errorf("ChangesIn after the end = %v, %v", chs, err)
	}
}

// testChangesInConcurrent has writers move records between districts while one follower per
// filter reads its buckets in small pages: each follower sees exactly the entries of its buckets
// in the full log, once each and in order, although writes commit out of order.
func testChangesInConcurrent(t *testing.T, s domain.Store) {
	const writers, writes = 6, 8
	ctx := t.Context()
	keys := []string{keyRuralA, keyRuralB, keyOther, keyOblast2, "all"}
	names := []string{"district", "other", "oblast", "two"}
	followed := make([][]domain.Change, len(names))
	stop := make(chan struct{})
	var followers sync.WaitGroup
	for i, name := range names {
		followers.Go(func() {
			var after int64
			for {
				last := stopped(stop) // every write had committed before this read began
				chs, err := s.ChangesIn(ctx, bucketFilters[name], after, 3)
				if err != nil {
					t.Errorf("ChangesIn: %v", err)
					return
				}
				followed[i] = append(followed[i], chs...)
				if len(chs) > 0 {
					after = chs[len(chs)-1].Seq
					continue
				}
				if last {
					return // an empty read that began after the last commit: the end
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			id := fmt.Sprint("w", g)
			rec, err := s.Insert(ctx, "animals", domain.Record{ID: id, Scope: []string{keys[g%len(keys)]}, Data: JSON(t, animal{Tag: id})})
			for i := 1; i < writes && err == nil; i++ {
				rec.Scope = []string{keys[(g+i)%len(keys)]}
				rec.Data = JSON(t, animal{Tag: id, Name: fmt.Sprint(i)})
				rec, err = s.Update(ctx, "animals", rec)
			}
			if err != nil {
				t.Errorf("writer %d: %v", g, err)
			}
		})
	}
	wg.Wait()
	// Let the followers catch up with the end of the log, then stop them.
	all := AllChanges(t, s, 0, 50)
	close(stop)
	followers.Wait()
	if len(all) != writers*writes {
		t.Fatalf("%d entries in the log, want %d", len(all), writers*writes)
	}
	for i, name := range names {
		if want := inFilter(all, bucketFilters[name]); !slices.Equal(seqs(followed[i]), seqs(want)) {
			t.Errorf("%s followed %v, want %v", name, seqs(followed[i]), seqs(want))
		}
	}
}

// testCompact checks what compaction keeps: a record updated in place keeps its last entry
// only; a record that moved keeps, besides its last entry, the entry that tells the district it
// left; and for every checkpoint and every scope key, a reader still meets each record whose
// change it would have met before compaction, at the record's latest entry for that key or later.
func testCompact(t *testing.T, s domain.Store) {
	ctx := t.Context()
	put := func(id string, scope ...string) {
		t.Helper()
		rec, err := s.Get(ctx, "animals", id)
		if domain.IsCode(err, domain.ENOTFOUND) {
			mustInsert(t, s, "animals", id, scope, animal{Tag: id})
			return
		} else if err != nil {
			t.Fatal(err)
		}
		rec.Scope, rec.Data = scope, JSON(t, animal{Tag: id, Name: fmt.Sprint(rec.Version)})
		if _, err := s.Update(ctx, "animals", rec); err != nil {
			t.Fatal(err)
		}
	}
	put("still", keyRuralA, keyOwner)
	put("moved", keyRuralA)
	for range 3 {
		put("still", keyRuralA, keyOwner)
	}
	put("moved", keyOther) // leaves the district
	put("ref", "all")
	put("moved", keyOther)
	put("moved", keyOther)
	put("ref", "all")
	before := AllChanges(t, s, 0, 100)

	compactAll(t, s)
	after := AllChanges(t, s, 0, 100)
	var got []string
	for _, ch := range after {
		got = append(got, fmt.Sprintf("%s@%d", ch.ID, ch.Version))
	}
	if want := []string{"still@4", "moved@2", "moved@4", "ref@2"}; !slices.Equal(got, want) {
		t.Fatalf("after compaction the log holds %v, want %v", got, want)
	}
	if n, done, err := s.Compact(ctx, 0); err != nil || n != 0 || !done {
		t.Fatalf("a second compaction: %d, %v, %v", n, done, err)
	}
	wantMeets(t, s, before)
}

// compactAll compacts until the store says it is done.
func compactAll(t testing.TB, s domain.Store) int {
	t.Helper()
	total := 0
	for range 1000 {
		n, done, err := s.Compact(t.Context(), 3)
		if err != nil {
			t.Fatalf("Compact: %v", err)
		}
		total += n
		if done {
			return total
		}
	}
	t.Fatal("Compact never finishes")
	return 0
}

// wantMeets checks the reader's guarantee against the log before compaction: from every
// checkpoint of it, a reader of each scope key's bucket meets each record the old log had for
// that key after the checkpoint, at a version at least as new.
func wantMeets(t testing.TB, s domain.Store, before []domain.Change) {
	t.Helper()
	keys := map[string]bool{}
	for _, ch := range before {
		for _, k := range append(slices.Clone(ch.Scope), ch.PrevScope...) {
			keys[k] = true
		}
	}
	for i := -1; i < len(before); i++ {
		var cp int64
		if i >= 0 {
			cp = before[i].Seq
		}
		for k := range keys {
			met := map[string]int64{}
			for _, ch := range AllChangesIn(t, s, domain.BucketFilter{Buckets: []string{domain.Bucket(k)}}, cp, 100) {
				if slices.Contains(ch.Scope, k) || slices.Contains(ch.PrevScope, k) {
					met[ch.ID] = max(met[ch.ID], ch.Version)
				}
			}
			for _, ch := range before[i+1:] {
				if (slices.Contains(ch.Scope, k) || slices.Contains(ch.PrevScope, k)) && met[ch.ID] < ch.Version {
					t.Errorf("from checkpoint %d, a reader of %s meets %s at version %d, not at %d or later", cp, k, ch.ID, met[ch.ID], ch.Version)
				}
			}
		}
	}
}

// testCompactConcurrent compacts while writers move records between districts and followers
// read their buckets slowly, so that compaction deletes entries they have not reached yet: each
// follower still meets every record that was ever in its buckets, at its last version there or
// later, and the log ends up holding far fewer entries than writes.
func testCompactConcurrent(t *testing.T, s domain.Store) {
	const writers, writes = 4, 12
	ctx := t.Context()
	keys := []string{keyRuralA, keyRuralA, keyOther, keyRuralA, keyOblast2}
	// last[key][id] is the last version of id that was written with key in its scope or prev.
	var mu sync.Mutex
	last := map[string]map[string]int64{}
	note := func(id string, v int64, scopes ...[]string) {
		mu.Lock()
		defer mu.Unlock()
		for _, sc := range scopes {
			for _, k := range sc {
				if last[k] == nil {
					last[k] = map[string]int64{}
				}
				last[k][id] = max(last[k][id], v)
			}
		}
	}
	followKeys := []string{keyRuralA, keyOther, keyOblast2}
	met := make([]map[string]int64, len(followKeys))
	stop := make(chan struct{})
	var bg sync.WaitGroup
	for i, k := range followKeys {
		met[i] = map[string]int64{}
		bg.Go(func() {
			var after int64
			for {
				last := stopped(stop) // every write had committed before this read began
				chs, err := s.ChangesIn(ctx, domain.BucketFilter{Buckets: []string{domain.Bucket(k)}}, after, 2)
				if err != nil {
					t.Errorf("ChangesIn: %v", err)
					return
				}
				for _, ch := range chs {
					if slices.Contains(ch.Scope, k) || slices.Contains(ch.PrevScope, k) {
						met[i][ch.ID] = max(met[i][ch.ID], ch.Version)
					}
					after = ch.Seq
				}
				if len(chs) == 0 && last {
					return // an empty read that began after the last commit: the end
				}
				time.Sleep(30 * time.Millisecond) // slower than the writers: compaction overtakes
			}
		})
	}
	compacting := make(chan struct{})
	bg.Go(func() {
		defer close(compacting)
		for {
			if _, _, err := s.Compact(ctx, 5); err != nil {
				t.Errorf("Compact: %v", err)
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			id := fmt.Sprint("c", g)
			scope := []string{keys[g%len(keys)]}
			rec, err := s.Insert(ctx, "animals", domain.Record{ID: id, Scope: scope, Data: JSON(t, animal{Tag: id})})
			if err == nil {
				note(id, 1, scope)
			}
			for i := 1; i < writes && err == nil; i++ {
				prev := rec.Scope
				rec.Scope = []string{keys[(g+i)%len(keys)]}
				rec.Data = JSON(t, animal{Tag: id, Name: fmt.Sprint(i)})
				if rec, err = s.Update(ctx, "animals", rec); err == nil {
					note(id, rec.Version, rec.Scope, prev)
				}
			}
			if err != nil {
				t.Errorf("writer %d: %v", g, err)
			}
		})
	}
	wg.Wait()
	AllChanges(t, s, 0, 50) // the followers' way to the end is open
	time.Sleep(100 * time.Millisecond)
	close(stop)
	bg.Wait()
	<-compacting
	for i, k := range followKeys {
		for id, v := range last[k] {
			if met[i][id] < v {
				t.Errorf("the follower of %s met %s at version %d, not at %d or later", k, id, met[i][id], v)
			}
		}
	}
	compactAll(t, s)
	if n := len(AllChanges(t, s, 0, 100)); n >= writers*writes/2 {
		t.Errorf("after compaction the log holds %d entries of %d writes", n, writers*writes)
	}
}

// stopped reports whether stop is closed. A follower that asks before it reads, and then reads
// nothing, has seen the end: a read that merely raced the writers' last commits would not count.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}
