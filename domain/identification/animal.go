package identification

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/documents"
)

// Sex is an animal's sex as the passport records it.
type Sex string

// The sexes.
const (
	SexFemale Sex = "female"
	SexMale   Sex = "male"
)

// Valid reports whether s is a known sex.
func (s Sex) Valid() bool { return s == SexFemale || s == SexMale }

// AnimalStatus is where an animal is in its life as the register knows it.
type AnimalStatus string

// The states of an animal on the register.
const (
	// AnimalActive is an identified animal on its holding (or in transit to another: see
	// Animal.InTransit).
	AnimalActive AnimalStatus = "active"
	// AnimalDisposed is an animal that left the register — died, slaughtered, killed by order,
	// lost or exported (Animal.Disposal says how). Its numbers are retired and no paper is issued
	// for it again.
	AnimalDisposed AnimalStatus = "disposed"
)

// Limits of an animal's description.
const (
	MaxBreed     = 100
	MaxColour    = 100
	MaxNickname  = 100
	MaxAnimalAge = 50 // years: no farm animal is older; an earlier birth date is a typing error
)

// Animal is an identified farm animal: its individual number (Tag), every means of identification
// it carries or carried, its description, and where it lives. It belongs to its holding's
// territory and owner.
type Animal struct {
	domain.Meta
	// Tag is the current individual number. Earlier numbers stay in Identifiers, retired.
	Tag         domain.EarTag       `json:"tag"`
	Identifiers []domain.Identifier `json:"identifiers"`
	Species     domain.Species      `json:"species"`
	Sex         Sex                 `json:"sex"`
	BirthDate   domain.CivilDate    `json:"birth_date"`
	Breed       string              `json:"breed"`
	Colour      string              `json:"colour"`
	Nickname    string              `json:"nickname,omitempty"`
	HoldingID   string              `json:"holding_id"`
	// ObjectID is the production object (a slaughter site, a market) the animal was moved to and
	// received at, if it is kept there rather than on a holding; HoldingID is then empty.
	ObjectID  string       `json:"object_id,omitempty"`
	OwnerIIN  domain.IIN   `json:"owner_iin"`
	Territory domain.Kato  `json:"territory"`
	Status    AnimalStatus `json:"status"`
	// PassportID is the current valid passport (or its duplicate). The identification passport's
	// id is derived from the animal's, so a retry can finish issuing it.
	PassportID string `json:"passport_id"`
	// OpenReissue is the reissue case under way, if any.
	OpenReissue string `json:"open_reissue,omitempty"`
	// InTransit is the movement the animal is on, from its dispatch until its receipt or
	// cancellation (package lifecycle). An animal in transit is not referenced, moved again,
	// reissued or disposed of.
	InTransit string `json:"in_transit,omitempty"`
	// Disposal says how and when the animal left the register; set with Status AnimalDisposed.
	Disposal *Disposal `json:"disposal,omitempty"`
	// Findings are the positive diagnostic results in force (package health): each is a ground to
	// refuse the animal a reference or a movement until a later negative result.
	Findings []Finding `json:"findings,omitempty"`

	IdentifiedAt     time.Time `json:"identified_at"`
	IdentifiedBy     string    `json:"identified_by"`
	IdentifiedByName string    `json:"identified_by_name"`
	// Unit is the identifying vet's territory, the issuer of the passport.
	Unit      domain.Kato `json:"unit"`
	UpdatedAt time.Time   `json:"updated_at"`
	// CreateHash is the SHA-256 of the identification request, to tell a retry from a different
	// request that reused the id.
	CreateHash string `json:"create_hash"`
	// Mutations are the client ids of the last updates applied (at most MaxMutations), so an
	// update pushed again by a tablet is recognised as already applied.
	Mutations []string `json:"mutations,omitempty"`
}

// AnimalsSpec declares the animals. Synced to the staff of the holding's territory and to the
// owner.
var AnimalsSpec = domain.CollectionSpec{
	Name:   "animals",
	Synced: true,
	Indexes: []domain.Index{
		{Name: "animals_owner", Fields: []string{"owner_iin"}},
		// An owner's animals within a territory: staff asking by owner read only their own
		// territory's, so not even a cursor tells them of animals elsewhere.
		{Name: "animals_owner_territory", Fields: []string{"owner_iin", "territory"}},
		{Name: "animals_holding", Fields: []string{"holding_id"}},
		{Name: "animals_territory", Fields: []string{"territory"}},
		// The animals of one species within a territory: what a plan of veterinary measures
		// counts, per district (package health).
		{Name: "animals_species_territory", Fields: []string{"species", "territory"}},
	},
}

func (a *Animal) scope() []string { return domain.OwnedScope(a.Territory, a.OwnerIIN) }

// Scope is the sync scope of a and of everything that follows it (its history, its passport):
// the staff of its holding's territory and its owner.
func (a *Animal) Scope() []string { return a.scope() }

// VisibleTo reports whether p may read a: staff of its territory, its owner, admins.
func (a *Animal) VisibleTo(p domain.Principal) bool { return p.CanSeeOwned(a.Territory, a.OwnerIIN) }

// Identifier returns the index of number among a's identifiers, or -1.
func (a *Animal) Identifier(number string) int {
	for i, x := range a.Identifiers {
		if x.Number == number && x.Means.Stocked() {
			return i
		}
	}
	return -1
}

// subject is the animal as documents name it.
func (a *Animal) subject() documents.Subject {
	return documents.Subject{Kind: documents.SubjectAnimal, ID: a.ID, Tag: string(a.Tag), Species: string(a.Species),
		OwnerIIN: a.OwnerIIN, Territory: a.Territory}
}

// identPassportID is the id of the passport issued at identification, derived beside its
// animal's (domain.DerivedIDBeside).
func identPassportID(animalID string) string {
	return domain.DerivedIDBeside(animalID, "passport", animalID)
}

// identIDsBefore are the ids an identification's passport and event had before they were derived
// beside the animal's id (they differ only for an animal whose id is a UUID v7): an
// identification a crash interrupted then is finished under the ids it began with.
func identIDsBefore(animalID string) (passport, event string) {
	return domain.DerivedID("passport", animalID), domain.DerivedID("event", animalID, "identified")
}

// NewAnimal is what a vet gives to identify an animal.
type NewAnimal struct {
	// ID is generated by the tablet (a UUID) and becomes the animal's id: a retry answers the same
	// animal and passport.
	ID          string
	HoldingID   string
	Species     domain.Species
	Sex         Sex
	BirthDate   domain.CivilDate
	Breed       string
	Colour      string
	Nickname    string
	Identifiers []domain.IdentifierInput
}

// Animals identifies animals, issues their passports and keeps their history.
type Animals struct {
	Store     domain.Store
	Now       domain.Clock
	Documents *documents.Documents
	Holdings  *Holdings
	Stock     *TagStock
}

// Identify registers an animal and issues its veterinary passport in one call. Every input error
// is found before anything is written. The writes are one unit of work (Store.Apply), in an order
// that a retry with the same id can resume from any prefix, since on MongoDB a crash may leave
// one: claim each number (insert-if-absent, or compare-and-swap from in_stock: of two vets
// fitting one tag, exactly one unit applies), store the animal, store the passport under an id
// derived from the animal's, record the event under a derived id. The passport's number is taken
// from the counter before the unit (see documents.Documents.Prepare).
func (as *Animals) Identify(ctx context.Context, by domain.Principal, in NewAnimal) (*Animal, *documents.Document, error) {
	if by.Role != domain.RoleVet || by.Territory == "" {
		return nil, nil, domain.Errorf(domain.EFORBIDDEN, "only vets identify animals")
	}
	a, h, err := as.newAnimal(ctx, by, in)
	if err != nil {
		return nil, nil, err
	}
	var got *Animal
	var doc *documents.Document
	// A lost race (another request's claim of a number landed first) runs the attempt again: it
	// finds the winner's work and resumes or explains the refusal.
	err = domain.RetryCAS(ctx, func() error {
		var err error
		got, doc, err = as.identify(ctx, by, a, h)
		return err
	}, "the number is being fitted concurrently; try again")
	if err != nil {
		return nil, nil, err
	}
	return got, doc, nil
}

// identify is one attempt of Identify. It reads the numbers first: the unit of work claims them
// before it stores the animal and records are never deleted, so while none of them is fitted to
// this animal yet the animal cannot exist and there is no need to look for it. A number fitted
// to it, a refused number or no stocked number at all sends the attempt to the animal first: a
// retry resumes the stored one.
func (as *Animals) identify(ctx context.Context, by domain.Principal, a *Animal, h *Holding) (*Animal, *documents.Document, error) {
	w := &domain.Writes{}
	var fits []fitting
	retried := false // a number is fitted to this animal already
	for i, x := range a.Identifiers {
		if !x.Means.Stocked() {
			continue
		}
		f, err := as.Stock.checkFit(ctx, domain.EarTag(x.Number), x.Means, by.Territory, a.ID, fmt.Sprintf("identifiers[%d].number", i))
		if refusedFit(err) {
			return as.refuse(ctx, a, fits, err)
		} else if err != nil {
			return nil, nil, err
		}
		retried = retried || f.ours(a.ID)
		fits = append(fits, f)
		if err := as.Stock.claimWrite(w, f, a.ID, "", by.UserID); err != nil {
			return nil, nil, err
		}
	}
	if retried || len(fits) == 0 {
		if old, err := as.Load(ctx, a.ID); err == nil {
			return as.resume(ctx, old, a)
		} else if !domain.IsCode(err, domain.ENOTFOUND) {
			return nil, nil, err
		}
	}
	animalStep := w.Len()
	if err := domain.WriteInsert(w, AnimalsSpec.Name, a, a.scope()); err != nil {
		return nil, nil, err
	}
	doc, err := as.Documents.Prepare(ctx, as.passportDraft(a, contentOf(a, h)), w)
	if err != nil {
		return nil, nil, err
	}
	if err := as.eventWrite(w, a, doc); err != nil {
		return nil, nil, err
	}
	if _, err := domain.ApplyWrites(ctx, as.Store, w); err != nil {
		k, serr := domain.FailedStep(err)
		switch {
		case k >= 0 && k < animalStep && domain.IsCode(serr, domain.ECONFLICT):
			return nil, nil, domain.Again(serr)
		case k == animalStep && domain.IsCode(serr, domain.ECONFLICT):
			return as.taken(ctx, a, fits)
		}
		return nil, nil, serr // what landed stays with the id: a retry resumes it
	}
	return a, doc, nil
}

// taken answers an attempt whose animal's id turned out taken although none of its numbers was
// fitted to it: a concurrent retry of the same request stored it (resume answers it), or the id
// names another animal (resume refuses). In the second case the claims this attempt made before
// failing (a unit cut short on MongoDB) go back to stock.
func (as *Animals) taken(ctx context.Context, a *Animal, fits []fitting) (*Animal, *documents.Document, error) {
	old, err := as.Load(ctx, a.ID)
	if err != nil {
		return nil, nil, err
	}
	got, doc, err := as.resume(ctx, old, a)
	if err == nil || old.CreateHash == a.CreateHash {
		return got, doc, err
	}
	for _, f := range fits {
		if old.Identifier(string(f.tag)) < 0 {
			if rerr := as.Stock.release(ctx, f.tag, a.ID); rerr != nil {
				return nil, nil, rerr
			}
		}
	}
	return nil, nil, err
}

// refuse answers a request one of whose numbers is fitted elsewhere or not in the caller's stock.
// A retry of a request whose animal is stored is answered with it. Otherwise an earlier attempt
// of the same request may have claimed numbers before the refused one (a unit cut short on
// MongoDB): they go back to stock, so a refused request leaves the stock as it found it.
func (as *Animals) refuse(ctx context.Context, a *Animal, fits []fitting, refusal error) (*Animal, *documents.Document, error) {
	if old, err := as.Load(ctx, a.ID); err == nil {
		return as.resume(ctx, old, a) // a retry whose numbers moved on since (lost, retired)
	} else if !domain.IsCode(err, domain.ENOTFOUND) {
		return nil, nil, err
	}
	for _, f := range fits {
		if !f.ours(a.ID) {
			continue
		}
		if err := as.Stock.release(ctx, f.tag, a.ID); err != nil {
			return nil, nil, err
		}
	}
	return nil, nil, refusal
}

// refusedFit reports whether a claim was refused (the number is fitted elsewhere, or not in the
// caller's stock) rather than failed: only a refusal is final enough to give earlier claims back.
func refusedFit(err error) bool {
	var e *domain.Error
	return errors.As(err, &e) && ((e.Code == domain.ECONFLICT && e.Key == "tag") || e.Code == domain.EPRECONDITION)
}

// newAnimal checks the request and builds the animal, reading but writing nothing. It returns the
// holding it read too, for the passport.
func (as *Animals) newAnimal(ctx context.Context, by domain.Principal, in NewAnimal) (*Animal, *Holding, error) {
	a, err := describe(as.Now(), by, in)
	if err != nil {
		return nil, nil, err
	}
	if in.HoldingID == "" {
		return nil, nil, domain.Invalid("holding_id", "give the holding the animal lives on")
	}
	h, err := as.Holdings.Get(ctx, by, in.HoldingID)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return nil, nil, domain.Invalid("holding_id", "no holding with this id in your territory %s", by.Territory)
	} else if err != nil {
		return nil, nil, err
	}
	a.settle(h, as.StaffName(ctx, by))
	return a, h, nil
}

// settle places the described animal a on holding h, identified by the staff member named name,
// and fingerprints the request, so a retry can be told from another request reusing the id.
func (a *Animal) settle(h *Holding, name string) {
	a.HoldingID, a.OwnerIIN, a.Territory = h.ID, h.OwnerIIN, h.Territory
	a.PassportID = identPassportID(a.ID)
	a.IdentifiedByName = name
	sum := sha256.Sum256(domain.MustJSON([]any{a.HoldingID, a.Species, a.Sex, a.BirthDate, a.Breed, a.Colour,
		a.Nickname, a.Identifiers}))
	a.CreateHash = hex.EncodeToString(sum[:])
}

// describe checks what the request says of the animal itself (its id, description and numbers)
// and builds it, reading nothing: settle places it on its holding.
func describe(now time.Time, by domain.Principal, in NewAnimal) (*Animal, error) {
	a := &Animal{Species: in.Species, Sex: in.Sex, BirthDate: in.BirthDate, Status: AnimalActive,
		IdentifiedAt: now.UTC(), IdentifiedBy: by.UserID, Unit: by.Territory, UpdatedAt: now.UTC()}
	var err error
	if a.ID, err = domain.ParseClientID(in.ID, "id"); err != nil {
		return nil, err
	}
	if err := a.checkDescription(now, &in.Breed, &in.Colour, &in.Nickname); err != nil {
		return nil, err
	}
	a.Breed, a.Colour, a.Nickname = in.Breed, in.Colour, in.Nickname
	if a.Identifiers, err = domain.ParseIdentifiers(in.Identifiers, "identifiers"); err != nil {
		return nil, err
	}
	for _, x := range a.Identifiers {
		if x.Means.Stocked() {
			a.Tag = domain.EarTag(x.Number)
			break
		}
	}
	return a, nil
}

// checkDescription validates the description fields of a (species, sex, birth date) and trims the
// texts in place.
func (a *Animal) checkDescription(now time.Time, breed, colour, nickname *string) error {
	if !a.Species.Valid() {
		return domain.Invalid("species", "unknown species %q: one of cattle, sheep, goat, horse, camel, pig", domain.Clip(string(a.Species)))
	}
	if !a.Sex.Valid() {
		return domain.Invalid("sex", "sex is female or male")
	}
	today := domain.CivilDateOf(now)
	switch {
	case a.BirthDate.IsZero():
		return domain.Invalid("birth_date", "give the birth date (2006-01-02)")
	case a.BirthDate.Compare(today) > 0:
		return domain.Invalid("birth_date", "the birth date %s is in the future (today is %s in Almaty)", a.BirthDate, today)
	case a.BirthDate.Compare(today.AddDays(-366*MaxAnimalAge)) < 0:
		return domain.Invalid("birth_date", "the birth date %s is more than %d years ago", a.BirthDate, MaxAnimalAge)
	}
	var err error
	if *breed, err = domain.TrimmedText(*breed, "breed", MaxBreed, false); err != nil {
		return err
	}
	if *colour, err = domain.TrimmedText(*colour, "colour", MaxColour, false); err != nil {
		return err
	}
	*nickname, err = domain.TrimmedText(*nickname, "nickname", MaxNickname, true)
	return err
}

// StaffName is the name a paper prints for its issuer: the account's full name, else its
// username.
func (as *Animals) StaffName(ctx context.Context, by domain.Principal) string {
	if u, err := domain.GetEntity[accounts.User](ctx, as.Store, accounts.UsersSpec.Name, by.UserID); err == nil && u.FullName != "" {
		return u.FullName
	}
	return by.Username
}

// resume answers a retried identification: the same request finishes what the first attempt
// left undone; a different request that reused the id is refused.
func (as *Animals) resume(ctx context.Context, old, req *Animal) (*Animal, *documents.Document, error) {
	if old.CreateHash != req.CreateHash {
		return nil, nil, &domain.Error{Code: domain.ECONFLICT, Field: "id", Key: "_id",
			Message: "this id names another animal; generate a new id for a new identification"}
	}
	return as.finishIdentification(ctx, old)
}

// finishIdentification completes an identification whose animal is stored: it issues the
// passport if the first attempt did not, and records the event, as one unit of work. Everything
// it writes is derived from the stored animal (the passport's id, the event's id and content), so
// it runs again on every retry and only writes what is missing.
func (as *Animals) finishIdentification(ctx context.Context, a *Animal) (*Animal, *documents.Document, error) {
	var doc *documents.Document
	err := domain.RetryCAS(ctx, func() error {
		var err error
		doc, err = as.identPassport(ctx, a)
		w := &domain.Writes{}
		switch {
		case domain.IsCode(err, domain.ENOTFOUND):
			c, err := as.passportContent(ctx, a)
			if err != nil {
				return err
			}
			if doc, err = as.Documents.Prepare(ctx, as.passportDraft(a, c), w); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if _, err := domain.GetEntity[AnimalEvent](ctx, as.Store, AnimalEventsSpec.Name, identifiedEventID(a.ID, doc.ID)); !domain.IsCode(err, domain.ENOTFOUND) {
				return err // nil: the event is there, all is done
			}
		}
		if err := as.eventWrite(w, a, doc); err != nil {
			return err
		}
		if _, err := domain.ApplyWrites(ctx, as.Store, w); err != nil {
			_, serr := domain.FailedStep(err)
			if domain.IsCode(serr, domain.ECONFLICT) {
				return domain.Again(serr) // a concurrent retry stored the passport or the event first
			}
			return serr
		}
		return nil
	}, "the animal's identification is being finished concurrently; try again")
	if err != nil {
		return nil, nil, err
	}
	return a, doc, nil
}

// passportDraft is the identification passport of a with content c, under the id a names (set
// when it was identified: only a later paper changes it, and that one supersedes this).
func (as *Animals) passportDraft(a *Animal, c passportContent) documents.Draft {
	return documents.Draft{ID: a.PassportID, Type: documents.DocPassport, Subject: a.subject(), Issuer: a.issuer(), Content: c}
}

// identifiedEventID is the id of the event the identification whose passport is passportID
// records: derived beside the animal's id, or as before (identIDsBefore) if the passport's was.
func identifiedEventID(animalID, passportID string) string {
	if before, event := identIDsBefore(animalID); passportID == before {
		return event
	}
	return domain.DerivedIDBeside(animalID, "event", animalID, "identified")
}

// identPassport reads a's identification passport, under the id derived beside a's or, for an
// identification begun before, its older id.
func (as *Animals) identPassport(ctx context.Context, a *Animal) (*documents.Document, error) {
	id := identPassportID(a.ID)
	doc, err := as.Documents.Get(ctx, id)
	if before, _ := identIDsBefore(a.ID); domain.IsCode(err, domain.ENOTFOUND) && before != id {
		if old, err := as.Documents.Get(ctx, before); !domain.IsCode(err, domain.ENOTFOUND) {
			return old, err
		}
	}
	return doc, err
}

// isIdentPassport tells whether a's passport is still the one its identification issued (under
// either id), not a later reissue's or duplicate's.
func isIdentPassport(a *Animal) bool {
	before, _ := identIDsBefore(a.ID)
	return a.PassportID == identPassportID(a.ID) || a.PassportID == before
}

// eventWrite adds the identification's event to w, built from the animal and its passport only,
// so that every attempt writes the very same entry.
func (as *Animals) eventWrite(w *domain.Writes, a *Animal, doc *documents.Document) error {
	ev := AnimalEvent{Meta: domain.Meta{ID: identifiedEventID(a.ID, doc.ID)}, Kind: EventIdentified, At: a.IdentifiedAt,
		By: a.IdentifiedBy, Unit: a.Unit, Tag: string(a.Tag), DocumentID: doc.ID,
		Details: domain.MustJSON(map[string]any{"identifiers": a.Identifiers})}
	if err := as.completeEvent(a, &ev); err != nil {
		return err
	}
	return domain.WriteInsert(w, AnimalEventsSpec.Name, &ev, ev.scope())
}

// issuer is the identifying vet as the passport names them.
func (a *Animal) issuer() documents.Issuer {
	return documents.Issuer{UserID: a.IdentifiedBy, Name: a.IdentifiedByName, Unit: a.Unit}
}

// Load reads an animal whoever asks.
func (as *Animals) Load(ctx context.Context, id string) (*Animal, error) {
	return domain.GetEntity[Animal](ctx, as.Store, AnimalsSpec.Name, id)
}

// Get returns the animal with id if by may see it; otherwise ENOTFOUND, so a vet of another
// district cannot learn that it exists.
func (as *Animals) Get(ctx context.Context, by domain.Principal, id string) (*Animal, error) {
	a, err := as.Load(ctx, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !a.VisibleTo(by)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such animal")
	}
	return a, err
}

// Passport returns the animal's current passport, or nil while the identification that created
// the animal has not finished issuing it (a retry of the request finishes it). Like
// CurrentPassport it points the animal at a newer passport a crash left unpointed, updating a in
// place; unlike it, it answers a passport that is not valid too, for the caller to show.
func (as *Animals) Passport(ctx context.Context, a *Animal) (*documents.Document, error) {
	d, err := as.passportOf(ctx, a, false)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return nil, nil
	}
	return d, err
}

// AnimalFilter selects animals to list. At most one of Tag, OwnerIIN and HoldingID is used, in
// that order; with none, the caller's animals are listed (a farmer's own, a territory's).
type AnimalFilter struct {
	// Tag finds the animal that carries or ever carried the number.
	Tag       string
	OwnerIIN  string
	HoldingID string
	After     string
	Limit     int
}

// List pages through the animals by may see. A page may hold fewer than Limit animals when some
// in the index are not the caller's (one owner's animals in another district); Next still leads
// on.
func (as *Animals) List(ctx context.Context, by domain.Principal, f AnimalFilter) ([]*Animal, string, error) {
	q := domain.Query{Index: "animals_territory", After: f.After, Limit: f.Limit}
	switch {
	case f.Tag != "":
		a, err := as.findByTag(ctx, by, f.Tag)
		if domain.IsCode(err, domain.ENOTFOUND) {
			return []*Animal{}, "", nil
		} else if err != nil {
			return nil, "", err
		}
		return []*Animal{a}, "", nil
	case f.OwnerIIN != "":
		n, err := domain.ParseIIN(f.OwnerIIN)
		if err != nil {
			return nil, "", domain.AtField("owner", err)
		}
		if by.Role == domain.RoleFarmer && n != by.IIN {
			return []*Animal{}, "", nil
		}
		q = domain.Query{Index: "animals_owner_territory", Eq: []any{string(n)}, After: f.After, Limit: f.Limit}
		if by.Role != domain.RoleFarmer {
			q.From, q.To = domain.TerritoryRange(by.Territory)
		}
	case f.HoldingID != "":
		if _, err := as.Holdings.Get(ctx, by, f.HoldingID); err != nil {
			return nil, "", err
		}
		q = domain.Query{Index: "animals_holding", Eq: []any{f.HoldingID}, After: f.After, Limit: f.Limit}
	case by.Role == domain.RoleFarmer:
		q = domain.Query{Index: "animals_owner", Eq: []any{string(by.IIN)}, After: f.After, Limit: f.Limit}
	default:
		q.From, q.To = domain.TerritoryRange(by.Territory)
	}
	all, next, err := domain.ListEntities[Animal](ctx, as.Store, AnimalsSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	out := all[:0]
	for _, a := range all {
		if a.VisibleTo(by) {
			out = append(out, a)
		}
	}
	return out, next, nil
}

// findByTag returns the animal that carries number now or carried it before a reissue: every
// number once fitted keeps its record, which names its animal.
func (as *Animals) findByTag(ctx context.Context, by domain.Principal, number string) (*Animal, error) {
	if err := domain.CheckISO11784(number); err != nil {
		return nil, domain.AtField("tag", err)
	}
	rec, err := as.Stock.NumberRecord(ctx, domain.EarTag(number))
	if err != nil {
		return nil, err
	}
	if rec.AnimalID == "" {
		return nil, domain.Errorf(domain.ENOTFOUND, "no animal carries %s", number)
	}
	return as.Get(ctx, by, rec.AnimalID)
}
