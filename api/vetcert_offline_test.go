package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
)

// offlineCert is a certificate.issue mutation for the animals of reference refID (tag tag) issued
// on a tablet at its time at.
func offlineCert(at time.Time, refID, tag string) map[string]any {
	data := map[string]any{"service": "vetcert", "applicant_iin": ownerIIN, "documents": []string{"өтініш", "ветеринариялық анықтама"},
		"data": map[string]any{"consignment": "animals", "reference_ids": []string{refID}, "destination_territory": kordayKato,
			"destination": "Қордай ауданы, Қордай"},
		"laboratory": map[string]any{"laboratory": "Байзақ аудандық ветеринариялық зертханасы", "act_number": "17",
			"act_date": at.In(domain.Almaty).Format("2006-01-02"), "tests": []map[string]any{{"name": "бруцеллез", "result": "negative"}},
			"tags": []string{tag}},
		"inspection": map[string]any{"vehicle": "08 ABC 123", "vehicle_state": "satisfactory", "seal": "П-17", "objects_state": "satisfactory"},
		"outcome":    "issued"}
	return map[string]any{"id": uuid.NewString(), "kind": "certificate.issue", "record_id": uuid.NewString(),
		"at": at.Format(time.RFC3339), "data": data}
}

// TestCertificateOffline: a state veterinary-sanitary inspector's tablet issues certificates
// offline and syncs them. One the situation allows is issued as online; one issued while a
// quarantine was in force at the tablet's time, or whose reference was revoked before it reached
// the server, is kept with its paper issued already revoked with the ground, flagged and listed for
// the district's review. A repeat writes nothing; a farmer or a vet may not push one; the
// inspector's tablet and the applicant pull the certificate.
func TestCertificateOffline(t *testing.T) {
	t.Parallel()
	h := newHerd(t)
	insp := h.account("insp.bayzak", "sanitary_inspector", bayzakKato, "", "Серік Ахметов")
	cow := h.identify(h.vet, h.cow("398000000000003"))
	ref := h.reference(h.vet, h.refBody(cow.Tag))
	get := func(id string) api.CertificateView {
		t.Helper()
		var v api.CertificateView
		h.do("GET", "/v1/certificates/"+id, h.vet, nil).expect(t, 200).JSON(t, &v)
		return v
	}
	verify := func(token string) api.VerificationView {
		t.Helper()
		var v api.VerificationView
		h.do("GET", "/v1/verify/"+token, "", nil).expect(t, 200).JSON(t, &v)
		return v
	}

	clean := offlineCert(h.clock.Now().Add(-time.Hour), ref.ID, cow.Tag)
	res := h.push(insp, clean)
	if len(res) != 1 || res[0].Status != "applied" || res[0].Record == nil || res[0].Record.Collection != "certificates" {
		t.Fatalf("push answered %+v", res)
	}
	good := get(res[0].Record.ID)

	t.Run("CleanIssued", func(t *testing.T) {
		if !good.Offline || good.ReviewRequired || good.ReviewOpen || good.Document == nil || good.Document.Status != "valid" ||
			good.Document.Type != "vet_certificate" || good.Status != "open" || good.SyncedAt == nil ||
			!good.IssuedAt.Equal(h.clock.Now().Add(-time.Hour).Truncate(time.Second)) {
			t.Fatalf("certificate %+v", good)
		}
		if v := verify(good.Document.Token); v.Status != "genuine" {
			t.Errorf("verified %+v", v)
		}
		var c api.CaseView
		h.do("GET", "/v1/cases/"+good.ID, h.farmer, nil).expect(t, 200).JSON(t, &c)
		if c.State != "done" || c.Registration == nil || len(c.Steps) != 5 || c.Steps[4].Name != "hand_over" ||
			!c.Registration.At.Equal(good.IssuedAt) || c.CertificateStatus != "open" || c.Offline == nil || !c.Offline.At.Equal(good.IssuedAt) {
			t.Errorf("case %+v", c)
		}
	})

	t.Run("RepeatWritesNothing", func(t *testing.T) {
		seq := h.lastSeq()
		again := h.push(insp, clean)
		if again[0].Status != "applied" || again[0].Record.ID != good.ID || h.lastSeq() != seq {
			t.Errorf("a repeat answered %+v and wrote", again)
		}
		// The same request under a new mutation id answers the same case; another request
		// reusing the case id is rejected.
		same := map[string]any{}
		for k, v := range clean {
			same[k] = v
		}
		same["id"] = uuid.NewString()
		if r := h.push(insp, same); r[0].Status != "applied" || r[0].Record.ID != good.ID || h.lastSeq() != seq {
			t.Errorf("the same request again answered %+v", r)
		}
		other := offlineCert(h.clock.Now().Add(-2*time.Hour), ref.ID, cow.Tag)
		other["record_id"] = good.ID
		if r := h.push(insp, other); r[0].Status != "rejected" || r[0].Problem.Status != 409 || h.lastSeq() != seq {
			t.Errorf("another request reusing the id answered %+v", r[0])
		}
	})

	t.Run("ErrWrongRoleOrInput", func(t *testing.T) {
		seq := h.lastSeq()
		for name, c := range map[string]struct {
			token  string
			mut    map[string]any
			status int
		}{
			"a farmer":     {h.farmer, offlineCert(h.clock.Now(), ref.ID, cow.Tag), 403},
			"a vet":        {h.vet, offlineCert(h.clock.Now(), ref.ID, cow.Tag), 403},
			"ahead":        {insp, offlineCert(h.clock.Now().Add(time.Hour), ref.ID, cow.Tag), 422},
			"too old":      {insp, offlineCert(h.clock.Now().Add(-31*24*time.Hour), ref.ID, cow.Tag), 422},
			"another act":  {insp, offlineCert(h.clock.Now(), ref.ID, "398000000000099"), 422},
			"another's id": {insp, offlineCert(h.clock.Now(), uuid.NewString(), cow.Tag), 422},
		} {
			r := h.push(c.token, c.mut)
			if r[0].Status != "rejected" || r[0].Problem == nil || r[0].Problem.Status != c.status {
				t.Errorf("%s: %+v", name, r[0])
			}
		}
		wrong := offlineCert(h.clock.Now(), ref.ID, cow.Tag)
		wrong["data"].(map[string]any)["service"] = "regnumber"
		if r := h.push(insp, wrong); r[0].Status != "rejected" || r[0].Problem.Status != 422 {
			t.Errorf("another service: %+v", r[0])
		}
		if r := h.push(h.vet, wrong); r[0].Status != "rejected" || r[0].Problem.Status != 403 {
			t.Errorf("a vet, another service: %+v", r[0])
		}
		bad := offlineCert(h.clock.Now(), ref.ID, "398000000000099")
		if r := h.push(insp, bad); len(r[0].Problem.Errors) == 0 || r[0].Problem.Errors[0].Location != "data.laboratory.tags" {
			t.Errorf("an act for other animals is answered at %+v", r[0].Problem)
		}
		if h.lastSeq() != seq {
			t.Error("a rejected mutation wrote")
		}
	})

	// Issued offline while a quarantine was in force, synced after it was lifted: the check at the
	// tablet's time finds it.
	q := h.declare("quarantine", "fmd", bayzakKato, "21")
	h.clock.Advance(10 * time.Minute)
	during := offlineCert(h.clock.Now().Add(-5*time.Minute), ref.ID, cow.Tag)
	h.lift(q.ID)
	insp = h.login("insp.bayzak", "long-enough-1").AccessToken
	res = h.push(insp, during)
	if res[0].Status != "applied" || res[0].Record.Collection != "certificates" {
		t.Fatalf("push answered %+v", res[0])
	}
	flagged := get(res[0].Record.ID)

	t.Run("QuarantineAtItsTime", func(t *testing.T) {
		if !flagged.ReviewRequired || !flagged.ReviewOpen || len(flagged.Grounds) == 0 || flagged.Document == nil ||
			flagged.Document.Status != "revoked" || !strings.Contains(flagged.Document.RevokeReason, "без связи") ||
			!strings.Contains(flagged.Document.RevokeReason, "Ящур") {
			t.Fatalf("certificate %+v", flagged)
		}
		if v := verify(flagged.Document.Token); v.Status != "revoked" || !strings.Contains(v.RevokeReason, "Ящур") {
			t.Errorf("one scanning it sees %+v", v)
		}
	})

	t.Run("ReviewQueue", func(t *testing.T) {
		var page api.Page[api.CertificateView]
		h.do("GET", "/v1/certificates?review=true", h.vet, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != flagged.ID {
			t.Fatalf("the district's queue %+v", page.Items)
		}
		h.do("GET", "/v1/certificates?review=true", h.korday, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("another district's queue %+v", page.Items)
		}
		h.do("POST", "/v1/certificates/"+flagged.ID+"/review", insp, map[string]any{"note": "өзім"}).expectProblem(t, 403)
		h.do("POST", "/v1/certificates/"+flagged.ID+"/review", h.korday, map[string]any{"note": "x"}).expectProblem(t, 404)
		h.do("POST", "/v1/certificates/"+flagged.ID+"/review", h.farmer, map[string]any{"note": "x"}).expectProblem(t, 403)
		h.do("POST", "/v1/certificates/"+good.ID+"/review", h.vet, map[string]any{"note": "x"}).expectProblem(t, 409)
		var closed api.CertificateView
		h.do("POST", "/v1/certificates/"+flagged.ID+"/review", h.vet, map[string]any{"note": "карантин кезінде берілген, жүк тоқтатылды"}).
			expect(t, 200).JSON(t, &closed)
		if closed.ReviewOpen || !closed.ReviewRequired || closed.ReviewedAt == nil || closed.Document.Status != "revoked" {
			t.Errorf("closed %+v", closed)
		}
		h.do("GET", "/v1/certificates?review=true", h.vet, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("the queue after review %+v", page.Items)
		}
	})

	t.Run("ReferenceRevokedBeforeSync", func(t *testing.T) {
		cow2 := h.identify(h.vet, h.cow("398000000000004"))
		ref2 := h.reference(h.vet, h.refBody(cow2.Tag))
		mut := offlineCert(h.clock.Now(), ref2.ID, cow2.Tag)
		h.do("POST", "/v1/documents/"+ref2.DocumentID+"/revoke", h.vet, map[string]any{"reason": "қате берілген"}).expect(t, 200)
		res := h.push(insp, mut)
		if res[0].Status != "applied" {
			t.Fatalf("push answered %+v", res[0])
		}
		got := get(res[0].Record.ID)
		if !got.ReviewRequired || got.Document.Status != "revoked" || !strings.Contains(strings.Join(got.Grounds, " "), ref2.DocumentNumber) {
			t.Errorf("certificate %+v", got)
		}
	})

	t.Run("RefusedOffline", func(t *testing.T) {
		mut := offlineCert(h.clock.Now(), ref.ID, cow.Tag)
		data := mut["data"].(map[string]any)
		data["outcome"], data["ground"] = "refused", "Көлік ветеринариялық-санитариялық талаптарға сай емес"
		delete(data, "inspection")
		res := h.push(insp, mut)
		if res[0].Status != "applied" || res[0].Record.Collection != "documents" {
			t.Fatalf("push answered %+v", res[0])
		}
		var c api.CaseView
		h.do("GET", "/v1/cases/"+mut["record_id"].(string), h.vet, nil).expect(t, 200).JSON(t, &c)
		if c.State != "refused" || c.Refusal == nil || c.Refusal.Step != "inspection" || c.Refusal.DocID != res[0].Record.ID {
			t.Errorf("case %+v", c)
		}
		h.do("GET", "/v1/certificates/"+c.ID, h.vet, nil).expectProblem(t, 404)
		seq := h.lastSeq()
		issued := offlineCert(h.clock.Now(), ref.ID, cow.Tag)
		issued["data"].(map[string]any)["ground"] = "x"
		if r := h.push(insp, issued); r[0].Status != "rejected" || r[0].Problem.Status != 422 || h.lastSeq() != seq {
			t.Errorf("a certificate issued with a ground of refusal: %+v", r[0])
		}
	})

	t.Run("TabletsPullIt", func(t *testing.T) {
		for name, token := range map[string]string{"the inspector": insp, "the applicant": h.farmer} {
			var cert, paper bool
			for _, it := range h.pullAll(token) {
				if it.Collection == "certificates" && it.ID == good.ID && strings.Contains(string(it.Data), good.DocumentNumber) {
					cert = true
					if token == insp {
						raw, _ := json.Marshal(it)
						goldenJSON(t, "pull_item_certificates", raw)
					}
				}
				paper = paper || (it.Collection == "documents" && it.ID == good.DocumentID)
			}
			if !cert || !paper {
				t.Errorf("%s pulled the certificate %v and its paper %v", name, cert, paper)
			}
		}
		for _, it := range h.pullAll(h.farmer2) {
			if it.Collection == "certificates" {
				t.Errorf("another farmer pulled %s", it.ID)
			}
		}
	})
}
