package lifecycle_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/health"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/lifecycle"
	"github.com/vetfield/vetfield/domain/sqlite/sqlitetest"
	"github.com/vetfield/vetfield/domain/storetest"
)

// Beside the districts and owner of the disposal tests: a rural district of Bayzak and an owner in
// Korday.
const (
	kzBayzak1 = domain.Kato("313230000") // a rural district inside Bayzak
	ownerB    = "900515400123"           // Korday
)

// moveEnv is the whole graph over a fresh SQLite file whose writes a test can hook: a Bayzak
// holding of owner A and a Korday holding of owner B, with a vet and the owner of each.
type moveEnv struct {
	T     *testing.T
	Store *storetest.HookStore
	Clock *storetest.Clock
	App   *vetfield.App

	Admin, VetBayzak, VetKorday, FarmerA, FarmerB domain.Principal
	From, To                                      *identification.Holding
	next                                          int
}

func newMoveEnv(t *testing.T) *moveEnv {
	t.Helper()
	raw := sqlitetest.Open(t)
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	e := &moveEnv{T: t, Store: storetest.Hook(raw), Clock: storetest.NewClock(storetest.Almaty("2026-03-20", 10, 0))}
	if e.App, err = vetfield.Open(t.Context(), vetfield.Config{Store: e.Store, Now: e.Clock.Now, Keys: keyring.New(key)}); err != nil {
		t.Fatal(err)
	}
	e.Admin = domain.Principal{UserID: "admin", Username: "admin", Role: domain.RoleAdmin}
	e.VetBayzak = domain.Principal{UserID: "vet-1", Username: "aigul", Role: domain.RoleVet, Territory: kzBayzak}
	e.VetKorday = domain.Principal{UserID: "vet-3", Username: "erlan", Role: domain.RoleVet, Territory: kzKorday}
	e.FarmerA = domain.Principal{UserID: "farmer-a", Username: "farmer.a", Role: domain.RoleFarmer, IIN: ownerA}
	e.FarmerB = domain.Principal{UserID: "farmer-b", Username: "farmer.b", Role: domain.RoleFarmer, IIN: ownerB}
	e.From = e.holding(e.VetBayzak, kzBayzak1, ownerA, "Ақжол")
	e.To = e.holding(e.VetKorday, kzKorday, ownerB, "Қордай")
	for unit, first := range map[domain.Kato]string{kzBayzak: "398000000000001", kzKorday: "398000000100001"} {
		if _, err := e.App.Identification.Stock.Allocate(t.Context(), e.Admin, identification.NewTagRange{Unit: string(unit), First: first, Count: 1000}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *moveEnv) holding(by domain.Principal, t domain.Kato, owner, name string) *identification.Holding {
	e.T.Helper()
	h, err := e.App.Identification.Holdings.Create(e.T.Context(), by, identification.NewHolding{Kind: identification.HoldingYard,
		Name: name, OwnerIIN: owner, OwnerName: "Иесі " + name, Address: name + ", Абай к-сі 1", Territory: string(t)})
	if err != nil {
		e.T.Fatal(err)
	}
	return h
}

// Cow identifies a cow on the Bayzak holding.
func (e *moveEnv) Cow() *identification.Animal {
	e.T.Helper()
	e.next++
	a, _, err := e.App.Identification.Animals.Identify(e.T.Context(), e.VetBayzak, identification.NewAnimal{ID: uuid.NewString(),
		HoldingID: e.From.ID, Species: domain.Cattle, Sex: identification.SexFemale, BirthDate: domain.NewCivilDate(2024, 4, 2),
		Breed: "Әулиеата", Colour: "қызыл",
		Identifiers: []domain.IdentifierInput{{Means: domain.MeansEarTag, Number: fmt.Sprintf("3980000000%05d", e.next)}}})
	if err != nil {
		e.T.Fatal(err)
	}
	return a
}

// Reference issues a reference for the animals for purpose, and fails the test if it is refused.
func (e *moveEnv) Reference(purpose epizootic.ReferencePurpose, animals ...*identification.Animal) *epizootic.Reference {
	e.T.Helper()
	in := epizootic.NewReference{ID: uuid.NewString(), HoldingID: e.From.ID, Purpose: purpose, Destination: "Қордай ауданы",
		ExamResult: epizootic.ExamHealthy}
	for _, a := range animals {
		in.Animals = append(in.Animals, epizootic.ReferenceAnimalInput{ID: a.ID})
	}
	r, _, err := e.App.Epizootic.References.Issue(e.T.Context(), e.VetBayzak, in)
	if err != nil {
		e.T.Fatal(err)
	}
	if r.Outcome != epizootic.RefIssued {
		e.T.Fatalf("reference refused: %+v", r.Grounds)
	}
	return r
}

// Move is a dispatch of the animals to the Korday holding under ref.
func (e *moveEnv) Move(ref *epizootic.Reference, animals ...*identification.Animal) lifecycle.NewMovement {
	in := lifecycle.NewMovement{ID: uuid.NewString(), FromHoldingID: e.From.ID, ToHoldingID: e.To.ID, ReferenceID: ref.ID}
	for _, a := range animals {
		in.Animals = append(in.Animals, lifecycle.AnimalRef{ID: a.ID})
	}
	return in
}

// LastSeq is the newest entry of the change log: a refused request must not move it.
func (e *moveEnv) LastSeq() int64 { return storetest.LastSeq(e.T, e.Store) }

func (e *moveEnv) Animal(id string) *identification.Animal {
	e.T.Helper()
	a, err := e.App.Identification.Animals.Load(e.T.Context(), id)
	if err != nil {
		e.T.Fatal(err)
	}
	return a
}

func code(err error) string {
	var de *domain.Error
	if errors.As(err, &de) {
		return de.Code
	}
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// A cow of owner A in Bayzak is sold to owner B in Korday: after the dispatch both districts see
// the movement and the cow cannot be referenced or moved again; after the receipt the Korday vet
// and owner B see the cow with its whole history and its passport, and Bayzak and owner A do not.
func TestMovementChangesDistrictAndOwner(t *testing.T) {
	t.Parallel()
	e := newMoveEnv(t)
	ctx := t.Context()
	ms := e.App.Lifecycle.Movements
	cow := e.Cow()
	ref := e.Reference(epizootic.PurposeSale, cow)

	e.Clock.Advance(time.Hour)
	m, err := ms.Dispatch(ctx, e.VetBayzak, e.Move(ref, cow))
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != lifecycle.MovementDispatched || !m.OwnerChange || m.DueAt.Sub(m.DispatchedAt) != lifecycle.DefaultConfirmWindow {
		t.Fatalf("dispatched movement: %+v", m)
	}
	for _, p := range []domain.Principal{e.VetBayzak, e.VetKorday, e.FarmerA, e.FarmerB} {
		if _, err := ms.Get(ctx, p, m.ID); err != nil {
			t.Errorf("%s cannot see the movement in transit: %v", p.Username, err)
		}
	}
	if got := e.Animal(cow.ID); got.InTransit != m.ID {
		t.Fatalf("the cow is not in transit: %+v", got)
	}
	// In transit: no reference, no second movement.
	r2, _, err := e.App.Epizootic.References.Issue(ctx, e.VetBayzak, epizootic.NewReference{ID: uuid.NewString(), HoldingID: e.From.ID,
		Purpose: epizootic.PurposeSale, Destination: "Тараз", ExamResult: epizootic.ExamHealthy,
		Animals: []epizootic.ReferenceAnimalInput{{ID: cow.ID}}})
	if err != nil || r2.Outcome != epizootic.RefRefused || r2.Grounds[0].Code != epizootic.GroundInTransit {
		t.Errorf("a reference for a cow in transit: %v %+v", err, r2)
	}
	if _, err := ms.Dispatch(ctx, e.VetBayzak, e.Move(ref, cow)); code(err) != domain.EPRECONDITION {
		t.Errorf("a second dispatch of a cow in transit: %v", err)
	}
	if _, err := e.App.Identification.Reissues.ReportTagLoss(ctx, e.FarmerA, cow.ID, identification.TagLoss{ID: uuid.NewString(),
		Kind: identification.TagLost}); code(err) != domain.EPRECONDITION {
		t.Errorf("a tag loss reported for a cow in transit: %v", err)
	}

	e.Clock.Advance(5 * time.Hour)
	receipt := lifecycle.NewReceipt{ID: uuid.NewString()}
	if _, err := ms.Receive(ctx, e.VetBayzak, m.ID, receipt); code(err) != domain.EFORBIDDEN {
		t.Errorf("the source's vet confirmed the receipt: %v", err)
	}
	if _, err := ms.Receive(ctx, e.FarmerA, m.ID, receipt); code(err) != domain.EFORBIDDEN {
		t.Errorf("the seller confirmed the receipt: %v", err)
	}
	got, err := ms.Receive(ctx, e.VetKorday, m.ID, receipt)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != lifecycle.MovementReceived || got.Animals[0].State != lifecycle.MovedArrived || got.Receipt.Late {
		t.Fatalf("received: %+v", got)
	}
	seq := e.LastSeq()
	if again, err := ms.Receive(ctx, e.VetKorday, m.ID, receipt); err != nil || again.Receipt.ID != receipt.ID || e.LastSeq() != seq {
		t.Errorf("a retried receipt: %v, wrote %d entries", err, e.LastSeq()-seq)
	}
	if _, err := ms.Receive(ctx, e.VetKorday, m.ID, lifecycle.NewReceipt{ID: uuid.NewString()}); code(err) != domain.EPRECONDITION {
		t.Errorf("a second receipt: %v", err)
	}

	moved := e.Animal(cow.ID)
	if moved.HoldingID != e.To.ID || moved.Territory != kzKorday || moved.OwnerIIN != ownerB || moved.InTransit != "" {
		t.Fatalf("the cow after the receipt: %+v", moved)
	}
	as := e.App.Identification.Animals
	if _, err := as.Get(ctx, e.VetBayzak, cow.ID); code(err) != domain.ENOTFOUND {
		t.Errorf("the Bayzak vet still sees the cow: %v", err)
	}
	if _, err := as.Get(ctx, e.FarmerA, cow.ID); code(err) != domain.ENOTFOUND {
		t.Errorf("the seller still sees the cow: %v", err)
	}
	for _, p := range []domain.Principal{e.VetKorday, e.FarmerB} {
		evs, _, err := as.Events(ctx, p, cow.ID, "", 100)
		if err != nil {
			t.Fatalf("%s reads the history: %v", p.Username, err)
		}
		var kinds []identification.EventKind
		for _, ev := range evs {
			kinds = append(kinds, ev.Kind)
			if ev.Territory != kzKorday || ev.OwnerIIN != ownerB {
				t.Errorf("event %s kept by %s/%s", ev.Kind, ev.Territory, ev.OwnerIIN)
			}
		}
		for _, k := range []identification.EventKind{identification.EventIdentified, "reference", lifecycle.EventDispatched, lifecycle.EventReceived} {
			if !slices.Contains(kinds, k) {
				t.Errorf("%s: history %v lacks %s", p.Username, kinds, k)
			}
		}
	}
	passport, err := e.App.Documents.Get(ctx, moved.PassportID)
	if err != nil {
		t.Fatal(err)
	}
	if !passport.VisibleTo(e.VetKorday) || !passport.VisibleTo(e.FarmerB) || passport.VisibleTo(e.VetBayzak) || passport.VisibleTo(e.FarmerA) {
		t.Errorf("the passport did not follow the cow: holder %+v", passport.Holder)
	}
	// Both districts keep the movement itself.
	for _, p := range []domain.Principal{e.VetBayzak, e.VetKorday} {
		if _, err := ms.Get(ctx, p, m.ID); err != nil {
			t.Errorf("%s lost the movement: %v", p.Username, err)
		}
	}
	// The new owner's vet can now reference it for sale.
	r3, _, err := e.App.Epizootic.References.Issue(ctx, e.VetKorday, epizootic.NewReference{ID: uuid.NewString(), HoldingID: e.To.ID,
		Purpose: epizootic.PurposeSale, Destination: "Алматы", ExamResult: epizootic.ExamHealthy,
		Animals: []epizootic.ReferenceAnimalInput{{ID: cow.ID}}})
	if err != nil || r3.Outcome != epizootic.RefIssued {
		t.Errorf("a reference at the new holding: %v %+v", err, r3)
	}
}

// A quarantine over the destination refuses the dispatch, citing it, and nothing is written.
func TestMovementRefusedByDestinationQuarantine(t *testing.T) {
	t.Parallel()
	e := newMoveEnv(t)
	ctx := t.Context()
	cow := e.Cow()
	ref := e.Reference(epizootic.PurposeSale, cow)
	d, _ := domain.ParseCivilDate("2026-03-19")
	if _, err := e.App.Epizootic.Restrictions.Declare(ctx, e.Admin, epizootic.NewRestriction{Kind: epizootic.Quarantine, Disease: "fmd",
		Territory: string(kzKorday), Decision: epizootic.EpizooticDecision{Number: "12", Date: d}}); err != nil {
		t.Fatal(err)
	}
	seq := e.LastSeq()
	_, err := e.App.Lifecycle.Movements.Dispatch(ctx, e.VetBayzak, e.Move(ref, cow))
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.EPRECONDITION {
		t.Fatalf("dispatch into quarantine: %v", err)
	}
	grounds, _ := de.Details.([]epizootic.Ground)
	if len(grounds) != 1 || grounds[0].Code != epizootic.GroundRestriction || grounds[0].Decision.Number != "12" || grounds[0].TextKK == "" {
		t.Errorf("grounds: %+v", de.Details)
	}
	if e.LastSeq() != seq || e.Animal(cow.ID).InTransit != "" {
		t.Errorf("a refused dispatch wrote %d entries", e.LastSeq()-seq)
	}
}

// Every bad dispatch is a 4xx that writes nothing.
func TestMovementBadInput(t *testing.T) {
	t.Parallel()
	e := newMoveEnv(t)
	ctx := t.Context()
	ms := e.App.Lifecycle.Movements
	cow, heifer, other := e.Cow(), e.Cow(), e.Cow()
	ref := e.Reference(epizootic.PurposeSale, cow, heifer)
	slaughterOnly := e.Reference(epizootic.PurposeSlaughter, other)
	revoked := e.Reference(epizootic.PurposeSale, other)
	if _, err := e.App.Documents.Revoke(ctx, revoked.DocumentID, e.VetBayzak, "ошибка в справке"); err != nil {
		t.Fatal(err)
	}
	korday := e.holding(e.VetKorday, kzKorday, ownerB, "Екінші")
	kordayCow, _, err := e.App.Identification.Animals.Identify(ctx, e.VetKorday, identification.NewAnimal{ID: uuid.NewString(),
		HoldingID: korday.ID, Species: domain.Cattle, Sex: identification.SexMale, BirthDate: domain.NewCivilDate(2024, 1, 1),
		Breed: "Қазақтың ақбас сиыры", Colour: "ақ", Identifiers: []domain.IdentifierInput{{Means: domain.MeansEarTag, Number: "398000000100001"}}})
	if err != nil {
		t.Fatal(err)
	}
	seq := e.LastSeq()
	cases := []struct {
		name string
		by   domain.Principal
		edit func(*lifecycle.NewMovement)
		want string
	}{
		{"no reference", e.VetBayzak, func(m *lifecycle.NewMovement) { m.ReferenceID = "" }, domain.EINVALID},
		{"unknown reference", e.VetBayzak, func(m *lifecycle.NewMovement) { m.ReferenceID = uuid.NewString() }, domain.ENOTFOUND},
		{"revoked reference", e.VetBayzak, func(m *lifecycle.NewMovement) {
			m.ReferenceID = revoked.ID
			m.Animals = []lifecycle.AnimalRef{{ID: other.ID}}
		}, domain.EINVALID},
		{"purpose does not fit", e.VetBayzak, func(m *lifecycle.NewMovement) {
			m.ReferenceID = slaughterOnly.ID
			m.Animals = []lifecycle.AnimalRef{{ID: other.ID}}
		}, domain.EINVALID},
		{"animal the reference does not name", e.VetBayzak, func(m *lifecycle.NewMovement) { m.Animals = append(m.Animals, lifecycle.AnimalRef{ID: other.ID}) }, domain.EINVALID},
		{"animal of another district", e.VetBayzak, func(m *lifecycle.NewMovement) { m.Animals = []lifecycle.AnimalRef{{ID: kordayCow.ID}} }, domain.ENOTFOUND},
		{"unknown animal", e.VetBayzak, func(m *lifecycle.NewMovement) { m.Animals = []lifecycle.AnimalRef{{ID: uuid.NewString()}} }, domain.ENOTFOUND},
		{"animal twice", e.VetBayzak, func(m *lifecycle.NewMovement) { m.Animals = append(m.Animals, m.Animals[0]) }, domain.EINVALID},
		{"no destination", e.VetBayzak, func(m *lifecycle.NewMovement) { m.ToHoldingID = "" }, domain.EINVALID},
		{"two destinations", e.VetBayzak, func(m *lifecycle.NewMovement) { m.ExportCountry = "CN" }, domain.EINVALID},
		{"destination that does not exist", e.VetBayzak, func(m *lifecycle.NewMovement) { m.ToHoldingID = uuid.NewString() }, domain.EINVALID},
		{"same holding", e.VetBayzak, func(m *lifecycle.NewMovement) { m.ToHoldingID = m.FromHoldingID }, domain.EINVALID},
		{"another district's source", e.VetKorday, func(m *lifecycle.NewMovement) {}, domain.ENOTFOUND},
		{"another owner's source", e.FarmerB, func(m *lifecycle.NewMovement) {}, domain.ENOTFOUND},
		{"an inspector", domain.Principal{UserID: "i", Role: domain.RoleInspector, Territory: kzBayzak}, func(m *lifecycle.NewMovement) {}, domain.EFORBIDDEN},
		{"export to KZ", e.VetBayzak, func(m *lifecycle.NewMovement) { m.ToHoldingID, m.ExportCountry = "", "KZ" }, domain.EINVALID},
		{"tablet clock ahead", e.VetBayzak, func(m *lifecycle.NewMovement) { m.DispatchedAt = e.Clock.Now().Add(time.Hour) }, domain.EINVALID},
		{"501 animals", e.VetBayzak, func(m *lifecycle.NewMovement) {
			m.Animals = make([]lifecycle.AnimalRef, 501)
			for i := range m.Animals {
				m.Animals[i].ID = uuid.NewString()
			}
		}, domain.EINVALID},
	}
	for _, c := range cases {
		in := e.Move(ref, cow, heifer)
		c.edit(&in)
		if _, err := ms.Dispatch(ctx, c.by, in); code(err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	// An expired reference: three days after its issue it covers no dispatch.
	e.Clock.Advance(lifecycle.DefaultReferenceValidity + time.Minute)
	if _, err := ms.Dispatch(ctx, e.VetBayzak, e.Move(ref, cow)); code(err) != domain.EINVALID {
		t.Errorf("expired reference: %v", err)
	}
	if e.LastSeq() != seq {
		t.Errorf("refused dispatches wrote %d entries", e.LastSeq()-seq)
	}
}

// A receipt records the animals that did not arrive and those that came with another number; a
// missing animal stays on the source's register, out of transit.
func TestMovementDiscrepancies(t *testing.T) {
	t.Parallel()
	e := newMoveEnv(t)
	ctx := t.Context()
	ms := e.App.Lifecycle.Movements
	a, b, c := e.Cow(), e.Cow(), e.Cow()
	m, err := ms.Dispatch(ctx, e.FarmerA, e.Move(e.Reference(epizootic.PurposeSale, a, b, c), a, b, c))
	if err != nil {
		t.Fatal(err)
	}
	bad := []lifecycle.DiscrepancyInput{{AnimalID: uuid.NewString(), Kind: lifecycle.DiscrepancyMissing}}
	if _, err := ms.Receive(ctx, e.FarmerB, m.ID, lifecycle.NewReceipt{ID: uuid.NewString(), Discrepancies: bad}); code(err) != domain.EINVALID {
		t.Errorf("a discrepancy for an animal not on the movement: %v", err)
	}
	got, err := ms.Receive(ctx, e.FarmerB, m.ID, lifecycle.NewReceipt{ID: uuid.NewString(), Discrepancies: []lifecycle.DiscrepancyInput{
		{AnimalID: b.ID, Kind: lifecycle.DiscrepancyMissing, Note: "жолда өлді ме, белгісіз"},
		{Tag: string(c.Tag), Kind: lifecycle.DiscrepancyOtherNumber, ArrivedTag: "398000000099999"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, x := range got.Animals {
		states[x.ID] = x.State
	}
	if states[a.ID] != lifecycle.MovedArrived || states[b.ID] != lifecycle.MovedMissing || states[c.ID] != lifecycle.MovedArrived || len(got.Receipt.Discrepancies) != 2 {
		t.Fatalf("receipt: %+v", got)
	}
	if x := e.Animal(b.ID); x.HoldingID != e.From.ID || x.InTransit != "" {
		t.Errorf("the missing animal: %+v", x)
	}
	if x := e.Animal(c.ID); x.HoldingID != e.To.ID {
		t.Errorf("the animal with another number did not arrive: %+v", x)
	}
}

// A cancelled movement leaves the animals where they were, out of transit; the overdue listing
// shows a movement past its window to both ends, and to nobody else.
func TestMovementCancelAndOverdue(t *testing.T) {
	t.Parallel()
	e := newMoveEnv(t)
	ctx := t.Context()
	ms := e.App.Lifecycle.Movements
	cow := e.Cow()
	ref := e.Reference(epizootic.PurposeSale, cow)
	m, err := ms.Dispatch(ctx, e.VetBayzak, e.Move(ref, cow))
	if err != nil {
		t.Fatal(err)
	}
	overdue := func(p domain.Principal, dir string) int {
		t.Helper()
		got, next, err := ms.List(ctx, p, lifecycle.MovementFilter{Direction: dir, Overdue: true})
		if err != nil {
			t.Fatal(err)
		}
		if next != "" {
			t.Errorf("%s: a cursor on a short list", p.Username)
		}
		return len(got)
	}
	if n := overdue(e.VetKorday, lifecycle.Incoming); n != 0 {
		t.Errorf("overdue within the window: %d", n)
	}
	e.Clock.Advance(lifecycle.DefaultConfirmWindow + time.Minute)
	if overdue(e.VetKorday, lifecycle.Incoming) != 1 || overdue(e.VetBayzak, lifecycle.Outgoing) != 1 || overdue(e.FarmerB, lifecycle.Incoming) != 1 {
		t.Error("the overdue movement is not listed to both ends")
	}
	stranger := domain.Principal{UserID: "v9", Role: domain.RoleVet, Territory: "311000000"}
	if overdue(stranger, lifecycle.Incoming) != 0 || overdue(stranger, lifecycle.Outgoing) != 0 || overdue(e.VetBayzak, lifecycle.Incoming) != 0 {
		t.Error("a movement listed to a district it does not touch")
	}
	if _, err := ms.Cancel(ctx, e.VetKorday, m.ID, uuid.NewString(), "көлік жоқ"); code(err) != domain.EFORBIDDEN {
		t.Errorf("the destination cancelled: %v", err)
	}
	cid := uuid.NewString()
	got, err := ms.Cancel(ctx, e.VetBayzak, m.ID, cid, "көлік бұзылды")
	if err != nil || got.Status != lifecycle.MovementCancelled {
		t.Fatalf("cancel: %v %+v", err, got)
	}
	if x := e.Animal(cow.ID); x.InTransit != "" || x.HoldingID != e.From.ID {
		t.Errorf("after the cancellation: %+v", x)
	}
	if _, err := ms.Receive(ctx, e.VetKorday, m.ID, lifecycle.NewReceipt{ID: uuid.NewString()}); code(err) != domain.EPRECONDITION {
		t.Errorf("receiving a cancelled movement: %v", err)
	}
	if overdue(e.VetKorday, lifecycle.Incoming) != 0 {
		t.Error("a cancelled movement is overdue")
	}
}

// A crash between any two steps of a dispatch or of a receipt leaves what a retry of the same
// request finishes: every animal ends where it belongs, in transit or received, with its history
// there and one event of each kind. Step k counts the writes of the phase crashed; a k past the
// phase's last write crashes nothing.
func TestMovementCrashAnywhere(t *testing.T) {
	t.Parallel()
	// A dispatch of two animals makes 5 writes, their receipt 13.
	for phase, writes := range map[string]int{"dispatch": 5, "receipt": 13} {
		for k := 0; k <= writes; k++ {
			t.Run(fmt.Sprintf("%s step %d", phase, k), func(t *testing.T) {
				t.Parallel()
				e := newMoveEnv(t)
				ctx := t.Context()
				ms := e.App.Lifecycle.Movements
				a, b := e.Cow(), e.Cow()
				in := e.Move(e.Reference(epizootic.PurposeSale, a, b), a, b)
				rc := lifecycle.NewReceipt{ID: uuid.NewString()}
				crash := func() {
					n := 0
					e.Store.Set(func(string, string, domain.Record) error {
						if n++; n-1 == k {
							return storetest.ErrCrash
						}
						return nil
					})
				}
				run := func(name string, f func() error) {
					t.Helper()
					if phase == name {
						crash()
					}
					if err := f(); err != nil {
						if !errors.Is(err, storetest.ErrCrash) {
							t.Fatalf("%s: %v", name, err)
						}
						t.Logf("crashed the %s at write %d; retrying", name, k)
						e.Store.Set(nil)
						if err := f(); err != nil {
							t.Fatalf("retry of the %s: %v", name, err)
						}
					}
					e.Store.Set(nil)
				}
				run("dispatch", func() error { _, err := ms.Dispatch(ctx, e.VetBayzak, in); return err })
				for _, x := range []*identification.Animal{a, b} {
					if got := e.Animal(x.ID); got.InTransit != in.ID {
						t.Fatalf("after the dispatch: %+v", got)
					}
				}
				run("receipt", func() error { _, err := ms.Receive(ctx, e.VetKorday, in.ID, rc); return err })
				for _, x := range []*identification.Animal{a, b} {
					got := e.Animal(x.ID)
					if got.HoldingID != e.To.ID || got.InTransit != "" || got.OwnerIIN != ownerB {
						t.Errorf("animal after the crash and retry: %+v", got)
					}
					evs, _, err := e.App.Identification.Animals.Events(ctx, e.VetKorday, x.ID, "", 100)
					if err != nil {
						t.Fatal(err)
					}
					count := map[identification.EventKind]int{}
					for _, ev := range evs {
						count[ev.Kind]++
						if ev.Territory != kzKorday || ev.OwnerIIN != ownerB {
							t.Errorf("event %s left with %s/%s", ev.Kind, ev.Territory, ev.OwnerIIN)
						}
					}
					if count[lifecycle.EventDispatched] != 1 || count[lifecycle.EventReceived] != 1 {
						t.Errorf("events %v", count)
					}
					if p, err := e.App.Documents.Get(ctx, got.PassportID); err != nil || !p.VisibleTo(e.VetKorday) {
						t.Errorf("the passport did not follow: %v", err)
					}
				}
			})
		}
	}
}

// A cow sent to a slaughter site of the register: only a reference for slaughter (or sale)
// covers it; on receipt it is kept at the site, in the site's territory, still its owner's.
func TestMovementToSlaughterSite(t *testing.T) {
	t.Parallel()
	e := newMoveEnv(t)
	ctx := t.Context()
	ms := e.App.Lifecycle.Movements
	site, _, err := e.App.Inspection.Register.Create(ctx, e.Admin, inspection.NewObject{Kind: inspection.KindSlaughter,
		Name: "Қордай ет комбинаты", OwnerIIN: "100140011059", OwnerName: "ЖШС Қордай Ет", Address: "Қордай ауылы", Territory: string(kzKorday)})
	if err != nil {
		t.Fatal(err)
	}
	farm, _, err := e.App.Inspection.Register.Create(ctx, e.Admin, inspection.NewObject{Kind: inspection.KindPharmacy,
		Name: "Дәріхана", OwnerIIN: "100140011059", OwnerName: "ЖШС", Address: "Қордай", Territory: string(kzKorday)})
	if err != nil {
		t.Fatal(err)
	}
	cow := e.Cow()
	movement := e.Reference(epizootic.PurposeMovement, cow)
	in := e.Move(movement, cow)
	in.ToHoldingID, in.ToObjectID = "", site.ID
	if _, err := ms.Dispatch(ctx, e.VetBayzak, in); code(err) != domain.EINVALID {
		t.Errorf("a reference for movement covered a dispatch to slaughter: %v", err)
	}
	in.ToObjectID = farm.ID
	if _, err := ms.Dispatch(ctx, e.VetBayzak, in); code(err) != domain.EINVALID {
		t.Errorf("a dispatch to a pharmacy: %v", err)
	}
	slaughter := e.Reference(epizootic.PurposeSlaughter, cow)
	in = e.Move(slaughter, cow)
	in.ToHoldingID, in.ToObjectID = "", site.ID
	m, err := ms.Dispatch(ctx, e.VetBayzak, in)
	if err != nil {
		t.Fatal(err)
	}
	if m.To.Kind != lifecycle.ToObject || m.To.Name != site.Name || m.OwnerChange {
		t.Errorf("the destination: %+v", m.To)
	}
	inspector := domain.Principal{UserID: "insp-k", Username: "inspector", Role: domain.RoleInspector, Territory: kzKorday}
	if _, err := ms.Receive(ctx, inspector, m.ID, lifecycle.NewReceipt{ID: uuid.NewString()}); err != nil {
		t.Fatal(err)
	}
	got := e.Animal(cow.ID)
	if got.ObjectID != site.ID || got.HoldingID != "" || got.Territory != kzKorday || got.OwnerIIN != ownerA {
		t.Errorf("the cow at the site: %+v", got)
	}
	for p, want := range map[string]bool{"vet of Korday": true, "owner": true, "vet of Bayzak": false} {
		by := map[string]domain.Principal{"vet of Korday": e.VetKorday, "owner": e.FarmerA, "vet of Bayzak": e.VetBayzak}[p]
		if _, err := e.App.Identification.Animals.Get(ctx, by, cow.ID); (err == nil) != want {
			t.Errorf("%s sees the cow at the site: %v", p, err == nil)
		}
	}
}

// An export, confirmed at the border by a vet of the source: the animals leave the register as
// a disposal of kind exported does — numbers retired, the disposal in their history.
func TestMovementExport(t *testing.T) {
	t.Parallel()
	e := newMoveEnv(t)
	ctx := t.Context()
	ms := e.App.Lifecycle.Movements
	cow := e.Cow()
	in := e.Move(e.Reference(epizootic.PurposeSale, cow), cow)
	in.ToHoldingID, in.ExportCountry = "", "KG"
	m, err := ms.Dispatch(ctx, e.VetBayzak, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ms.Receive(ctx, e.VetKorday, m.ID, lifecycle.NewReceipt{ID: uuid.NewString()}); code(err) != domain.ENOTFOUND {
		t.Errorf("a vet of another district confirmed an export: %v", err)
	}
	if _, err := ms.Receive(ctx, e.VetBayzak, m.ID, lifecycle.NewReceipt{ID: uuid.NewString()}); err != nil {
		t.Fatal(err)
	}
	got := e.Animal(cow.ID)
	if got.Status != identification.AnimalDisposed || got.Disposal == nil || got.Disposal.Kind != lifecycle.DisposalExported ||
		got.Identifiers[0].Status != domain.IdentRetired {
		t.Fatalf("the exported cow: %+v", got)
	}
	rec, err := e.App.Identification.Stock.NumberRecord(ctx, cow.Tag)
	if err != nil || rec.Status != identification.TagRetired {
		t.Errorf("the exported cow's number: %+v %v", rec, err)
	}
	evs, _, err := e.App.Identification.Animals.Events(ctx, e.VetBayzak, cow.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[identification.EventKind]bool{}
	for _, ev := range evs {
		kinds[ev.Kind] = true
	}
	if !kinds[lifecycle.EventDisposed] || !kinds[lifecycle.EventReceived] {
		t.Errorf("history: %v", kinds)
	}
}

// A positive brucellosis result recorded after the reference was issued refuses the dispatch for
// sale, citing the test; a dispatch to slaughter stays allowed.
func TestMovementRefusedByPositiveTest(t *testing.T) {
	t.Parallel()
	e := newMoveEnv(t)
	ctx := t.Context()
	cow := e.Cow()
	sale := e.Reference(epizootic.PurposeSale, cow)
	slaughter := e.Reference(epizootic.PurposeSlaughter, cow)
	tests := e.App.Health.Tests
	sampled, err := tests.Sample(ctx, e.VetBayzak, health.NewTest{ID: uuid.NewString(), HoldingID: e.From.ID, Disease: "brucellosis",
		Method: "rbt", SampledOn: domain.NewCivilDate(2026, 3, 20), Animals: []health.AnimalRef{{ID: cow.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tests.RecordResult(ctx, e.VetBayzak, sampled.ID, health.NewResult{ID: uuid.NewString(), Laboratory: "Жамбыл облыстық ветзертхана",
		Act: "А-17", ActDate: domain.NewCivilDate(2026, 3, 20),
		Animals: []health.AnimalResultInput{{AnimalRef: health.AnimalRef{ID: cow.ID}, Result: "positive"}}}); err != nil {
		t.Fatal(err)
	}
	seq := e.LastSeq()
	_, err = e.App.Lifecycle.Movements.Dispatch(ctx, e.VetBayzak, e.Move(sale, cow))
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.EPRECONDITION {
		t.Fatalf("dispatch of a reactor for sale: %v", err)
	}
	grounds, _ := de.Details.([]epizootic.Ground)
	if len(grounds) != 1 || grounds[0].Code != epizootic.GroundPositiveTest || grounds[0].TestID != sampled.ID ||
		!strings.Contains(grounds[0].TextRU, "А-17") || !strings.Contains(grounds[0].TextRU, "2026-03-20") {
		t.Errorf("grounds: %+v", de.Details)
	}
	if e.LastSeq() != seq {
		t.Error("the refused dispatch wrote")
	}
	site, _, err := e.App.Inspection.Register.Create(ctx, e.Admin, inspection.NewObject{Kind: inspection.KindSlaughter,
		Name: "Ет комбинаты", OwnerIIN: "100140011059", OwnerName: "ЖШС", Address: "Тараз", Territory: string(kzKorday)})
	if err != nil {
		t.Fatal(err)
	}
	in := e.Move(slaughter, cow)
	in.ToHoldingID, in.ToObjectID = "", site.ID
	if _, err := e.App.Lifecycle.Movements.Dispatch(ctx, e.VetBayzak, in); err != nil {
		t.Errorf("a reactor to slaughter: %v", err)
	}
}
