package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vetfield/vetfield/api"
)

// viewsHashes records, for each syncViewsVersion, the SHA-256 of the golden files that pin the
// shapes a pull sends (pull_item_*.json, pull2_*.json, in name order).
var viewsHashes = map[int]string{
	1: "5e1e56c0a59007d41d83ff1ec29fec779e11309ac969d38aae36aa5a16e31e53",
	2: "c202129a3d1cb4728f6f6f1a4b556919af1503305ac1b96f079a38d587f947b9", // a staff tablet's groups list only the rejected animals
}

// TestSyncViewsVersion: a change to a shape a pull sends changes those golden files; the snapshot
// index keeps records as rendered, so the change must come with a new syncViewsVersion, or first
// pulls would go on getting the old shape. Raise it and record the hash this test prints.
func TestSyncViewsVersion(t *testing.T) {
	t.Parallel()
	var names []string
	for _, pattern := range []string{"pull_item_*.json", "pull2_*.json"} {
		m, err := filepath.Glob(filepath.Join("testdata", "golden", pattern))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, m...)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte(filepath.Base(name)))
		h.Write(b)
	}
	got := hex.EncodeToString(h.Sum(nil))
	want, ok := viewsHashes[api.SyncViewsVersion]
	switch {
	case !ok:
		t.Fatalf("version %d of the sync views has no hash recorded: record %d: %q in viewsHashes",
			api.SyncViewsVersion, api.SyncViewsVersion, got)
	case want != got:
		t.Fatalf("the golden files of pulls hash to %s, but version %d of the sync views recorded %s: "+
			"if a shape changed on purpose, raise syncViewsVersion and record %d: %q in viewsHashes",
			got, api.SyncViewsVersion, want, api.SyncViewsVersion+1, got)
	}
}
