package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/api"
	vsync "github.com/vetfield/vetfield/sync"
)

type pushResult struct {
	MutationID string      `json:"mutation_id"`
	Status     string      `json:"status"`
	Record     *vsync.Item `json:"record"`
	Problem    *problem    `json:"problem"`
}

func (h *herd) push(token string, muts ...map[string]any) []pushResult {
	h.t.Helper()
	var ans struct {
		Results []pushResult `json:"results"`
	}
	h.do("POST", "/v1/sync/push", token, map[string]any{"mutations": muts}, "X-Device-ID", "tab-ref").expect(h.t, 200).JSON(h.t, &ans)
	return ans.Results
}

// offlineRef is a reference.issue mutation for the herd's holding made at the tablet's time at.
func (h *herd) offlineRef(at time.Time, tags ...string) map[string]any {
	body := h.refBody(tags...)
	id := body["id"]
	delete(body, "id")
	return map[string]any{"id": uuid.NewString(), "kind": "reference.issue", "record_id": id,
		"at": at.Format(time.RFC3339), "data": body}
}

// TestReferenceOffline: a tablet issues references while offline and syncs them later. One issued
// while a quarantine was in force is accepted as a record but flagged for review, its paper revoked
// with the ground, and shown to the district's supervisors; a clean one is issued as usual.
func TestReferenceOffline(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	cow := h.identify(h.vet, h.cow("398000000000003"))
	before := h.clock.Now()

	// Issued offline an hour before the quarantine, synced after it was lifted: clean.
	clean := h.offlineRef(before.Add(-time.Hour), cow.Tag)
	q := h.declare("quarantine", "fmd", bayzakKato, "21")
	h.advance(time.Hour)
	// Issued offline while the quarantine was in force.
	bad := h.offlineRef(h.clock.Now().Add(-30*time.Minute), cow.Tag)

	res := h.push(h.vet2, bad)
	if len(res) != 1 || res[0].Status != "applied" || res[0].Record == nil || res[0].Record.Collection != "references" {
		t.Fatalf("push answered %+v", res)
	}
	var r api.ReferenceView
	h.do("GET", "/v1/references/"+res[0].Record.ID, h.vet, nil).expect(t, 200).JSON(t, &r)

	t.Run("FlaggedAndRevoked", func(t *testing.T) {
		if !r.Offline || !r.ReviewRequired || !r.ReviewOpen || r.Outcome != "issued" || len(r.Grounds) != 1 ||
			r.Grounds[0].RestrictionID != q.ID || r.SyncedAt == nil {
			t.Fatalf("reference %+v", r)
		}
		if r.Document == nil || r.Document.Type != "vet_reference" || r.Document.Status != "revoked" ||
			!strings.Contains(r.Document.RevokeReason, "решение № 21 от 19.03.2026") ||
			!strings.Contains(string(r.Document.Content), `"review_required":true`) {
			t.Fatalf("document %+v", r.Document)
		}
		var v api.VerificationView
		h.do("GET", "/v1/verify/"+r.Document.Token, "", nil).expect(t, 200).JSON(t, &v)
		if v.Status != "revoked" || !strings.Contains(v.RevokeReason, "Ящур") {
			t.Errorf("a buyer scanning it sees %+v", v)
		}
		if len(r.Checked) != 2 || r.Checked[0].Moment != "application" || r.Checked[1].Moment != "sync" {
			t.Errorf("checked %+v", r.Checked)
		}
	})

	t.Run("RepeatIsHarmless", func(t *testing.T) {
		seq := h.lastSeq()
		again := h.push(h.vet2, bad)
		if again[0].Status != "applied" || again[0].Record.ID != r.ID || h.lastSeq() != seq {
			t.Errorf("a repeat answered %+v and wrote", again)
		}
	})

	t.Run("ReviewQueue", func(t *testing.T) {
		var page api.Page[api.ReferenceView]
		h.do("GET", "/v1/references?review=true", h.vet, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != r.ID {
			t.Fatalf("the district's queue %+v", page.Items)
		}
		h.do("GET", "/v1/references?review=true", h.korday, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("another district's queue %+v", page.Items)
		}
		h.do("POST", "/v1/references/"+r.ID+"/review", h.vet2, map[string]any{"note": "сам"}).expectProblem(t, 403)
		h.do("POST", "/v1/references/"+r.ID+"/review", h.korday, map[string]any{"note": "x"}).expectProblem(t, 404)
		var closed api.ReferenceView
		h.do("POST", "/v1/references/"+r.ID+"/review", h.vet, map[string]any{"note": "мал карантинде, қозғалыс тоқтатылды"}).
			expect(t, 200).JSON(t, &closed)
		if closed.ReviewOpen || !closed.ReviewRequired || closed.ReviewedAt == nil {
			t.Errorf("closed %+v", closed)
		}
		h.do("GET", "/v1/references?review=true", h.vet, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("the queue after review %+v", page.Items)
		}
	})

	t.Run("BackdatedStillCheckedAtSync", func(t *testing.T) {
		// The tablet's clock says before the quarantine, but it is in force when the reference
		// arrives: still under review.
		res := h.push(h.vet2, h.offlineRef(before.Add(-2*time.Hour), cow.Tag))
		var got api.ReferenceView
		h.do("GET", "/v1/references/"+res[0].Record.ID, h.vet, nil).expect(t, 200).JSON(t, &got)
		if !got.ReviewRequired || got.Document.Status != "revoked" {
			t.Errorf("backdated reference %+v", got)
		}
	})

	t.Run("CleanOfflineIssued", func(t *testing.T) {
		h.lift(q.ID)
		res := h.push(h.vet2, clean)
		var got api.ReferenceView
		h.do("GET", "/v1/references/"+res[0].Record.ID, h.vet, nil).expect(t, 200).JSON(t, &got)
		issued(t, got)
		if got.ReviewRequired || !got.Offline || !got.IssuedAt.Equal(before.Add(-time.Hour).Truncate(time.Second)) {
			t.Errorf("clean offline reference %+v", got)
		}
	})

	t.Run("ErrOtherDistrictRejected", func(t *testing.T) {
		seq := h.lastSeq()
		res := h.push(h.korday, h.offlineRef(h.clock.Now(), cow.Tag))
		if res[0].Status != "rejected" || res[0].Problem == nil || res[0].Problem.Status != 404 {
			t.Errorf("another district's tablet: %+v", res[0])
		}
		if h.lastSeq() != seq {
			t.Error("a rejected mutation wrote")
		}
	})
}

// TestReferenceApplications: a farmer applies for their own animals; the application waits in the
// queue of the vets of that territory, who decide it.
func TestReferenceApplications(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	cow := h.identify(h.vet, h.cow("398000000000004"))
	body := map[string]any{"id": uuid.NewString(), "holding_id": h.holding.ID, "animal_ids": []string{cow.ID},
		"purpose": "movement", "destination": "Жуалы ауданы, жайлау"}
	var app api.ReferenceApplicationView
	h.do("POST", "/v1/reference-applications", h.farmer, body).expect(t, 201).JSON(t, &app)

	t.Run("OK", func(t *testing.T) {
		if app.Status != "pending" || app.Territory != bayzakRural {
			t.Fatalf("application %+v", app)
		}
		var again api.ReferenceApplicationView
		h.do("POST", "/v1/reference-applications", h.farmer, body).expect(t, 201).JSON(t, &again)
		if again.ID != app.ID || again.Version != app.Version {
			t.Errorf("a retry answered %+v", again)
		}
	})

	t.Run("ErrNotOwn", func(t *testing.T) {
		other := map[string]any{"id": uuid.NewString(), "holding_id": h.holding.ID, "animal_ids": []string{cow.ID},
			"purpose": "sale", "destination": "x"}
		// Another farmer's holding is answered as one that does not exist (issue 11).
		p := h.do("POST", "/v1/reference-applications", h.farmer2, other).expectProblem(t, 404)
		if p.Errors[0].Location != "body.holding_id" {
			t.Errorf("problem %+v", p)
		}
		h.do("POST", "/v1/reference-applications", h.vet, other).expectProblem(t, 403)
	})

	t.Run("Queue", func(t *testing.T) {
		var page api.Page[api.ReferenceApplicationView]
		h.do("GET", "/v1/reference-applications?status=pending", h.vet, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != app.ID {
			t.Errorf("the district's queue %+v", page.Items)
		}
		h.do("GET", "/v1/reference-applications?status=pending", h.korday, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("another district's queue %+v", page.Items)
		}
		h.do("GET", "/v1/reference-applications", h.farmer2, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("another farmer sees %+v", page.Items)
		}
	})

	t.Run("Decide", func(t *testing.T) {
		decide := map[string]any{"reference_id": uuid.NewString(), "exam_result": "healthy"}
		h.do("POST", "/v1/reference-applications/"+app.ID+"/decide", h.korday, decide).expectProblem(t, 404)
		h.advance(26 * time.Hour) // decided the next day: late
		var out struct {
			Application api.ReferenceApplicationView `json:"application"`
			Reference   api.ReferenceView            `json:"reference"`
		}
		h.do("POST", "/v1/reference-applications/"+app.ID+"/decide", h.vet, decide).expect(t, 200).JSON(t, &out)
		if out.Application.Status != "issued" || out.Reference.ApplicationID != app.ID || !out.Reference.Late ||
			!out.Reference.AppliedAt.Equal(app.AppliedAt) {
			t.Fatalf("decided %+v", out)
		}
		issued(t, out.Reference)
		h.do("POST", "/v1/reference-applications/"+app.ID+"/decide", h.vet, decide).expect(t, 200)
		decide["reference_id"] = uuid.NewString()
		h.do("POST", "/v1/reference-applications/"+app.ID+"/decide", h.vet, decide).expectProblem(t, 409)
	})
}
