package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"strings"
	"testing"

	vsync "github.com/vetfield/vetfield/sync"
)

func TestSyncAPI(t *testing.T) {
	e := newEnv(t)
	e.createUser(map[string]any{"username": "vet.bayzak", "password": "vet-password-1", "role": "vet", "territory": "313200000"})
	e.createUser(map[string]any{"username": "vet.shu", "password": "vet-password-1", "role": "vet", "territory": "314000000"})
	vet := e.login("vet.bayzak", "vet-password-1").AccessToken
	doc := e.issuePassport("880101300123")

	var page vsync.PullResult
	r := e.do("GET", "/v1/sync/pull?limit=10", vet, nil, "X-Device-ID", "tablet-7", "Accept-Encoding", "gzip")
	r.expect(t, 200)
	if r.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("a pull is not compressed for a client that accepts gzip: %q", r.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(zr).Decode(&page); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range page.Items {
		found = found || it.ID == doc.ID
	}
	if !found || page.Checkpoint == "" || page.More {
		t.Fatalf("pull: %+v", page)
	}
	e.do("GET", "/v1/sync/pull?checkpoint=%%%", vet, nil).expectProblem(t, 422)
	e.do("GET", "/v1/sync/pull?limit=6000", vet, nil).expectProblem(t, 422)
	e.do("GET", "/v1/sync/pull", "", nil).expectProblem(t, 401)

	t.Run("Push", func(t *testing.T) {
		var ans struct {
			Results []struct {
				MutationID string `json:"mutation_id"`
				Status     string `json:"status"`
				Problem    *problem
			} `json:"results"`
		}
		body := map[string]any{"mutations": []map[string]any{
			{"id": "a", "kind": "document.revoke", "record_id": doc.ID, "base_version": 1, "data": map[string]string{"reason": "died"}},
			{"id": "b", "kind": "nonsense", "record_id": "x"},
		}}
		e.do("POST", "/v1/sync/push", vet, body, "X-Device-ID", "tablet-7").expect(t, 200).JSON(t, &ans)
		if len(ans.Results) != 2 || ans.Results[0].Status != "applied" || ans.Results[1].Status != "rejected" ||
			ans.Results[1].Problem == nil || ans.Results[1].Problem.Status != 422 {
			t.Fatalf("push answered %+v", ans)
		}
		big := `{"mutations":[{"id":"c","kind":"document.revoke","record_id":"x","data":{"reason":"` + strings.Repeat("x", 1<<20) + `"}}]}`
		e.do("POST", "/v1/sync/push", vet, big).expectProblem(t, 413)
	})

	t.Run("Devices", func(t *testing.T) {
		var devs struct {
			Items []vsync.DeviceStatus `json:"items"`
		}
		e.do("GET", "/v1/devices", e.admin, nil).expect(t, 200).JSON(t, &devs)
		if len(devs.Items) != 1 || devs.Items[0].DeviceID != "tablet-7" || devs.Items[0].Username != "vet.bayzak" ||
			devs.Items[0].Pulls != 1 || devs.Items[0].Pushes != 1 || devs.Items[0].LastPullAt.IsZero() {
			t.Fatalf("devices: %+v", devs.Items)
		}
		// The revoke since the pull put the tablet behind.
		if devs.Items[0].Behind < 1 {
			t.Errorf("behind = %d after a write since its pull", devs.Items[0].Behind)
		}
		// A vet of another district does not see this tablet; a farmer may not ask.
		other := e.login("vet.shu", "vet-password-1").AccessToken
		e.do("GET", "/v1/devices", other, nil).expect(t, 200).JSON(t, &devs)
		if len(devs.Items) != 0 {
			t.Errorf("another district sees %d devices", len(devs.Items))
		}
	})
}
