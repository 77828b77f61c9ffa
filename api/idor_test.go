package api_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
)

// The wider hunt of issue 11 over the nouns of inspections, reissues and farmers' applications:
// every id a request names (in its path, in its body, in a list filter) probed across two
// districts, Bayzak and Korday, and across two farmers. A record the caller may not see must be
// answered exactly as an id that does not exist — 404, or an empty last page for a filter — with
// nothing written; a list filter must be scoped in the query, so that neither its items nor its
// next_cursor count another district's records.

// probeWorld is Korday's records, which Bayzak's staff and a farmer who owns none of them probe,
// and Bayzak's own, to probe from.
type probeWorld struct {
	*herd
	// Korday: an inspector, objects of the farmer otherIIN (farmer2), three applications on one of
	// them — the first on site with a photo and an upload still open —, a cow with an open
	// reissue case, two farmer's applications for references.
	kInsp                  string
	kObj                   api.ObjectView
	kInspections           []api.InspectionView
	kPhoto                 api.PhotoView
	kUpload                api.UploadView
	kHolding               api.HoldingView
	kCow                   api.AnimalView
	kReissue               api.ReissueView
	kApps                  []api.ReferenceApplicationView
	bInsp                  string // Bayzak's inspector, executor of bInspection
	bObj                   api.ObjectView
	bInspection            api.InspectionView
	bCow                   api.AnimalView // the farmer ownerIIN's cow in Bayzak
	inspectorNames         [2]string
	receiptBefore          string // the last receipt number of Bayzak before the probes
	photoCounterBayzakInsp int64
}

func newProbeWorld(t *testing.T) *probeWorld {
	t.Helper()
	w := &probeWorld{herd: newHerd(t)} // Friday 20 March 2026, 14:00 in Almaty
	w.inspectorNames = [2]string{uniqueName("insp-korday"), uniqueName("insp-bayzak")}
	var kInspID, bInspID string
	w.kInsp, kInspID = w.staff(w.inspectorNames[0], domain.RoleInspector, kordayKato)
	w.bInsp, bInspID = w.staff(w.inspectorNames[1], domain.RoleInspector, bayzakKato)

	// Korday's objects of farmer2 (three, so a page of one has a next page) and applications.
	for range 3 {
		w.kObj = w.object(w.korday, kordayKato, otherIIN)
	}
	for range 3 {
		var v api.InspectionView
		w.do("POST", "/v1/inspections", w.korday, map[string]any{"id": uuid.NewString(), "object_id": w.kObj.ID,
			"documents": []string{"өтініш"}}).expect(t, 201).JSON(t, &v)
		w.kInspections = append(w.kInspections, v)
	}
	w.bObj = w.object(w.vet, bayzakRural, ownerIIN) // so every Bayzak account sees it
	w.do("POST", "/v1/inspections", w.vet, map[string]any{"object_id": w.bObj.ID, "documents": []string{"өтініш"}}).
		expect(t, 201).JSON(t, &w.bInspection)
	// Korday's other two applications end in motivated refusals: papers about Korday's object.
	for _, in := range w.kInspections[1:] {
		w.do("POST", "/v1/inspections/"+in.ID+"/assign", w.admin, map[string]any{"executor_id": kInspID}).expect(t, 200)
		w.do("POST", "/v1/inspections/"+in.ID+"/completeness", w.kInsp, map[string]any{"complete": false,
			"missing": []string{"құқық белгілейтін құжат"}, "ground": "Құжаттар толық емес"}).expect(t, 200)
	}
	for _, c := range []struct {
		id, executor, token string
	}{{w.kInspections[0].ID, kInspID, w.kInsp}, {w.bInspection.ID, bInspID, w.bInsp}} {
		w.do("POST", "/v1/inspections/"+c.id+"/assign", w.admin, map[string]any{"executor_id": c.executor}).expect(t, 200)
		w.do("POST", "/v1/inspections/"+c.id+"/completeness", c.token, map[string]any{"complete": true}).expect(t, 200)
		w.do("POST", "/v1/inspections/"+c.id+"/notice", c.token, map[string]any{"addressee": "ҚСжАЕАК", "reference": "N-1",
			"planned_for": "2026-03-26"}).expect(t, 200)
	}

	// Korday's cow of farmer2, its reissue case, and farmer2's applications.
	w.kHolding = w.createHolding(w.korday, kordayKato, otherIIN)
	for i, tag := range []string{"398000000100001", "398000000100002"} {
		c := w.cow(tag)
		c["holding_id"] = w.kHolding.ID
		cow := w.identify(w.korday, c)
		if i == 0 {
			w.kCow = cow
		}
		var rc api.ReissueView
		w.do("POST", "/v1/animals/"+cow.ID+"/tag-loss", w.korday, map[string]any{"id": uuid.NewString(), "kind": "lost"}).
			expect(t, 201).JSON(t, &rc)
		if i == 0 {
			w.kReissue = rc
		}
		var app api.ReferenceApplicationView
		w.do("POST", "/v1/reference-applications", w.farmer2, map[string]any{"id": uuid.NewString(), "holding_id": w.kHolding.ID,
			"animal_ids": []string{cow.ID}, "purpose": "sale", "destination": "Тараз қаласы"}).expect(t, 201).JSON(t, &app)
		w.kApps = append(w.kApps, app)
	}
	w.bCow = w.identify(w.vet, w.cow("398000000000001"))

	// Thursday 26 March (after Nauryz), 10:00: both visits start; Korday's has a photo and an
	// upload under way.
	w.relogin(6*24*time.Hour - 4*time.Hour)
	for _, c := range []struct{ id, token string }{{w.kInspections[0].ID, w.kInsp}, {w.bInspection.ID, w.bInsp}} {
		w.do("POST", "/v1/inspections/"+c.id+"/start", c.token, map[string]any{"gps": gps}).expect(t, 200)
	}
	w.kPhoto = w.uploadPhoto(w.kInsp, w.kInspections[0].ID, photo(t, 320, 240, 7))
	data := photo(t, 320, 240, 8)
	w.createUpload(w.kInsp, w.kInspections[0].ID, len(data), hexSHA(data), "image/jpeg").expect(t, 201).JSON(t, &w.kUpload)
	return w
}

// relogin moves the clock on and logs every account in again.
func (w *probeWorld) relogin(d time.Duration) {
	w.t.Helper()
	w.advance(d)
	w.kInsp = w.login(w.inspectorNames[0], "password-"+w.inspectorNames[0]).AccessToken
	w.bInsp = w.login(w.inspectorNames[1], "password-"+w.inspectorNames[1]).AccessToken
}

// counter reads a store counter without moving it.
func (w *probeWorld) counter(key string) int64 {
	w.t.Helper()
	v, err := w.store.Incr(w.t.Context(), key, 0, time.Time{})
	if err != nil {
		w.t.Fatal(err)
	}
	return v
}

// page is any list answer.
type page struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor string            `json:"next_cursor"`
}

// probe is one request that names something the caller may not see.
type probe struct {
	name, who, token, method, path string
	body                           any
}

// hidden sends p and requires the answer an unknown id gets, 404, with nothing written.
func (w *probeWorld) hidden(t *testing.T, p probe, counters ...string) {
	t.Helper()
	before, counted := w.lastSeq(), map[string]int64{}
	for _, c := range counters {
		counted[c] = w.counter(c)
	}
	r := w.do(p.method, p.path, p.token, p.body)
	if r.Status != 404 {
		t.Errorf("%s by %s: %s %s answered %d, want 404: %s", p.name, p.who, p.method, p.path, r.Status, r.Body)
		return
	}
	if after := w.lastSeq(); after != before {
		t.Errorf("%s by %s: answered 404 but wrote %d change(s)", p.name, p.who, after-before)
	}
	for _, c := range counters {
		if v := w.counter(c); v != counted[c] {
			t.Errorf("%s by %s: answered 404 but counter %s moved from %d to %d", p.name, p.who, c, counted[c], v)
		}
	}
}

// emptyPage requires a list of nothing: no items and no cursor to walk.
func (w *probeWorld) emptyPage(t *testing.T, who, token, path string) {
	t.Helper()
	var pg page
	w.do("GET", path, token, nil).expect(t, 200).JSON(t, &pg)
	if len(pg.Items) != 0 || pg.NextCursor != "" {
		t.Errorf("GET %s by %s: %d items, next_cursor %q; want an empty last page", path, who, len(pg.Items), pg.NextCursor)
	}
}

// fullPage requires a page of one with a cursor: what the probe would have revealed.
func (w *probeWorld) fullPage(t *testing.T, who, token, path string) {
	t.Helper()
	var pg page
	w.do("GET", path, token, nil).expect(t, 200).JSON(t, &pg)
	if len(pg.Items) != 1 || pg.NextCursor == "" {
		t.Errorf("GET %s by %s: %d items, next_cursor %q; want one and a next page", path, who, len(pg.Items), pg.NextCursor)
	}
}

func TestIDORProbes(t *testing.T) {
	t.Parallel()
	w := newProbeWorld(t)
	kIn := w.kInspections[0]
	// Those who probe Korday's records: Bayzak's vet, its inspector (an executor of Bayzak), the
	// vet of a rural district of Bayzak, and the farmer ownerIIN, who owns nothing in Korday.
	outsiders := []struct{ who, token string }{{"the Bayzak vet", w.vet}, {"the Bayzak inspector", w.bInsp},
		{"the Bayzak rural vet", w.vet2}, {"another farmer", w.farmer}}
	staffOutsiders := outsiders[:3]

	t.Run("Objects", func(t *testing.T) {
		for _, o := range outsiders {
			w.hidden(t, probe{"GET an object", o.who, o.token, "GET", "/v1/objects/" + w.kObj.ID, nil})
		}
		for _, o := range staffOutsiders {
			// A client-made id that names Korday's object: the retry path must not answer it.
			w.hidden(t, probe{"POST /v1/objects with another district's id", o.who, o.token, "POST", "/v1/objects",
				map[string]any{"id": w.kObj.ID, "kind": "farm", "name": "Ферма", "owner_iin": ownerIIN, "address": "Сарыкемер",
					"territory": bayzakRural}})
			w.emptyPage(t, o.who, o.token, "/v1/objects?owner="+otherIIN+"&limit=1")
			w.emptyPage(t, o.who, o.token, "/v1/objects?territory="+kordayKato+"&limit=1")
			w.emptyPage(t, o.who, o.token, "/v1/objects?owner="+otherIIN+"&territory="+kordayKato+"&limit=1")
		}
		w.emptyPage(t, "another farmer", w.farmer, "/v1/objects?owner="+otherIIN+"&limit=1")
		w.fullPage(t, "the Korday vet", w.korday, "/v1/objects?owner="+otherIIN+"&limit=1")
		w.fullPage(t, "farmer2", w.farmer2, "/v1/objects?limit=1")
	})

	t.Run("Inspections", func(t *testing.T) {
		for _, o := range outsiders {
			w.hidden(t, probe{"GET an application", o.who, o.token, "GET", "/v1/inspections/" + kIn.ID, nil})
			w.emptyPage(t, o.who, o.token, "/v1/inspections?object="+w.kObj.ID+"&limit=1")
			w.emptyPage(t, o.who, o.token, "/v1/inspections?object="+w.kObj.ID+"&overdue=true&limit=1")
		}
		w.fullPage(t, "the Korday vet", w.korday, "/v1/inspections?object="+w.kObj.ID+"&limit=1")
		w.fullPage(t, "farmer2", w.farmer2, "/v1/inspections?object="+w.kObj.ID+"&limit=1")
		receipts := "receipt:VSZ:2026:313200"
		for _, o := range staffOutsiders {
			w.emptyPage(t, o.who, o.token, "/v1/inspections?territory="+kordayKato+"&limit=1")
			// Registering an application for Korday's object, or under the id of Korday's
			// application: nothing is registered, and no receipt number is spent.
			w.hidden(t, probe{"POST /v1/inspections naming another district's object", o.who, o.token, "POST", "/v1/inspections",
				map[string]any{"object_id": w.kObj.ID, "documents": []string{"өтініш"}}}, receipts)
			w.hidden(t, probe{"POST /v1/inspections with another district's id", o.who, o.token, "POST", "/v1/inspections",
				map[string]any{"id": kIn.ID, "object_id": w.bObj.ID, "documents": []string{"өтініш"}}}, receipts)
			for _, step := range []struct {
				method, path string
				body         any
			}{
				{"POST", "/completeness", map[string]any{"complete": true}},
				{"POST", "/notice", map[string]any{"addressee": "x", "reference": "1", "planned_for": "2026-03-28"}},
				{"POST", "/start", map[string]any{"gps": gps}},
				{"PUT", "/checklist", map[string]any{"items": []any{conformItem}}},
				{"POST", "/act", map[string]any{"summary": "x", "gps": gps}},
				{"POST", "/photos", map[string]any{"size": 10, "sha256": strings.Repeat("a", 64), "content_type": "image/jpeg"}},
				{"GET", "/photos", nil},
			} {
				w.hidden(t, probe{step.method + " " + step.path + " of another district's application", o.who, o.token,
					step.method, "/v1/inspections/" + kIn.ID + step.path, step.body}, "photos:"+kIn.ID)
			}
		}
		// The head's steps are the admin's; other roles are refused by role, before any id.
		for _, path := range []string{"/assign", "/decision"} {
			w.do("POST", "/v1/inspections/"+kIn.ID+path, w.vet, map[string]any{"executor_id": "x", "outcome": "conformity"}).expectProblem(t, 403)
		}
	})

	t.Run("PapersOfAnObject", func(t *testing.T) {
		for _, o := range outsiders {
			w.emptyPage(t, o.who, o.token, "/v1/documents?subject="+w.kObj.ID+"&limit=1")
		}
		w.fullPage(t, "the Korday vet", w.korday, "/v1/documents?subject="+w.kObj.ID+"&limit=1")
		w.fullPage(t, "farmer2", w.farmer2, "/v1/documents?subject="+w.kObj.ID+"&limit=1")
		refusal := w.inspectionView(w.korday, w.kInspections[1].ID).Completeness.RefusalID
		for _, o := range outsiders {
			for _, path := range []string{"", "/qr.png", "/print", "/pdf"} {
				w.hidden(t, probe{"GET a refusal of another district's application" + path, o.who, o.token, "GET", "/v1/documents/" + refusal + path, nil})
			}
		}
		for _, o := range staffOutsiders {
			w.hidden(t, probe{"revoke a refusal of another district's application", o.who, o.token, "POST", "/v1/documents/" + refusal + "/revoke",
				map[string]any{"reason": "x"}})
		}
	})

	t.Run("Photos", func(t *testing.T) {
		for _, o := range outsiders {
			for _, path := range []string{"/v1/photos/" + w.kPhoto.ID, "/v1/photos/" + w.kPhoto.ID + "/info", "/v1/photos/" + w.kPhoto.ID + "/thumbnail"} {
				w.hidden(t, probe{"GET a photo", o.who, o.token, "GET", path, nil})
			}
		}
		for _, o := range staffOutsiders {
			for _, m := range []string{"GET", "HEAD", "DELETE"} {
				r := w.do(m, "/v1/uploads/"+w.kUpload.ID, o.token, nil)
				if r.Status != 404 {
					t.Errorf("%s an upload of Korday by %s: %d", m, o.who, r.Status)
				}
			}
			r := w.do("PATCH", "/v1/uploads/"+w.kUpload.ID, o.token, []byte("x"), "Content-Type", "application/offset+octet-stream", "Upload-Offset", "0")
			if r.Status != 404 {
				t.Errorf("PATCH an upload of Korday by %s: %d", o.who, r.Status)
			}
		}
		var u api.UploadView
		w.do("GET", "/v1/uploads/"+w.kUpload.ID, w.kInsp, nil).expect(t, 200).JSON(t, &u)
		if u.State != "open" || u.Offset != 0 {
			t.Errorf("the probes changed Korday's upload: %+v", u)
		}

		// Bayzak's executor names Korday's upload and photo in its own inspection: the answers are
		// those of ids that exist nowhere, and nothing is counted against the inspection.
		photos := "photos:" + w.bInspection.ID
		before, seq := w.counter(photos), w.lastSeq()
		data := photo(t, 320, 240, 9)
		for _, id := range []string{w.kUpload.ID, w.kPhoto.ID} {
			p := w.do("POST", "/v1/inspections/"+w.bInspection.ID+"/photos", w.bInsp, map[string]any{"id": id, "size": len(data),
				"sha256": hexSHA(data), "content_type": "image/jpeg"}).expectProblem(t, 409)
			if len(p.Errors) == 0 || p.Errors[0].Location != "body.id" {
				t.Errorf("an upload under Korday's id %s: %+v", id, p)
			}
		}
		if after := w.counter(photos); after != before || w.lastSeq() != seq {
			t.Errorf("refused uploads counted %d photo(s) against Bayzak's inspection and wrote %d change(s)", after-before, w.lastSeq()-seq)
		}
		answer := func(id string) []string {
			t.Helper()
			item := map[string]any{"code": "R1", "requirement": "Қоралар", "conform": true, "photos": []string{id}}
			var out []string
			for _, r := range []response{
				w.do("PUT", "/v1/inspections/"+w.bInspection.ID+"/checklist", w.bInsp, map[string]any{"items": []any{item}}),
				w.do("POST", "/v1/inspections/"+w.bInspection.ID+"/act", w.bInsp, map[string]any{"summary": "x", "gps": gps}),
				w.do("POST", "/v1/inspections/"+w.bInspection.ID+"/act", w.bInsp, map[string]any{"summary": "x", "gps": gps, "photos": []string{id}}),
			} {
				body := versionField.ReplaceAllString(strings.ReplaceAll(string(r.Body), id, "ID"), `"version":N`)
				out = append(out, fmt.Sprint(r.Status, " ", body))
			}
			return out
		}
		unknown := answer(domain.NewID())
		for name, id := range map[string]string{"photo": w.kPhoto.ID, "upload": w.kUpload.ID} {
			if got := answer(id); strings.Join(got, "\n") != strings.Join(unknown, "\n") {
				t.Errorf("Bayzak's checklist and act naming Korday's %s answer\n%s\nand for an unknown id\n%s", name,
					strings.Join(got, "\n"), strings.Join(unknown, "\n"))
			}
		}
		if v := w.inspectionView(w.bInsp, w.bInspection.ID); v.State != "on_site" || v.Act != nil {
			t.Errorf("an act naming another district's photo was recorded: %s", v.State)
		}
	})

	t.Run("Reissues", func(t *testing.T) {
		for _, o := range outsiders {
			w.hidden(t, probe{"GET a reissue case", o.who, o.token, "GET", "/v1/reissues/" + w.kReissue.ID, nil})
		}
		// Reporting is for vets and owners, arrivals for vets (and admins), completion for vets:
		// an inspector or a farmer is refused by role on the others, before any id is read.
		for _, o := range []struct{ who, token string }{{"the Bayzak vet", w.vet}, {"the Bayzak rural vet", w.vet2}, {"another farmer", w.farmer}} {
			w.hidden(t, probe{"report a loss on another district's animal", o.who, o.token, "POST", "/v1/animals/" + w.kCow.ID + "/tag-loss",
				map[string]any{"id": uuid.NewString(), "kind": "lost"}})
		}
		for _, o := range []struct{ who, token string }{{"the Bayzak vet", w.vet}, {"the Bayzak rural vet", w.vet2}} {
			w.hidden(t, probe{"tags arrived for another district's case", o.who, o.token, "POST", "/v1/reissues/" + w.kReissue.ID + "/tags-arrived",
				map[string]any{"date": "2026-03-25"}})
			w.hidden(t, probe{"complete another district's case", o.who, o.token, "POST", "/v1/reissues/" + w.kReissue.ID + "/complete",
				map[string]any{"number": "398000000000900"}})
		}
		for _, o := range staffOutsiders {
			for _, status := range []string{"awaiting_tags", "tags_arrived", "completed"} {
				w.emptyPage(t, o.who, o.token, "/v1/reissues?status="+status+"&limit=1")
			}
		}
		w.fullPage(t, "the Korday vet", w.korday, "/v1/reissues?status=awaiting_tags&limit=1")
		// A case opened under the id of Korday's case, on one's own animal: refused as a taken id,
		// naming nothing of Korday's, with nothing written.
		for _, o := range []struct{ who, token string }{{"the Bayzak vet", w.vet}, {"the owner", w.farmer}} {
			before := w.lastSeq()
			p := w.do("POST", "/v1/animals/"+w.bCow.ID+"/tag-loss", o.token, map[string]any{"id": w.kReissue.ID, "kind": "lost"}).expectProblem(t, 409)
			if strings.Contains(string(mustJSON(t, p)), w.kCow.ID) || strings.Contains(p.Detail, w.kReissue.OldTag) || w.lastSeq() != before ||
				len(p.Errors) == 0 || p.Errors[0].Location != "body.id" {
				t.Errorf("a case under Korday's case id by %s: %+v", o.who, p)
			}
		}

		// Completing one's own case with a number of Korday's stock answers as a number nobody
		// allocated, and fits nothing.
		var bc api.ReissueView
		w.do("POST", "/v1/animals/"+w.bCow.ID+"/tag-loss", w.vet, map[string]any{"id": uuid.NewString(), "kind": "lost"}).expect(t, 201).JSON(t, &bc)
		w.do("POST", "/v1/reissues/"+bc.ID+"/tags-arrived", w.vet, map[string]any{"date": "2026-03-25"}).expect(t, 200)
		// A number of Korday's stock, in stock or fitted to Korday's cow: refused with the unit
		// whose stock it is (as identification does), naming no animal, owner or date of Korday.
		for _, number := range []string{"398000000100500", w.kCow.Tag} {
			before := w.lastSeq()
			p := w.do("POST", "/v1/reissues/"+bc.ID+"/complete", w.vet, map[string]any{"number": number}).expectProblem(t, 409)
			body := string(mustJSON(t, p))
			if w.lastSeq() != before || strings.Contains(body, w.kCow.ID) || strings.Contains(body, otherIIN) ||
				strings.Contains(body, "2026-03-20") || !strings.Contains(p.Detail, "stock of unit "+kordayKato) {
				t.Errorf("completing with %s of Korday: %s (wrote %d change(s))", number, body, w.lastSeq()-before)
			}
		}
	})

	t.Run("ReferenceApplications", func(t *testing.T) {
		app := w.kApps[0]
		for _, o := range outsiders {
			w.hidden(t, probe{"GET an application", o.who, o.token, "GET", "/v1/reference-applications/" + app.ID, nil})
		}
		for _, o := range []struct{ who, token string }{{"the Bayzak vet", w.vet}, {"the Bayzak rural vet", w.vet2}} {
			w.hidden(t, probe{"decide another district's application", o.who, o.token, "POST", "/v1/reference-applications/" + app.ID + "/decide",
				map[string]any{"reference_id": uuid.NewString(), "exam_result": "healthy"}})
			w.emptyPage(t, o.who, o.token, "/v1/reference-applications?status=pending&limit=1")
		}
		w.fullPage(t, "the Korday vet", w.korday, "/v1/reference-applications?status=pending&limit=1")
		w.fullPage(t, "farmer2", w.farmer2, "/v1/reference-applications?limit=1")
		w.emptyPage(t, "another farmer", w.farmer, "/v1/reference-applications?limit=1")
		// The farmer names farmer2's holding, or farmer2's animal on their own holding.
		w.hidden(t, probe{"apply for another farmer's holding", "another farmer", w.farmer, "POST", "/v1/reference-applications",
			map[string]any{"id": uuid.NewString(), "holding_id": w.kHolding.ID, "animal_ids": []string{w.kCow.ID}, "purpose": "sale",
				"destination": "Тараз"}})
		w.hidden(t, probe{"apply for another farmer's animal", "another farmer", w.farmer, "POST", "/v1/reference-applications",
			map[string]any{"id": uuid.NewString(), "holding_id": w.holding.ID, "animal_ids": []string{w.bCow.ID, w.kCow.ID}, "purpose": "sale",
				"destination": "Тараз"}})
		// Under the id of farmer2's application: a taken id, naming nothing of it.
		before := w.lastSeq()
		p := w.do("POST", "/v1/reference-applications", w.farmer, map[string]any{"id": app.ID, "holding_id": w.holding.ID,
			"animal_ids": []string{w.bCow.ID}, "purpose": "sale", "destination": "Тараз"}).expectProblem(t, 409)
		if strings.Contains(string(mustJSON(t, p)), w.kHolding.ID) || w.lastSeq() != before {
			t.Errorf("an application under farmer2's id: %+v", p)
		}
		var got api.ReferenceApplicationView
		w.do("GET", "/v1/reference-applications/"+app.ID, w.korday, nil).expect(t, 200).JSON(t, &got)
		if got.Status != "pending" || got.Version != app.Version {
			t.Errorf("the probes changed farmer2's application: %+v", got)
		}

		// A Bayzak vet decides the farmer's own application under the id of Korday's reference: a
		// taken id, refused before the application is claimed, so it stays open to a decision.
		var kDecided struct {
			Reference api.ReferenceView `json:"reference"`
		}
		w.do("POST", "/v1/reference-applications/"+w.kApps[1].ID+"/decide", w.korday, map[string]any{"reference_id": uuid.NewString(),
			"exam_result": "healthy"}).expect(t, 200).JSON(t, &kDecided)
		var mine api.ReferenceApplicationView
		w.do("POST", "/v1/reference-applications", w.farmer, map[string]any{"id": uuid.NewString(), "holding_id": w.holding.ID,
			"animal_ids": []string{w.bCow.ID}, "purpose": "sale", "destination": "Тараз"}).expect(t, 201).JSON(t, &mine)
		before = w.lastSeq()
		p = w.do("POST", "/v1/reference-applications/"+mine.ID+"/decide", w.vet, map[string]any{"reference_id": kDecided.Reference.ID,
			"exam_result": "healthy"}).expectProblem(t, 409)
		if len(p.Errors) == 0 || p.Errors[0].Location != "body.reference_id" || strings.Contains(string(mustJSON(t, p)), w.kHolding.ID) {
			t.Errorf("deciding under Korday's reference id: %+v", p)
		}
		if w.lastSeq() != before {
			t.Errorf("deciding under Korday's reference id wrote %d change(s)", w.lastSeq()-before)
		}
		w.do("POST", "/v1/reference-applications/"+mine.ID+"/decide", w.vet2, map[string]any{"reference_id": uuid.NewString(),
			"exam_result": "healthy"}).expect(t, 200)
	})
}

var versionField = regexp.MustCompile(`"version":[0-9]+`)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
