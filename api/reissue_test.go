package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/api"
)

func (h *herd) reissues(token, query string) []api.ReissueView {
	h.t.Helper()
	var page api.Page[api.ReissueView]
	h.do("GET", "/v1/reissues"+query, token, nil).expect(h.t, 200).JSON(h.t, &page)
	return page.Items
}

// TestReissuePath runs the whole reissue of a lost tag through the API, from the owner's report to
// the new passport, across Nauryz 2026, and completes it late: the case stays on record as late
// and the old number still finds the animal.
func TestReissuePath(t *testing.T) {
	t.Parallel()
	h := newHerd(t) // the clock stands at Friday 20 March 2026, 14:00 in Almaty
	a := h.identify(h.vet, h.cow("398000000000001"))
	caseID := uuid.NewString()
	h.clock.Advance(time.Minute) // the owner calls a little later

	var rc api.ReissueView
	h.do("POST", "/v1/animals/"+a.ID+"/tag-loss", h.farmer, map[string]any{"id": caseID, "kind": "lost",
		"note": "жайылымда түсіп қалды"}).expect(t, 201).JSON(t, &rc)
	if rc.Status != "awaiting_tags" || rc.OldTag != "398000000000001" || rc.Due != nil {
		t.Fatalf("opened %+v", rc)
	}

	t.Run("ErrOtherFarmer404", func(t *testing.T) {
		h.do("POST", "/v1/animals/"+a.ID+"/tag-loss", h.farmer2, map[string]any{"id": uuid.NewString(), "kind": "lost"}).expectProblem(t, 404)
		h.do("GET", "/v1/reissues/"+caseID, h.farmer2, nil).expectProblem(t, 404)
		h.do("GET", "/v1/reissues/"+caseID, h.korday, nil).expectProblem(t, 404)
	})

	t.Run("ErrCompleteBeforeArrival409", func(t *testing.T) {
		before := h.lastSeq()
		p := h.do("POST", "/v1/reissues/"+caseID+"/complete", h.vet, map[string]any{"number": "398000000000500"}).expectProblem(t, 409)
		if !strings.Contains(p.Detail, "not arrived") || h.lastSeq() != before {
			t.Errorf("problem %+v", p)
		}
		var tag api.TagView
		h.do("GET", "/v1/tags/398000000000500", h.vet, nil).expect(t, 200).JSON(t, &tag)
		if tag.Status != "in_stock" {
			t.Errorf("the number is %s", tag.Status)
		}
	})

	t.Run("AwaitingList", func(t *testing.T) {
		if items := h.reissues(h.vet, "?status=awaiting_tags"); len(items) != 1 || items[0].ID != caseID {
			t.Errorf("awaiting %+v", items)
		}
		if items := h.reissues(h.korday, "?status=awaiting_tags"); len(items) != 0 {
			t.Errorf("another district's vet lists %+v", items)
		}
		h.do("GET", "/v1/reissues?status=awaiting_tags&overdue=true", h.vet, nil).expectProblem(t, 422)
	})

	h.clock.Advance(time.Minute)
	// The tags arrive on Friday 20 March. Nauryz takes 21–23 March and its moved days off 24 and 25
	// March, so the two working days are Thursday 26 and Friday 27: due at 00:00 on the 28th.
	h.do("POST", "/v1/reissues/"+caseID+"/tags-arrived", h.vet2, map[string]any{"date": "2026-03-20"}).expect(t, 200).JSON(t, &rc)
	if rc.Status != "tags_arrived" || rc.DueDay == nil || rc.DueDay.String() != "2026-03-27" ||
		!rc.Due.Equal(time.Date(2026, 3, 28, 0, 0, 0, 0, time.FixedZone("", 5*3600))) || rc.Overdue {
		t.Fatalf("after arrival %+v", rc)
	}

	t.Run("Overdue", func(t *testing.T) {
		if items := h.reissues(h.vet, "?overdue=true"); len(items) != 0 {
			t.Errorf("overdue before the due date: %+v", items)
		}
		h.advance(9 * 24 * time.Hour) // Sunday 29 March
		items := h.reissues(h.vet2, "?overdue=true")
		if len(items) != 1 || !items[0].Overdue || items[0].WorkingDaysOverdue != 0 {
			t.Errorf("on Sunday after the due Friday: %+v", items)
		}
		h.advance(24 * time.Hour) // Monday 30 March
		items = h.reissues(h.admin, "?status=tags_arrived&overdue=true")
		if len(items) != 1 || items[0].WorkingDaysOverdue != 1 {
			t.Errorf("on Monday: %+v", items)
		}
	})

	t.Run("Complete", func(t *testing.T) {
		h.do("POST", "/v1/reissues/"+caseID+"/complete", h.vet, map[string]any{"number": "398000000100005"}).expectProblem(t, 409)
		h.do("POST", "/v1/reissues/"+caseID+"/complete", h.farmer, map[string]any{"number": "398000000000500"}).expectProblem(t, 403)
		h.do("POST", "/v1/reissues/"+caseID+"/complete", h.vet, map[string]any{"number": "398000000000500"}).expect(t, 200).JSON(t, &rc)
		if rc.Status != "completed" || !rc.Late || rc.WorkingDaysOverdue != 1 || rc.NewTag != "398000000000500" || rc.PassportID == "" {
			t.Fatalf("completed %+v", rc)
		}
		if items := h.reissues(h.vet, "?status=completed&overdue=true"); len(items) != 1 || !items[0].Late {
			t.Errorf("a late case is hidden: %+v", items)
		}
		if items := h.reissues(h.vet, "?overdue=true"); len(items) != 0 {
			t.Errorf("a completed case is still open: %+v", items)
		}
	})

	t.Run("OldNumberFindsTheAnimal", func(t *testing.T) {
		for _, tag := range []string{"398000000000001", "398000000000500"} {
			items := h.animals(h.farmer, "?tag="+tag)
			if len(items) != 1 || items[0].ID != a.ID || items[0].Tag != "398000000000500" {
				t.Fatalf("?tag=%s found %+v", tag, items)
			}
		}
		got := h.animals(h.vet, "?tag=398000000000001")[0]
		old := got.Identifiers[0]
		if old.Number != "398000000000001" || old.Status != "retired" || old.ReplacedBy != "398000000000500" ||
			got.Identifiers[1].Status != "active" || got.OpenReissue != "" {
			t.Errorf("identifiers %+v", got.Identifiers)
		}
		var tag api.TagView
		h.do("GET", "/v1/tags/398000000000001", h.vet, nil).expect(t, 200).JSON(t, &tag)
		if tag.Status != "lost" || tag.ReplacedBy != "398000000000500" || tag.AnimalID != a.ID {
			t.Errorf("the old number %+v", tag)
		}
		h.do("POST", "/v1/animals", h.vet, h.cow("398000000000001")).expectProblem(t, 409)
	})

	t.Run("NewPassportSupersedesOld", func(t *testing.T) {
		var now api.AnimalView
		h.do("GET", "/v1/animals/"+a.ID, h.vet, nil).expect(t, 200).JSON(t, &now)
		p := now.Passport
		if p == nil || p.ID != rc.PassportID || p.Supersedes != a.PassportID || p.Subject.Tag != "398000000000500" ||
			!strings.Contains(string(p.Content), `"previous_tag":"398000000000001"`) {
			t.Fatalf("new passport %+v", p)
		}
		var v api.VerificationView
		h.do("GET", "/v1/verify/"+a.Passport.Token, "", nil).expect(t, 200).JSON(t, &v)
		if v.Status != "superseded" || v.SupersededBy != p.Number {
			t.Errorf("the old passport verifies as %+v", v)
		}
	})

	t.Run("Retries", func(t *testing.T) {
		var again api.ReissueView
		h.do("POST", "/v1/reissues/"+caseID+"/complete", h.vet, map[string]any{"number": "398000000000500"}).expect(t, 200).JSON(t, &again)
		if again.Version != rc.Version || again.PassportID != rc.PassportID {
			t.Errorf("a retried completion answered %+v", again)
		}
		h.do("POST", "/v1/animals/"+a.ID+"/tag-loss", h.farmer, map[string]any{"id": caseID, "kind": "lost"}).expect(t, 201)
	})

	t.Run("History", func(t *testing.T) {
		var page api.Page[api.AnimalEventView]
		h.do("GET", "/v1/animals/"+a.ID+"/events", h.farmer, nil).expect(t, 200).JSON(t, &page)
		var kinds []string
		for _, ev := range page.Items {
			kinds = append(kinds, ev.Kind)
		}
		if got, want := strings.Join(kinds, ","), "identified,tag_lost,tags_arrived,reissued"; got != want {
			t.Errorf("events %s, want %s", got, want)
		}
	})
}
