package api_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/storetest"
)

// TestGoldenCasesOverHTTP drives the case engine over HTTP and pins the case JSON: an applicant applies through the account, the office registers it
// with a talon, the head assigns and the executor refuses for incompleteness; the cabinet shows
// the applicant their case and its papers and hides it from another; bad input is a 4xx that
// writes nothing; the journal exports CSV.
func TestGoldenCasesOverHTTP(t *testing.T) {
	e := newEnv(t)
	officeTok, _ := e.staff("office.bayzak", domain.RoleVet, "313200000")
	headTok, _ := e.staff("head.bayzak", domain.RoleHead, "313200000")
	execTok, execID := e.staff("exec.bayzak", domain.RoleInspector, "313200000")
	farmerTok, _ := e.staff("farmer.a", domain.RoleFarmer, ownerA)
	otherTok, _ := e.staff("farmer.b", domain.RoleFarmer, ownerB)
	obj := e.object(officeTok, "313200000", ownerA)
	// The object was entered with a number already: a first number is refused, a re-issue goes.
	apply := func(token string, body map[string]any) response {
		return e.do("POST", "/v1/cases", token, body)
	}
	data := map[string]any{"object_id": obj.ID, "request": "reissue", "new_name": "Ақсу ЖШС"}
	if p := apply(farmerTok, map[string]any{"service": "regnumber", "documents": []string{"өтініш"},
		"data": map[string]any{"object_id": obj.ID, "request": "issue"}}).expectProblem(t, 409); p.Title == "" {
		t.Errorf("a first number for a numbered object: %+v", p)
	}
	var c api.CaseView
	apply(farmerTok, map[string]any{"service": "regnumber", "documents": []string{"өтініш"}, "data": data}).expect(t, 201).JSON(t, &c)
	if c.State != "submitted" || c.Applicant.Channel != "account" || c.Pending != "register" {
		t.Fatalf("applied through the account: %+v", c)
	}
	seq := storetest.LastSeq(t, e.store)
	for name, r := range map[string]response{
		"a bad check digit": apply(officeTok, map[string]any{"service": "regnumber", "applicant_iin": "880101300124",
			"documents": []string{"өтініш"}, "data": data}),
		"an object outside the applicant's ownership": apply(otherTok, map[string]any{"service": "regnumber",
			"documents": []string{"өтініш"}, "data": data}),
		"an unknown service":           apply(officeTok, map[string]any{"service": "nonsense", "applicant_iin": ownerA, "documents": []string{"x"}}),
		"the head before registration": e.do("POST", "/v1/cases/"+c.ID+"/steps/assign", headTok, map[string]any{"executor_id": execID}),
		"another applicant reads it":   e.do("GET", "/v1/cases/"+c.ID, otherTok, nil),
	} {
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if storetest.LastSeq(t, e.store) != seq {
		t.Errorf("bad input wrote")
	}
	r := e.do("POST", "/v1/cases/"+c.ID+"/steps/register", officeTok, map[string]any{}).expect(t, 200)
	r.JSON(t, &c)
	goldenJSON(t, "case_registered", r.Body)
	if c.Registration == nil || c.Registration.TalonID == "" || c.Pending != "assign" {
		t.Fatalf("registered: %+v", c)
	}
	// The talon, printed and read back as a person reads it.
	text := pdfText(t, e.do("GET", "/v1/documents/"+c.Registration.TalonID+"/pdf", farmerTok, nil).expect(t, 200).Body)
	flat := strings.Join(strings.Fields(text), " ")
	for _, want := range []string{"Талон о приёме заявления", "Өтінішті қабылдау туралы талон", c.Registration.Number,
		"Срок выдачи результата", "Нәтижені беру мерзімі", "Заявление принял", "OFFICE.BAYZAK", "Сданные документы", "өтініш",
		"Присвоение учетных номеров производственным объектам", c.Registration.At.In(domain.Almaty).Format("02.01.2006 15:04")} {
		if !strings.Contains(flat, want) {
			t.Errorf("the talon does not read %q:\n%s", want, text)
		}
	}
	e.do("POST", "/v1/cases/"+c.ID+"/steps/assign", execTok, map[string]any{"executor_id": execID}).expectProblem(t, 403)
	e.do("POST", "/v1/cases/"+c.ID+"/steps/oblast", headTok, map[string]any{}).expectProblem(t, 403)
	e.do("POST", "/v1/cases/"+c.ID+"/steps/forward", officeTok, map[string]any{"hand_over": "cabinet"}).expectProblem(t, 409)
	e.do("POST", "/v1/cases/"+c.ID+"/steps/assign", headTok, map[string]any{"executor_id": execID}).expect(t, 200)
	r = e.do("POST", "/v1/cases/"+c.ID+"/steps/completeness", execTok, map[string]any{"refuse": true,
		"ground": "Атауының өзгергенін растайтын құжат жоқ", "missing": []string{"тіркеу куәлігі"}}).expect(t, 200)
	r.JSON(t, &c)
	goldenJSON(t, "case_refused", r.Body)
	if c.State != "refused" || c.Refusal == nil || len(c.Results) != 1 {
		t.Fatalf("refused: %+v", c)
	}
	e.do("POST", "/v1/cases/"+c.ID+"/steps/inspection", execTok, map[string]any{"data": map[string]any{"inspection_id": "x"}}).expectProblem(t, 409)
	// The cabinet.
	var mine, theirs api.Page[api.CaseView]
	e.do("GET", "/v1/cases", farmerTok, nil).expect(t, 200).JSON(t, &mine)
	e.do("GET", "/v1/cases", otherTok, nil).expect(t, 200).JSON(t, &theirs)
	if len(mine.Items) != 1 || len(theirs.Items) != 0 {
		t.Errorf("cabinets: %d and %d", len(mine.Items), len(theirs.Items))
	}
	e.do("GET", "/v1/documents/"+c.Refusal.DocID, farmerTok, nil).expect(t, 200)
	e.do("GET", "/v1/documents/"+c.Refusal.DocID, otherTok, nil).expectProblem(t, 404)
	// The journal.
	r = e.do("GET", "/v1/journals/regnumber/csv", headTok, nil).expect(t, 200)
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][1] != c.Registration.Number || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("CSV: %v %q", err, rows)
	}
	e.do("GET", "/v1/journals/regnumber", farmerTok, nil).expectProblem(t, 403)
	// Office hours.
	e.do("PUT", "/v1/office-hours", headTok, map[string]any{"open": "08:00", "close": "17:00", "break_start": "12:00", "break_end": "13:00"}).expectProblem(t, 403)
	var h api.OfficeHoursView
	e.do("PUT", "/v1/office-hours", e.admin, map[string]any{"open": "08:00", "close": "17:00", "break_start": "12:00", "break_end": "13:00"}).expect(t, 200)
	e.do("GET", "/v1/office-hours", officeTok, nil).expect(t, 200).JSON(t, &h)
	if h.Open != "08:00" || h.BreakEnd != "13:00" {
		t.Errorf("office hours %+v", h)
	}
	var services struct {
		Items []struct {
			Code  string `json:"code"`
			Steps []struct {
				Name string `json:"name"`
			} `json:"steps"`
		} `json:"items"`
	}
	r = e.do("GET", "/v1/services", officeTok, nil).expect(t, 200)
	r.JSON(t, &services)
	goldenJSON(t, "services", r.Body)
	if len(services.Items) != 8 || len(services.Items[0].Steps) != 6 || services.Items[1].Code != "vetcert" ||
		services.Items[2].Code != "feedreg" || services.Items[4].Code != "drugreg" {
		t.Errorf("services %+v", services)
	}
}
