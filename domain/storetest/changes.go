package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
)

func testIncr(t *testing.T, opened func(t *testing.T) domain.Store) {
	t.Run("OK", func(t *testing.T) {
		s := opened(t)
		ctx := t.Context()
		for _, step := range []struct {
			key   string
			delta int64
			want  int64
		}{{"k", 1, 1}, {"k", 2, 3}, {"k", -5, -2}, {"other", 10, 10}, {"k", 0, -2}} {
			got, err := s.Incr(ctx, step.key, step.delta, time.Time{})
			if err != nil || got != step.want {
				t.Fatalf("Incr(%s, %d) = %d, %v; want %d", step.key, step.delta, got, err, step.want)
			}
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := opened(t)
		const goroutines, each = 8, 25
		var mu sync.Mutex
		var got []int64
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				for range each {
					v, err := s.Incr(t.Context(), "hits", 1, time.Time{})
					if err != nil {
						t.Errorf("Incr: %v", err)
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
				t.Fatalf("the %dth increment returned %d: increments were lost or repeated", i+1, v)
			}
		}
		if v, err := s.Incr(t.Context(), "hits", 0, time.Time{}); err != nil || v != goroutines*each {
			t.Fatalf("final value %d, %v; want %d", v, err, goroutines*each)
		}
	})
	t.Run("Sweep", func(t *testing.T) {
		s := opened(t)
		ctx := t.Context()
		// Far in the future, so that no store's clock has reached them: only Sweep can remove.
		base := time.Now().Add(1000 * time.Hour).Truncate(time.Second)
		t1, t2, t3 := base, base.Add(time.Hour), base.Add(2*time.Hour)
		incr := func(key string, delta int64, exp time.Time, want int64) {
			t.Helper()
			if got, err := s.Incr(ctx, key, delta, exp); err != nil || got != want {
				t.Fatalf("Incr(%s, %d) = %d, %v; want %d", key, delta, got, err, want)
			}
		}
		incr("window", 5, t1, 5)
		incr("window", 1, t3, 6) // a later expiry does not move the first one
		incr("keep", 5, t3, 5)
		incr("forever", 5, time.Time{}, 5)
		if err := s.Sweep(ctx, t2); err != nil {
			t.Fatal(err)
		}
		if err := s.Sweep(ctx, t2); err != nil { // twice is harmless
			t.Fatal(err)
		}
		incr("window", 1, t3, 1)
		incr("keep", 1, t3, 6)
		incr("forever", 1, time.Time{}, 6)
		if err := s.Sweep(ctx, t3.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		incr("forever", 1, time.Time{}, 7)
		incr("keep", 1, t3, 1)
	})
}

func testChanges(t *testing.T, opened func(t *testing.T) domain.Store) {
	t.Run("OnlySynced", func(t *testing.T) {
		s := opened(t)
		u := mustInsert(t, s, "accounts", "u1", []string{"t:1"}, account{Login: "a", Org: "o", No: 1})
		u.Data = JSON(t, account{Login: "b", Org: "o", No: 1})
		if _, err := s.Update(t.Context(), "accounts", u); err != nil {
			t.Fatal(err)
		}
		if chs := AllChanges(t, s, 0, 10); len(chs) != 0 {
			t.Fatalf("an unsynced collection logged %+v", chs)
		}
		mustInsert(t, s, "animals", "a1", nil, animal{Tag: "T1"})
		if chs := AllChanges(t, s, 0, 10); len(chs) != 1 || chs[0].ID != "a1" {
			t.Fatalf("got %+v, want one entry for a1", chs)
		}
	})
	t.Run("InsertUpdate", func(t *testing.T) {
		s := opened(t)
		rec := mustInsert(t, s, "animals", "a1", []string{"t:1", "o:1"}, animal{Tag: "T1"})
		rec.Scope = []string{"t:2"}
		rec, err := s.Update(t.Context(), "animals", rec)
		if err != nil {
			t.Fatal(err)
		}
		rec.Scope = nil
		if _, err := s.Update(t.Context(), "animals", rec); err != nil {
			t.Fatal(err)
		}
		chs := AllChanges(t, s, 0, 10)
		if len(chs) != 3 {
			t.Fatalf("got %d entries, want 3: %+v", len(chs), chs)
		}
		want := []struct {
			version     int64
			scope, prev []string
		}{{1, []string{"t:1", "o:1"}, nil}, {2, []string{"t:2"}, []string{"t:1", "o:1"}}, {3, nil, []string{"t:2"}}}
		for i, ch := range chs {
			w := want[i]
			if ch.Collection != "animals" || ch.ID != "a1" || ch.Version != w.version ||
				!sameStrings(ch.Scope, w.scope) || !sameStrings(ch.PrevScope, w.prev) || ch.At.IsZero() {
				t.Errorf("entry %d = %+v, want version %d scope %q prev %q", i, ch, w.version, w.scope, w.prev)
			}
			if ch.Seq <= 0 || i > 0 && ch.Seq <= chs[i-1].Seq {
				t.Errorf("entry %d has seq %d after %d", i, ch.Seq, chs[max(i-1, 0)].Seq)
			}
		}
		if chs[0].PrevScope != nil {
			t.Errorf("PrevScope after insert = %#v, want nil", chs[0].PrevScope)
		}
	})
	t.Run("AfterLimit", func(t *testing.T) {
		s := opened(t)
		for i := range 5 {
			mustInsert(t, s, "animals", fmt.Sprint("a", i), nil, animal{Tag: fmt.Sprint("T", i)})
		}
		all, err := s.Changes(t.Context(), 0, 0) // 0 means the default page
		if err != nil || len(all) != 5 {
			t.Fatalf("Changes(0, 0) = %d entries, %v", len(all), err)
		}
		for i, ch := range all {
			if want := fmt.Sprint("a", i); ch.ID != want {
				t.Fatalf("entry %d is %s, want %s", i, ch.ID, want)
			}
		}
		for _, c := range []struct {
			after int64
			limit int
			want  []string
		}{
			{0, 2, []string{"a0", "a1"}},
			{all[1].Seq, 2, []string{"a2", "a3"}},
			{all[3].Seq, 10, []string{"a4"}},
			{all[4].Seq, 10, nil},
			{all[0].Seq, 1, []string{"a1"}},
		} {
			chs, err := s.Changes(t.Context(), c.after, c.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ch := range chs {
				got = append(got, ch.ID)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("Changes(%d, %d) = %v, want %v", c.after, c.limit, got, c.want)
			}
		}
	})
}

// testChangesConcurrent has 8 writers make 20 writes each while a reader follows the log: the
// reader, and a full read at the end, must see every write exactly once, in increasing Seq, with
// each document's versions in order.
func testChangesConcurrent(t *testing.T, s domain.Store) {
	const writers, writes = 8, 20
	ctx := t.Context()

	var followed []domain.Change
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		var after int64
		deadline := time.Time{}
		for {
			chs, err := s.Changes(ctx, after, 7)
			if err != nil {
				t.Errorf("Changes: %v", err)
				return
			}
			followed = append(followed, chs...)
			if len(chs) > 0 {
				after = chs[len(chs)-1].Seq
			}
			if len(chs) == 0 && len(followed) >= writers*writes {
				return
			}
			select {
			case <-stop:
				if deadline.IsZero() {
					deadline = time.Now().Add(30 * time.Second)
				}
				if time.Now().After(deadline) {
					t.Errorf("the reader saw %d of %d writes", len(followed), writers*writes)
					return
				}
			default:
			}
			// Poll gently: on FerretDB each read scans the whole log, and the writers need the CPU.
			time.Sleep(20 * time.Millisecond)
		}
	}()

	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			id := fmt.Sprint("w", g)
			rec, err := s.Insert(ctx, "animals", domain.Record{ID: id, Scope: []string{"s:0"}, Data: JSON(t, animal{Tag: id})})
			if err != nil {
				t.Errorf("Insert %s: %v", id, err)
				return
			}
			for i := 1; i < writes; i++ {
				rec.Scope = []string{fmt.Sprint("s:", i)}
				rec.Data = JSON(t, animal{Tag: id, Name: fmt.Sprint(i)})
				if rec, err = s.Update(ctx, "animals", rec); err != nil {
					t.Errorf("Update %s: %v", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-readerDone

	check := func(what string, chs []domain.Change) {
		t.Helper()
		if len(chs) != writers*writes {
			t.Errorf("%s: %d entries, want %d", what, len(chs), writers*writes)
		}
		next := map[string]int64{}
		for i, ch := range chs {
			if i > 0 && ch.Seq <= chs[i-1].Seq {
				t.Errorf("%s: seq %d after %d", what, ch.Seq, chs[i-1].Seq)
			}
			if ch.Version != next[ch.ID]+1 {
				t.Errorf("%s: %s version %d after %d", what, ch.ID, ch.Version, next[ch.ID])
			}
			next[ch.ID] = ch.Version
			if want := []string{fmt.Sprint("s:", ch.Version-1)}; !slices.Equal(ch.Scope, want) {
				t.Errorf("%s: %s v%d scope %q, want %q", what, ch.ID, ch.Version, ch.Scope, want)
			}
		}
	}
	check("follower", followed)
	check("full read", AllChanges(t, s, 0, 37))
}

// testRoundTrip stores a document with every kind of JSON value and reads it back through each
// read. It has no array directly inside an array: MongoDB stores those, but FerretDB 1.24, which
// the mongo adapter is tested against, refuses them ("nested arrays are not supported").
func testRoundTrip(t *testing.T, s domain.Store) {
	data := []byte(`{
		"tag": "RT-1", "owner": "Жамбыл облысы, Қордай", "born": 9007199254740992, "name": "Ақбоз 🐎", "alive": true,
		"place": {"oblast": "Жамбыл облысы", "district": "Қордай", "gps": {"lat": 43.0409, "lon": 74.7199}, "empty": {}},
		"vaccinations": [{"kind": "ящур", "doses": 2, "ok": true}, {"kind": "бруцеллёз", "doses": 1, "ok": false, "note": null}],
		"tags": [], "mixed": [1, "two", false, null, {"pair": [3.5, -1]}, {"x": {"y": [{}]}}],
		"min": -9007199254740992, "zero": 0, "float": 0.1, "exp": 1.5e-7, "nothing": null,
		"escapes": "quote \" backslash \\ newline \n tab \t <b>&amp;</b> \u00e9 \u2028"
	}`)
	in, err := s.Insert(t.Context(), "animals", domain.Record{ID: "rt", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	same := func(what string, got []byte) {
		t.Helper()
		if !SameJSON(t, got, data) {
			t.Errorf("%s: got %s", what, got)
		}
		// Integers are exact, not rounded through a float.
		dec := json.NewDecoder(bytes.NewReader(got))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		if m["born"] != json.Number("9007199254740992") || m["min"] != json.Number("-9007199254740992") {
			t.Errorf("%s: born %v, min %v", what, m["born"], m["min"])
		}
	}
	same("Insert", in.Data)
	same("Get", mustGet(t, s, "animals", "rt").Data)
	recs, err := s.GetMany(t.Context(), "animals", []string{"rt"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("GetMany: %v, %d", err, len(recs))
	}
	same("GetMany", recs[0].Data)
	rec, err := s.GetBy(t.Context(), "animals", "by_tag", "RT-1")
	if err != nil {
		t.Fatal(err)
	}
	same("GetBy", rec.Data)
	p, err := s.List(t.Context(), "animals", domain.Query{Index: "by_owner_born", Eq: []any{"Жамбыл облысы, Қордай", int64(1) << 53}})
	if err != nil || len(p.Records) != 1 {
		t.Fatalf("List by the unicode owner and 1<<53: %v, %d records", err, len(p.Records))
	}
	same("List", p.Records[0].Data)
	up, err := s.Update(t.Context(), "animals", rec)
	if err != nil {
		t.Fatal(err)
	}
	same("Update", up.Data)
	same("Get after Update", mustGet(t, s, "animals", "rt").Data)
}
