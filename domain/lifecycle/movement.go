package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/inspection"
)

// MovementStatus is where a movement is: dispatched (the animals are in transit), received at
// the destination, or cancelled before it.
type MovementStatus string

// The statuses of a movement.
const (
	MovementDispatched MovementStatus = "dispatched"
	MovementReceived   MovementStatus = "received"
	MovementCancelled  MovementStatus = "cancelled"
)

// The kinds of destination: another holding (in the same district, another district or another
// oblast), a production object of the register (a slaughter site, a market, a feedlot), or
// export to another country.
const (
	ToHolding = "holding"
	ToObject  = "object"
	ToExport  = "export"
)

// The states of an animal on a movement.
const (
	MovedInTransit = "in_transit"
	MovedArrived   = "arrived"
	MovedMissing   = "missing"  // the receipt found it did not arrive; it stays on the source's register
	MovedReturned  = "returned" // the movement was cancelled
)

// The kinds of discrepancy a receipt records.
const (
	DiscrepancyMissing     = "missing"      // the animal did not arrive
	DiscrepancyOtherNumber = "other_number" // it arrived carrying another number than dispatched
)

// Limits and defaults of movements.
const (
	MaxMovementAnimals = 500
	MaxMovementNote    = 500
	// DefaultConfirmWindow is how long the destination has to confirm a receipt before the
	// movement is overdue.
	DefaultConfirmWindow = 48 * time.Hour
	// DefaultReferenceValidity is how long after its issue a reference covers a dispatch:
	// REGULATIONS.md gives references no term of validity, so vetfield takes three days, the
	// time an owner needs to arrange the transport, and makes it a setting.
	DefaultReferenceValidity = 72 * time.Hour
	// MaxOfflineAge bounds how old a dispatch or receipt made offline may be when it syncs.
	MaxOfflineAge = 30 * 24 * time.Hour
	maxClockAhead = 5 * time.Minute
)

// MovedAnimal is one animal of a movement and what became of it.
type MovedAnimal struct {
	ID      string         `json:"id"`
	Tag     string         `json:"tag"`
	Species domain.Species `json:"species"`
	State   string         `json:"state"`
	// ArrivedTag is the number the animal arrived with, when the receipt found another one.
	ArrivedTag string `json:"arrived_tag,omitempty"`
	Note       string `json:"note,omitempty"`
}

// Place is one end of a movement, with what its papers print of it.
type Place struct {
	Kind       string                `json:"kind"`
	HoldingID  string                `json:"holding_id,omitempty"`
	ObjectID   string                `json:"object_id,omitempty"`
	ObjectKind inspection.ObjectKind `json:"object_kind,omitempty"`
	Name       string                `json:"name,omitempty"`
	Territory  domain.Kato           `json:"territory,omitempty"`
	OwnerIIN   domain.IIN            `json:"owner_iin,omitempty"`
	OwnerName  string                `json:"owner_name,omitempty"`
	Country    string                `json:"country,omitempty"`
}

// Discrepancy is what a receipt found different from the dispatch for one animal.
type Discrepancy struct {
	AnimalID   string `json:"animal_id"`
	Tag        string `json:"tag"`
	Kind       string `json:"kind"`
	ArrivedTag string `json:"arrived_tag,omitempty"`
	Note       string `json:"note,omitempty"`
}

// MovementReceipt is the destination's confirmation.
type MovementReceipt struct {
	ID            string        `json:"id"`
	At            time.Time     `json:"at"`
	By            string        `json:"by"`
	ByName        string        `json:"by_name"`
	Discrepancies []Discrepancy `json:"discrepancies"`
	// Late is true when the receipt came after the confirmation window.
	Late bool   `json:"late"`
	Hash string `json:"hash"`
}

// MovementCancellation is a movement called off before its receipt: the animals stay where they were.
type MovementCancellation struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
}

// Movement is animals sent from one holding to another place under a veterinary reference. It is
// kept by both ends: the staff and the owner of the source and of the destination see it, and it
// stays in both districts' records after the receipt.
type Movement struct {
	domain.Meta
	Status MovementStatus `json:"status"`
	From   Place          `json:"from"`
	To     Place          `json:"to"`
	// OwnerChange is true when the destination holding has another owner: the movement is a
	// change of ownership.
	OwnerChange     bool                       `json:"owner_change"`
	Animals         []MovedAnimal              `json:"animals"`
	ReferenceID     string                     `json:"reference_id"`
	ReferenceNumber string                     `json:"reference_number"`
	Purpose         epizootic.ReferencePurpose `json:"purpose"`
	// Checked is the epizootic situation read at dispatch over the source and the destination.
	Checked          []epizootic.SituationCheck `json:"checked"`
	DispatchedAt     time.Time                  `json:"dispatched_at"`
	DispatchedBy     string                     `json:"dispatched_by"`
	DispatchedByName string                     `json:"dispatched_by_name"`
	Offline          bool                       `json:"offline,omitempty"`
	// DueAt is the end of the confirmation window.
	DueAt        time.Time             `json:"due_at"`
	Receipt      *MovementReceipt      `json:"receipt,omitempty"`
	Cancellation *MovementCancellation `json:"cancellation,omitempty"`
	CreateHash   string                `json:"create_hash"`

	// Indexed copies: index fields must be top-level scalars present in every record.
	FromTerritory  domain.Kato `json:"from_territory"`
	ToTerritory    domain.Kato `json:"to_territory"`
	FromOwner      domain.IIN  `json:"from_owner"`
	ToOwner        domain.IIN  `json:"to_owner"`
	OpenKey        string      `json:"open"` // "open" while dispatched, else "closed"
	DueAtMS        int64       `json:"due_at_ms"`
	DispatchedAtMS int64       `json:"dispatched_at_ms"`
}

// MovementsSpec declares the movements. Synced to both ends.
var MovementsSpec = domain.CollectionSpec{
	Name:   "movements",
	Synced: true,
	Indexes: []domain.Index{
		{Name: "movements_from", Fields: []string{"from_territory", "dispatched_at_ms"}},
		{Name: "movements_to", Fields: []string{"to_territory", "dispatched_at_ms"}},
		{Name: "movements_from_owner", Fields: []string{"from_owner", "dispatched_at_ms"}},
		{Name: "movements_to_owner", Fields: []string{"to_owner", "dispatched_at_ms"}},
		{Name: "movements_open_from", Fields: []string{"open", "from_territory", "due_at_ms"}},
		{Name: "movements_open_to", Fields: []string{"open", "to_territory", "due_at_ms"}},
	},
}

// scope is both ends: the source's territory and owner, and the destination's.
func (m *Movement) scope() []string {
	s := domain.OwnedScope(m.From.Territory, m.From.OwnerIIN)
	for _, k := range domain.OwnedScope(m.To.Territory, m.To.OwnerIIN) {
		if m.To.Territory != "" && !slices.Contains(s, k) {
			s = append(s, k)
		}
	}
	return s
}

// VisibleTo reports whether p may read m: staff or owner of either end, admins.
func (m *Movement) VisibleTo(p domain.Principal) bool {
	return p.CanSeeOwned(m.From.Territory, m.From.OwnerIIN) ||
		(m.To.Territory != "" && p.CanSeeOwned(m.To.Territory, m.To.OwnerIIN))
}

// index fills the indexed copies.
func (m *Movement) index() {
	m.FromTerritory, m.ToTerritory, m.FromOwner, m.ToOwner = m.From.Territory, m.To.Territory, m.From.OwnerIIN, m.To.OwnerIIN
	m.OpenKey = "closed"
	if m.Status == MovementDispatched {
		m.OpenKey = "open"
	}
	m.DueAtMS, m.DispatchedAtMS = m.DueAt.UnixMilli(), m.DispatchedAt.UnixMilli()
}

// Overdue reports whether m waits for its receipt past its window at now.
func (m *Movement) Overdue(now time.Time) bool {
	return m.Status == MovementDispatched && now.After(m.DueAt)
}

// AnimalRef names an animal by its id or by its current individual number.
type AnimalRef struct {
	ID  string
	Tag string
}

// NewMovement is a dispatch.
type NewMovement struct {
	// ID is generated by the tablet (a UUID): a retry answers the same movement.
	ID            string
	Animals       []AnimalRef
	FromHoldingID string
	// Exactly one destination: ToHoldingID, ToObjectID or ExportCountry (ISO 3166-1 alpha-2).
	ToHoldingID   string
	ToObjectID    string
	ExportCountry string
	ReferenceID   string
	// DispatchedAt is when a tablet offline dispatched, by its clock; zero is now.
	DispatchedAt time.Time
}

// Movements dispatches animals from one holding to another place under a veterinary reference,
// and receives or cancels them.
type Movements struct {
	Deps
	// ConfirmWindow is how long the destination has to confirm (DefaultConfirmWindow when zero).
	ConfirmWindow time.Duration
	// ReferenceValidity is how long a reference covers a dispatch (DefaultReferenceValidity when
	// zero).
	ReferenceValidity time.Duration
}

func (ms *Movements) window() time.Duration {
	if ms.ConfirmWindow > 0 {
		return ms.ConfirmWindow
	}
	return DefaultConfirmWindow
}

func (ms *Movements) validity() time.Duration {
	if ms.ReferenceValidity > 0 {
		return ms.ReferenceValidity
	}
	return DefaultReferenceValidity
}

var countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)

// normalize checks the shape of a dispatch, reading nothing.
func (in *NewMovement) normalize() (err error) {
	if in.ID, err = domain.ParseClientID(in.ID, "id"); err != nil {
		return err
	}
	switch n := len(in.Animals); {
	case n == 0:
		return domain.Invalid("animals", "give the animals that are moved")
	case n > MaxMovementAnimals:
		return domain.Invalid("animals", "at most %d animals in one movement", MaxMovementAnimals)
	}
	for i, a := range in.Animals {
		f := fmt.Sprintf("animals[%d]", i)
		switch {
		case a.ID != "" && a.Tag != "":
			return domain.Invalid(f, "name the animal by its id or by its number, not both")
		case a.ID != "":
			if _, err := domain.ParseClientID(a.ID, f+".id"); err != nil {
				return err
			}
		case a.Tag != "":
			if err := domain.CheckISO11784(a.Tag); err != nil {
				return domain.AtField(f+".tag", err)
			}
		default:
			return domain.Invalid(f, "name each animal by its id or its individual number (tag)")
		}
	}
	if in.FromHoldingID == "" {
		return domain.Invalid("from_holding_id", "give the holding the animals leave")
	}
	dest := 0
	for _, s := range []string{in.ToHoldingID, in.ToObjectID, in.ExportCountry} {
		if s != "" {
			dest++
		}
	}
	if dest != 1 {
		return domain.Invalid("to_holding_id", "give one destination: to_holding_id, to_object_id or export")
	}
	if in.ExportCountry != "" && (!countryPattern.MatchString(in.ExportCountry) || in.ExportCountry == "KZ") {
		return domain.Invalid("export.country", "the country of export is an ISO 3166 code of two capital letters, not KZ")
	}
	if in.ToHoldingID != "" && in.ToHoldingID == in.FromHoldingID {
		return domain.Invalid("to_holding_id", "the animals are on this holding already")
	}
	if in.ReferenceID == "" {
		return domain.Invalid("reference_id", "a movement goes under the veterinary reference that covers it: give reference_id")
	}
	return nil
}

func (in *NewMovement) hash() string {
	sum := sha256.Sum256(domain.MustJSON([]any{in.Animals, in.FromHoldingID, in.ToHoldingID, in.ToObjectID,
		in.ExportCountry, in.ReferenceID, in.DispatchedAt.UTC()}))
	return hex.EncodeToString(sum[:])
}

// Dispatch sends animals on a movement: a vet of the source holding's territory or its owner
// dispatches, under an issued, valid reference for these animals whose purpose fits the
// destination, when no restriction in force over the source or the destination concerns the
// animals' species. Every check is made before anything is written; a refusal on the epizootic
// situation or an animal's positive test cites its grounds (domain.Error.Details). The unit of
// work stores the movement first and then marks each animal in transit with an event in its
// history, so a retry with the same id finishes a unit a crash cut short.
func (ms *Movements) Dispatch(ctx context.Context, by domain.Principal, in NewMovement) (*Movement, error) {
	if by.Role != domain.RoleVet && by.Role != domain.RoleFarmer {
		return nil, domain.Errorf(domain.EFORBIDDEN, "a vet of the source's territory or the animals' owner dispatches a movement")
	}
	if err := in.normalize(); err != nil {
		return nil, err
	}
	hash := in.hash()
	var out *Movement
	err := domain.RetryCAS(ctx, func() error {
		var err error
		out, err = ms.dispatch(ctx, by, in, hash)
		return err
	}, "the animals are changing concurrently; try again")
	return out, err
}

func (ms *Movements) dispatch(ctx context.Context, by domain.Principal, in NewMovement, hash string) (*Movement, error) {
	if old, err := ms.load(ctx, in.ID); err == nil {
		if !old.VisibleTo(by) || old.CreateHash != hash {
			return nil, &domain.Error{Code: domain.ECONFLICT, Field: "id", Key: "_id",
				Message: "this id names another movement; generate a new id for a new movement"}
		}
		return ms.finishDispatch(ctx, old)
	} else if !domain.IsCode(err, domain.ENOTFOUND) {
		return nil, err
	}
	now := ms.Now().UTC()
	at, err := offlineTime(in.DispatchedAt, now, "dispatched_at")
	if err != nil {
		return nil, err
	}
	m := &Movement{Meta: domain.Meta{ID: in.ID}, Status: MovementDispatched, DispatchedAt: at,
		DispatchedBy: by.UserID, Offline: !in.DispatchedAt.IsZero(), DueAt: at.Add(ms.window()), CreateHash: hash}
	// Holdings.Get answers a holding of another district, or a farmer's other than their own, as
	// one that does not exist.
	from, err := ms.Identification.Holdings.Get(ctx, by, in.FromHoldingID)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return nil, &domain.Error{Code: domain.ENOTFOUND, Field: "from_holding_id", Message: "no holding with this id among those you may see"}
	} else if err != nil {
		return nil, err
	}
	m.From = Place{Kind: ToHolding, HoldingID: from.ID, Name: from.Name, Territory: from.Territory,
		OwnerIIN: from.OwnerIIN, OwnerName: from.OwnerName}
	if m.To, err = ms.destination(ctx, in); err != nil {
		return nil, err
	}
	m.OwnerChange = m.To.Kind == ToHolding && m.To.OwnerIIN != m.From.OwnerIIN
	ref, err := ms.coveringReference(ctx, by, in.ReferenceID, m)
	if err != nil {
		return nil, err
	}
	m.ReferenceID, m.ReferenceNumber, m.Purpose = ref.ID, ref.DocumentNumber, ref.Purpose
	animals, err := ms.movedAnimals(ctx, by, in.Animals, from, ref)
	if err != nil {
		return nil, err
	}
	var grounds []epizootic.Ground
	species := make([]domain.Species, 0, len(animals))
	for _, a := range animals {
		m.Animals = append(m.Animals, MovedAnimal{ID: a.ID, Tag: string(a.Tag), Species: a.Species, State: MovedInTransit})
		species = append(species, a.Species)
		grounds = append(grounds, epizootic.FindingGrounds(a, m.Purpose)...)
	}
	m.Checked = []epizootic.SituationCheck{}
	for _, t := range []domain.Kato{m.From.Territory, m.To.Territory} {
		if t == "" || (t == m.From.Territory && len(m.Checked) > 0) {
			continue
		}
		c, gs, err := ms.Epizootic.References.CheckSituation(ctx, t, at, "dispatch", species)
		if err != nil {
			return nil, err
		}
		m.Checked, grounds = append(m.Checked, c), append(grounds, gs...)
	}
	if len(grounds) > 0 {
		return nil, refusal(grounds)
	}
	m.DispatchedByName = ms.Identification.Animals.StaffName(ctx, by)
	m.index()
	w := &domain.Writes{}
	if err := domain.WriteInsert(w, MovementsSpec.Name, m, m.scope()); err != nil {
		return nil, err
	}
	for _, a := range animals {
		if err := ms.markInTransit(w, m, a); err != nil {
			return nil, err
		}
	}
	// The movement's id taken (a concurrent retry stored it: the next attempt resumes it) or an
	// animal changed since it was read: either way the attempt runs again on fresh reads.
	if err := ms.apply(ctx, w); err != nil {
		return nil, err
	}
	return m, nil
}

// refusal is the answer to a dispatch the epizootic situation or an animal's test refuses.
func refusal(grounds []epizootic.Ground) error {
	msg := "the movement cannot be dispatched: "
	for i, g := range grounds {
		if i > 0 {
			msg += " "
		}
		msg += g.TextRU
	}
	return &domain.Error{Code: domain.EPRECONDITION, Message: msg, Details: grounds}
}

// offlineTime is the instant a tablet says it acted at, checked against the server's clock;
// zero is now.
func offlineTime(at, now time.Time, field string) (time.Time, error) {
	if at.IsZero() {
		return now, nil
	}
	at = at.UTC()
	switch {
	case at.After(now.Add(maxClockAhead)):
		return time.Time{}, domain.Invalid(field, "the tablet's time %s is ahead of the server's: set the tablet's clock", at.Format(time.RFC3339))
	case at.Before(now.Add(-MaxOfflineAge)):
		return time.Time{}, domain.Invalid(field, "a movement recorded offline more than %d days ago cannot be synced", int(MaxOfflineAge.Hours()/24))
	}
	return at, nil
}

// destination reads the place the animals go to. Any holding or object of the republic may be
// named: a movement crosses districts. An id that names nothing is an input error.
func (ms *Movements) destination(ctx context.Context, in NewMovement) (Place, error) {
	switch {
	case in.ToHoldingID != "":
		h, err := domain.GetEntity[identification.Holding](ctx, ms.Store, identification.HoldingsSpec.Name, in.ToHoldingID)
		if domain.IsCode(err, domain.ENOTFOUND) {
			return Place{}, domain.Invalid("to_holding_id", "no holding with this id")
		} else if err != nil {
			return Place{}, err
		}
		return Place{Kind: ToHolding, HoldingID: h.ID, Name: h.Name, Territory: h.Territory, OwnerIIN: h.OwnerIIN,
			OwnerName: h.OwnerName}, nil
	case in.ToObjectID != "":
		o, err := domain.GetEntity[inspection.ProductionObject](ctx, ms.Store, inspection.ObjectsSpec.Name, in.ToObjectID)
		if domain.IsCode(err, domain.ENOTFOUND) {
			return Place{}, domain.Invalid("to_object_id", "no production object with this id in the register")
		} else if err != nil {
			return Place{}, err
		}
		if _, ok := objectPurposes[o.Kind]; !ok {
			return Place{}, domain.Invalid("to_object_id", "animals are moved to a slaughter site, a market or a feedlot, not to a %s", o.Kind)
		}
		return Place{Kind: ToObject, ObjectID: o.ID, ObjectKind: o.Kind, Name: o.Name, Territory: o.Territory}, nil
	default:
		return Place{Kind: ToExport, Country: in.ExportCountry}, nil
	}
}

// objectPurposes are the objects animals are moved to and the purposes of a reference that cover
// the move.
var objectPurposes = map[inspection.ObjectKind][]epizootic.ReferencePurpose{
	inspection.KindSlaughter: {epizootic.PurposeSlaughter, epizootic.PurposeSale},
	inspection.KindMarket:    {epizootic.PurposeSale},
	inspection.KindFeedlot:   {epizootic.PurposeSale, epizootic.PurposeMovement},
}

// purposes are the purposes of a reference that cover a movement to place to: a change of owner is
// a sale (or a movement); a move between one owner's holdings, a movement, seasonal grazing or an
// exhibition; export, a sale or a movement.
func (m *Movement) purposes() []epizootic.ReferencePurpose {
	switch {
	case m.To.Kind == ToObject:
		return objectPurposes[m.To.ObjectKind]
	case m.To.Kind == ToExport:
		return []epizootic.ReferencePurpose{epizootic.PurposeSale, epizootic.PurposeMovement}
	case m.OwnerChange:
		return []epizootic.ReferencePurpose{epizootic.PurposeSale, epizootic.PurposeMovement}
	}
	return []epizootic.ReferencePurpose{epizootic.PurposeMovement, epizootic.PurposeGrazing,
		epizootic.PurposeExhibition, epizootic.PurposeSale}
}

// coveringReference reads the reference a dispatch names and checks that it covers the movement:
// issued (not a refusal, not waiting for review), for the source holding, its paper valid and
// within its term at the dispatch, with a purpose that fits the destination. A reference the
// caller may not see, or of another holding, is answered as one that does not exist (ENOTFOUND).
func (ms *Movements) coveringReference(ctx context.Context, by domain.Principal, id string, m *Movement) (*epizootic.Reference, error) {
	r, err := ms.Epizootic.References.Get(ctx, by, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && r.HoldingID != m.From.HoldingID) {
		return nil, &domain.Error{Code: domain.ENOTFOUND, Field: "reference_id", Message: "no reference with this id for this holding"}
	} else if err != nil {
		return nil, err
	}
	if r.Outcome != epizootic.RefIssued || r.ReviewOpen {
		return nil, domain.Invalid("reference_id", "the reference %s was refused or waits for review: it covers no movement", r.DocumentNumber)
	}
	doc, err := ms.Documents.Get(ctx, r.DocumentID)
	if err != nil {
		return nil, err
	}
	switch {
	case doc.Status != documents.DocValid:
		return nil, domain.Invalid("reference_id", "the reference %s is %s: it covers no movement", doc.Number, doc.Status)
	case doc.ValidUntil != nil && m.DispatchedAt.After(*doc.ValidUntil),
		m.DispatchedAt.After(r.IssuedAt.Add(ms.validity())):
		return nil, domain.Invalid("reference_id", "the reference %s has expired: it covers a dispatch within %d days of its issue",
			doc.Number, int(ms.validity().Hours()/24))
	case m.DispatchedAt.Before(r.IssuedAt.Add(-maxClockAhead)):
		return nil, domain.Invalid("reference_id", "the reference %s was issued after this dispatch", doc.Number)
	}
	if fits := m.purposes(); !slices.Contains(fits, r.Purpose) {
		return nil, domain.Invalid("reference_id", "the reference %s is for %s; this movement needs one for %s",
			doc.Number, r.Purpose, joinPurposes(fits))
	}
	return r, nil
}

func joinPurposes(ps []epizootic.ReferencePurpose) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += " or "
		}
		s += string(p)
	}
	return s
}

// movedAnimals reads the animals of a dispatch and checks each: one the caller may not see is
// ENOTFOUND, as if it did not exist; it must be kept on the source holding, on the register, not
// in transit already, carry the number given, and be named by the reference as fit.
func (ms *Movements) movedAnimals(ctx context.Context, by domain.Principal, refs []AnimalRef, from *identification.Holding, ref *epizootic.Reference) ([]*identification.Animal, error) {
	covered := map[string]bool{}
	for _, ra := range ref.Animals {
		if ra.State == "ok" && ra.ID != "" {
			covered[ra.ID] = true
		}
	}
	seen := map[string]bool{}
	out := make([]*identification.Animal, 0, len(refs))
	for i, x := range refs {
		f := fmt.Sprintf("animals[%d]", i)
		a, err := ms.animal(ctx, by, x, f)
		if err != nil {
			return nil, err
		}
		switch {
		case seen[a.ID]:
			return nil, domain.Invalid(f, "the animal %s is listed twice", a.Tag)
		case a.HoldingID != from.ID:
			return nil, domain.Invalid(f, "the animal %s is not kept on the holding the movement leaves", a.Tag)
		case a.Status != identification.AnimalActive:
			return nil, domain.AtField(f, a.RefuseDisposed())
		case a.InTransit != "":
			return nil, &domain.Error{Code: domain.EPRECONDITION, Field: f,
				Message: fmt.Sprintf("the animal %s is in transit on another movement until it is received or cancelled", a.Tag)}
		case a.OpenReissue != "":
			return nil, &domain.Error{Code: domain.EPRECONDITION, Field: f,
				Message: fmt.Sprintf("the animal %s waits for replacement tags: it moves once they are fitted", a.Tag)}
		case !covered[a.ID]:
			return nil, domain.Invalid(f, "the reference %s does not cover the animal %s", ref.DocumentNumber, a.Tag)
		}
		seen[a.ID] = true
		out = append(out, a)
	}
	return out, nil
}

// animal reads one animal named by id or current number, as the caller may see it.
func (ms *Movements) animal(ctx context.Context, by domain.Principal, x AnimalRef, field string) (*identification.Animal, error) {
	as := ms.Identification.Animals
	if x.ID != "" {
		a, err := as.Get(ctx, by, x.ID)
		if domain.IsCode(err, domain.ENOTFOUND) {
			return nil, &domain.Error{Code: domain.ENOTFOUND, Field: field + ".id", Message: "no animal with this id in your territory"}
		}
		return a, err
	}
	rec, err := ms.Identification.Stock.NumberRecord(ctx, domain.EarTag(x.Tag))
	if err == nil && rec.AnimalID != "" {
		if a, gerr := as.Get(ctx, by, rec.AnimalID); gerr == nil {
			if string(a.Tag) != x.Tag {
				return nil, domain.Invalid(field+".tag", "%s is not the animal's current number (it carries %s)", x.Tag, a.Tag)
			}
			return a, nil
		} else if !domain.IsCode(gerr, domain.ENOTFOUND) {
			return nil, gerr
		}
	} else if err != nil && !domain.IsCode(err, domain.ENOTFOUND) {
		return nil, err
	}
	return nil, &domain.Error{Code: domain.ENOTFOUND, Field: field + ".tag", Message: fmt.Sprintf("no animal with the number %s in your territory", x.Tag)}
}

// markInTransit adds to w the animal's mark and the event of the dispatch in its history.
func (ms *Movements) markInTransit(w *domain.Writes, m *Movement, a *identification.Animal) error {
	a.InTransit = m.ID
	a.UpdatedAt = m.DispatchedAt
	if err := ms.Identification.Animals.WriteUpdate(w, a); err != nil {
		return err
	}
	return ms.dispatchEvent(w, m, a)
}

func dispatchEventID(m *Movement, animalID string) string {
	return domain.DerivedID("event", animalID, "dispatched", m.ID)
}

// dispatchEvent adds the event of the dispatch to a's history, built from the movement only, so
// that every attempt writes the very same entry.
func (ms *Movements) dispatchEvent(w *domain.Writes, m *Movement, a *identification.Animal) error {
	return ms.Identification.Animals.WriteEvent(w, a, identification.AnimalEvent{
		Meta: domain.Meta{ID: dispatchEventID(m, a.ID)}, Kind: EventDispatched, At: m.DispatchedAt,
		By: m.DispatchedBy, Tag: string(a.Tag), DocumentID: m.ReferenceID,
		Details: domain.MustJSON(map[string]any{"movement_id": m.ID, "from": m.From, "to": m.To, "owner_change": m.OwnerChange})})
}

// finishDispatch completes a dispatch whose movement is stored, for a retry of the request: an
// animal, or an animal's event, that a unit cut short did not write yet is written now.
func (ms *Movements) finishDispatch(ctx context.Context, m *Movement) (*Movement, error) {
	if m.Status != MovementDispatched {
		return m, nil
	}
	w := &domain.Writes{}
	for _, x := range m.Animals {
		a, err := ms.Identification.Animals.Load(ctx, x.ID)
		if err != nil {
			return nil, err
		}
		switch {
		case a.InTransit == m.ID:
			if missing, err := ms.missingEvent(ctx, dispatchEventID(m, a.ID)); err != nil {
				return nil, err
			} else if missing {
				if err := ms.dispatchEvent(w, m, a); err != nil {
					return nil, err
				}
			}
		case a.InTransit == "" && a.HoldingID == m.From.HoldingID && a.Status == identification.AnimalActive:
			if err := ms.markInTransit(w, m, a); err != nil {
				return nil, err
			}
		default:
			return nil, domain.Errorf(domain.ECONFLICT, "the animal %s changed while this movement was dispatched; cancel it and dispatch again", a.Tag)
		}
	}
	if err := ms.apply(ctx, w); err != nil {
		return nil, err
	}
	return m, nil
}

// missingEvent reports whether the history entry with id is not written yet.
func (ms *Movements) missingEvent(ctx context.Context, id string) (bool, error) {
	_, err := domain.GetEntity[identification.AnimalEvent](ctx, ms.Store, identification.AnimalEventsSpec.Name, id)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return true, nil
	}
	return false, err
}

// apply applies w, if it holds anything; a step that met a concurrent write runs the attempt again.
func (ms *Movements) apply(ctx context.Context, w *domain.Writes) error {
	if w.Len() == 0 {
		return nil
	}
	if _, err := domain.ApplyWrites(ctx, ms.Store, w); err != nil {
		if _, serr := domain.FailedStep(err); domain.IsCode(serr, domain.ECONFLICT) {
			return domain.Again(serr)
		} else {
			return serr
		}
	}
	return nil
}

// load reads a movement whoever asks.
func (ms *Movements) load(ctx context.Context, id string) (*Movement, error) {
	return domain.GetEntity[Movement](ctx, ms.Store, MovementsSpec.Name, id)
}

// Get returns the movement with id if by may see it; otherwise ENOTFOUND.
func (ms *Movements) Get(ctx context.Context, by domain.Principal, id string) (*Movement, error) {
	m, err := ms.load(ctx, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !m.VisibleTo(by)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such movement")
	}
	return m, err
}

// The kinds of history events of movements.
const (
	EventDispatched        identification.EventKind = "dispatched"
	EventReceived          identification.EventKind = "received"
	EventNotArrived        identification.EventKind = "not_arrived"
	EventMovementCancelled identification.EventKind = "movement_cancelled"
)
