package licence_test

import (
	"encoding/json"
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
	"github.com/vetfield/vetfield/domain/licence"
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
	t                  *testing.T
	App                *vetfield.App
	Store              *storetest.HookStore
	Clock              *storetest.Clock
	Admin              domain.Principal
	Office, Head, Exec domain.Principal
}

func newEnv(t *testing.T, start string) *env {
	t.Helper()
	s := sqlitetest.Open(t)
	if err := s.Declare(t.Context(), vetfield.Collections...); err != nil {
		t.Fatal(err)
	}
	hs := storetest.Hook(s)
	loc, _ := time.ParseInLocation("2006-01-02 15:04", start, domain.Almaty)
	clk := storetest.NewClock(loc.UTC())
	key, _ := keyring.Generate()
	app := vetfield.New(vetfield.Config{Store: hs, Now: clk.Now, Keys: keyring.New(key),
		Passwords: accounts.PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1}})
	e := &env{t: t, App: app, Store: hs, Clock: clk, Admin: domain.Principal{UserID: "admin", Username: "admin", Role: domain.RoleAdmin}}
	user := func(name string, role domain.Role) domain.Principal {
		u, err := app.Accounts.Create(t.Context(), accounts.NewUser{Username: name, Password: "password-" + name,
			Role: role, Territory: bayzak, FullName: strings.ToUpper(name[:1]) + name[1:]})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return u.Principal()
	}
	e.Office, e.Head, e.Exec = user("office", domain.RoleVet), user("head", domain.RoleHead), user("executor", domain.RoleInspector)
	return e
}

func data(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

func (e *env) step(t *testing.T, p domain.Principal, id, step string, in cases.StepInput) *cases.Case {
	t.Helper()
	c, err := e.App.Cases.Advance(t.Context(), p, id, step, in)
	if err != nil {
		t.Fatalf("%s: %v", step, err)
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

func (e *env) apply(iin string, d any) (*cases.Case, error) {
	c, _, err := e.App.Cases.Apply(e.t.Context(), e.Office, cases.Application{Service: licence.Code, ApplicantIIN: iin,
		ApplicantName: "ЖК Ветсервис", Documents: []string{"өтініш", "дипломның көшірмесі"}, Data: data(d)})
	return c, err
}

var met = true
var unmet = false

func requirements(ok *bool) []map[string]any {
	return []map[string]any{
		{"code": "1", "text": "Жоғары ветеринариялық білім", "met": &met},
		{"code": "2", "text": "Үй-жай мен жабдық", "met": ok, "note": "жалға алу шарты № 4"},
	}
}

// run takes case c from the head's assignment to the hand-over; with fee it is paid at completeness.
func (e *env) run(t *testing.T, c *cases.Case) *cases.Case {
	t.Helper()
	c = e.step(t, e.Head, c.ID, "assign", cases.StepInput{ExecutorID: e.Exec.UserID})
	c = e.step(t, e.Exec, c.ID, "completeness", cases.StepInput{Data: data(map[string]any{
		"fee": map[string]string{"receipt": "КВ-1", "paid_on": domain.CivilDateOf(e.Clock.Now()).String(), "amount": "6 МРП"}})})
	c = e.step(t, e.Exec, c.ID, "review", cases.StepInput{Data: data(map[string]any{"requirements": requirements(&met)})})
	c = e.step(t, e.Head, c.ID, "sign", cases.StepInput{})
	return e.step(t, e.Office, c.ID, "hand_over", cases.StepInput{HandOver: cases.HandInPerson})
}

// TestLicencePath: an issue with its annexes and checked requirements; the review waits for the
// fee; a re-issue supersedes, a duplicate is linked; a revoked licence has no duplicate.
func TestLicencePath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-11-02 10:00")
	ctx := t.Context()
	c, err := e.apply(applicantIIN, map[string]any{"request": "issue", "territory": bayzak,
		"kinds": []string{"Ветеринариялық-санитариялық сараптама", "Ветеринариялық препараттарды сату"}})
	if err != nil {
		t.Fatal(err)
	}
	c = e.step(t, e.Head, c.ID, "assign", cases.StepInput{ExecutorID: e.Exec.UserID})
	c = e.step(t, e.Exec, c.ID, "completeness", cases.StepInput{})
	review := cases.StepInput{Data: data(map[string]any{"requirements": requirements(&met)})}
	noWrite(t, e, domain.EPRECONDITION, func() error { _, err := e.App.Cases.Advance(ctx, e.Exec, c.ID, "review", review); return err })
	noWrite(t, e, domain.EPRECONDITION, func() error {
		_, err := e.App.Cases.Advance(ctx, e.Exec, c.ID, "review", cases.StepInput{Data: data(map[string]any{
			"fee":          map[string]string{"receipt": "КВ-1", "paid_on": "2026-11-02", "amount": "6 МРП"},
			"requirements": requirements(&unmet)})})
		return err
	})
	c = e.step(t, e.Exec, c.ID, "review", cases.StepInput{Data: data(map[string]any{
		"fee": map[string]string{"receipt": "КВ-1", "paid_on": "2026-11-02", "amount": "6 МРП"}, "requirements": requirements(&met)})})
	c = e.step(t, e.Head, c.ID, "sign", cases.StepInput{})
	c = e.step(t, e.Office, c.ID, "hand_over", cases.StepInput{HandOver: cases.HandCabinet})
	lic, _ := e.App.Documents.Get(ctx, c.Results[0].ID)
	if lic.Type != documents.DocLicence {
		t.Fatalf("type %s", lic.Type)
	}
	pdfHas(t, lic, "Приложение к лицензии", "Ветеринариялық-санитариялық сараптама", "КВ-1", "Жоғары ветеринариялық білім")

	// Another applicant's re-issue of it is refused with nothing written.
	noWrite(t, e, domain.EINVALID, func() error {
		_, err := e.apply(otherIIN, map[string]any{"request": "reissue", "licence_id": lic.ID, "reason": "атауы өзгерді"})
		return err
	})
	re, err := e.apply(applicantIIN, map[string]any{"request": "reissue", "licence_id": lic.ID, "reason": "атауы өзгерді", "new_name": "ЖШС Ветсервис"})
	if err != nil {
		t.Fatal(err)
	}
	if a := re.Pending(); a.Name != "assign" || a.Due.Sub(a.Start) > 3*time.Hour {
		t.Fatalf("a re-issue's head has 2 hours: %+v", a)
	}
	re = e.run(t, re)
	if old, _ := e.App.Documents.Get(ctx, lic.ID); old.Status != documents.DocSuperseded {
		t.Fatalf("the re-issued licence is %s", old.Status)
	}
	current := re.Results[0].ID
	noWrite(t, e, domain.EPRECONDITION, func() error {
		_, err := e.apply(applicantIIN, map[string]any{"request": "duplicate", "licence_id": lic.ID, "reason": "жоғалды"})
		return err
	})
	dup, err := e.apply(applicantIIN, map[string]any{"request": "duplicate", "licence_id": current, "reason": "жоғалды"})
	if err != nil {
		t.Fatal(err)
	}
	dup = e.run(t, dup)
	d, _ := e.App.Documents.Get(ctx, dup.Results[0].ID)
	cur, _ := e.App.Documents.Get(ctx, current)
	if d.Type != documents.DocLicenceDuplicate || cur.Status != documents.DocValid {
		t.Fatalf("duplicate %s, licence %s", d.Type, cur.Status)
	}
	reg, err := e.App.Licence.Register.Get(ctx, lic.Subject.ID)
	if err != nil || reg.LicenceID != current || len(reg.Duplicates) != 1 || len(reg.History) != 3 || reg.HolderName != "ЖШС Ветсервис" {
		t.Fatalf("register %+v %v", reg, err)
	}
	pdfHas(t, d, "Дубликат лицензии", cur.Number)

	if _, err := e.App.Documents.Revoke(ctx, current, e.Admin, "лицензиар шешімі"); err != nil {
		t.Fatal(err)
	}
	noWrite(t, e, domain.EPRECONDITION, func() error {
		_, err := e.apply(applicantIIN, map[string]any{"request": "duplicate", "licence_id": current, "reason": "жоғалды"})
		return err
	})
}

// TestLicenceRefusedUnpaid: unpaid, the review ends in a motivated refusal.
func TestLicenceRefusedUnpaid(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-11-02 10:00")
	c, err := e.apply(applicantIIN, map[string]any{"request": "issue", "territory": bayzak, "kinds": []string{"Ветеринариялық емдеу"}})
	if err != nil {
		t.Fatal(err)
	}
	c = e.step(t, e.Head, c.ID, "assign", cases.StepInput{ExecutorID: e.Exec.UserID})
	c = e.step(t, e.Exec, c.ID, "completeness", cases.StepInput{})
	c = e.step(t, e.Exec, c.ID, "review", cases.StepInput{Refuse: true, Ground: "Лицензиялық алым төленбеген"})
	if c.State != cases.StateRefused || c.Refusal == nil {
		t.Fatalf("state %s", c.State)
	}
}

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

// A crash at any write of a re-issue's signature leaves a state the retry finishes: one new
// licence, the old one superseded, one event in the register.
func TestReissueCrashAtEveryWrite(t *testing.T) {
	t.Parallel()
	for k := 0; ; k++ {
		e := newEnv(t, "2026-11-02 10:00")
		ctx := t.Context()
		c, err := e.apply(applicantIIN, map[string]any{"request": "issue", "territory": bayzak, "kinds": []string{"Ветеринариялық емдеу"}})
		if err != nil {
			t.Fatal(err)
		}
		c = e.run(t, c)
		lic := c.Results[0].ID
		re, err := e.apply(applicantIIN, map[string]any{"request": "reissue", "licence_id": lic, "reason": "атауы өзгерді", "new_name": "ЖШС Жаңа"})
		if err != nil {
			t.Fatal(err)
		}
		re = e.step(t, e.Head, re.ID, "assign", cases.StepInput{ExecutorID: e.Exec.UserID})
		re = e.step(t, e.Exec, re.ID, "completeness", cases.StepInput{Data: data(map[string]any{
			"fee": map[string]string{"receipt": "КВ-2", "paid_on": "2026-11-02", "amount": "1 МРП"}})})
		re = e.step(t, e.Exec, re.ID, "review", cases.StepInput{Data: data(map[string]any{"requirements": requirements(&met)})})
		e.Store.Set(storetest.CrashAt(k))
		_, err = e.App.Cases.Advance(ctx, e.Head, re.ID, "sign", cases.StepInput{})
		e.Store.Set(nil)
		if err == nil {
			if k < 2 {
				t.Fatalf("a signature has more writes than %d", k)
			}
			return
		}
		re, err = e.App.Cases.Advance(ctx, e.Head, re.ID, "sign", cases.StepInput{})
		if err != nil {
			t.Fatalf("crash at write %d: the retry: %v", k, err)
		}
		if old, _ := e.App.Documents.Get(ctx, lic); old.Status != documents.DocSuperseded {
			t.Errorf("crash at write %d: the old licence is %s", k, old.Status)
		}
		old, _ := e.App.Documents.Get(ctx, lic)
		reg, err := e.App.Licence.Register.Get(ctx, old.Subject.ID)
		if err != nil || len(reg.History) != 2 || reg.LicenceID != re.Results[0].ID {
			t.Fatalf("crash at write %d: register %+v %v", k, reg, err)
		}
	}
}
