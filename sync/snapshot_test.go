package sync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	vsync "github.com/vetfield/vetfield/sync"
)

// replica is what a tablet keeps from pages of format 2: each record's newest version and data.
type replica map[string]*vsync.Item

// apply applies one format 2 page as a tablet does and returns it decoded.
func (r replica) apply(t *testing.T, raw []byte, limit int) *vsync.Page {
	t.Helper()
	var page vsync.Page
	if err := json.Unmarshal(raw, &page); err != nil {
		t.Fatalf("a page that is not JSON: %v: %.200s", err, raw)
	}
	if page.Len() > limit {
		t.Fatalf("a page of %d records for a limit of %d", page.Len(), limit)
	}
	err := page.Each(func(rec vsync.Record) error {
		if rec.Data == nil {
			delete(r, rec.ID)
		} else if have := r[rec.ID]; have == nil || have.Version < rec.Version { // newer only, as sync/client applies it
			r[rec.ID] = &vsync.Item{Collection: rec.Collection, ID: rec.ID, Version: rec.Version, Data: rec.Data}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &page
}

// pull2 pulls pages of format 2 from cp until the server has no more, into r, and returns the
// pages and the last checkpoint.
func (r replica) pull2(t *testing.T, s *vsync.Service, u *accounts.User, cp string, limit int) ([]*vsync.Page, string) {
	t.Helper()
	var pages []*vsync.Page
	for range 10_000 {
		raw, err := s.PullPage(t.Context(), u, "dev", cp, limit)
		if err != nil {
			t.Fatal(err)
		}
		page := r.apply(t, raw, limit)
		pages = append(pages, page)
		cp = page.Checkpoint
		if page.Resync || !page.More {
			return pages, cp
		}
	}
	t.Fatal("the pull never ended")
	return nil, ""
}

// project runs the projector to the end of the log.
func project(t *testing.T, s *vsync.Service) {
	t.Helper()
	if err := s.ProjectAll(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// truth is what a tablet of u should hold: every record of herds in u's scope at its version.
func truth(t *testing.T, store domain.Store, u *accounts.User, ids []string) map[string]int64 {
	t.Helper()
	recs, err := store.GetMany(t.Context(), herds.Name, ids)
	if err != nil {
		t.Fatal(err)
	}
	p := u.Principal()
	out := map[string]int64{}
	for _, r := range recs {
		if vsync.InScopeForTest(p, r.Scope) {
			out[r.ID] = r.Version
		}
	}
	return out
}

func sameReplica(t *testing.T, got replica, want map[string]int64) {
	t.Helper()
	for id, v := range want {
		if it := got[id]; it == nil || it.Version != v {
			t.Errorf("record %s: the tablet has %+v, the server version %d", id, it, v)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("record %s is on the tablet but not in its scope", id)
		}
	}
}

// TestSnapshotFirstPull: a first pull in format 2 reads the snapshot index, reference data first,
// the district's records only, then goes over to the log where the index stopped, and what the
// log adds (an update, a record moved away, a record moved in) reaches the tablet as it should.
func TestSnapshotFirstPull(t *testing.T) {
	s, store := setup(t)
	vet := &accounts.User{Meta: domain.Meta{ID: "u1"}, Role: domain.RoleVet, Territory: "313200000"}
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("d%02d", i)
		put(t, store, id, 0, "t:313245100", "o:880101300123")
		ids = append(ids, id)
	}
	for i := range 30 {
		id := fmt.Sprintf("x%02d", i)
		put(t, store, id, 0, "t:314000000")
		ids = append(ids, id)
	}
	put(t, store, "ref", 0, "all")
	ids = append(ids, "ref")
	project(t, s)
	// Written after the index was complete: only the log has them.
	put(t, store, "d00", 1, "t:313245100")
	put(t, store, "late", 0, "t:313212000")
	ids = append(ids, "late")

	got := replica{}
	pages, cp := got.pull2(t, s, vet, "", 7)
	if first := pages[0].Records; len(first) == 0 || string(first[0][:8]) != `[0,"ref"` {
		t.Fatalf("the first page does not start with reference data: %s", first)
	}
	sameReplica(t, got, truth(t, store, vet, ids))
	if got["d00"].Version != 2 || got["late"] == nil {
		t.Fatalf("what the log added after the index did not arrive: %+v %+v", got["d00"], got["late"])
	}

	t.Run("Incremental", func(t *testing.T) {
		put(t, store, "d01", 1, "t:314000000")                   // moved away: a removal
		put(t, store, "x01", 1, "t:313245100")                   // moved in
		put(t, store, "x02", 1, "t:314000000", "o:880101300123") // changed elsewhere: nothing
		project(t, s)
		pages, _ := got.pull2(t, s, vet, cp, 100)
		sameReplica(t, got, truth(t, store, vet, ids))
		if n := pages[0].Len(); n != 2 {
			t.Fatalf("the incremental pull carried %d records, want 2", n)
		}
	})

	t.Run("MovedAwayIsNotInTheNextSnapshot", func(t *testing.T) {
		fresh := replica{}
		fresh.pull2(t, s, vet, "", 1000)
		sameReplica(t, fresh, truth(t, store, vet, ids))
		other := &accounts.User{Meta: domain.Meta{ID: "u3"}, Role: domain.RoleVet, Territory: "314000000"}
		theirs := replica{}
		theirs.pull2(t, s, other, "", 5)
		sameReplica(t, theirs, truth(t, store, other, ids))
	})

	t.Run("RuralDistrictGetsItsOwnOnly", func(t *testing.T) {
		rural := &accounts.User{Meta: domain.Meta{ID: "u4"}, Role: domain.RoleVet, Territory: "313245000"}
		mine := replica{}
		mine.pull2(t, s, rural, "", 9)
		sameReplica(t, mine, truth(t, store, rural, ids))
		if len(mine) < 39 {
			t.Fatalf("the rural district's vet has %d records", len(mine))
		}
	})

	t.Run("FormatOneCannotReadOnASnapshotCheckpoint", func(t *testing.T) {
		raw, err := s.PullPage(t.Context(), vet, "dev", "", 3)
		if err != nil {
			t.Fatal(err)
		}
		var page vsync.Page
		json.Unmarshal(raw, &page)
		res, err := s.Pull(t.Context(), vet, "dev", page.Checkpoint, 3)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Resync {
			t.Fatal("a format 1 pull read on from a snapshot checkpoint, without what the snapshot had not sent")
		}
	})

	t.Run("FarmersReadTheLog", func(t *testing.T) {
		farmer := &accounts.User{Meta: domain.Meta{ID: "u2"}, Role: domain.RoleFarmer, IIN: "880101300123"}
		mine := replica{}
		mine.pull2(t, s, farmer, "", 4)
		sameReplica(t, mine, truth(t, store, farmer, ids))
	})
}

// TestSnapshotWithWriters: first pulls in format 2 taken while writers update records and move
// them between districts and projectors file them, several at once, end, once the writers stop and
// the tablet pulls again, with exactly the records of its scope at their current versions.
func TestSnapshotWithWriters(t *testing.T) {
	s, store := setup(t)
	vet := &accounts.User{Meta: domain.Meta{ID: "u1"}, Role: domain.RoleVet, Territory: "313200000"}
	const n = 300
	ids := make([]string, n)
	versions := make([]atomic.Int64, n)
	places := []string{"t:313245100", "t:313212000", "t:314000000", "t:311000000"}
	for i := range n {
		ids[i] = fmt.Sprintf("r%03d", i)
		put(t, store, ids[i], 0, places[i%len(places)])
		versions[i].Store(1)
	}
	project(t, s)

	stop := make(chan struct{})
	var writers, projectors sync.WaitGroup
	for w := range 4 {
		writers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range 150 {
				i := w + 4*rng.IntN(n/4) // each writer owns its records: no lost compare-and-swap
				v := versions[i].Load()
				put(t, store, ids[i], v, places[rng.IntN(len(places))])
				versions[i].Add(1)
			}
		})
	}
	for range 2 {
		projectors.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := s.Project(t.Context(), 1); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	tablets := make([]replica, 3)
	checkpoints := make([]string, 3)
	var pulls sync.WaitGroup
	for i := range tablets {
		pulls.Go(func() {
			tablets[i] = replica{}
			_, checkpoints[i] = tablets[i].pull2(t, s, vet, "", 11+i*7)
		})
	}
	pulls.Wait()
	writers.Wait()
	close(stop)
	projectors.Wait()
	want := truth(t, store, vet, ids)
	for i, r := range tablets {
		r.pull2(t, s, vet, checkpoints[i], 50)
		sameReplica(t, r, want)
	}
	// A first pull after everything settled, through the index.
	project(t, s)
	late := replica{}
	late.pull2(t, s, vet, "", 20)
	sameReplica(t, late, want)
}

// TestSnapshotViewsChange: a release whose views differ files the index again, and no first pull,
// during the filing or after it, gets a record in the shape the older release filed.
func TestSnapshotViewsChange(t *testing.T) {
	s, store := setup(t)
	shaped := func(version int) map[string]vsync.View {
		return map[string]vsync.View{herds.Name: func(_ context.Context, rec domain.Record) (any, error) {
			return map[string]any{"id": rec.ID, "shape": version}, nil
		}}
	}
	s.Views, s.ViewsVersion = shaped(1), 1
	var ids []string
	for i := range 1500 { // more than one batch of the projector
		id := fmt.Sprintf("h%04d", i)
		put(t, store, id, 0, "t:313245100")
		ids = append(ids, id)
	}
	project(t, s)
	vet := &accounts.User{Meta: domain.Meta{ID: "u1"}, Role: domain.RoleVet, Territory: "313200000"}
	check := func(s *vsync.Service, shape int) {
		t.Helper()
		got := replica{}
		got.pull2(t, s, vet, "", 400)
		sameReplica(t, got, truth(t, store, vet, ids))
		for id, it := range got {
			if want := fmt.Sprintf(`"shape":%d`, shape); !strings.Contains(string(it.Data), want) {
				t.Fatalf("record %s came as %s, want %s", id, it.Data, want)
			}
		}
	}
	check(s, 1)

	next := &vsync.Service{Store: store, Views: shaped(2), ViewsVersion: 2}
	check(next, 2) // the index is of the old views: the log serves
	if _, done, err := next.Project(t.Context(), 1); err != nil || done {
		t.Fatalf("one round of filing again: done=%v, %v", done, err)
	}
	check(next, 2) // half filed again: the new half from the index, the rest from the log
	project(t, next)
	check(next, 2)
}

// TestSnapshotClusteredRecordLeaves: a record filed beside another (its cluster) that leaves every
// territory for good — kept by its owner alone — is marked gone under the key it was filed by, and
// no first pull of its old district gets it.
func TestSnapshotClusteredRecordLeaves(t *testing.T) {
	s, store := setup(t)
	s.ClusterBy = map[string]string{herds.Name: "of"}
	ctx := t.Context()
	rec, err := store.Insert(ctx, herds.Name, domain.Record{ID: "paper", Scope: []string{"t:313245100", "o:880101300123"},
		Data: json.RawMessage(`{"of":"cow-1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	put(t, store, "cow-1", 0, "t:313245100")
	project(t, s)
	vet := &accounts.User{Meta: domain.Meta{ID: "u1"}, Role: domain.RoleVet, Territory: "313200000"}
	before := replica{}
	before.pull2(t, s, vet, "", 10)
	if before["paper"] == nil || before["cow-1"] == nil {
		t.Fatalf("the district's first pull: %v", before)
	}
	rec.Scope = []string{"o:880101300123"}
	if _, err := store.Update(ctx, herds.Name, rec); err != nil {
		t.Fatal(err)
	}
	project(t, s)
	after := replica{}
	after.pull2(t, s, vet, "", 10)
	if after["paper"] != nil || after["cow-1"] == nil {
		t.Fatalf("after the paper left the district, its first pull holds %v", after)
	}
}
