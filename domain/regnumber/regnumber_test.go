package regnumber_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/regnumber"
	"github.com/vetfield/vetfield/domain/sqlite/sqlitetest"
	"github.com/vetfield/vetfield/domain/storetest"
)

const (
	farmerIIN = "880101300123"
	otherIIN  = "900202400151"
	bayzak    = "313200000"
)

// env is the whole graph over a fresh embedded database, with a clock the test moves and the
// people of one district and its oblast.
type env struct {
	App    *vetfield.App
	Store  *storetest.HookStore
	Clock  *storetest.Clock
	Admin  domain.Principal
	Office domain.Principal // a vet of the district office, who registers
	Head   domain.Principal // the head of the district department
	Exec   domain.Principal // the executor the head assigns
	Oblast domain.Principal // the oblast inspection department
	Farmer domain.Principal
	Other  domain.Principal // another applicant
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
	app.Inspection.Inspections.Evidence = noPhotos{} // these inspections have no photos
	e := &env{App: app, Store: hs, Clock: clk, Admin: domain.Principal{UserID: "admin", Username: "admin", Role: domain.RoleAdmin}}
	user := func(name string, role domain.Role, territory, iin string) domain.Principal {
		u, err := app.Accounts.Create(t.Context(), accounts.NewUser{Username: name, Password: "password-" + name,
			Role: role, Territory: territory, IIN: iin, FullName: strings.ToUpper(name[:1]) + name[1:]})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return u.Principal()
	}
	e.Office = user("office", domain.RoleVet, bayzak, "")
	e.Head = user("head", domain.RoleHead, bayzak, "")
	e.Exec = user("executor", domain.RoleInspector, bayzak, "")
	e.Oblast = user("oblast", domain.RoleOblastDept, "310000000", "")
	e.Farmer = user("farmer", domain.RoleFarmer, "", farmerIIN)
	e.Other = user("other", domain.RoleFarmer, "", otherIIN)
	return e
}

// noPhotos checks the photos of inspections that have none.
type noPhotos struct{}

func (noPhotos) VerifyPhoto(context.Context, *inspection.Photo) error { return nil }

func almaty(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, domain.Almaty)
	if err != nil {
		panic(err)
	}
	return t
}

// object registers a production object of the farmer in territory.
func (e *env) object(t *testing.T, kind inspection.ObjectKind, owner, territory string) *inspection.ProductionObject {
	t.Helper()
	o, _, err := e.App.Inspection.Register.Create(t.Context(), e.Admin, inspection.NewObject{Kind: kind, Name: "Ақсу фермасы",
		OwnerIIN: owner, Address: "Сарыкемер", Territory: territory})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// conclude runs service 1 on the object to a conclusion of conformity, moving the clock.
func (e *env) conclude(t *testing.T, objectID string) *inspection.Inspection {
	t.Helper()
	ctx, s := t.Context(), e.App.Inspection.Inspections
	in, _, err := s.Register(ctx, e.Admin, inspection.NewApplication{ObjectID: objectID, Documents: []string{"өтініш"}})
	if err != nil {
		t.Fatal(err)
	}
	must := func(_ *inspection.Inspection, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Assign(ctx, e.Admin, in.ID, e.Exec.UserID))
	must(s.CheckCompleteness(ctx, e.Exec, in.ID, inspection.CompletenessCheck{Complete: true}))
	must(s.RecordNotice(ctx, e.Exec, in.ID, inspection.NoticeInput{Addressee: "ҚСжАЕАК", Reference: "1",
		PlannedFor: domain.CivilDateOf(e.Clock.Now()).AddDays(1)}))
	e.Clock.Advance(24 * time.Hour)
	fix := domain.Fix{GPS: &domain.GeoPoint{Lat: 42.99, Lon: 71.38}}
	must(s.Start(ctx, e.Exec, in.ID, fix))
	must(s.SetChecklist(ctx, e.Exec, in.ID, []inspection.ChecklistItem{{Code: "1", Requirement: "Қоршау", Conform: true}}))
	must(s.SubmitAct(ctx, e.Exec, in.ID, inspection.ActInput{Summary: "Талаптарға сай", Fix: fix}))
	in, err = s.Decide(ctx, e.Admin, in.ID, inspection.OutcomeConformity)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func appData(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

// register has the office register an application for a number for the object.
func (e *env) register(t *testing.T, objectID string, req regnumber.Request, extra map[string]string) *cases.Case {
	t.Helper()
	data := map[string]string{"object_id": objectID, "request": string(req)}
	for k, v := range extra {
		data[k] = v
	}
	c, created, err := e.App.Cases.Apply(t.Context(), e.Office, cases.Application{Service: regnumber.Code,
		ApplicantIIN: farmerIIN, ApplicantName: "Ақсу ЖШС", Documents: []string{"өтініш", "құқық белгілейтін құжат"}, Data: appData(data)})
	if err != nil || !created {
		t.Fatalf("register: %v (created %v)", err, created)
	}
	return c
}

func (e *env) step(t *testing.T, p domain.Principal, c *cases.Case, step string, in cases.StepInput) *cases.Case {
	t.Helper()
	got, err := e.App.Cases.Advance(t.Context(), p, c.ID, step, in)
	if err != nil {
		t.Fatalf("step %s: %v", step, err)
	}
	return got
}

// toOblast takes a registered case through the district's steps.
func (e *env) toOblast(t *testing.T, c *cases.Case, inspectionID string) *cases.Case {
	t.Helper()
	c = e.step(t, e.Head, c, "assign", cases.StepInput{ExecutorID: e.Exec.UserID})
	c = e.step(t, e.Exec, c, "completeness", cases.StepInput{})
	return e.step(t, e.Exec, c, "inspection", cases.StepInput{Data: appData(map[string]string{"inspection_id": inspectionID})})
}

// The seeds' example: an application that reaches the office through the applicant's account at
// 18:10 on Friday 8 May 2026 has 20 of its 30 office minutes on Friday; Saturday 9 May is Victory
// Day, whose day off moves to Monday 11 May; the last 10 minutes run on Tuesday from 9:00.
func TestOfficeTimeAcrossHolidayAndHours(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-05-08 18:10")
	o := e.object(t, inspection.KindFarm, farmerIIN, bayzak)
	c, _, err := e.App.Cases.Apply(t.Context(), e.Farmer, cases.Application{Service: regnumber.Code, Documents: []string{"өтініш"},
		Data: appData(map[string]string{"object_id": o.ID, "request": "issue"})})
	if err != nil {
		t.Fatal(err)
	}
	if c.State != cases.StateSubmitted || c.Applicant.Channel != cases.ChannelAccount || c.Registration != nil {
		t.Fatalf("applied through the account: %s, %s", c.State, c.Applicant.Channel)
	}
	if got, want := c.Steps[0].Due, almaty("2026-05-12 09:10"); !got.Equal(want) {
		t.Errorf("the 30-minute step is due %v, want %v", got.In(domain.Almaty), want)
	}
	ctx := t.Context()
	for _, tc := range []struct {
		start string
		term  cases.Term
		want  string
	}{
		{"2026-05-08 12:50", cases.Term{N: 30, Unit: cases.Minutes}, "2026-05-08 14:50"}, // across the break
		{"2026-05-08 07:00", cases.Term{N: 30, Unit: cases.Minutes}, "2026-05-08 09:30"}, // before opening
		{"2026-05-08 16:00", cases.Term{N: 4, Unit: cases.Hours}, "2026-05-12 10:30"},    // 2.5 h Friday, 1.5 h Tuesday
		{"2026-05-08 10:00", cases.Term{N: 1, Unit: cases.WorkingDays}, "2026-05-13 00:00"},
		{"2026-05-08 10:00", cases.Term{N: 0, Unit: cases.WorkingDays}, "2026-05-09 00:00"},
		// 60 calendar days from Friday 8 May end on Tuesday 7 July; 6 July (Capital Day) is a day off
		// but not the last one.
		{"2026-05-08 10:00", cases.Term{N: 60, Unit: cases.CalendarDays}, "2026-07-08 00:00"},
		// 58 calendar days end on Sunday 5 July; Monday 6 July is Capital Day: the term ends on Tuesday.
		{"2026-05-08 10:00", cases.Term{N: 58, Unit: cases.CalendarDays}, "2026-07-08 00:00"},
	} {
		got, err := e.App.Cases.DueAfter(ctx, almaty(tc.start), tc.term)
		if err != nil {
			t.Fatal(err)
		}
		if want := almaty(tc.want); !got.Equal(want) {
			t.Errorf("%s + %d %s: due %v, want %v", tc.start, tc.term.N, tc.term.Unit, got.In(domain.Almaty), want)
		}
	}
	// The admin moves the office hours: 8:00 to 17:00 without a break.
	if _, err := e.App.Office.SetHours(ctx, domain.OfficeHours{Open: domain.At(8, 0), Close: domain.At(17, 0),
		BreakStart: domain.At(12, 0), BreakEnd: domain.At(12, 0)}, "admin"); err != nil {
		t.Fatal(err)
	}
	got, _ := e.App.Cases.DueAfter(ctx, almaty("2026-05-08 16:50"), cases.Term{N: 30, Unit: cases.Minutes})
	if want := almaty("2026-05-12 08:20"); !got.Equal(want) {
		t.Errorf("with the new hours: due %v, want %v", got.In(domain.Almaty), want)
	}
	if _, err := e.App.Office.SetHours(ctx, domain.OfficeHours{Open: domain.At(9, 0), Close: domain.At(8, 0)}, "admin"); !domain.IsCode(err, domain.EINVALID) {
		t.Errorf("closing before opening: %v", err)
	}
	// The office registers it on Tuesday at 9:05: on time, the talon issued.
	e.Clock.Set(almaty("2026-05-12 09:05").UTC())
	c = e.step(t, e.Office, c, "register", cases.StepInput{})
	if c.Registration == nil || c.Steps[0].Late(e.Clock.Now()) || c.Steps[1].Name != "assign" {
		t.Fatalf("registered: %+v", c.Steps)
	}
}

// The whole path to a number: registration with its talon, the head, completeness, the conclusion
// of service 1, the oblast's number and confirmation, the hand-over; 9 working days in all.
func TestRegNumberFullPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-04-06 09:00") // Monday
	ctx := t.Context()
	o := e.object(t, inspection.KindFarm, farmerIIN, bayzak)
	insp := e.conclude(t, o.ID)
	e.Clock.Set(almaty("2026-04-08 10:00").UTC()) // Wednesday
	c := e.register(t, o.ID, regnumber.RequestIssue, nil)
	if c.State != cases.StateOpen || c.Applicant.Channel != cases.ChannelOffice || c.Registration == nil {
		t.Fatalf("registered: %+v", c)
	}
	// 9 working days after Wednesday 8 April: the 9, 10, 13, 14, 15, 16, 17, 20 and 21 April.
	if got, want := c.Registration.ResultDue, almaty("2026-04-22 00:00"); !got.Equal(want) {
		t.Errorf("result due %v, want %v", got.In(domain.Almaty), want)
	}
	if !strings.HasPrefix(c.Registration.Number, "RNA-2026-313200-") {
		t.Errorf("case number %s", c.Registration.Number)
	}
	talon, err := e.App.Documents.Get(ctx, c.Registration.TalonID)
	if err != nil || talon.Type != documents.DocTalon || !talon.VisibleTo(e.Farmer) || talon.VisibleTo(e.Other) {
		t.Fatalf("talon: %v %+v", err, talon)
	}
	var tc map[string]any
	json.Unmarshal(talon.Content, &tc)
	if tc["application"] != c.Registration.Number || tc["result_due"] != "21.04.2026" || tc["accepted_by"] != "Office" {
		t.Errorf("talon content %v", tc)
	}
	if got, want := c.Steps[1].Due, almaty("2026-04-10 00:00"); !got.Equal(want) {
		t.Errorf("assign due %v, want %v", got.In(domain.Almaty), want)
	}
	c = e.toOblast(t, c, insp.ID)
	if rec := c.Record("inspection"); rec == nil || !strings.Contains(string(rec.Data), insp.Decision.ConclusionNumber) {
		t.Fatalf("the inspection step records the conclusion: %+v", rec)
	}
	c = e.step(t, e.Oblast, c, "oblast", cases.StepInput{Data: appData(map[string]string{"incoming": "ВХ-17"})})
	obj, _ := e.App.Inspection.Register.Get(ctx, e.Admin, o.ID)
	if obj.RegNumber != "KZ-31-000001" {
		t.Errorf("the object's number is %q, want KZ-31-000001", obj.RegNumber)
	}
	if len(c.Results) != 1 || c.Results[0].Type != string(documents.DocRegNumber) {
		t.Fatalf("results %+v", c.Results)
	}
	conf, _ := e.App.Documents.Get(ctx, c.Results[0].ID)
	if conf.Subject.RegNumber != "KZ-31-000001" || !conf.VisibleTo(e.Farmer) {
		t.Errorf("confirmation %+v", conf.Subject)
	}
	c = e.step(t, e.Office, c, "forward", cases.StepInput{HandOver: cases.HandCabinet})
	if c.State != cases.StateDone || c.HandOver == nil || c.EndedAt == nil {
		t.Fatalf("after the hand-over: %s", c.State)
	}
	reg, err := e.App.RegNumber.Register.Get(ctx, o.ID)
	if err != nil || reg.Number != "KZ-31-000001" || len(reg.History) != 1 {
		t.Fatalf("register: %v %+v", err, reg)
	}
	// The personal cabinet: the applicant sees the case and its result, another applicant does not.
	if got, err := e.App.Cases.Get(ctx, e.Farmer, c.ID); err != nil || len(got.Results) != 1 {
		t.Errorf("the applicant's case: %v", err)
	}
	if _, err := e.App.Cases.Get(ctx, e.Other, c.ID); !domain.IsCode(err, domain.ENOTFOUND) {
		t.Errorf("another applicant: %v, want not found", err)
	}
	mine, _, _ := e.App.Cases.List(ctx, e.Farmer, cases.Filter{})
	theirs, _, _ := e.App.Cases.List(ctx, e.Other, cases.Filter{})
	if len(mine) != 1 || len(theirs) != 0 {
		t.Errorf("cabinets list %d and %d cases", len(mine), len(theirs))
	}
	list, _, err := e.App.RegNumber.Register.List(ctx, e.Oblast, regnumber.Filter{Kind: inspection.KindFarm})
	if err != nil || len(list) != 1 {
		t.Errorf("the register: %d (%v)", len(list), err)
	}
	if l, _, _ := e.App.RegNumber.Register.List(ctx, e.Oblast, regnumber.Filter{Number: "KZ-31-000001"}); len(l) != 1 {
		t.Errorf("by number: %d", len(l))
	}
	if l, _, _ := e.App.RegNumber.Register.List(ctx, domain.Principal{Role: domain.RoleVet, Territory: "315800000"}, regnumber.Filter{}); len(l) != 0 {
		t.Errorf("another district sees %d", len(l))
	}
}

// An incomplete set of documents ends the case with a motivated refusal; nothing more can be done
// on it, and trying writes nothing.
func TestRegNumberRefusedIncomplete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-04-06 09:00")
	ctx := t.Context()
	o := e.object(t, inspection.KindFarm, farmerIIN, bayzak)
	c := e.register(t, o.ID, regnumber.RequestIssue, nil)
	c = e.step(t, e.Head, c, "assign", cases.StepInput{ExecutorID: e.Exec.UserID})
	c = e.step(t, e.Exec, c, "completeness", cases.StepInput{Refuse: true, Ground: "Құқық белгілейтін құжат жоқ",
		Missing: []string{"құқық белгілейтін құжат"}})
	if c.State != cases.StateRefused || c.Refusal == nil || c.Refusal.DocNo == "" {
		t.Fatalf("refused: %+v", c)
	}
	doc, err := e.App.Documents.Get(ctx, c.Refusal.DocID)
	if err != nil || doc.Type != documents.DocRefusal || !doc.VisibleTo(e.Farmer) {
		t.Fatalf("refusal paper: %v", err)
	}
	// A retry of the refusal answers the same case.
	again := e.step(t, e.Exec, c, "completeness", cases.StepInput{Refuse: true, Ground: "x"})
	if again.Version != c.Version || again.Refusal.DocID != c.Refusal.DocID {
		t.Errorf("a retried refusal changed the case")
	}
	seq := storetest.LastSeq(t, e.App.Store)
	_, err = e.App.Cases.Advance(ctx, e.Exec, c.ID, "inspection", cases.StepInput{Data: appData(map[string]string{"inspection_id": "x"})})
	if !domain.IsCode(err, domain.EPRECONDITION) {
		t.Errorf("a step after the case ended: %v", err)
	}
	if storetest.LastSeq(t, e.App.Store) != seq {
		t.Errorf("a refused step wrote")
	}
	if got, _ := e.App.Cases.Get(ctx, e.Admin, c.ID); got.Version != c.Version {
		t.Errorf("the case changed")
	}
}

// Bad input is a 4xx and writes nothing.
func TestRegNumberBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-04-06 09:00")
	ctx := t.Context()
	o := e.object(t, inspection.KindFarm, farmerIIN, bayzak)
	others := e.object(t, inspection.KindFarm, otherIIN, bayzak)
	c := e.register(t, o.ID, regnumber.RequestIssue, nil)
	otherHead, _ := e.App.Accounts.Create(ctx, accounts.NewUser{Username: "shuhead", Password: "password-shu", Role: domain.RoleHead, Territory: "315800000"})
	seq := storetest.LastSeq(t, e.App.Store)
	check := func(name string, err error, code string) {
		t.Helper()
		if !domain.IsCode(err, code) {
			t.Errorf("%s: %v, want %s", name, err, code)
		}
	}
	_, err := e.App.Cases.Advance(ctx, e.Exec, c.ID, "assign", cases.StepInput{ExecutorID: e.Exec.UserID})
	check("an inspector assigns", err, domain.EFORBIDDEN)
	_, err = e.App.Cases.Advance(ctx, otherHead.Principal(), c.ID, "assign", cases.StepInput{ExecutorID: e.Exec.UserID})
	check("another district's head", err, domain.ENOTFOUND)
	_, err = e.App.Cases.Advance(ctx, e.Oblast, c.ID, "oblast", cases.StepInput{})
	check("out of order", err, domain.EPRECONDITION)
	_, err = e.App.Cases.Advance(ctx, e.Head, c.ID, "assign", cases.StepInput{ExecutorID: e.Oblast.UserID})
	check("an executor of the oblast department", err, domain.EINVALID)
	_, err = e.App.Cases.Advance(ctx, e.Head, c.ID, "nonsense", cases.StepInput{})
	check("an unknown step", err, domain.ENOTFOUND)
	_, err = e.App.Cases.Advance(ctx, e.Farmer, c.ID, "assign", cases.StepInput{ExecutorID: e.Exec.UserID})
	check("the applicant", err, domain.EFORBIDDEN)
	apply := func(p domain.Principal, iin, object string) error {
		_, _, err := e.App.Cases.Apply(ctx, p, cases.Application{Service: regnumber.Code, ApplicantIIN: iin, Documents: []string{"өтініш"},
			Data: appData(map[string]string{"object_id": object, "request": "issue"})})
		return err
	}
	check("an object of someone else", apply(e.Office, farmerIIN, others.ID), domain.EINVALID)
	check("an object of someone else, through the account", apply(e.Farmer, "", others.ID), domain.EINVALID)
	check("a bad check digit", apply(e.Office, "880101300124", o.ID), domain.EINVALID)
	check("a head registers for another district", apply(otherHead.Principal(), farmerIIN, o.ID), domain.EFORBIDDEN)
	_, _, err = e.App.Cases.Apply(ctx, e.Office, cases.Application{Service: regnumber.Code, ApplicantIIN: farmerIIN, Documents: []string{"өтініш"},
		Data:           appData(map[string]string{"object_id": o.ID, "request": "issue"}),
		Representative: &cases.RepresentativeInput{IIN: otherIIN, Name: "Өкіл"}})
	check("a representative without a power of attorney", err, domain.EINVALID)
	if storetest.LastSeq(t, e.App.Store) != seq {
		t.Errorf("bad input wrote to the change log")
	}
	if got, _ := e.App.Cases.Get(ctx, e.Admin, c.ID); got.Version != c.Version {
		t.Errorf("bad input changed the case")
	}
	journal, _, _ := e.App.Cases.Journal(ctx, e.Admin, regnumber.Code, "", "", 100)
	if len(journal) != 1 {
		t.Errorf("the journal holds %d cases, want 1", len(journal))
	}
	// A representative with a power of attorney registers for the applicant.
	_, _, err = e.App.Cases.Apply(ctx, e.Office, cases.Application{Service: regnumber.Code, ApplicantIIN: otherIIN, Documents: []string{"өтініш"},
		Data:           appData(map[string]string{"object_id": others.ID, "request": "issue"}),
		Representative: &cases.RepresentativeInput{IIN: farmerIIN, Name: "Өкіл", PowerOfAttorney: "№ 12", PowerOfAttorneyDate: domain.NewCivilDate(2026, 4, 1)}})
	if err != nil {
		t.Errorf("a representative: %v", err)
	}
}

// Numbers stay unique when the oblast assigns many at once, and one case gets one number however
// many times its step is sent at once.
func TestRegNumberUniqueUnderConcurrentAssignment(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-04-06 09:00")
	ctx := t.Context()
	const n = 8
	var ready []*cases.Case
	for range n {
		o := e.object(t, inspection.KindFarm, farmerIIN, bayzak)
		insp := e.conclude(t, o.ID)
		ready = append(ready, e.toOblast(t, e.register(t, o.ID, regnumber.RequestIssue, nil), insp.ID))
	}
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i, c := range ready {
		for j := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[2*i+j] = e.App.Cases.Advance(ctx, e.Oblast, c.ID, "oblast", cases.StepInput{})
			}()
		}
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, c := range ready {
		if errs[2*i] != nil && errs[2*i+1] != nil {
			t.Fatalf("case %d: %v / %v", i, errs[2*i], errs[2*i+1])
		}
		got, _ := e.App.Cases.Get(ctx, e.Admin, c.ID)
		if len(got.Results) != 1 {
			t.Fatalf("case %d has %d results", i, len(got.Results))
		}
		reg, err := e.App.RegNumber.Register.Get(ctx, got.Subject.ID)
		if err != nil || len(reg.History) != 1 {
			t.Fatalf("register of case %d: %v", i, err)
		}
		if seen[reg.Number] {
			t.Errorf("number %s given twice", reg.Number)
		}
		seen[reg.Number] = true
		if !strings.HasPrefix(reg.Number, "KZ-31-") {
			t.Errorf("number %s does not carry the oblast", reg.Number)
		}
	}
}

// A crash at any write of the oblast's step leaves a state the retry finishes, with one number
// and one confirmation.
func TestRegNumberCrashAtEveryWrite(t *testing.T) {
	t.Parallel()
	for k := 0; ; k++ {
		e := newEnv(t, "2026-04-06 09:00")
		ctx := t.Context()
		o := e.object(t, inspection.KindFarm, farmerIIN, bayzak)
		insp := e.conclude(t, o.ID)
		c := e.toOblast(t, e.register(t, o.ID, regnumber.RequestIssue, nil), insp.ID)
		e.Store.Set(storetest.CrashAt(k))
		_, err := e.App.Cases.Advance(ctx, e.Oblast, c.ID, "oblast", cases.StepInput{})
		e.Store.Set(nil)
		if err == nil {
			if k < 3 {
				t.Fatalf("the step has more writes than %d", k)
			}
			return
		}
		got, err := e.App.Cases.Advance(ctx, e.Oblast, c.ID, "oblast", cases.StepInput{})
		if err != nil {
			t.Fatalf("crash at write %d: the retry: %v", k, err)
		}
		obj, _ := e.App.Inspection.Register.Get(ctx, e.Admin, o.ID)
		reg, err := e.App.RegNumber.Register.Get(ctx, o.ID)
		if err != nil || len(got.Results) != 1 || reg.Number != obj.RegNumber || len(reg.History) != 1 || reg.ConfirmationID != got.Results[0].ID {
			t.Fatalf("crash at write %d: after the retry %v %+v / %s", k, err, got.Results, obj.RegNumber)
		}
	}
}

// A re-issue on a change of name keeps the number, supersedes the confirmation and keeps the
// history; a slaughter site's number is confirmed on the same path.
func TestRegNumberReissueKeepsHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-04-06 09:00")
	ctx := t.Context()
	o := e.object(t, inspection.KindSlaughter, farmerIIN, bayzak)
	insp := e.conclude(t, o.ID)
	run := func(req regnumber.Request, extra map[string]string) *cases.Case {
		c := e.toOblast(t, e.register(t, o.ID, req, extra), insp.ID)
		c = e.step(t, e.Oblast, c, "oblast", cases.StepInput{})
		return e.step(t, e.Office, c, "forward", cases.StepInput{HandOver: cases.HandInPerson})
	}
	first := run(regnumber.RequestIssue, nil)
	if _, _, err := e.App.Cases.Apply(ctx, e.Office, cases.Application{Service: regnumber.Code, ApplicantIIN: farmerIIN, Documents: []string{"өтініш"},
		Data: appData(map[string]string{"object_id": o.ID, "request": "issue"})}); !domain.IsCode(err, domain.EPRECONDITION) {
		t.Errorf("a second number for the object: %v", err)
	}
	second := run(regnumber.RequestReissue, map[string]string{"new_name": "Ақсу-Ет ЖШС", "legal_form": "ЖШС"})
	third := run(regnumber.RequestSlaughter, nil)
	reg, err := e.App.RegNumber.Register.Get(ctx, o.ID)
	if err != nil || len(reg.History) != 3 {
		t.Fatalf("history: %v %+v", err, reg)
	}
	h := reg.History
	if h[0].Number != h[1].Number || h[1].Number != h[2].Number || h[1].PreviousName != "Ақсу фермасы" || h[1].Name != "Ақсу-Ет ЖШС" ||
		h[0].CaseID != first.ID || h[1].CaseID != second.ID || h[2].Event != "slaughter_confirm" {
		t.Errorf("history %+v", h)
	}
	obj, _ := e.App.Inspection.Register.Get(ctx, e.Admin, o.ID)
	if obj.Name != "Ақсу-Ет ЖШС" || obj.RegNumber != h[0].Number {
		t.Errorf("the object after the re-issue: %s %s", obj.Name, obj.RegNumber)
	}
	for i, c := range []*cases.Case{first, second} {
		doc, _ := e.App.Documents.Get(ctx, c.Results[0].ID)
		if doc.Status != documents.DocSuperseded {
			t.Errorf("confirmation %d is %s, want superseded", i, doc.Status)
		}
	}
	if doc, _ := e.App.Documents.Get(ctx, third.Results[0].ID); doc.Status != documents.DocValid || reg.ConfirmationID != doc.ID {
		t.Errorf("the last confirmation is %s", doc.Status)
	}
	farm := e.object(t, inspection.KindFarm, farmerIIN, bayzak)
	if _, _, err := e.App.Cases.Apply(ctx, e.Office, cases.Application{Service: regnumber.Code, ApplicantIIN: farmerIIN, Documents: []string{"өтініш"},
		Data: appData(map[string]string{"object_id": farm.ID, "request": "slaughter_confirm"})}); !domain.IsCode(err, domain.EINVALID) {
		t.Errorf("a farm's slaughter confirmation: %v", err)
	}
}

// The journal lists a service's cases in registration order and exports them as CSV; the overdue
// listing finds every step past its deadline.
func TestJournalAndOverdue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-04-06 09:00")
	ctx := t.Context()
	var want []string
	for i := range 3 {
		o := e.object(t, inspection.KindFarm, farmerIIN, bayzak)
		want = append(want, e.register(t, o.ID, regnumber.RequestIssue, nil).Registration.Number)
		e.Clock.Advance(time.Duration(i+1) * time.Minute)
	}
	shu := e.object(t, inspection.KindFarm, farmerIIN, "315800000")
	if _, _, err := e.App.Cases.Apply(ctx, e.Admin, cases.Application{Service: regnumber.Code, ApplicantIIN: farmerIIN, Documents: []string{"өтініш"},
		Data: appData(map[string]string{"object_id": shu.ID, "request": "issue"})}); err != nil {
		t.Fatal(err)
	}
	journal, _, err := e.App.Cases.Journal(ctx, e.Head, regnumber.Code, "", "", 100)
	if err != nil || len(journal) != 3 {
		t.Fatalf("Bayzak's journal: %d (%v)", len(journal), err)
	}
	for i, c := range journal {
		if c.Registration.Number != want[i] {
			t.Errorf("journal[%d] = %s, want %s", i, c.Registration.Number, want[i])
		}
	}
	var buf bytes.Buffer
	if err := e.App.Cases.WriteJournalCSV(ctx, e.Head, regnumber.Code, "", &buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 4 || rows[1][1] != want[0] || rows[3][1] != want[2] || !strings.Contains(rows[0][1], "Номер заявления") {
		t.Errorf("CSV: %v %q", err, rows)
	}
	if _, _, err := e.App.Cases.Journal(ctx, e.Farmer, regnumber.Code, "", "", 10); !domain.IsCode(err, domain.EFORBIDDEN) {
		t.Errorf("an applicant's journal: %v", err)
	}
	overdue, _, _ := e.App.Cases.List(ctx, e.Head, cases.Filter{Overdue: true})
	if len(overdue) != 0 {
		t.Errorf("overdue at once: %d", len(overdue))
	}
	e.Clock.Advance(3 * 24 * time.Hour) // Thursday: the head's working day has passed
	overdue, _, _ = e.App.Cases.List(ctx, e.Head, cases.Filter{Overdue: true})
	all, _, _ := e.App.Cases.List(ctx, e.Admin, cases.Filter{Overdue: true})
	if len(overdue) != 3 || len(all) != 4 {
		t.Errorf("overdue: Bayzak %d, all %d", len(overdue), len(all))
	}
	if s := overdue[0].Overdue(e.Clock.Now()); s == nil || s.Name != "assign" {
		t.Errorf("the overdue step: %+v", s)
	}
}

// A crash at any write of a registration (the number's counter, the talon, the case) leaves a
// state the retry with the same id finishes: one case, one talon, under one number.
func TestRegistrationCrashAtEveryWrite(t *testing.T) {
	t.Parallel()
	for k := 0; ; k++ {
		e := newEnv(t, "2026-04-06 09:00")
		ctx := t.Context()
		o := e.object(t, inspection.KindFarm, farmerIIN, bayzak)
		a := cases.Application{ID: "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e01", Service: regnumber.Code, ApplicantIIN: farmerIIN,
			Documents: []string{"өтініш"}, Data: appData(map[string]string{"object_id": o.ID, "request": "issue"})}
		e.Store.Set(storetest.CrashAt(k))
		_, _, err := e.App.Cases.Apply(ctx, e.Office, a)
		e.Store.Set(nil)
		if err == nil {
			if k < 2 {
				t.Fatalf("a registration has more writes than %d", k)
			}
			return
		}
		c, _, err := e.App.Cases.Apply(ctx, e.Office, a)
		if err != nil {
			t.Fatalf("crash at write %d: the retry: %v", k, err)
		}
		talon, err := e.App.Documents.Get(ctx, c.Registration.TalonID)
		if err != nil || !strings.Contains(string(talon.Content), c.Registration.Number) {
			t.Fatalf("crash at write %d: talon %v", k, err)
		}
		if docs, _ := e.App.Documents.OfSubject(ctx, c.ID); len(docs) != 1 {
			t.Errorf("crash at write %d: %d papers", k, len(docs))
		}
	}
}
