package registration_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/registration"
	"github.com/vetfield/vetfield/domain/sqlite/sqlitetest"
	"github.com/vetfield/vetfield/domain/storetest"
	"github.com/vetfield/vetfield/media/paper"
)

const (
	applicantIIN = "880101300123"
	otherIIN     = "900202400151"
	bayzak       = "313200000"
)

type env struct {
	App                      *vetfield.App
	Store                    *storetest.HookStore
	Clock                    *storetest.Clock
	Office, Head, Lab1, Lab2 domain.Principal
	Inst                     domain.Principal
}

func newEnv(t *testing.T, start string) *env {
	t.Helper()
	s := sqlitetest.Open(t)
	if err := s.Declare(t.Context(), vetfield.Collections...); err != nil {
		t.Fatal(err)
	}
	hs := storetest.Hook(s)
	clk := storetest.NewClock(almaty(start).UTC())
	key, _ := keyring.Generate()
	app := vetfield.New(vetfield.Config{Store: hs, Now: clk.Now, Keys: keyring.New(key),
		Passwords: accounts.PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1}})
	e := &env{App: app, Store: hs, Clock: clk}
	user := func(name string, role domain.Role, territory string) domain.Principal {
		u, err := app.Accounts.Create(t.Context(), accounts.NewUser{Username: name, Password: "password-" + name,
			Role: role, Territory: territory, FullName: strings.ToUpper(name[:1]) + name[1:]})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return u.Principal()
	}
	e.Office = user("office", domain.RoleVet, bayzak)
	e.Head = user("head", domain.RoleHead, bayzak)
	e.Lab1 = user("lab-one", domain.RoleLaboratory, "")
	e.Lab2 = user("lab-two", domain.RoleLaboratory, "")
	e.Inst = user("institute", domain.RoleLaboratory, "")
	return e
}

func almaty(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, domain.Almaty)
	if err != nil {
		panic(err)
	}
	return t
}

func data(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

func (e *env) at(s string) { e.Clock.Set(almaty(s).UTC()) }

func (e *env) apply(t *testing.T, service, iin string, d any) *cases.Case {
	t.Helper()
	c, _, err := e.App.Cases.Apply(t.Context(), e.Office, cases.Application{Service: service, ApplicantIIN: iin,
		ApplicantName: "ЖШС Жем", Documents: []string{"өтініш", "үлгілер", "техникалық құжаттама"}, Data: data(d)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) step(t *testing.T, p domain.Principal, id, step string, in cases.StepInput) *cases.Case {
	t.Helper()
	c, err := e.App.Cases.Advance(t.Context(), p, id, step, in)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	return c
}

func yes() *bool { b := true; return &b }

func feedApp(name string) map[string]any {
	return map[string]any{"name": name, "manufacturer": "ЖШС Жем, Тараз", "territory": bayzak}
}

// noWrite asserts that err has code and nothing was written.
func noWrite(t *testing.T, e *env, code string, f func() error) {
	t.Helper()
	before := storetest.LastSeq(t, e.Store)
	err := f()
	if !domain.IsCode(err, code) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if after := storetest.LastSeq(t, e.Store); after != before {
		t.Fatalf("a refused call wrote: seq %d -> %d", before, after)
	}
}

// TestFeedPathAcross60DaysWithAHoliday runs the feed registration to its certificate: the tests take
// the whole 60 calendar days (25 October's day off inside), the head decides in 5 working days that
// skip 16 December, and the state register lists the product. A laboratory sees only what was sent
// to it, and its result for another's dossier is refused with nothing written.
func TestFeedPathAcross60DaysWithAHoliday(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-10-15 10:00")
	ctx := t.Context()
	c := e.apply(t, registration.Feed.Code, applicantIIN, feedApp("Құрама жем КЖ-1"))
	if c.Registration == nil || c.State != cases.StateOpen {
		t.Fatalf("registered at once: %+v", c)
	}
	other := e.apply(t, registration.Feed.Code, otherIIN, feedApp("Премикс П-2"))

	e.at("2026-10-16 10:00")
	c = e.step(t, e.Office, c.ID, "review", cases.StepInput{Data: data(map[string]string{"laboratory_id": e.Lab1.UserID})})
	var number string
	c.GetData("reg_number", &number)
	if !strings.HasPrefix(number, "KZ-F-") || c.Laboratory != e.Lab1.UserID {
		t.Fatalf("dossier %q with %q", number, c.Laboratory)
	}
	other = e.step(t, e.Office, other.ID, "review", cases.StepInput{Data: data(map[string]string{"laboratory_id": e.Lab2.UserID})})
	tests := c.Pending()
	if want := almaty("2026-12-16 00:00"); !tests.Due.Equal(want) {
		t.Fatalf("the tests are due before %s, want %s", tests.Due.In(domain.Almaty), want)
	}

	// Each laboratory sees its own dossier only.
	for _, lab := range []struct {
		p    domain.Principal
		mine string
	}{{e.Lab1, c.ID}, {e.Lab2, other.ID}} {
		list, _, err := e.App.Cases.List(ctx, lab.p, cases.Filter{})
		if err != nil || len(list) != 1 || list[0].ID != lab.mine {
			t.Fatalf("%s lists %d cases (%v)", lab.p.Username, len(list), err)
		}
	}
	if _, err := e.App.Cases.Get(ctx, e.Lab2, c.ID); !domain.IsCode(err, domain.ENOTFOUND) {
		t.Fatalf("another laboratory reads the dossier: %v", err)
	}
	result := cases.StepInput{Data: data(map[string]any{"act": "№ 77", "act_date": "2026-12-15", "conforms": true, "findings": "Талаптарға сай"})}
	e.at("2026-12-15 16:00")
	noWrite(t, e, domain.ENOTFOUND, func() error {
		_, err := e.App.Cases.Advance(ctx, e.Lab2, c.ID, "tests", result)
		return err
	})
	noWrite(t, e, domain.EFORBIDDEN, func() error {
		_, err := e.App.Cases.Advance(ctx, e.Office, c.ID, "tests", result)
		return err
	})

	// On the 60th day the laboratory reports: in time.
	c = e.step(t, e.Lab1, c.ID, "tests", result)
	if rec := c.Record("tests"); rec.Late(e.Clock.Now()) {
		t.Fatalf("tests on day 60 are late: %+v", rec)
	}
	// Reported, the dossier stays readable by its laboratory but leaves its list.
	if _, err := e.App.Cases.Get(ctx, e.Lab1, c.ID); err != nil {
		t.Fatal(err)
	}
	if list, _, _ := e.App.Cases.List(ctx, e.Lab1, cases.Filter{}); len(list) != 0 {
		// The case is at approbation, still with the laboratory until the office records it.
		if len(list) != 1 || list[0].ID != c.ID {
			t.Fatalf("lab lists %d", len(list))
		}
	}
	e.at("2026-12-15 16:30")
	c = e.step(t, e.Office, c.ID, "approbation", cases.StepInput{})
	decision := c.Pending()
	if want := almaty("2026-12-24 00:00"); !decision.Due.Equal(want) {
		t.Fatalf("the decision is due before %s, want %s (16 December is a holiday)", decision.Due.In(domain.Almaty), want)
	}
	e.at("2026-12-23 11:00")
	noWrite(t, e, domain.EINVALID, func() error {
		_, err := e.App.Cases.Advance(ctx, e.Head, c.ID, "decision", cases.StepInput{Data: data(map[string]string{"valid_until": "2026-12-01"})})
		return err
	})
	c = e.step(t, e.Head, c.ID, "decision", cases.StepInput{Data: data(map[string]string{"valid_until": "2031-12-23"})})
	if c.Record("decision").Late(e.Clock.Now()) || len(c.Results) != 1 {
		t.Fatalf("decision: %+v results %+v", c.Record("decision"), c.Results)
	}
	c = e.step(t, e.Office, c.ID, "hand_over", cases.StepInput{HandOver: cases.HandInPerson})
	if c.State != cases.StateDone {
		t.Fatalf("state %s", c.State)
	}
	cert, err := e.App.Documents.Get(ctx, c.Results[0].ID)
	if err != nil || cert.Type != documents.DocFeedCertificate || cert.ValidUntil == nil ||
		domain.CivilDateOf(*cert.ValidUntil).String() != "2031-12-23" {
		t.Fatalf("certificate %+v %v", cert, err)
	}
	list, _, err := e.App.FeedReg.Register.List(ctx, "feeds", "кж-1", "", 10)
	if err != nil || len(list) != 1 || list[0].RegNumber != number || list[0].CertificateID != cert.ID {
		t.Fatalf("register: %+v %v", list, err)
	}
	pdfHas(t, cert, "Құрама жем КЖ-1", number, "Регистрационное удостоверение", "№ 77")

	// Re-registration on expiry: 70 calendar days, the new certificate supersedes the old.
	e.at("2031-10-01 10:00")
	noWrite(t, e, domain.EINVALID, func() error {
		_, _, err := e.App.Cases.Apply(ctx, e.Office, cases.Application{Service: registration.Feed.ReregCode, ApplicantIIN: otherIIN,
			Documents: []string{"өтініш"}, Data: data(map[string]string{"certificate_id": cert.ID, "reason": "expiry"})})
		return err
	})
	noWrite(t, e, domain.EINVALID, func() error {
		_, _, err := e.App.Cases.Apply(ctx, e.Office, cases.Application{Service: registration.Feed.ReregCode, ApplicantIIN: applicantIIN,
			Documents: []string{"өтініш"}, Data: data(map[string]string{"certificate_id": domain.NewID(), "reason": "expiry"})})
		return err
	})
	rr := e.apply(t, registration.Feed.ReregCode, applicantIIN, map[string]string{"certificate_id": cert.ID, "reason": "expiry"})
	if want := almaty("2031-12-11 00:00"); !rr.Pending().Due.Equal(want) {
		t.Fatalf("re-registration due %s, want %s", rr.Pending().Due.In(domain.Almaty), want)
	}
	e.at("2031-12-10 15:00")
	rr = e.step(t, e.Head, rr.ID, "decision", cases.StepInput{Data: data(map[string]string{"valid_until": "2036-12-10"})})
	if rr.Record("decision").Late(e.Clock.Now()) {
		t.Fatal("a re-registration decided on day 70 is late")
	}
	old, _ := e.App.Documents.Get(ctx, cert.ID)
	if old.Status != documents.DocSuperseded {
		t.Fatalf("old certificate is %s", old.Status)
	}
	list, _, _ = e.App.FeedReg.Register.List(ctx, "feeds", number, "", 10)
	if len(list) != 1 || list[0].CertificateID != rr.Results[0].ID || len(list[0].History) != 2 {
		t.Fatalf("register after re-registration: %+v", list)
	}
}

// TestRefusalReturnsDocuments: a refusal for non-conformity names every document returned.
func TestRefusalReturnsDocuments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-10-15 10:00")
	c := e.apply(t, registration.Feed.Code, applicantIIN, feedApp("Жем"))
	c = e.step(t, e.Office, c.ID, "review", cases.StepInput{Data: data(map[string]string{"laboratory_id": e.Lab1.UserID})})
	e.at("2026-11-02 10:00")
	c = e.step(t, e.Lab1, c.ID, "tests", cases.StepInput{Data: data(map[string]any{"act": "№ 5", "act_date": "2026-11-02", "conforms": false,
		"findings": "Ауыр металдар нормадан жоғары"})})
	c = e.step(t, e.Office, c.ID, "approbation", cases.StepInput{})
	noWrite(t, e, domain.EPRECONDITION, func() error {
		_, err := e.App.Cases.Advance(t.Context(), e.Head, c.ID, "decision", cases.StepInput{Data: data(map[string]string{"valid_until": "2030-01-01"})})
		return err
	})
	c = e.step(t, e.Head, c.ID, "decision", cases.StepInput{Refuse: true, Ground: "Сынақ актісі № 5: өнім талаптарға сай емес"})
	if c.State != cases.StateRefused {
		t.Fatalf("state %s", c.State)
	}
	doc, err := e.App.Documents.Get(t.Context(), c.Refusal.DocID)
	if err != nil {
		t.Fatal(err)
	}
	var content struct {
		Returned []string `json:"returned"`
	}
	_ = json.Unmarshal(doc.Content, &content)
	if len(content.Returned) != 3 {
		t.Fatalf("returned %v", content.Returned)
	}
	pdfHas(t, doc, "Документы, возвращённые заявителю", "техникалық құжаттама")
}

// TestDrugPath: expertise by a research institution, then the laboratory's tests.
func TestDrugPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-10-15 10:00")
	c := e.apply(t, registration.Drug.Code, applicantIIN, map[string]any{"name": "Ивермек 1%", "manufacturer": "ЖШС Фарм",
		"territory": bayzak, "standard": "СТ 123-2026"})
	c = e.step(t, e.Office, c.ID, "review", cases.StepInput{Data: data(map[string]string{"laboratory_id": e.Lab1.UserID, "institution_id": e.Inst.UserID})})
	if c.Laboratory != e.Inst.UserID {
		t.Fatalf("sent to %s", c.Laboratory)
	}
	e.at("2026-11-10 10:00")
	// The laboratory of the tests does not see the dossier while the institution has it.
	noWrite(t, e, domain.ENOTFOUND, func() error {
		_, err := e.App.Cases.Advance(t.Context(), e.Lab1, c.ID, "expertise", cases.StepInput{})
		return err
	})
	c = e.step(t, e.Inst, c.ID, "expertise", cases.StepInput{Data: data(map[string]any{"act": "ҒЗИ-1", "act_date": "2026-11-10", "conforms": true})})
	e.at("2026-12-01 10:00")
	c = e.step(t, e.Lab1, c.ID, "tests", cases.StepInput{Data: data(map[string]any{"act": "№ 9", "act_date": "2026-12-01", "conforms": true})})
	c = e.step(t, e.Office, c.ID, "approbation", cases.StepInput{})
	c = e.step(t, e.Head, c.ID, "decision", cases.StepInput{Data: data(map[string]string{"valid_until": "2031-12-01"})})
	c = e.step(t, e.Office, c.ID, "hand_over", cases.StepInput{HandOver: cases.HandCabinet})
	cert, _ := e.App.Documents.Get(t.Context(), c.Results[0].ID)
	if cert.Type != documents.DocDrugCertificate {
		t.Fatalf("type %s", cert.Type)
	}
	pdfHas(t, cert, "Ивермек 1%", "СТ 123-2026", "KZ-VD-")
}

// pdfHas renders d's paper to PDF and checks its text, in Kazakh and Russian.
func pdfHas(t *testing.T, d *documents.Document, want ...string) {
	t.Helper()
	p := paper.Build(d, "HTTPS://X/V/1", "https://x/v/1")
	if len(p.Unlabelled) > 0 {
		t.Fatalf("unlabelled: %v", p.Unlabelled)
	}
	pdf, err := paper.PDF(p)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("no pdftotext")
	}
	f := filepath.Join(t.TempDir(), "p.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", f, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF has no %q:\n%s", w, text)
		}
	}
}

// TestLongCaseStaysVisible: a dossier whose laboratory lets the 60 calendar days pass shows in the
// overdue listing, and the journal says the laboratory holds it.
func TestLongCaseStaysVisible(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-10-15 10:00")
	ctx := t.Context()
	c := e.apply(t, registration.Feed.Code, applicantIIN, feedApp("Жем"))
	e.at("2026-10-16 10:00")
	c = e.step(t, e.Office, c.ID, "review", cases.StepInput{Data: data(map[string]string{"laboratory_id": e.Lab1.UserID})})
	for _, at := range []struct {
		when    string
		overdue bool
	}{{"2026-12-15 23:59", false}, {"2026-12-16 00:00", true}} {
		e.at(at.when)
		list, _, err := e.App.Cases.List(ctx, e.Office, cases.Filter{Overdue: true})
		if err != nil || (len(list) == 1) != at.overdue {
			t.Fatalf("overdue at %s: %d cases (%v)", at.when, len(list), err)
		}
	}
	if c.Holder() != "Lab-one" {
		t.Fatalf("holder %q", c.Holder())
	}
	var b strings.Builder
	if err := e.App.Cases.WriteJournalCSV(ctx, e.Head, registration.Feed.Code, "", &b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Lab-one") || !strings.Contains(b.String(), "tests") {
		t.Fatalf("journal:\n%s", b.String())
	}
	// A laboratory keeps no journal.
	if _, _, err := e.App.Cases.Journal(ctx, e.Lab1, registration.Feed.Code, "", "", 10); !domain.IsCode(err, domain.EFORBIDDEN) {
		t.Fatalf("lab journal: %v", err)
	}
}

// toDecision takes a feed dossier to its decision; with approbation the laboratory reports it.
func (e *env) toDecision(t *testing.T, approbation bool) *cases.Case {
	t.Helper()
	app := feedApp("Жем")
	app["approbation"] = approbation
	c := e.apply(t, registration.Feed.Code, applicantIIN, app)
	c = e.step(t, e.Office, c.ID, "review", cases.StepInput{Data: data(map[string]string{"laboratory_id": e.Lab1.UserID})})
	e.at("2026-11-02 10:00")
	c = e.step(t, e.Lab1, c.ID, "tests", cases.StepInput{Data: data(map[string]any{"act": "№ 5", "act_date": "2026-11-02", "conforms": true})})
	if !approbation {
		return e.step(t, e.Office, c.ID, "approbation", cases.StepInput{})
	}
	if due := c.Pending().Due; due.Before(almaty("2028-11-01 00:00")) {
		t.Fatalf("the approbation has two years: due %s", due)
	}
	// The office cannot close an approbation the application asked for.
	noWrite(t, e, domain.EFORBIDDEN, func() error {
		_, err := e.App.Cases.Advance(t.Context(), e.Office, c.ID, "approbation", cases.StepInput{})
		return err
	})
	e.at("2028-06-01 10:00")
	c = e.step(t, e.Lab1, c.ID, "approbation", cases.StepInput{Data: data(map[string]any{"act": "ӨС-2", "act_date": "2028-06-01", "conforms": true,
		"findings": "Өндірістік сынақтар бағдарламасы орындалды"})})
	if c.Laboratory != "" {
		t.Fatal("the case stays with the laboratory after its last report")
	}
	return c
}

func TestApprobationReportedByTheLaboratory(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-10-15 10:00")
	c := e.toDecision(t, true)
	c = e.step(t, e.Head, c.ID, "decision", cases.StepInput{Data: data(map[string]string{"valid_until": "2033-06-01"})})
	if len(c.Results) != 1 {
		t.Fatalf("results %+v", c.Results)
	}
}

// A crash at any write of the decision leaves a state the retry finishes: one certificate, one
// entry in the register.
func TestDecisionCrashAtEveryWrite(t *testing.T) {
	t.Parallel()
	for k := 0; ; k++ {
		e := newEnv(t, "2026-10-15 10:00")
		ctx := t.Context()
		c := e.toDecision(t, false)
		in := cases.StepInput{Data: data(map[string]string{"valid_until": "2031-01-01"})}
		e.Store.Set(storetest.CrashAt(k))
		_, err := e.App.Cases.Advance(ctx, e.Head, c.ID, "decision", in)
		e.Store.Set(nil)
		if err == nil {
			if k < 2 {
				t.Fatalf("a decision has more writes than %d", k)
			}
			return
		}
		c, err = e.App.Cases.Advance(ctx, e.Head, c.ID, "decision", in)
		if err != nil {
			t.Fatalf("crash at write %d: the retry: %v", k, err)
		}
		if docs, _ := e.App.Documents.OfSubject(ctx, c.ID); len(docs) != 2 { // the talon and the certificate
			t.Errorf("crash at write %d: %d papers", k, len(docs))
		}
		var number string
		c.GetData("reg_number", &number)
		p, err := e.App.FeedReg.Register.ByCertificate(ctx, "feeds", number)
		if err != nil || len(p.History) != 1 || p.CertificateID != c.Results[0].ID {
			t.Fatalf("crash at write %d: register %+v %v", k, p, err)
		}
	}
}

// TestDrugTotalTerm: a drug's registration takes "96 calendar days with tests (2 years 41 days
// with approbation)" in all, fewer than its steps' terms added up. The talon promises the result
// by the 96th day, and when every step before takes its whole term the decision is due that day,
// not five working days after the tests.
func TestDrugTotalTerm(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		approbation bool
		result      string // the last day the talon allows
	}{{false, "19.01.2027"}, {true, "24.11.2028"}} {
		t.Run(fmt.Sprint("Approbation", c.approbation), func(t *testing.T) {
			e := newEnv(t, "2026-10-15 10:00")
			cs := e.apply(t, registration.Drug.Code, applicantIIN, map[string]any{"name": "Ивермек 1%", "manufacturer": "ЖШС Фарм",
				"territory": bayzak, "standard": "СТ 123-2026", "approbation": c.approbation})
			if got := cs.Registration.ResultDue.Add(-time.Nanosecond).In(domain.Almaty).Format("02.01.2006"); got != c.result {
				t.Fatalf("the talon promises the result by %s, want %s", got, c.result)
			}
			talon, err := e.App.Documents.Get(t.Context(), cs.Registration.TalonID)
			if err != nil {
				t.Fatal(err)
			}
			var content map[string]any
			json.Unmarshal(talon.Content, &content)
			if content["result_due"] != c.result {
				t.Errorf("the talon's paper says %v, want %s", content["result_due"], c.result)
			}
			if c.approbation {
				return
			}
			// Every step takes its whole term, to its last minute; a laboratory's act is of that day.
			late := func(step string, p domain.Principal, in map[string]any) {
				e.Clock.Set(cs.Pending().Due.Add(-time.Minute))
				if _, ok := in["act"]; ok {
					in["act_date"] = e.Clock.Now().In(domain.Almaty).Format(time.DateOnly)
				}
				cs = e.step(t, p, cs.ID, step, cases.StepInput{Data: data(in)})
			}
			late("review", e.Office, map[string]any{"laboratory_id": e.Lab1.UserID, "institution_id": e.Inst.UserID})
			late("expertise", e.Inst, map[string]any{"act": "ҒЗИ-1", "conforms": true})
			late("tests", e.Lab1, map[string]any{"act": "№ 9", "conforms": true})
			cs = e.step(t, e.Office, cs.ID, "approbation", cases.StepInput{})
			if due := cs.Pending().Due; !due.Equal(cs.Registration.ResultDue) {
				t.Errorf("the decision is due %s, want the total term's end %s", due.In(domain.Almaty), cs.Registration.ResultDue.In(domain.Almaty))
			}
		})
	}
}
