package health

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/identification"
)

// Limits of a vaccination's texts.
const (
	MaxVaccine = 200
	MaxSeries  = 60
	MaxDose    = 40
)

// Vaccination is one vaccination of a group of animals of one holding against one disease, with
// the vaccine's name, its series (batch) and the dose, as the vet writes them in the passport.
// It belongs to the holding's territory and owner.
type Vaccination struct {
	domain.Meta
	HoldingID string           `json:"holding_id"`
	Territory domain.Kato      `json:"territory"`
	OwnerIIN  domain.IIN       `json:"owner_iin"`
	Disease   string           `json:"disease"`
	Vaccine   string           `json:"vaccine"`
	Series    string           `json:"series"`
	Dose      string           `json:"dose"`
	Date      domain.CivilDate `json:"date"`
	// Species is set when the request named all active animals of a species on the holding.
	Species domain.Species `json:"species,omitempty"`
	Animals []Entry        `json:"animals"`
	Applied int            `json:"applied"`
	By      string         `json:"by"`
	ByName  string         `json:"by_name"`
	Unit    domain.Kato    `json:"unit"`
	// RecordedAt is when the server recorded it; the history entries carry it.
	RecordedAt time.Time `json:"recorded_at"`
	CreateHash string    `json:"create_hash"`
}

// VaccinationsSpec declares the vaccinations, synced to the holding's territory and owner.
var VaccinationsSpec = domain.CollectionSpec{
	Name:   "vaccinations",
	Synced: true,
	Indexes: []domain.Index{
		{Name: "vaccinations_holding", Fields: []string{"holding_id", "date"}},
		{Name: "vaccinations_territory", Fields: []string{"territory", "date"}},
		{Name: "vaccinations_owner", Fields: []string{"owner_iin", "date"}},
		// What a plan's progress counts: one disease's vaccinations within a territory.
		{Name: "vaccinations_disease_territory", Fields: []string{"disease", "territory"}},
	},
}

// Scope is the sync scope: the holding's territory and owner.
func (v *Vaccination) Scope() []string { return domain.OwnedScope(v.Territory, v.OwnerIIN) }

// VisibleTo reports whether p may read v: staff of its territory, its owner, admins.
func (v *Vaccination) VisibleTo(p domain.Principal) bool {
	return p.CanSeeOwned(v.Territory, v.OwnerIIN)
}

// NewVaccination is what a vet records.
type NewVaccination struct {
	// ID is the tablet's UUID: a retry answers the same vaccination.
	ID        string
	HoldingID string
	Disease   string
	Vaccine   string
	Series    string
	Dose      string
	Date      domain.CivilDate
	// Animals lists the animals; or Species names all active animals of a species on the holding.
	Animals []AnimalRef
	Species domain.Species
}

// Vaccinations records vaccinations.
type Vaccinations struct{ s *Service }

// Record records a vaccination of a group: each animal is applied or rejected alone (see the
// package doc), the record and every applied animal's history entry in one unit of work. A retry
// with the same id answers the stored vaccination and writes only what a unit cut short left
// undone; the same id with another request is ECONFLICT.
func (vs *Vaccinations) Record(ctx context.Context, by domain.Principal, in NewVaccination) (*Vaccination, error) {
	s := vs.s
	if err := mustBeVet(by, "record vaccinations"); err != nil {
		return nil, err
	}
	id, err := domain.ParseClientID(in.ID, "id")
	if err != nil {
		return nil, err
	}
	d, err := epizootic.DiseaseByCode(in.Disease, "disease")
	if err != nil {
		return nil, err
	}
	if in.Vaccine, err = domain.TrimmedText(in.Vaccine, "vaccine", MaxVaccine, false); err != nil {
		return nil, err
	}
	if in.Series, err = domain.TrimmedText(in.Series, "series", MaxSeries, false); err != nil {
		return nil, err
	}
	if in.Dose, err = domain.TrimmedText(in.Dose, "dose", MaxDose, false); err != nil {
		return nil, err
	}
	if err := s.checkDate(in.Date, "date"); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(domain.MustJSON([]any{in.HoldingID, in.Disease, in.Vaccine, in.Series, in.Dose, in.Date, in.Animals, in.Species}))
	hash := hex.EncodeToString(sum[:])
	if old, err := domain.GetEntity[Vaccination](ctx, s.Store, VaccinationsSpec.Name, id); err == nil {
		return vs.resume(ctx, by, old, hash)
	} else if !domain.IsCode(err, domain.ENOTFOUND) {
		return nil, err
	}
	h, err := s.holding(ctx, by, in.HoldingID)
	if err != nil {
		return nil, err
	}
	g, err := s.resolveGroup(ctx, by, h, in.Animals, in.Species, d, in.Date)
	if err != nil {
		return nil, err
	}
	v := &Vaccination{Meta: domain.Meta{ID: id}, HoldingID: h.ID, Territory: h.Territory, OwnerIIN: h.OwnerIIN,
		Disease: d.Code, Vaccine: in.Vaccine, Series: in.Series, Dose: in.Dose, Date: in.Date, Species: in.Species,
		Animals: g.entries, Applied: len(g.animals), By: by.UserID, ByName: s.Identification.Animals.StaffName(ctx, by),
		Unit: by.Territory, RecordedAt: s.Now().UTC(), CreateHash: hash}
	w := &domain.Writes{}
	if err := domain.WriteInsert(w, VaccinationsSpec.Name, v, v.Scope()); err != nil {
		return nil, err
	}
	for _, aid := range g.applied() {
		if err := vs.eventWrite(w, g.animals[aid], v); err != nil {
			return nil, err
		}
	}
	if _, err := domain.ApplyWrites(ctx, s.Store, w); err != nil {
		if k, serr := domain.FailedStep(err); k == 0 && domain.IsCode(serr, domain.ECONFLICT) {
			old, gerr := domain.GetEntity[Vaccination](ctx, s.Store, VaccinationsSpec.Name, id)
			if gerr != nil {
				return nil, gerr
			}
			return vs.resume(ctx, by, old, hash) // a concurrent retry stored it first
		} else {
			return nil, serr
		}
	}
	return v, nil
}

// resume answers a retried vaccination, writing the history entries an earlier attempt cut
// short did not.
func (vs *Vaccinations) resume(ctx context.Context, by domain.Principal, v *Vaccination, hash string) (*Vaccination, error) {
	if !v.VisibleTo(by) {
		return nil, &domain.Error{Code: domain.ECONFLICT, Field: "id", Key: "_id", Message: "this id is taken; generate a new id for a new vaccination"}
	}
	if v.CreateHash != hash {
		return nil, &domain.Error{Code: domain.ECONFLICT, Field: "id", Key: "_id",
			Message: "this id names another vaccination; generate a new id for a new vaccination"}
	}
	s := vs.s
	ids, byEvent := []string{}, map[string]string{}
	for _, e := range v.Animals {
		if e.Status == EntryApplied {
			eid := vaccinationEventID(v.ID, e.AnimalID)
			ids, byEvent[eid] = append(ids, eid), e.AnimalID
		}
	}
	missing, err := s.missingEvents(ctx, ids)
	if err != nil || len(missing) == 0 {
		return v, err
	}
	w := &domain.Writes{}
	for eid := range missing {
		a, err := s.Identification.Animals.Load(ctx, byEvent[eid])
		if err != nil {
			return nil, err
		}
		if err := vs.eventWrite(w, a, v); err != nil {
			return nil, err
		}
	}
	if _, err := domain.ApplyWrites(ctx, s.Store, w); err != nil {
		if _, serr := domain.FailedStep(err); domain.IsCode(serr, domain.ECONFLICT) {
			return v, nil // a concurrent retry wrote them
		}
		return nil, err
	}
	return v, nil
}

func vaccinationEventID(vaccinationID, animalID string) string {
	return domain.DerivedID("event", animalID, "vaccination", vaccinationID)
}

// eventWrite adds a's history entry of v to w.
func (vs *Vaccinations) eventWrite(w *domain.Writes, a *identification.Animal, v *Vaccination) error {
	return vs.s.Identification.Animals.WriteEvent(w, a, identification.AnimalEvent{
		Meta: domain.Meta{ID: vaccinationEventID(v.ID, a.ID)}, Kind: EventVaccinated, At: v.RecordedAt, By: v.By,
		Unit: v.Unit, Tag: string(a.Tag), Details: domain.MustJSON(map[string]any{"vaccination_id": v.ID,
			"disease": v.Disease, "vaccine": v.Vaccine, "series": v.Series, "dose": v.Dose, "date": v.Date,
			"by_name": v.ByName})})
}

// Get returns the vaccination with id if by may see it; otherwise ENOTFOUND.
func (vs *Vaccinations) Get(ctx context.Context, by domain.Principal, id string) (*Vaccination, error) {
	v, err := domain.GetEntity[Vaccination](ctx, vs.s.Store, VaccinationsSpec.Name, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !v.VisibleTo(by)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such vaccination")
	}
	return v, err
}

// Filter selects vaccinations or tests to list: one holding's, or with none all the caller
// may see (a territory's for staff, their own for a farmer), newest first.
type Filter struct {
	HoldingID string
	After     string
	Limit     int
}

// listQuery is the query of f for by, scoped in the query itself: a holding the caller may see,
// the caller's territory, or a farmer's own records.
func (s *Service) listQuery(ctx context.Context, by domain.Principal, f Filter, prefix string) (domain.Query, bool, error) {
	q := domain.Query{After: f.After, Limit: f.Limit, Desc: true}
	switch {
	case f.HoldingID != "":
		h, err := s.Identification.Holdings.Get(ctx, by, f.HoldingID)
		if err != nil {
			return q, false, err
		}
		q.Index, q.Eq = prefix+"_holding", []any{h.ID}
	case by.Role == domain.RoleFarmer:
		if by.IIN == "" {
			return q, false, nil
		}
		q.Index, q.Eq = prefix+"_owner", []any{string(by.IIN)}
	case by.Role == domain.RoleAdmin:
		q.Index = prefix + "_territory"
	default:
		if by.Territory == "" {
			return q, false, nil
		}
		q.Index = prefix + "_territory"
		q.From, q.To = domain.TerritoryRange(by.Territory)
	}
	return q, true, nil
}

// List pages through the vaccinations by may see.
func (vs *Vaccinations) List(ctx context.Context, by domain.Principal, f Filter) ([]*Vaccination, string, error) {
	q, ok, err := vs.s.listQuery(ctx, by, f, "vaccinations")
	if err != nil || !ok {
		return []*Vaccination{}, "", err
	}
	all, next, err := domain.ListEntities[Vaccination](ctx, vs.s.Store, VaccinationsSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	out := all[:0]
	for _, v := range all {
		if v.VisibleTo(by) {
			out = append(out, v)
		}
	}
	return out, next, nil
}
