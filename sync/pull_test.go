package sync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/sqlite"
	vsync "github.com/vetfield/vetfield/sync"
)

// herds is a synced collection of the test's own: records that move between territories.
var herds = domain.CollectionSpec{Name: "herds", Synced: true}

func setup(t testing.TB) (*vsync.Service, domain.Store) {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "sync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Declare(t.Context(), append([]domain.CollectionSpec{herds}, vsync.Specs...)...); err != nil {
		t.Fatal(err)
	}
	return &vsync.Service{Store: store}, store
}

func put(t testing.TB, store domain.Store, id string, version int64, scope ...string) int64 {
	t.Helper()
	rec := domain.Record{ID: id, Version: version, Scope: scope, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, version))}
	var out domain.Record
	var err error
	if version == 0 {
		out, err = store.Insert(t.Context(), herds.Name, rec)
	} else {
		out, err = store.Update(t.Context(), herds.Name, rec)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.Version
}

// pullAll pulls pages until done and returns the last state of each record (nil when removed).
func pullAll(t *testing.T, s *vsync.Service, u *accounts.User, cp string, limit int) (map[string]*vsync.Item, string) {
	t.Helper()
	got := map[string]*vsync.Item{}
	for {
		res, err := s.Pull(t.Context(), u, "dev", cp, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Items) > limit {
			t.Fatalf("a page of %d items for a limit of %d", len(res.Items), limit)
		}
		for i := range res.Items {
			it := res.Items[i]
			got[it.ID] = &it
		}
		cp = res.Checkpoint
		if !res.More {
			return got, cp
		}
	}
}

func TestPullScope(t *testing.T) {
	s, store := setup(t)
	vet := &accounts.User{Meta: domain.Meta{ID: "u1"}, Role: domain.RoleVet, Territory: "313200000"}
	farmer := &accounts.User{Meta: domain.Meta{ID: "u2"}, Role: domain.RoleFarmer, IIN: "880101300123"}

	put(t, store, "a", 0, "t:313245100", "o:880101300123") // a settlement in the vet's district
	put(t, store, "b", 0, "t:314000000")                   // another district
	put(t, store, "c", 0, "all")                           // reference data
	for i := range 7 {
		put(t, store, fmt.Sprint("x", i), 0, "t:313200000")
	}

	got, cp := pullAll(t, s, vet, "", 3)
	if len(got) != 9 || got["b"] != nil || got["a"] == nil || got["c"] == nil {
		t.Fatalf("vet pulled %d records: %v", len(got), keys(got))
	}
	gotF, _ := pullAll(t, s, farmer, "", 100)
	if len(gotF) != 2 || gotF["a"] == nil || gotF["c"] == nil {
		t.Fatalf("farmer pulled %v", keys(gotF))
	}

	t.Run("Incremental", func(t *testing.T) {
		put(t, store, "x0", 1, "t:313200000")
		got, _ := pullAll(t, s, vet, cp, 100)
		if len(got) != 1 || got["x0"] == nil || got["x0"].Version != 2 {
			t.Fatalf("incremental pull: %v", keys(got))
		}
	})

	t.Run("LeavingScopeIsARemoval", func(t *testing.T) {
		// Animal "a" is sold to another district.
		put(t, store, "a", 1, "t:314000000")
		got, _ := pullAll(t, s, vet, cp, 100)
		if it := got["a"]; it == nil || !it.Deleted || it.Data != nil {
			t.Fatalf("the moved record reached the vet as %+v", it)
		}
		// The other district's vet gets it as an upsert.
		other := &accounts.User{Meta: domain.Meta{ID: "u3"}, Role: domain.RoleVet, Territory: "314000000"}
		gotO, _ := pullAll(t, s, other, "", 100)
		if it := gotO["a"]; it == nil || it.Deleted {
			t.Fatalf("the new district did not get the record: %+v", it)
		}
	})

	t.Run("ScopeChangeForcesResync", func(t *testing.T) {
		moved := *vet
		moved.ScopeEpoch++
		res, err := s.Pull(t.Context(), &moved, "dev", cp, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Resync || len(res.Items) != 0 {
			t.Fatalf("a changed territory did not ask for a resync: %+v", res)
		}
		stranger := &accounts.User{Meta: domain.Meta{ID: "u9"}, Role: domain.RoleVet, Territory: "313200000"}
		if res, _ := s.Pull(t.Context(), stranger, "dev", cp, 100); !res.Resync {
			t.Fatal("another user's checkpoint was accepted")
		}
	})

	t.Run("BadCheckpoint", func(t *testing.T) {
		for _, bad := range []string{"!!", "e30", "bm90IGpzb24"} {
			if _, err := s.Pull(t.Context(), vet, "dev", bad, 10); bad != "e30" && !domain.IsCode(err, domain.EINVALID) {
				t.Errorf("checkpoint %q: %v", bad, err)
			}
		}
	})
}

func keys(m map[string]*vsync.Item) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestPushTemporaryIsNotFinal: a mutation that lost a race with concurrent writers is not answered
// as rejected for ever; the push fails, nothing is recorded, and the repeat is applied.
func TestPushTemporaryIsNotFinal(t *testing.T) {
	s, store := setup(t)
	busy := true
	s.Handlers = map[string]vsync.Handler{"herd.touch": func(ctx context.Context, p domain.Principal, m vsync.Mutation) (string, string, error) {
		if busy { // as an update handler answers: naming its record, as a real conflict would
			return herds.Name, m.RecordID, domain.Busy("the herd is changing concurrently; try again")
		}
		put(t, store, m.RecordID, 0, "t:313200000")
		return herds.Name, m.RecordID, nil
	}}
	vet := &accounts.User{Meta: domain.Meta{ID: "u1"}, Role: domain.RoleVet, Territory: "313200000"}
	m := vsync.Mutation{ID: "m1", Kind: "herd.touch", RecordID: "h1"}
	if _, err := s.Push(t.Context(), vet, "dev", []vsync.Mutation{m}); !domain.IsTemporary(err) {
		t.Fatalf("a busy handler answered %v", err)
	}
	busy = false
	res, err := s.Push(t.Context(), vet, "dev", []vsync.Mutation{m})
	if err != nil || res[0].Status != vsync.Applied {
		t.Fatalf("the repeat: %+v, %v", res, err)
	}
}

// TestPullAfterCompaction: a tablet whose checkpoint lies before entries that compaction deleted
// still hears of every change in its scope — a record that left its district or its rural
// district as a removal, the rest at their latest version — without a resync.
func TestPullAfterCompaction(t *testing.T) {
	s, store := setup(t)
	vet := &accounts.User{Meta: domain.Meta{ID: "u1"}, Role: domain.RoleVet, Territory: "313200000"}
	rural := &accounts.User{Meta: domain.Meta{ID: "u2"}, Role: domain.RoleVet, Territory: "313245000"}
	farmer := &accounts.User{Meta: domain.Meta{ID: "u3"}, Role: domain.RoleFarmer, IIN: "880101300123"}
	other := &accounts.User{Meta: domain.Meta{ID: "u4"}, Role: domain.RoleVet, Territory: "313400000"}
	oblast := &accounts.User{Meta: domain.Meta{ID: "u5"}, Role: domain.RoleInspector, Territory: "310000000"}

	put(t, store, "a", 0, "t:313245100", "o:880101300123")
	put(t, store, "b", 0, "t:313245100")
	put(t, store, "c", 0, "all")
	put(t, store, "d", 0, "t:313245100")
	cps := map[string]string{}
	for _, u := range []*accounts.User{vet, rural, farmer, other, oblast} {
		_, cps[u.ID] = pullAll(t, s, u, "", 2)
	}

	// a is sold to another district (and another owner), d moves to the next rural district;
	// then everything is written again where it now is.
	v := put(t, store, "a", 1, "t:313445100")
	v = put(t, store, "a", v, "t:313445100")
	put(t, store, "a", v, "t:313445100")
	v = put(t, store, "d", 1, "t:313237100")
	put(t, store, "d", v, "t:313237100")
	v = put(t, store, "b", 1, "t:313245100")
	v = put(t, store, "b", v, "t:313245100")
	put(t, store, "b", v, "t:313245100")
	put(t, store, "c", 1, "all")
	before := len(allEntries(t, store))
	for {
		_, done, err := store.Compact(t.Context(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			break
		}
	}
	if after := len(allEntries(t, store)); after >= before {
		t.Fatalf("compaction left %d of %d entries", after, before)
	}

	type want map[string]string // id → "v<version>" or "deleted"
	for _, c := range []struct {
		u    *accounts.User
		want want
	}{
		{vet, want{"a": "deleted", "b": "v4", "c": "v2", "d": "v3"}},
		{rural, want{"a": "deleted", "b": "v4", "c": "v2", "d": "deleted"}},
		{farmer, want{"a": "deleted", "c": "v2"}},
		{other, want{"a": "v4", "c": "v2"}},
		{oblast, want{"a": "v4", "b": "v4", "c": "v2", "d": "v3"}},
	} {
		got, _ := pullAll(t, s, c.u, cps[c.u.ID], 2)
		if len(got) != len(c.want) {
			t.Errorf("%s pulled %v, want %v", c.u.ID, keys(got), c.want)
		}
		for id, w := range c.want {
			it := got[id]
			switch {
			case it == nil:
				t.Errorf("%s: %s did not arrive", c.u.ID, id)
			case w == "deleted" && !it.Deleted, w != "deleted" && (it.Deleted || fmt.Sprint("v", it.Version) != w):
				t.Errorf("%s: %s arrived as %+v, want %s", c.u.ID, id, it, w)
			}
		}
	}
	// A tablet starting now gets what is in its scope, from the compacted log.
	got, _ := pullAll(t, s, rural, "", 2)
	if it := got["b"]; it == nil || it.Deleted || it.Version != 4 || got["c"] == nil || (got["d"] != nil && !got["d"].Deleted) {
		t.Errorf("a fresh rural tablet pulled %v", keys(got))
	}
}

func allEntries(t *testing.T, store domain.Store) []domain.Change {
	t.Helper()
	var out []domain.Change
	var after int64
	for {
		chs, err := store.Changes(t.Context(), after, domain.MaxPageSize)
		if err != nil {
			t.Fatal(err)
		}
		if len(chs) == 0 {
			return out
		}
		out = append(out, chs...)
		after = chs[len(chs)-1].Seq
	}
}
