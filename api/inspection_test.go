package api_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/inspection"
)

var (
	conformItem = map[string]any{"code": "R1", "requirement": "Мал қоралары дезинфекцияланған", "conform": true}
	violation   = map[string]any{"code": "R2", "requirement": "Көң сақтау алаңы бетондалған", "conform": false,
		"violation": map[string]any{"description": "Көң тікелей топыраққа төгілген",
			"recommendation": "30 күн ішінде бетон алаң жасау"}}
	gps = map[string]any{"lat": 42.9903, "lon": 71.3801, "accuracy_m": 5}
)

// conclusion reads the conclusion an application was decided with.
func (e *env) conclusion(token string, v api.InspectionView) (api.DocumentView, inspection.ConclusionContent) {
	e.t.Helper()
	if v.Decision == nil || v.Decision.ConclusionID == "" {
		e.t.Fatalf("no conclusion: %+v", v.Decision)
	}
	var d api.DocumentView
	e.do("GET", "/v1/documents/"+v.Decision.ConclusionID, token, nil).expect(e.t, 200).JSON(e.t, &d)
	var c inspection.ConclusionContent
	if err := json.Unmarshal(d.Content, &c); err != nil {
		e.t.Fatal(err)
	}
	return d, c
}

func TestInspectionToConformity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.onSite()
	ph := e.uploadPhoto(in.Inspector, in.ID, photo(t, 320, 240, 1))
	item := map[string]any{"code": "R1", "requirement": "Мал қоралары дезинфекцияланған", "conform": true, "photos": []string{ph.ID}}
	e.do("PUT", "/v1/inspections/"+in.ID+"/checklist", in.Inspector, map[string]any{"items": []any{item}}).expect(t, 200)
	e.do("POST", "/v1/inspections/"+in.ID+"/act", in.Inspector, map[string]any{"summary": "Талаптарға сай", "gps": gps}).expect(t, 200)

	e.do("POST", "/v1/inspections/"+in.ID+"/decision", in.Inspector, map[string]any{"outcome": "conformity"}).expectProblem(t, 403)
	p := e.do("POST", "/v1/inspections/"+in.ID+"/decision", e.admin, map[string]any{"outcome": "non_conformity"}).expectProblem(t, 422)
	if !strings.Contains(p.Detail, "no violation") {
		t.Errorf("a wrong outcome is refused without the reason: %s", p.Detail)
	}
	var v api.InspectionView
	e.do("POST", "/v1/inspections/"+in.ID+"/decision", e.admin, map[string]any{"outcome": "conformity"}).expect(t, 200).JSON(t, &v)
	if v.State != inspection.InspConcluded || !strings.HasPrefix(v.Decision.ConclusionNumber, "VSC-2026-313200-") {
		t.Fatalf("after the decision: state %s, decision %+v", v.State, v.Decision)
	}
	for _, d := range v.Deadlines {
		if d.DoneAt == nil || d.Late {
			t.Errorf("step %s: %+v, want done in time", d.Step, d)
		}
	}
	doc, c := e.conclusion(e.admin, v)
	s := doc.Subject
	if doc.Type != documents.DocConclusion || s.Kind != documents.SubjectObject || s.ID != in.Object.ID || s.RegNumber != in.Object.RegNumber ||
		s.Name != in.Object.Name || string(s.OwnerIIN) != ownerA || string(s.Territory) != bayzakV {
		t.Errorf("conclusion %s about %+v", doc.Type, s)
	}
	if c.Outcome != inspection.OutcomeConformity || len(c.Violations) != 0 || len(c.Photos) != 1 || c.Photos[0].SHA256 != ph.SHA256 ||
		c.ActDate.String() != "2026-03-26" {
		t.Errorf("content %+v", c)
	}
	var ver api.VerificationView
	e.do("GET", "/v1/verify/"+doc.Token, "", nil).expect(t, 200).JSON(t, &ver)
	if ver.Status != "genuine" || ver.Number != v.Decision.ConclusionNumber || ver.ObjectName != in.Object.Name {
		t.Errorf("the QR code verifies as %+v", ver)
	}
	// The owner sees the application and its conclusion. Repeating the decision (a lost answer)
	// answers the same conclusion; deciding otherwise is refused.
	farmer, _ := e.staff("farmer-a", domain.RoleFarmer, ownerA)
	e.do("GET", "/v1/inspections/"+in.ID, farmer, nil).expect(t, 200)
	e.do("GET", "/v1/documents/"+doc.ID, farmer, nil).expect(t, 200)
	var again api.InspectionView
	e.do("POST", "/v1/inspections/"+in.ID+"/decision", e.admin, map[string]any{"outcome": "conformity"}).expect(t, 200).JSON(t, &again)
	if again.Decision == nil || again.Decision.ConclusionNumber != v.Decision.ConclusionNumber {
		t.Errorf("the repeated decision answered %+v", again.Decision)
	}
	e.do("POST", "/v1/inspections/"+in.ID+"/decision", e.admin, map[string]any{"outcome": "non_conformity"}).expectProblem(t, 409)
}

func TestInspectionToNonConformity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.onSite()
	e.do("POST", "/v1/inspections/"+in.ID+"/act", in.Inspector, map[string]any{"summary": "x", "gps": gps}).expectProblem(t, 409)
	bad := map[string]any{"code": "R2", "requirement": "Көң сақтау алаңы", "conform": false}
	e.do("PUT", "/v1/inspections/"+in.ID+"/checklist", in.Inspector, map[string]any{"items": []any{bad}}).expectProblem(t, 422)
	e.do("PUT", "/v1/inspections/"+in.ID+"/checklist", in.Other, map[string]any{"items": []any{conformItem}}).expectProblem(t, 403)
	e.do("PUT", "/v1/inspections/"+in.ID+"/checklist", in.Inspector, map[string]any{"items": []any{conformItem, violation}}).expect(t, 200)
	e.do("POST", "/v1/inspections/"+in.ID+"/act", in.Inspector, map[string]any{"summary": "Бір бұзушылық анықталды"}).expectProblem(t, 422)
	e.do("POST", "/v1/inspections/"+in.ID+"/act", in.Inspector, map[string]any{"summary": "Бір бұзушылық анықталды", "gps": gps}).expect(t, 200)
	e.do("PUT", "/v1/inspections/"+in.ID+"/checklist", in.Inspector, map[string]any{"items": []any{conformItem}}).expectProblem(t, 409)
	p := e.do("POST", "/v1/inspections/"+in.ID+"/decision", e.admin, map[string]any{"outcome": "conformity"}).expectProblem(t, 422)
	if !strings.Contains(p.Detail, "1 violation") {
		t.Errorf("detail %q", p.Detail)
	}
	var v api.InspectionView
	e.do("POST", "/v1/inspections/"+in.ID+"/decision", e.admin, map[string]any{"outcome": "non_conformity"}).expect(t, 200).JSON(t, &v)
	_, c := e.conclusion(e.admin, v)
	if c.Outcome != inspection.OutcomeNonConformity || len(c.Violations) != 1 {
		t.Fatalf("content %+v", c)
	}
	if got := c.Violations[0]; got.Code != "R2" || got.Description != "Көң тікелей топыраққа төгілген" || got.Recommendation != "30 күн ішінде бетон алаң жасау" {
		t.Errorf("violation %+v", got)
	}
}

func TestNoticeBeforeInspection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.accepted() // Friday 20 March 2026, 14:00 in Almaty
	start := func(token string) response {
		return e.do("POST", "/v1/inspections/"+in.ID+"/start", token, map[string]any{"gps": gps})
	}
	notice := func(day string) response {
		return e.do("POST", "/v1/inspections/"+in.ID+"/notice", in.Inspector, map[string]any{"addressee": "ҚСжАЕАК",
			"reference": "17", "planned_for": day})
	}
	t.Run("ErrNoNotice", func(t *testing.T) {
		p := start(in.Inspector).expectProblem(t, 409)
		if !strings.Contains(p.Detail, "notif") {
			t.Errorf("detail %q does not say the notice is missing", p.Detail)
		}
	})
	t.Run("ErrPlannedToday", func(t *testing.T) {
		p := notice("2026-03-20").expectProblem(t, 422)
		if len(p.Errors) == 0 || p.Errors[0].Location != "body.planned_for" || !strings.Contains(p.Detail, "2026-03-21") {
			t.Errorf("problem %+v", p)
		}
		if v := e.inspectionView(in.Inspector, in.ID); v.Notice != nil {
			t.Errorf("a refused notice was recorded: %+v", v.Notice)
		}
	})
	t.Run("ErrSameDay", func(t *testing.T) {
		notice("2026-03-21").expect(t, 200)
		p := start(in.Inspector).expectProblem(t, 409)
		if !strings.Contains(p.Detail, "from 2026-03-21") {
			t.Errorf("detail %q does not say when the inspection may start", p.Detail)
		}
		e.later(&in, 9*time.Hour+59*time.Minute) // 23:59 in Almaty, still the day of the notice
		start(in.Inspector).expectProblem(t, 409)
		if v := e.inspectionView(in.Inspector, in.ID); v.State != inspection.InspAccepted || v.Visit != nil {
			t.Errorf("a refused start changed the application: %s %+v", v.State, v.Visit)
		}
	})
	t.Run("OK", func(t *testing.T) {
		e.later(&in, time.Minute) // Saturday 21 March, 00:00 in Almaty
		start(in.Other).expectProblem(t, 403)
		var v api.InspectionView
		start(in.Inspector).expect(t, 200).JSON(t, &v)
		if v.State != inspection.InspOnSite || v.Visit == nil || v.Visit.GPS == nil || v.Visit.GPS.Lat != 42.9903 {
			t.Errorf("after start: %s %+v", v.State, v.Visit)
		}
		notice("2026-03-25").expectProblem(t, 409)
	})
}

func TestDeadlinesAcrossHoliday(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := inspCase{}
	obj := e.object(e.admin, bayzakV, ownerA)
	// Registered Friday 20 March 2026 at 14:00 in Almaty. Nauryz is 21–23 March and its Saturday and
	// Sunday move to Tuesday 24 and Wednesday 25: the next working day is Thursday 26 March.
	var v api.InspectionView
	r := e.do("POST", "/v1/inspections", e.admin, map[string]any{"object_id": obj.ID, "documents": []string{"өтініш"}}).expect(t, 201)
	r.JSON(t, &v)
	if v.Receipt.Number == "" || !v.Receipt.RegisteredAt.Equal(e.clock.Now()) {
		t.Errorf("receipt %+v", v.Receipt)
	}
	wantDue := time.Date(2026, 3, 27, 0, 0, 0, 0, domain.Almaty)
	if len(v.Deadlines) != 1 || v.Deadlines[0].Step != inspection.StepAssign || !v.Deadlines[0].Due.Equal(wantDue) {
		t.Fatalf("deadlines %+v, want assign due %v", v.Deadlines, wantDue)
	}
	names := [2]string{uniqueName("insp"), uniqueName("insp")}
	_, inspID := e.staff(names[0], domain.RoleInspector, bayzak)
	e.staff(names[1], domain.RoleInspector, shu)
	in.names = names
	overdue := func(token string) []api.InspectionView {
		var page api.Page[api.InspectionView]
		e.do("GET", "/v1/inspections?overdue=true", token, nil).expect(t, 200).JSON(t, &page)
		return page.Items
	}
	e.later(&in, 6*24*time.Hour+9*time.Hour+59*time.Minute) // Thursday 26 March, 23:59 in Almaty
	if got := overdue(e.admin); len(got) != 0 {
		t.Errorf("overdue on the last day allowed: %+v", got)
	}
	e.later(&in, time.Minute) // Friday 27 March, 00:00
	got := overdue(e.admin)
	if len(got) != 1 || got[0].ID != v.ID || len(got[0].Overdue) != 1 || got[0].Overdue[0].Step != inspection.StepAssign ||
		got[0].Overdue[0].WorkingDaysLate != 1 {
		t.Fatalf("overdue list %+v", got)
	}
	if got := overdue(in.Inspector); len(got) != 1 {
		t.Errorf("the Bayzak inspector sees %d overdue applications, want 1", len(got))
	}
	if got := overdue(in.Other); len(got) != 0 {
		t.Errorf("the Shu inspector sees Bayzak's overdue applications: %+v", got)
	}
	// Assigned a day late: the step shows late, and the completeness check is due the same day.
	e.do("POST", "/v1/inspections/"+v.ID+"/assign", e.admin, map[string]any{"executor_id": inspID}).expect(t, 200).JSON(t, &v)
	if d := v.Deadlines[0]; !d.Late || d.DoneAt == nil {
		t.Errorf("assign %+v, want done late", d)
	}
	if d := v.Deadlines[1]; d.Step != inspection.StepCompleteness || !d.Due.Equal(time.Date(2026, 3, 28, 0, 0, 0, 0, domain.Almaty)) {
		t.Errorf("completeness %+v, want due at the end of Friday 27", d)
	}
	if got := overdue(e.admin); len(got) != 0 {
		t.Errorf("overdue after the assignment: %+v", got)
	}
	// Three working days from Friday 27 March: Monday 30, Tuesday 31, Wednesday 1 April.
	e.do("POST", "/v1/inspections/"+v.ID+"/completeness", in.Inspector, map[string]any{"complete": true}).expect(t, 200).JSON(t, &v)
	due := map[inspection.Step]time.Time{}
	for _, d := range v.Deadlines {
		due[d.Step] = d.Due
	}
	if !due[inspection.StepAct].Equal(time.Date(2026, 4, 2, 0, 0, 0, 0, domain.Almaty)) ||
		!due[inspection.StepNotice].Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, domain.Almaty)) {
		t.Errorf("act due %v, notice due %v", due[inspection.StepAct], due[inspection.StepNotice])
	}
}

func TestIncompleteRefusal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.assigned()
	e.do("POST", "/v1/inspections/"+in.ID+"/completeness", in.Inspector, map[string]any{"complete": false}).expectProblem(t, 422)
	e.do("POST", "/v1/inspections/"+in.ID+"/completeness", in.Other, map[string]any{"complete": true}).expectProblem(t, 403)
	var v api.InspectionView
	e.do("POST", "/v1/inspections/"+in.ID+"/completeness", in.Inspector, map[string]any{"complete": false,
		"missing": []string{"жер учаскесіне құқық белгілейтін құжат"}, "ground": "Құжаттар толық емес (Стандарттың 9-тармағы)"}).
		expect(t, 200).JSON(t, &v)
	if v.State != inspection.InspRefused || v.Completeness == nil || !strings.HasPrefix(v.Completeness.RefusalNumber, "MR-2026-313200-") ||
		len(v.Overdue) != 0 {
		t.Fatalf("after the refusal: %s %+v", v.State, v.Completeness)
	}
	var doc api.DocumentView
	e.do("GET", "/v1/documents/"+v.Completeness.RefusalID, in.Inspector, nil).expect(t, 200).JSON(t, &doc)
	if doc.Type != documents.DocRefusal || doc.Subject.ID != in.Object.ID || !bytes.Contains(doc.Content, []byte("9-тармағы")) {
		t.Errorf("refusal %s about %+v: %s", doc.Type, doc.Subject, doc.Content)
	}
	e.do("POST", "/v1/inspections/"+in.ID+"/notice", in.Inspector, map[string]any{"addressee": "x", "reference": "1",
		"planned_for": "2026-03-26"}).expectProblem(t, 409)
}

func TestInspectionAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := e.assigned()
	shuInsp, shuID := e.staff("insp-shu", domain.RoleInspector, shu)
	vet, _ := e.staff("vet-bayzak", domain.RoleVet, bayzak)
	stranger, _ := e.staff("farmer-b", domain.RoleFarmer, ownerB)
	e.do("GET", "/v1/inspections/"+in.ID, shuInsp, nil).expectProblem(t, 404)
	e.do("GET", "/v1/inspections/"+in.ID, stranger, nil).expectProblem(t, 404)
	e.do("GET", "/v1/inspections/"+in.ID, vet, nil).expect(t, 200)
	e.do("POST", "/v1/inspections/"+in.ID+"/assign", vet, map[string]any{"executor_id": shuID}).expectProblem(t, 403)
	p := e.do("POST", "/v1/inspections/"+in.ID+"/assign", e.admin, map[string]any{"executor_id": shuID}).expectProblem(t, 422)
	if len(p.Errors) == 0 || p.Errors[0].Location != "body.executor_id" {
		t.Errorf("assigning an inspector of another district: %+v", p)
	}
	// Another district's object is answered as one that does not exist (issue 11).
	e.do("POST", "/v1/inspections", shuInsp, map[string]any{"object_id": in.Object.ID, "documents": []string{"x"}}).expectProblem(t, 404)
	var page api.Page[api.InspectionView]
	e.do("GET", "/v1/inspections", shuInsp, nil).expect(t, 200).JSON(t, &page)
	if len(page.Items) != 0 {
		t.Errorf("the Shu inspector lists %d applications of Bayzak", len(page.Items))
	}
	e.do("GET", "/v1/inspections?object="+in.Object.ID, vet, nil).expect(t, 200).JSON(t, &page)
	if len(page.Items) != 1 {
		t.Errorf("listed by object: %d, want 1", len(page.Items))
	}
}

// A conclusion waits for every photo the act names and is refused while any photo is missing from
// the store or its bytes changed.
func TestConclusionNeedsEvidence(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			in := e.onSite()
			dataA := photo(t, 320, 240, 1)
			a := e.uploadPhoto(in.Inspector, in.ID, dataA)
			dataC := photo(t, 320, 240, 2)
			var c api.UploadView
			e.createUpload(in.Inspector, in.ID, len(dataC), hexSHA(dataC), "image/jpeg").expect(t, 201).JSON(t, &c)
			item := map[string]any{"code": "R1", "requirement": "Қоралар", "conform": true, "photos": []string{a.ID}}
			e.do("PUT", "/v1/inspections/"+in.ID+"/checklist", in.Inspector, map[string]any{"items": []any{item}}).expect(t, 200)
			e.do("POST", "/v1/inspections/"+in.ID+"/act", in.Inspector, map[string]any{"summary": "x", "gps": gps,
				"photos": []string{domain.NewID()}}).expectProblem(t, 422)
			e.do("POST", "/v1/inspections/"+in.ID+"/act", in.Inspector, map[string]any{"summary": "x", "gps": gps,
				"photos": []string{c.ID}}).expect(t, 200)
			decide := func() response {
				return e.do("POST", "/v1/inspections/"+in.ID+"/decision", e.admin, map[string]any{"outcome": "conformity"})
			}
			refused := func(why string) {
				t.Helper()
				p := decide().expectProblem(t, 409)
				if !strings.Contains(p.Detail, why) {
					t.Errorf("detail %q, want it to say %q", p.Detail, why)
				}
				var docs api.Page[api.DocumentView]
				e.do("GET", "/v1/documents?subject="+in.Object.ID, e.admin, nil).expect(t, 200).JSON(t, &docs)
				if v := e.inspectionView(e.admin, in.ID); v.State != inspection.InspActSubmitted || len(docs.Items) != 0 {
					t.Errorf("a refused decision changed the application (%s) or issued %d documents", v.State, len(docs.Items))
				}
			}
			refused("has not finished uploading")
			e.patch(in.Inspector, c.ID, 0, dataC).expect(t, 200)

			objects, key := e.srv.PhotoStore.Objects, "photos/"+a.ID+".jpg"
			if err := objects.Delete(t.Context(), key); err != nil {
				t.Fatal(err)
			}
			refused("missing from the object store")
			forged := append([]byte{}, dataA...)
			forged[len(forged)/2] ^= 0xFF
			if _, err := objects.Put(t.Context(), key, bytes.NewReader(forged), int64(len(forged)), "image/jpeg"); err != nil {
				t.Fatal(err)
			}
			refused("fails its SHA-256")
			if _, err := objects.Put(t.Context(), key, bytes.NewReader(dataA), int64(len(dataA)), "image/jpeg"); err != nil {
				t.Fatal(err)
			}
			var v api.InspectionView
			decide().expect(t, 200).JSON(t, &v)
			if _, content := e.conclusion(e.admin, v); len(content.Photos) != 2 {
				t.Errorf("the conclusion pins %d photos, want 2", len(content.Photos))
			}
		})
	}
}
