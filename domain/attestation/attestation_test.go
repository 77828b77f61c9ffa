package attestation_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/attestation"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite/sqlitetest"
	"github.com/vetfield/vetfield/domain/storetest"
	"github.com/vetfield/vetfield/media/paper"
)

const bayzak = "313200000"

type env struct {
	t            *testing.T
	App          *vetfield.App
	Store        *storetest.HookStore
	Clock        *storetest.Clock
	Office, Head domain.Principal
}

func almaty(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, domain.Almaty)
	if err != nil {
		panic(err)
	}
	return t
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
	e := &env{t: t, App: app, Store: hs, Clock: clk}
	user := func(name string, role domain.Role) domain.Principal {
		u, err := app.Accounts.Create(t.Context(), accounts.NewUser{Username: name, Password: "password-" + name,
			Role: role, Territory: bayzak, FullName: strings.ToUpper(name[:1]) + name[1:]})
		if err != nil {
			t.Fatal(err)
		}
		return u.Principal()
	}
	e.Office, e.Head = user("office", domain.RoleVet), user("head", domain.RoleHead)
	return e
}

func data(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

func (e *env) at(s string) { e.Clock.Set(almaty(s).UTC()) }

func (e *env) apply(iin, request string) (*cases.Case, error) {
	c, _, err := e.App.Cases.Apply(e.t.Context(), e.Office, cases.Application{Service: attestation.Code, ApplicantIIN: iin,
		ApplicantName: "Сейітов Асқар", Documents: []string{"өтініш", "диплом"},
		Data: data(map[string]string{"request": request, "territory": bayzak, "activity": "Ветеринариялық емдеу"})})
	return c, err
}

func (e *env) step(id, step string, p domain.Principal, in cases.StepInput) *cases.Case {
	e.t.Helper()
	c, err := e.App.Cases.Advance(e.t.Context(), p, id, step, in)
	if err != nil {
		e.t.Fatalf("%s: %v", step, err)
	}
	return c
}

func noWrite(t *testing.T, e *env, code string, f func() error) {
	t.Helper()
	before := storetest.LastSeq(t, e.Store)
	if err := f(); !domain.IsCode(err, code) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if after := storetest.LastSeq(t, e.Store); after != before {
		t.Fatalf("a refused call wrote: seq %d -> %d", before, after)
	}
}

// attest runs an application made now to its sheet on date: the test (nil: not held, a
// re-interview), the interview (nil: not held) and the result.
func (e *env) attest(iin, request, date string, test, interview *bool, result string) *cases.Case {
	e.t.Helper()
	c, err := e.apply(iin, request)
	if err != nil {
		e.t.Fatal(err)
	}
	com := cases.StepInput{Data: data(map[string]any{"chair": "Ахметов Б.", "members": []string{"Омарова Г.", "Ли В."},
		"secretary": "Сарсенова Д.", "date": date})}
	c = e.step(c.ID, "commission", e.Head, com)
	c = e.step(c.ID, "completeness", e.Office, cases.StepInput{})
	e.at(date + " 10:00")
	if test != nil {
		c = e.step(c.ID, "test", e.Office, cases.StepInput{Data: data(map[string]any{"score": "42/50", "passed": *test})})
	} else {
		c = e.step(c.ID, "test", e.Office, cases.StepInput{})
	}
	e.at(date + " 14:00")
	if interview != nil {
		c = e.step(c.ID, "interview", e.Office, cases.StepInput{Data: data(map[string]any{"passed": *interview})})
	} else {
		c = e.step(c.ID, "interview", e.Office, cases.StepInput{})
	}
	c = e.step(c.ID, "sheet", e.Office, cases.StepInput{Data: data(map[string]string{"result": result})})
	return e.step(c.ID, "hand_over", e.Office, cases.StepInput{HandOver: cases.HandInPerson})
}

var yes, no = true, false

// TestWaitsAtTheirBoundaries: the day before each wait ends the application is refused with
// nothing written; on the day itself it is accepted.
func TestWaitsAtTheirBoundaries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-03-02 10:00")
	const failedTest, reAtt, failed = "880101300123", "900202400151", "781214200010"

	// A failed test ends it before the interview: not attested, the re-test six months later.
	c := e.attest(failedTest, "attestation", "2026-03-10", &no, nil, "not_attested")
	if c.Record("interview").Data == nil || !strings.Contains(string(c.Record("interview").Data), `"held":false`) {
		t.Fatalf("interview after a failed test: %s", c.Record("interview").Data)
	}
	e.at("2026-03-02 10:00")
	e.attest(reAtt, "attestation", "2026-03-10", &yes, &no, "re_attestation")
	e.at("2026-03-02 10:00")
	sheet := e.attest(failed, "attestation", "2026-03-10", &yes, &no, "not_attested")

	for _, w := range []struct{ iin, request, before, day string }{
		{failedTest, "attestation", "2026-09-09", "2026-09-10"}, // six months after the test
		{reAtt, "reinterview", "2026-04-09", "2026-04-10"},      // one month after the interview
		{failed, "attestation", "2027-03-09", "2027-03-10"},     // one year after the fail
	} {
		e.at(w.before + " 10:00")
		noWrite(t, e, domain.EPRECONDITION, func() error { _, err := e.apply(w.iin, w.request); return err })
		e.at(w.day + " 10:00")
		if _, err := e.apply(w.iin, w.request); err != nil {
			t.Fatalf("%s on %s: %v", w.request, w.day, err)
		}
	}
	// A re-interview of one not subject to re-attestation is refused.
	noWrite(t, e, domain.EPRECONDITION, func() error { _, err := e.apply(failed, "reinterview"); return err })

	doc, _ := e.App.Documents.Get(t.Context(), sheet.Results[0].ID)
	if doc.Type != documents.DocAttestation {
		t.Fatalf("type %s", doc.Type)
	}
	if p := paper.Build(doc, "X", "x"); len(p.Unlabelled) > 0 {
		t.Fatalf("unlabelled %v", p.Unlabelled)
	}
}

// TestReinterviewToAttested: the interview again, no test, attested, listed in the register; the
// commission sits only on its scheduled date.
func TestReinterviewToAttested(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-03-02 10:00")
	const iin = "900202400151"
	e.attest(iin, "attestation", "2026-03-10", &yes, &no, "re_attestation")
	e.at("2026-04-13 10:00")
	c, err := e.apply(iin, "reinterview")
	if err != nil {
		t.Fatal(err)
	}
	c = e.step(c.ID, "commission", e.Head, cases.StepInput{Data: data(map[string]any{"chair": "Ахметов Б.", "members": []string{"Ли В."},
		"secretary": "Сарсенова Д.", "date": "2026-04-15"})})
	c = e.step(c.ID, "completeness", e.Office, cases.StepInput{})
	c = e.step(c.ID, "test", e.Office, cases.StepInput{})
	noWrite(t, e, domain.EPRECONDITION, func() error {
		_, err := e.App.Cases.Advance(t.Context(), e.Office, c.ID, "interview", cases.StepInput{Data: data(map[string]any{"passed": true})})
		return err
	})
	e.at("2026-04-15 11:00")
	c = e.step(c.ID, "interview", e.Office, cases.StepInput{Data: data(map[string]any{"passed": true})})
	c = e.step(c.ID, "sheet", e.Office, cases.StepInput{Data: data(map[string]string{"result": "attested"})})
	list, _, err := e.App.Attestation.List(t.Context(), "сейітов", "", 10)
	if err != nil || len(list) != 1 || list[0].SheetID != c.Results[0].ID {
		t.Fatalf("register %+v %v", list, err)
	}
}

func TestAddMonths(t *testing.T) {
	t.Parallel()
	d, _ := domain.ParseCivilDate("2026-08-31")
	if got := attestation.AddMonths(d, 6).String(); got != "2027-02-28" {
		t.Fatalf("got %s", got)
	}
}

// A crash at any write of the sheet leaves a state the retry finishes: one sheet, the record
// pointing at it.
func TestSheetCrashAtEveryWrite(t *testing.T) {
	t.Parallel()
	for k := 0; ; k++ {
		e := newEnv(t, "2026-03-02 10:00")
		ctx := t.Context()
		const iin = "880101300123"
		c, err := e.apply(iin, "attestation")
		if err != nil {
			t.Fatal(err)
		}
		c = e.step(c.ID, "commission", e.Head, cases.StepInput{Data: data(map[string]any{"chair": "Ахметов Б.", "members": []string{"Ли В."},
			"secretary": "Сарсенова Д.", "date": "2026-03-02"})})
		c = e.step(c.ID, "completeness", e.Office, cases.StepInput{})
		c = e.step(c.ID, "test", e.Office, cases.StepInput{Data: data(map[string]any{"score": "40/50", "passed": true})})
		c = e.step(c.ID, "interview", e.Office, cases.StepInput{Data: data(map[string]any{"passed": true})})
		in := cases.StepInput{Data: data(map[string]string{"result": "attested"})}
		e.Store.Set(storetest.CrashAt(k))
		_, err = e.App.Cases.Advance(ctx, e.Office, c.ID, "sheet", in)
		e.Store.Set(nil)
		if err == nil {
			if k < 2 {
				t.Fatalf("a sheet has more writes than %d", k)
			}
			return
		}
		if c, err = e.App.Cases.Advance(ctx, e.Office, c.ID, "sheet", in); err != nil {
			t.Fatalf("crash at write %d: the retry: %v", k, err)
		}
		p, err := e.App.Attestation.Person(ctx, iin)
		if err != nil || p.SheetID != c.Results[0].ID || len(p.CaseIDs) != 1 || p.Listed != "1" {
			t.Fatalf("crash at write %d: record %+v %v", k, p, err)
		}
	}
}

// TestIncompleteRefused: incomplete documents end the case on the day of arrival with a motivated
// refusal; the applicant's record is untouched, so no wait follows.
func TestIncompleteRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-03-02 10:00")
	const iin = "880101300123"
	c, err := e.apply(iin, "attestation")
	if err != nil {
		t.Fatal(err)
	}
	c = e.step(c.ID, "commission", e.Head, cases.StepInput{Data: data(map[string]any{"chair": "Ахметов Б.", "members": []string{"Ли В."},
		"secretary": "Сарсенова Д.", "date": "2026-03-10"})})
	c = e.step(c.ID, "completeness", e.Office, cases.StepInput{Refuse: true, Ground: "Құжаттар толық емес", Missing: []string{"диплом көшірмесі"}})
	if c.State != cases.StateRefused || c.Refusal == nil {
		t.Fatalf("state %s", c.State)
	}
	if _, err := e.App.Attestation.Person(t.Context(), iin); !domain.IsCode(err, domain.ENOTFOUND) {
		t.Fatalf("a refusal wrote the record: %v", err)
	}
	if _, err := e.apply(iin, "attestation"); err != nil {
		t.Fatalf("a new application after an incomplete one: %v", err)
	}
}
