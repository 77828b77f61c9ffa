package vetcert_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/lifecycle"
	"github.com/vetfield/vetfield/domain/sqlite/sqlitetest"
	"github.com/vetfield/vetfield/domain/storetest"
	"github.com/vetfield/vetfield/domain/vetcert"
)

const (
	bayzak = domain.Kato("313200000")
	korday = domain.Kato("314800000")
	ownerA = "880101300123"
	ownerB = "900202400151"
)

type env struct {
	T        *testing.T
	App      *vetfield.App
	Clock    *storetest.Clock
	Store    *storetest.HookStore
	Admin    domain.Principal
	Vet      domain.Principal
	VetK     domain.Principal
	Insp     domain.Principal // the state veterinary-sanitary inspector of Bayzak
	Farmer   domain.Principal
	Other    domain.Principal
	From, To *identification.Holding
	next     int
}

func newEnv(t *testing.T, start string) *env {
	t.Helper()
	raw := sqlitetest.Open(t)
	key, _ := keyring.Generate()
	at, _ := time.ParseInLocation("2006-01-02 15:04", start, domain.Almaty)
	e := &env{T: t, Store: storetest.Hook(raw), Clock: storetest.NewClock(at.UTC())}
	var err error
	if e.App, err = vetfield.Open(t.Context(), vetfield.Config{Store: e.Store, Now: e.Clock.Now, Keys: keyring.New(key),
		Passwords: accounts.PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1}}); err != nil {
		t.Fatal(err)
	}
	e.Admin = domain.Principal{UserID: "admin", Username: "admin", Role: domain.RoleAdmin}
	e.Vet = domain.Principal{UserID: "vet-1", Username: "aigul", Role: domain.RoleVet, Territory: bayzak}
	e.VetK = domain.Principal{UserID: "vet-2", Username: "erlan", Role: domain.RoleVet, Territory: korday}
	u, err := e.App.Accounts.Create(t.Context(), accounts.NewUser{Username: "inspector", Password: "password-insp",
		Role: domain.RoleSanitaryInspector, Territory: string(bayzak), FullName: "Серік Ахметов"})
	if err != nil {
		t.Fatal(err)
	}
	e.Insp = u.Principal()
	e.Farmer = domain.Principal{UserID: "farmer-a", Role: domain.RoleFarmer, IIN: ownerA}
	e.Other = domain.Principal{UserID: "farmer-b", Role: domain.RoleFarmer, IIN: ownerB}
	hold := func(by domain.Principal, t domain.Kato, owner, name string) *identification.Holding {
		h, err := e.App.Identification.Holdings.Create(e.T.Context(), by, identification.NewHolding{Kind: identification.HoldingYard,
			Name: name, OwnerIIN: owner, OwnerName: "Иесі " + name, Address: name + ", Абай к-сі 1", Territory: string(t)})
		if err != nil {
			e.T.Fatal(err)
		}
		return h
	}
	e.From, e.To = hold(e.Vet, "313230000", ownerA, "Ақжол"), hold(e.VetK, korday, ownerB, "Қордай")
	if _, err := e.App.Identification.Stock.Allocate(t.Context(), e.Admin, identification.NewTagRange{Unit: string(bayzak),
		First: "398000000000001", Count: 100}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) cow() *identification.Animal {
	e.T.Helper()
	e.next++
	a, _, err := e.App.Identification.Animals.Identify(e.T.Context(), e.Vet, identification.NewAnimal{ID: uuid.NewString(),
		HoldingID: e.From.ID, Species: domain.Cattle, Sex: identification.SexFemale, BirthDate: domain.NewCivilDate(2024, 4, 2),
		Breed: "Әулиеата", Colour: "қызыл",
		Identifiers: []domain.IdentifierInput{{Means: domain.MeansEarTag, Number: fmt.Sprintf("3980000000%05d", e.next)}}})
	if err != nil {
		e.T.Fatal(err)
	}
	return a
}

func (e *env) reference(animals ...*identification.Animal) *epizootic.Reference {
	e.T.Helper()
	in := epizootic.NewReference{ID: uuid.NewString(), HoldingID: e.From.ID, Purpose: epizootic.PurposeSale, Destination: "Қордай ауданы",
		ExamResult: epizootic.ExamHealthy}
	for _, a := range animals {
		in.Animals = append(in.Animals, epizootic.ReferenceAnimalInput{ID: a.ID})
	}
	r, _, err := e.App.Epizootic.References.Issue(e.T.Context(), e.Vet, in)
	if err != nil || r.Outcome != epizootic.RefIssued {
		e.T.Fatalf("reference: %v %+v", err, r)
	}
	return r
}

func data(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

// apply registers an application for a certificate for the animals of ref.
func (e *env) apply(ref *epizootic.Reference, export bool) *cases.Case {
	e.T.Helper()
	app := map[string]any{"consignment": "animals", "reference_ids": []string{ref.ID}, "destination": "Қордай ауданы, Қордай"}
	if export {
		app["export"], app["country"] = true, "KG"
	} else {
		app["destination_territory"] = string(korday)
	}
	c, _, err := e.App.Cases.Apply(e.T.Context(), e.Insp, cases.Application{Service: vetcert.Code, ApplicantIIN: ownerA,
		Documents: []string{"өтініш", "ветеринариялық анықтама"}, Data: data(app)})
	if err != nil {
		e.T.Fatal(err)
	}
	return c
}

func (e *env) step(c *cases.Case, name string, in cases.StepInput) (*cases.Case, error) {
	return e.App.Cases.Advance(e.T.Context(), e.Insp, c.ID, name, in)
}

func (e *env) must(c *cases.Case, err error) *cases.Case {
	e.T.Helper()
	if err != nil {
		e.T.Fatal(err)
	}
	return c
}

func labAct(tags ...string) json.RawMessage {
	return data(map[string]any{"laboratory": "Байзақ аудандық ветеринариялық зертханасы", "act_number": "17",
		"act_date": "2026-04-06", "tests": []map[string]string{{"name": "бруцеллез", "result": "negative"}}, "tags": tags})
}

var vehicle = data(map[string]string{"vehicle": "08 ABC 123", "vehicle_state": "satisfactory", "seal": "П-17", "objects_state": "satisfactory"})

// A domestic certificate is issued on the day of application, resting on the reference and the
// laboratory act; its paper names them.
func TestDomesticCertificateTheSameDay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-04-07 10:00") // Tuesday
	a, b := e.cow(), e.cow()
	ref := e.reference(a, b)
	c := e.apply(ref, false)
	if c.Registration == nil || c.Steps[1].Name != "documents" {
		t.Fatalf("registered: %+v", c.Steps)
	}
	if got, want := c.Registration.ResultDue, time.Date(2026, 4, 8, 0, 0, 0, 0, domain.Almaty); !got.Equal(want) {
		t.Errorf("result due %v, want the end of the day of application", got.In(domain.Almaty))
	}
	c = e.must(e.step(c, "documents", cases.StepInput{}))
	ctx := t.Context()
	seq := storetest.LastSeq(t, e.App.Store)
	if _, err := e.step(c, "laboratory", cases.StepInput{Data: labAct(string(a.Tag))}); !domain.IsCode(err, domain.EINVALID) {
		t.Errorf("an act that does not cover the consignment: %v", err)
	}
	if _, err := e.App.Cases.Advance(ctx, e.Vet, c.ID, "laboratory", cases.StepInput{Data: labAct(string(a.Tag), string(b.Tag))}); !domain.IsCode(err, domain.EFORBIDDEN) {
		t.Errorf("a vet at the inspector's step: %v", err)
	}
	if got, _ := e.App.Cases.Get(ctx, e.Admin, c.ID); got.Version != c.Version || storetest.LastSeq(t, e.App.Store) != seq {
		t.Errorf("bad input wrote")
	}
	c = e.must(e.step(c, "laboratory", cases.StepInput{Data: labAct(string(a.Tag), string(b.Tag))}))
	e.Clock.Advance(2 * time.Hour)
	c = e.must(e.step(c, "inspection", cases.StepInput{Data: vehicle}))
	c = e.must(e.step(c, "hand_over", cases.StepInput{HandOver: cases.HandInPerson}))
	if c.State != cases.StateDone || len(c.Results) != 1 {
		t.Fatalf("done: %s %+v", c.State, c.Results)
	}
	for _, s := range c.Steps {
		if s.Late(e.Clock.Now()) {
			t.Errorf("step %s was late", s.Name)
		}
	}
	cert, err := e.App.Documents.Get(ctx, c.Results[0].ID)
	if err != nil || cert.Type != documents.DocCertificate || !cert.VisibleTo(e.Farmer) || cert.VisibleTo(e.Other) {
		t.Fatalf("certificate: %v", err)
	}
	for _, want := range []string{ref.DocumentNumber, string(a.Tag), "08 ABC 123", "Байзақ аудандық", "бруцеллез: negative"} {
		if !strings.Contains(string(cert.Content), want) {
			t.Errorf("the certificate does not name %q: %s", want, cert.Content)
		}
	}
	journal, _, _ := e.App.Cases.Journal(ctx, e.Insp, vetcert.Code, "", "", 10)
	if len(journal) != 1 {
		t.Errorf("the journal of moved objects holds %d", len(journal))
	}
}

// An export certificate has 3 working days for the laboratory.
func TestExportCertificateInThreeWorkingDays(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-04-09 10:00") // Thursday
	a := e.cow()
	c := e.apply(e.reference(a), true)
	c = e.must(e.step(c, "documents", cases.StepInput{}))
	lab := c.Steps[len(c.Steps)-1]
	// Thursday 9 April: Friday 10, Monday 13, Tuesday 14.
	if want := time.Date(2026, 4, 15, 0, 0, 0, 0, domain.Almaty); lab.Name != "laboratory" || !lab.Due.Equal(want) {
		t.Errorf("laboratory due %v, want %v", lab.Due.In(domain.Almaty), want)
	}
	if want := time.Date(2026, 4, 15, 0, 0, 0, 0, domain.Almaty); !c.Registration.ResultDue.Equal(want) {
		t.Errorf("result due %v, want %v", c.Registration.ResultDue.In(domain.Almaty), want)
	}
	e.Clock.Advance(24 * time.Hour)
	c = e.must(e.step(c, "laboratory", cases.StepInput{Data: labAct(string(a.Tag))}))
	c = e.must(e.step(c, "inspection", cases.StepInput{Data: vehicle}))
	if len(c.Results) != 1 {
		t.Errorf("no certificate")
	}
}

// A certificate resting on a revoked reference is refused: the inspection step answers the
// ground, and the inspector ends the case with a motivated refusal.
func TestCertificateRefusedForRevokedReference(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-04-07 10:00")
	a := e.cow()
	ref := e.reference(a)
	c := e.apply(ref, false)
	c = e.must(e.step(c, "documents", cases.StepInput{}))
	c = e.must(e.step(c, "laboratory", cases.StepInput{Data: labAct(string(a.Tag))}))
	if _, err := e.App.Documents.Revoke(t.Context(), ref.DocumentID, e.Admin, "issued in error"); err != nil {
		t.Fatal(err)
	}
	seq := storetest.LastSeq(t, e.App.Store)
	_, err := e.step(c, "inspection", cases.StepInput{Data: vehicle})
	if !domain.IsCode(err, domain.EPRECONDITION) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("on a revoked reference: %v", err)
	}
	if storetest.LastSeq(t, e.App.Store) != seq {
		t.Errorf("the refused step wrote")
	}
	c = e.must(e.step(c, "inspection", cases.StepInput{Refuse: true, Ground: "Ветеринариялық анықтаманың күші жойылған"}))
	if c.State != cases.StateRefused || c.Refusal == nil {
		t.Fatalf("refused: %s", c.State)
	}
}

// A certificate for animals is closed when the movement it covers is received.
func TestCertificateClosedByTheMovementsReceipt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-04-07 10:00")
	ctx := t.Context()
	a := e.cow()
	ref := e.reference(a)
	m, err := e.App.Lifecycle.Movements.Dispatch(ctx, e.Vet, lifecycle.NewMovement{ID: uuid.NewString(), FromHoldingID: e.From.ID,
		ToHoldingID: e.To.ID, ReferenceID: ref.ID, Animals: []lifecycle.AnimalRef{{ID: a.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	c := e.apply(ref, false)
	c = e.must(e.step(c, "documents", cases.StepInput{}))
	c = e.must(e.step(c, "laboratory", cases.StepInput{Data: labAct(string(a.Tag))}))
	var in map[string]string
	json.Unmarshal(vehicle, &in)
	in["movement_id"] = m.ID
	c = e.must(e.step(c, "inspection", cases.StepInput{Data: data(in)}))
	if s, err := e.App.VetCert.Status(ctx, c); err != nil || s != vetcert.StatusOpen {
		t.Fatalf("before the receipt: %s %v", s, err)
	}
	if _, err := e.App.Lifecycle.Movements.Receive(ctx, e.VetK, m.ID, lifecycle.NewReceipt{ID: uuid.NewString()}); err != nil {
		t.Fatal(err)
	}
	if s, err := e.App.VetCert.Status(ctx, c); err != nil || s != vetcert.StatusClosed {
		t.Errorf("after the receipt: %s %v", s, err)
	}
}

// An applicant applies only with their own references.
func TestCertificateForSomeoneElsesReference(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-04-07 10:00")
	ref := e.reference(e.cow())
	_, _, err := e.App.Cases.Apply(t.Context(), e.Insp, cases.Application{Service: vetcert.Code, ApplicantIIN: ownerB,
		Documents: []string{"өтініш"}, Data: data(map[string]any{"consignment": "animals", "reference_ids": []string{ref.ID},
			"destination_territory": string(korday)})})
	if !domain.IsCode(err, domain.EINVALID) {
		t.Errorf("another owner's reference: %v", err)
	}
}

// An export certificate for a product under a restriction is refused with its ground, and so is
// one whose producing object has no valid conclusion.
func TestExportOfRestrictedProductRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-04-07 10:00")
	ctx := t.Context()
	obj, _, err := e.App.Inspection.Register.Create(ctx, e.Admin, inspection.NewObject{Kind: inspection.KindProcessing, Name: "Ет комбинаты",
		OwnerIIN: ownerA, Address: "Сарыкемер", Territory: string(bayzak), RegNumber: "KZ-31-000009"})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := domain.ParseCivilDate("2026-04-06")
	if _, err := e.App.Epizootic.Restrictions.Declare(ctx, e.Admin, epizootic.NewRestriction{Kind: epizootic.Quarantine, Disease: "fmd",
		Territory: string(bayzak), Decision: epizootic.EpizooticDecision{Number: "7", Date: d}}); err != nil {
		t.Fatal(err)
	}
	c, _, err := e.App.Cases.Apply(ctx, e.Insp, cases.Application{Service: vetcert.Code, ApplicantIIN: ownerA, Documents: []string{"өтініш"},
		Data: data(map[string]any{"consignment": "products", "export": true, "country": "UZ", "object_id": obj.ID,
			"products": []map[string]any{{"kind": "meat", "species": "cattle", "quantity": 1200, "unit": "kg", "origin": "Ет комбинаты"}}})})
	if err != nil {
		t.Fatal(err)
	}
	c = e.must(e.step(c, "documents", cases.StepInput{}))
	c = e.must(e.step(c, "laboratory", cases.StepInput{Data: labAct()}))
	seq := storetest.LastSeq(t, e.App.Store)
	_, err = e.step(c, "inspection", cases.StepInput{Data: vehicle})
	if !domain.IsCode(err, domain.EPRECONDITION) || !strings.Contains(err.Error(), "conclusion") || !strings.Contains(err.Error(), "Ящур") {
		t.Errorf("a restricted export: %v", err)
	}
	if storetest.LastSeq(t, e.App.Store) != seq {
		t.Errorf("the refused step wrote")
	}
}

// A correction supersedes the certificate it corrects.
func TestCorrectionSupersedes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-04-07 10:00")
	ctx := t.Context()
	a := e.cow()
	ref := e.reference(a)
	issue := func(extra map[string]any) *cases.Case {
		app := map[string]any{"consignment": "animals", "reference_ids": []string{ref.ID}, "destination_territory": string(korday)}
		for k, v := range extra {
			app[k] = v
		}
		c, _, err := e.App.Cases.Apply(ctx, e.Insp, cases.Application{Service: vetcert.Code, ApplicantIIN: ownerA,
			Documents: []string{"өтініш"}, Data: data(app)})
		if err != nil {
			t.Fatal(err)
		}
		c = e.must(e.step(c, "documents", cases.StepInput{}))
		c = e.must(e.step(c, "laboratory", cases.StepInput{Data: labAct(string(a.Tag))}))
		return e.must(e.step(c, "inspection", cases.StepInput{Data: vehicle}))
	}
	first := issue(nil)
	second := issue(map[string]any{"corrects": first.ID, "destination": "Қордай ауылы"})
	old, _ := e.App.Documents.Get(ctx, first.Results[0].ID)
	if old.Status != documents.DocSuperseded || old.SupersededBy != second.Results[0].ID {
		t.Errorf("the corrected certificate is %s", old.Status)
	}
	if _, _, err := e.App.Cases.Apply(ctx, e.Insp, cases.Application{Service: vetcert.Code, ApplicantIIN: ownerA, Documents: []string{"өтініш"},
		Data: data(map[string]any{"consignment": "animals", "reference_ids": []string{ref.ID}, "destination_territory": string(korday),
			"corrects": first.ID})}); !domain.IsCode(err, domain.EPRECONDITION) {
		t.Errorf("correcting a superseded certificate: %v", err)
	}
}

// A certificate issued offline runs through the engine's steps at the tablet's time, in one unit
// of work: a step the engine refuses (a positive test) writes nothing, not even the talon.
func TestOfflineCertificateAtTheTabletsTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "2026-04-07 10:00")
	ctx := t.Context()
	a := e.cow()
	ref := e.reference(a)
	e.Clock.Advance(3 * time.Hour)
	at := e.Clock.Now().Add(-2 * time.Hour)
	var lab vetcert.LabAct
	json.Unmarshal(labAct(string(a.Tag)), &lab)
	var in vetcert.Inspection
	json.Unmarshal(vehicle, &in)
	off := func(lab vetcert.LabAct) vetcert.OfflineIssue {
		return vetcert.OfflineIssue{At: at, Laboratory: &lab, Inspection: &in, Application: cases.Application{ID: uuid.NewString(), Service: vetcert.Code,
			ApplicantIIN: ownerA, Documents: []string{"өтініш"}, Data: data(map[string]any{"consignment": "animals",
				"reference_ids": []string{ref.ID}, "destination_territory": string(korday)})}}
	}
	positive := lab
	positive.Tests = []vetcert.LabTest{{Name: "бруцеллез", Result: vetcert.ResultPositive}}
	seq := storetest.LastSeq(t, e.App.Store)
	if _, err := e.App.VetCert.IssueOffline(ctx, e.Insp, off(positive)); !domain.IsCode(err, domain.EPRECONDITION) {
		t.Errorf("a positive act: %v", err)
	}
	if _, err := e.App.VetCert.IssueOffline(ctx, e.Vet, off(lab)); !domain.IsCode(err, domain.EFORBIDDEN) {
		t.Errorf("a vet: %v", err)
	}
	if storetest.LastSeq(t, e.App.Store) != seq {
		t.Fatal("a refused offline certificate wrote")
	}
	c, err := e.App.VetCert.IssueOffline(ctx, e.Insp, off(lab))
	if err != nil {
		t.Fatal(err)
	}
	if c.State != cases.StateDone || c.Offline == nil || !c.Registration.At.Equal(at) || c.Offline.SyncedAt.Equal(at) {
		t.Fatalf("case %+v", c)
	}
	for _, s := range c.Steps {
		if !s.Start.Equal(at) || s.End == nil || !s.End.Equal(at) || s.Late(e.Clock.Now()) {
			t.Errorf("step %s: %v–%v due %v", s.Name, s.Start, s.End, s.Due)
		}
	}
	cert, err := e.App.VetCert.GetCertificate(ctx, e.Farmer, c.ID)
	if err != nil || cert.ReviewRequired || !cert.Offline || !cert.IssuedAt.Equal(at) {
		t.Errorf("certificate %+v %v", cert, err)
	}
	if _, err := e.App.VetCert.GetCertificate(ctx, e.Other, c.ID); !domain.IsCode(err, domain.ENOTFOUND) {
		t.Errorf("another applicant: %v", err)
	}
}
