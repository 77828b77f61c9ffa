package storetest

import (
	"testing"

	"github.com/vetfield/vetfield/domain"
)

// LastSeq is the newest entry of s's change log. A test reads it before and after a request that
// must write nothing — a refusal, a retry — and compares: any write of a synced collection moves it.
func LastSeq(t testing.TB, s domain.Store) int64 {
	t.Helper()
	var seq int64
	for {
		cs, err := s.Changes(t.Context(), seq, domain.MaxPageSize)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 {
			return seq
		}
		seq = cs[len(cs)-1].Seq
	}
}
