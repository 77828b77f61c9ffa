package sync_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	vsync "github.com/vetfield/vetfield/sync"
)

// FuzzPullCheckpoint: a checkpoint is the client's to send, so any string answers a page of the
// caller's own scope or EINVALID, in either format, and never a record of another district, even
// one crafted to point anywhere in the log or the snapshot index.
func FuzzPullCheckpoint(f *testing.F) {
	s, store := setup(f)
	vet := &accounts.User{Meta: domain.Meta{ID: "u1"}, Role: domain.RoleVet, Territory: "313200000"}
	for i, scope := range []string{"t:313245100", "t:314000000", "all", "t:313212000", "t:311000000"} {
		put(f, store, string(rune('a'+i)), 0, scope)
	}
	if err := s.ProjectAll(f.Context()); err != nil {
		f.Fatal(err)
	}
	raw, _ := s.PullPage(f.Context(), vet, "dev", "", 1)
	var first vsync.Page
	json.Unmarshal(raw, &first)
	f.Add(first.Checkpoint)
	for _, c := range []string{"", "e30", `{"s":3,"u":"u1","n":{"r":1,"k":"t:3140\x1f"}}`, `{"s":-1,"u":"u1"}`,
		`{"u":"u1","n":{"r":-4}}`, `{"u":"u1","n":{"r":99,"k":"~"}}`} {
		f.Add(base64.RawURLEncoding.EncodeToString([]byte(c)))
	}
	f.Fuzz(func(t *testing.T, cp string) {
		raw, err := s.PullPage(t.Context(), vet, "dev", cp, 3)
		if err != nil {
			if !domain.IsCode(err, domain.EINVALID) {
				t.Fatalf("checkpoint %q: %v", cp, err)
			}
			return
		}
		var page vsync.Page
		if err := json.Unmarshal(raw, &page); err != nil {
			t.Fatalf("not JSON: %s", raw)
		}
		page.Each(func(r vsync.Record) error {
			if r.ID == "b" || r.ID == "e" {
				t.Fatalf("checkpoint %q reached another district's record %s", cp, r.ID)
			}
			return nil
		})
		if res, err := s.Pull(t.Context(), vet, "dev", cp, 3); err == nil {
			for _, it := range res.Items {
				if !it.Deleted && (it.ID == "b" || it.ID == "e") {
					t.Fatalf("checkpoint %q reached another district's record %s in format 1", cp, it.ID)
				}
			}
		}
	})
}

// FuzzPageEach: a tablet decodes whatever reaches it; a page that is not format 2 is an error,
// never a panic or a record made up.
func FuzzPageEach(f *testing.F) {
	f.Add(`{"format":2,"collections":["animals"],"records":[[0,"a",1,{}],[0,"b",2]],"checkpoint":"x","more":false}`)
	f.Add(`{"collections":[],"records":[[0,"a",1,{}]]}`)
	f.Add(`{"collections":["a"],"records":[[-1,"a",1]],"x":1}`)
	f.Add(`{"collections":["a"],"records":[["0",1,"1"]]}`)
	f.Fuzz(func(t *testing.T, body string) {
		var page vsync.Page
		if json.Unmarshal([]byte(body), &page) != nil {
			return
		}
		page.Each(func(r vsync.Record) error {
			if !strings.Contains(body, r.Collection) || !strings.Contains(body, r.ID) {
				t.Fatalf("a record made up: %+v from %s", r, body)
			}
			return nil
		})
	})
}
