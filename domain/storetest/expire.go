package storetest

import (
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// Leases is the suite's expiring collection, shaped like the login throttle: one document per
// holder at a time (a unique index, with fresh ids), an expiry in Unix milliseconds that Sweep
// removes by.
var Leases = domain.CollectionSpec{
	Name:    "leases",
	Expires: "expires",
	Indexes: []domain.Index{
		{Name: "by_holder", Fields: []string{"holder"}, Unique: true},
		{Name: "by_expires", Fields: []string{"expires"}},
	},
}

type lease struct {
	Holder  string `json:"holder"`
	Expires any    `json:"expires,omitempty"`
}

func testExpire(t *testing.T, opened func(t *testing.T) domain.Store) {
	t.Run("Declare", func(t *testing.T) {
		s := opened(t)
		ctx := t.Context()
		if err := s.Declare(ctx, Leases, Leases); err != nil {
			t.Fatalf("Declare: %v", err)
		}
		bad := Leases
		bad.Name, bad.Synced = "synced_leases", true
		WantErr(t, s.Declare(ctx, bad), domain.EINVALID, "")
		bad = Leases
		bad.Name, bad.Indexes = "unindexed_leases", Leases.Indexes[:1]
		WantErr(t, s.Declare(ctx, bad), domain.EINVALID, "")
	})
	t.Run("Sweep", func(t *testing.T) {
		s := opened(t)
		ctx := t.Context()
		if err := s.Declare(ctx, Leases); err != nil {
			t.Fatal(err)
		}
		// Far in the future, so that no store's own clock matters: only Sweep's now decides.
		base := time.Now().Add(1000 * time.Hour).Truncate(time.Millisecond)
		ms := func(d time.Duration) int64 { return base.Add(d).UnixMilli() }
		mustInsert(t, s, "leases", "early", nil, lease{Holder: "a", Expires: ms(0)})
		mustInsert(t, s, "leases", "exact", nil, lease{Holder: "b", Expires: ms(time.Hour)})
		late := mustInsert(t, s, "leases", "late", nil, lease{Holder: "c", Expires: ms(2 * time.Hour)})
		mustInsert(t, s, "leases", "forever", nil, lease{Holder: "d"})
		mustInsert(t, s, "leases", "text", nil, lease{Holder: "e", Expires: "soon"})
		// Another collection's documents never expire, whatever their fields say.
		mustInsert(t, s, "accounts", "u1", nil, map[string]any{"login": "a", "org": "o", "no": 1, "expires": ms(0)})
		moved := mustInsert(t, s, "leases", "moved", nil, lease{Holder: "f", Expires: ms(0)})
		moved.Data = JSON(t, lease{Holder: "f", Expires: ms(3 * time.Hour)}) // a CAS pushes it on before the sweep
		moved, err := s.Update(ctx, "leases", moved)
		if err != nil {
			t.Fatal(err)
		}

		if err := s.Sweep(ctx, base.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.Sweep(ctx, base.Add(time.Hour)); err != nil { // twice is harmless
			t.Fatal(err)
		}
		for _, id := range []string{"early", "exact"} {
			_, err := s.Get(ctx, "leases", id)
			WantErr(t, err, domain.ENOTFOUND, "")
		}
		for _, id := range []string{"late", "forever", "text", "moved"} {
			mustGet(t, s, "leases", id)
		}
		mustGet(t, s, "accounts", "u1")
		_, err = s.GetBy(ctx, "leases", "by_holder", "a")
		WantErr(t, err, domain.ENOTFOUND, "")
		got := AllPages(t, s, "leases", domain.Query{Index: "by_holder"})
		if ids := join(ids(got)); ids != "late,forever,text,moved" {
			t.Fatalf("after the sweep the leases are %s", ids)
		}

		// A removed holder may hold again, under a fresh id, and a removed id may be taken
		// again: it starts at Version 1.
		mustInsert(t, s, "leases", "early-2", nil, lease{Holder: "a", Expires: ms(5 * time.Hour)})
		if rec := mustInsert(t, s, "leases", "exact", nil, lease{Holder: "b2"}); rec.Version != 1 {
			t.Fatalf("a removed id taken again is at version %d", rec.Version)
		}

		// A compare-and-swap on a removed document is ENOTFOUND; on a kept one it works.
		_, err = s.Update(ctx, "leases", domain.Record{ID: "early", Version: 1, Data: JSON(t, lease{Holder: "a"})})
		WantErr(t, err, domain.ENOTFOUND, "")
		late.Data = JSON(t, lease{Holder: "c", Expires: ms(4 * time.Hour)})
		if _, err := s.Update(ctx, "leases", late); err != nil {
			t.Fatal(err)
		}

		if err := s.Sweep(ctx, base.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		got = AllPages(t, s, "leases", domain.Query{Index: "by_holder"})
		if ids := join(ids(got)); ids != "early-2,exact,late,forever,text" {
			t.Fatalf("after the second sweep the leases are %s", ids)
		}
	})
}
