package health

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/identification"
)

// Method is how a sample is examined.
type Method string

// The methods of the field's diagnostic work.
const (
	MethodRBT             Method = "rbt"        // Rose Bengal test (brucellosis)
	MethodCFT             Method = "cft"        // complement fixation test
	MethodELISA           Method = "elisa"      // enzyme-linked immunosorbent assay
	MethodPCR             Method = "pcr"        // polymerase chain reaction
	MethodTuberculin      Method = "tuberculin" // intradermal tuberculin test
	MethodID              Method = "agid"       // agar gel immunodiffusion (leukosis)
	MethodBacteriological Method = "bacteriological"
)

// Methods lists the methods, for validation and documentation.
var Methods = []Method{MethodRBT, MethodCFT, MethodELISA, MethodPCR, MethodTuberculin, MethodID, MethodBacteriological}

var methodNames = map[Method][2]string{
	MethodRBT:             {"Роз бенгал сынамасы", "Роз бенгал проба"},
	MethodCFT:             {"Комплементті байланыстыру реакциясы", "Реакция связывания комплемента"},
	MethodELISA:           {"Иммуноферменттік талдау", "Иммуноферментный анализ"},
	MethodPCR:             {"Полимеразды тізбекті реакция", "Полимеразная цепная реакция"},
	MethodTuberculin:      {"Аллергиялық туберкулин сынамасы", "Аллергическая туберкулиновая проба"},
	MethodID:              {"Иммундиффузия реакциясы", "Реакция иммунодиффузии"},
	MethodBacteriological: {"Бактериологиялық зерттеу", "Бактериологическое исследование"},
}

// Valid reports whether m is a known method.
func (m Method) Valid() bool { _, ok := methodNames[m]; return ok }

// Name returns the method's name in lang ("kk" or "ru").
func (m Method) Name(lang string) string {
	n, ok := methodNames[m]
	if !ok {
		return string(m)
	}
	if lang == "kk" {
		return n[0]
	}
	return n[1]
}

// The results a laboratory reports for an animal.
const (
	ResultNegative = "negative"
	ResultPositive = "positive"
	ResultDoubtful = "doubtful"
)

// Limits of a result's texts.
const (
	MaxLaboratory = 200
	MaxAct        = 60
)

// DiagnosticTest is the sampling of a group of animals of one holding for one disease, and the
// laboratory's results as they come. It belongs to the holding's territory and owner.
type DiagnosticTest struct {
	domain.Meta
	HoldingID string           `json:"holding_id"`
	Territory domain.Kato      `json:"territory"`
	OwnerIIN  domain.IIN       `json:"owner_iin"`
	Disease   string           `json:"disease"`
	Method    Method           `json:"method"`
	SampledOn domain.CivilDate `json:"sampled_on"`
	Species   domain.Species   `json:"species,omitempty"`
	// Animals are the animals sampled (and those rejected), each with its latest result.
	Animals    []Entry     `json:"animals"`
	Applied    int         `json:"applied"`
	Results    []LabResult `json:"results"`
	By         string      `json:"by"`
	ByName     string      `json:"by_name"`
	Unit       domain.Kato `json:"unit"`
	RecordedAt time.Time   `json:"recorded_at"`
	CreateHash string      `json:"create_hash"`
}

// LabResult is one act of the laboratory: its results for some or all of the animals sampled.
type LabResult struct {
	ID         string           `json:"id"`
	Laboratory string           `json:"laboratory"`
	Act        string           `json:"act"`
	ActDate    domain.CivilDate `json:"act_date"`
	Animals    []AnimalResult   `json:"animals"`
	By         string           `json:"by"`
	RecordedAt time.Time        `json:"recorded_at"`
	Hash       string           `json:"hash"`
}

// AnimalResult is one animal's result in an act.
type AnimalResult struct {
	AnimalID string `json:"animal_id"`
	Tag      string `json:"tag"`
	Result   string `json:"result"`
}

// TestsSpec declares the diagnostic tests, synced to the holding's territory and owner.
var TestsSpec = domain.CollectionSpec{
	Name:   "diagnostic_tests",
	Synced: true,
	Indexes: []domain.Index{
		{Name: "diagnostic_tests_holding", Fields: []string{"holding_id", "sampled_on"}},
		{Name: "diagnostic_tests_territory", Fields: []string{"territory", "sampled_on"}},
		{Name: "diagnostic_tests_owner", Fields: []string{"owner_iin", "sampled_on"}},
		{Name: "diagnostic_tests_disease_territory", Fields: []string{"disease", "territory"}},
	},
}

// Scope is the sync scope: the holding's territory and owner.
func (t *DiagnosticTest) Scope() []string { return domain.OwnedScope(t.Territory, t.OwnerIIN) }

// VisibleTo reports whether p may read t.
func (t *DiagnosticTest) VisibleTo(p domain.Principal) bool {
	return p.CanSeeOwned(t.Territory, t.OwnerIIN)
}

// NewTest is a sampling as the vet records it in the field.
type NewTest struct {
	ID        string
	HoldingID string
	Disease   string
	Method    Method
	SampledOn domain.CivilDate
	Animals   []AnimalRef
	Species   domain.Species
}

// NewResult is a laboratory's act for a test.
type NewResult struct {
	// ID is the tablet's UUID of this result: a retry answers the test as it is.
	ID         string
	Laboratory string
	Act        string
	ActDate    domain.CivilDate
	Animals    []AnimalResultInput
}

// AnimalResultInput names an animal of the test, by id or number, with its result.
type AnimalResultInput struct {
	AnimalRef
	Result string `json:"result"`
}

// Tests records samplings and their results.
type Tests struct{ s *Service }

// Sample records the sampling of a group, as Vaccinations.Record does a vaccination.
func (ts *Tests) Sample(ctx context.Context, by domain.Principal, in NewTest) (*DiagnosticTest, error) {
	s := ts.s
	if err := mustBeVet(by, "take samples"); err != nil {
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
	if !in.Method.Valid() {
		return nil, domain.Invalid("method", "unknown method %q", domain.Clip(string(in.Method)))
	}
	if err := s.checkDate(in.SampledOn, "sampled_on"); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(domain.MustJSON([]any{in.HoldingID, in.Disease, in.Method, in.SampledOn, in.Animals, in.Species}))
	hash := hex.EncodeToString(sum[:])
	if old, err := domain.GetEntity[DiagnosticTest](ctx, s.Store, TestsSpec.Name, id); err == nil {
		return ts.resumeSample(ctx, by, old, hash)
	} else if !domain.IsCode(err, domain.ENOTFOUND) {
		return nil, err
	}
	h, err := s.holding(ctx, by, in.HoldingID)
	if err != nil {
		return nil, err
	}
	g, err := s.resolveGroup(ctx, by, h, in.Animals, in.Species, d, in.SampledOn)
	if err != nil {
		return nil, err
	}
	t := &DiagnosticTest{Meta: domain.Meta{ID: id}, HoldingID: h.ID, Territory: h.Territory, OwnerIIN: h.OwnerIIN,
		Disease: d.Code, Method: in.Method, SampledOn: in.SampledOn, Species: in.Species, Animals: g.entries,
		Applied: len(g.animals), Results: []LabResult{}, By: by.UserID, ByName: s.Identification.Animals.StaffName(ctx, by),
		Unit: by.Territory, RecordedAt: s.Now().UTC(), CreateHash: hash}
	w := &domain.Writes{}
	if err := domain.WriteInsert(w, TestsSpec.Name, t, t.Scope()); err != nil {
		return nil, err
	}
	for _, aid := range g.applied() {
		if err := ts.sampleEvent(w, g.animals[aid], t); err != nil {
			return nil, err
		}
	}
	if _, err := domain.ApplyWrites(ctx, s.Store, w); err != nil {
		if k, serr := domain.FailedStep(err); k == 0 && domain.IsCode(serr, domain.ECONFLICT) {
			old, gerr := domain.GetEntity[DiagnosticTest](ctx, s.Store, TestsSpec.Name, id)
			if gerr != nil {
				return nil, gerr
			}
			return ts.resumeSample(ctx, by, old, hash)
		} else {
			return nil, serr
		}
	}
	return t, nil
}

func (ts *Tests) resumeSample(ctx context.Context, by domain.Principal, t *DiagnosticTest, hash string) (*DiagnosticTest, error) {
	if !t.VisibleTo(by) || t.CreateHash != hash {
		return nil, &domain.Error{Code: domain.ECONFLICT, Field: "id", Key: "_id",
			Message: "this id names another sampling; generate a new id for a new test"}
	}
	s := ts.s
	ids, byEvent := []string{}, map[string]string{}
	for _, e := range t.Animals {
		if e.Status == EntryApplied {
			eid := sampleEventID(t.ID, e.AnimalID)
			ids, byEvent[eid] = append(ids, eid), e.AnimalID
		}
	}
	missing, err := s.missingEvents(ctx, ids)
	if err != nil || len(missing) == 0 {
		return t, err
	}
	w := &domain.Writes{}
	for eid := range missing {
		a, err := s.Identification.Animals.Load(ctx, byEvent[eid])
		if err != nil {
			return nil, err
		}
		if err := ts.sampleEvent(w, a, t); err != nil {
			return nil, err
		}
	}
	if _, err := domain.ApplyWrites(ctx, s.Store, w); err != nil {
		if _, serr := domain.FailedStep(err); domain.IsCode(serr, domain.ECONFLICT) {
			return t, nil
		}
		return nil, err
	}
	return t, nil
}

func sampleEventID(testID, animalID string) string {
	return domain.DerivedID("event", animalID, "diagnostic_test", testID)
}

func resultEventID(testID, resultID, animalID string) string {
	return domain.DerivedID("event", animalID, "diagnostic_test", testID, "result", resultID)
}

func (ts *Tests) sampleEvent(w *domain.Writes, a *identification.Animal, t *DiagnosticTest) error {
	return ts.s.Identification.Animals.WriteEvent(w, a, identification.AnimalEvent{
		Meta: domain.Meta{ID: sampleEventID(t.ID, a.ID)}, Kind: EventSampled, At: t.RecordedAt, By: t.By,
		Unit: t.Unit, Tag: string(a.Tag), Details: domain.MustJSON(map[string]any{"test_id": t.ID,
			"disease": t.Disease, "method": t.Method, "sampled_on": t.SampledOn, "by_name": t.ByName})})
}

// Get returns the test with id if by may see it; otherwise ENOTFOUND.
func (ts *Tests) Get(ctx context.Context, by domain.Principal, id string) (*DiagnosticTest, error) {
	t, err := domain.GetEntity[DiagnosticTest](ctx, ts.s.Store, TestsSpec.Name, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !t.VisibleTo(by)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such diagnostic test")
	}
	return t, err
}

// List pages through the tests by may see.
func (ts *Tests) List(ctx context.Context, by domain.Principal, f Filter) ([]*DiagnosticTest, string, error) {
	q, ok, err := ts.s.listQuery(ctx, by, f, "diagnostic_tests")
	if err != nil || !ok {
		return []*DiagnosticTest{}, "", err
	}
	all, next, err := domain.ListEntities[DiagnosticTest](ctx, ts.s.Store, TestsSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	out := all[:0]
	for _, t := range all {
		if t.VisibleTo(by) {
			out = append(out, t)
		}
	}
	return out, next, nil
}

// RecordResult records a laboratory's act for test id: each named animal must be one the test
// sampled, or nothing is written. A positive result writes a Finding on the animal (a ground to
// refuse it a reference or a movement for every purpose the disease does not allow); a negative
// result for the same disease on a sample taken the same day or later clears it; a doubtful
// result changes nothing on the animal (the animal is sampled again). The animals, their history
// entries and the test are one unit of work, run again on a lost compare-and-swap. A retry with
// the same result id answers the test as it is.
func (ts *Tests) RecordResult(ctx context.Context, by domain.Principal, testID string, in NewResult) (*DiagnosticTest, error) {
	s := ts.s
	if err := mustBeVet(by, "record laboratory results"); err != nil {
		return nil, err
	}
	rid, err := domain.ParseClientID(in.ID, "id")
	if err != nil {
		return nil, err
	}
	if in.Laboratory, err = domain.TrimmedText(in.Laboratory, "laboratory", MaxLaboratory, false); err != nil {
		return nil, err
	}
	if in.Act, err = domain.TrimmedText(in.Act, "act", MaxAct, false); err != nil {
		return nil, err
	}
	if err := s.checkDate(in.ActDate, "act_date"); err != nil {
		return nil, err
	}
	switch {
	case len(in.Animals) == 0:
		return nil, domain.Invalid("animals", "give each animal's result")
	case len(in.Animals) > MaxGroup:
		return nil, domain.Invalid("animals", "at most %d animals in one act", MaxGroup)
	}
	sum := sha256.Sum256(domain.MustJSON([]any{in.Laboratory, in.Act, in.ActDate, in.Animals}))
	hash := hex.EncodeToString(sum[:])
	var out *DiagnosticTest
	err = domain.RetryCAS(ctx, func() error {
		t, err := ts.Get(ctx, by, testID)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(t.Results, func(r LabResult) bool { return r.ID == rid }); i >= 0 {
			if t.Results[i].Hash != hash {
				return &domain.Error{Code: domain.ECONFLICT, Field: "id", Key: "_id",
					Message: "this id names another result of the test; generate a new id for a new result"}
			}
			out = t
			return nil
		}
		if in.ActDate.Compare(t.SampledOn) < 0 {
			return domain.Invalid("act_date", "the act's date %s is before the sampling (%s)", in.ActDate, t.SampledOn)
		}
		res, err := t.match(in.Animals)
		if err != nil {
			return err
		}
		lr := LabResult{ID: rid, Laboratory: in.Laboratory, Act: in.Act, ActDate: in.ActDate, Animals: res,
			By: by.UserID, RecordedAt: s.Now().UTC(), Hash: hash}
		w, err := ts.resultWrites(ctx, t, lr)
		if err != nil {
			return err
		}
		next := *t
		next.Animals = slices.Clone(t.Animals)
		latest := map[string]string{}
		for _, r := range res {
			latest[r.AnimalID] = r.Result
		}
		for i, e := range next.Animals {
			if r, ok := latest[e.AnimalID]; ok && e.Status == EntryApplied {
				next.Animals[i].Result = r
			}
		}
		next.Results = append(slices.Clone(t.Results), lr)
		// The test last: once it names the result, every write before it is done.
		if err := domain.WriteUpdate(w, TestsSpec.Name, &next, next.Scope()); err != nil {
			return err
		}
		if _, err := domain.ApplyWrites(ctx, s.Store, w); err != nil {
			_, serr := domain.FailedStep(err)
			if domain.IsCode(serr, domain.ECONFLICT) {
				return domain.Again(serr)
			}
			return serr
		}
		out = &next
		return nil
	}, "the test or its animals are changing concurrently; try again")
	if err != nil {
		return nil, err
	}
	return out, nil
}

// match finds each named animal among those sampled: an animal the test did not sample, or one
// named twice, is EINVALID at its place in the request.
func (t *DiagnosticTest) match(in []AnimalResultInput) ([]AnimalResult, error) {
	seen := map[string]bool{}
	out := make([]AnimalResult, 0, len(in))
	for i, x := range in {
		field := fmt.Sprintf("animals[%d]", i)
		switch x.Result {
		case ResultNegative, ResultPositive, ResultDoubtful:
		default:
			return nil, domain.Invalid(field+".result", "the result is negative, positive or doubtful")
		}
		j := slices.IndexFunc(t.Animals, func(e Entry) bool {
			return e.Status == EntryApplied && ((x.ID != "" && e.AnimalID == x.ID) || (x.ID == "" && x.Tag != "" && e.Tag == x.Tag))
		})
		if (x.ID == "") == (x.Tag == "") {
			return nil, domain.Invalid(field, "name the animal by its id or its number")
		}
		if j < 0 {
			return nil, domain.Invalid(field, "the animal %s%s was not sampled in this test", x.ID, x.Tag)
		}
		e := t.Animals[j]
		if seen[e.AnimalID] {
			return nil, domain.Invalid(field, "the animal %s is listed twice", e.Tag)
		}
		seen[e.AnimalID] = true
		out = append(out, AnimalResult{AnimalID: e.AnimalID, Tag: e.Tag, Result: x.Result})
	}
	return out, nil
}

// resultWrites builds the animals' updates and history entries of lr: each animal's findings as
// the result leaves them (compared with what the animal holds, so a resumed unit writes only what
// is missing), and the entries not yet stored.
func (ts *Tests) resultWrites(ctx context.Context, t *DiagnosticTest, lr LabResult) (*domain.Writes, error) {
	s := ts.s
	ids := make([]string, 0, len(lr.Animals))
	evIDs := make([]string, 0, len(lr.Animals))
	for _, r := range lr.Animals {
		ids = append(ids, r.AnimalID)
		evIDs = append(evIDs, resultEventID(t.ID, lr.ID, r.AnimalID))
	}
	recs, err := s.Store.GetMany(ctx, identification.AnimalsSpec.Name, ids)
	if err != nil {
		return nil, err
	}
	animals := map[string]*identification.Animal{}
	for _, rec := range recs {
		a, err := domain.DecodeEntity[identification.Animal](rec)
		if err != nil {
			return nil, err
		}
		animals[a.ID] = a
	}
	missing, err := s.missingEvents(ctx, evIDs)
	if err != nil {
		return nil, err
	}
	w := &domain.Writes{}
	var events []func() error
	for _, r := range lr.Animals {
		a := animals[r.AnimalID]
		if a == nil {
			return nil, domain.Errorf(domain.ENOTFOUND, "the animal %s is no longer in the register", r.Tag)
		}
		if found := t.findings(a.Findings, r.Result, lr); !slices.Equal(found, a.Findings) {
			next := *a
			next.Findings = found
			next.UpdatedAt = s.Now().UTC()
			if err := s.Identification.Animals.WriteUpdate(w, &next); err != nil {
				return nil, err
			}
			a = &next
		}
		if eid := resultEventID(t.ID, lr.ID, r.AnimalID); missing[eid] {
			a, r := a, r
			events = append(events, func() error {
				return s.Identification.Animals.WriteEvent(w, a, identification.AnimalEvent{
					Meta: domain.Meta{ID: eid}, Kind: EventDiagnosticResult, At: lr.RecordedAt, By: lr.By, Tag: string(a.Tag),
					Details: domain.MustJSON(map[string]any{"test_id": t.ID, "result_id": lr.ID, "disease": t.Disease,
						"method": t.Method, "sampled_on": t.SampledOn, "laboratory": lr.Laboratory, "act": lr.Act,
						"act_date": lr.ActDate, "result": r.Result})})
			})
		}
	}
	for _, ev := range events {
		if err := ev(); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// findings are an animal's findings after result of t in lr: a positive one replaces any finding
// of the disease; a negative one clears the disease's findings from samples taken on or before
// this one; a doubtful one keeps them. Every disease of the catalogue is notifiable.
func (t *DiagnosticTest) findings(have []identification.Finding, result string, lr LabResult) []identification.Finding {
	out := make([]identification.Finding, 0, len(have)+1)
	switch result {
	case ResultPositive:
		for _, f := range have {
			if f.Disease != t.Disease {
				out = append(out, f)
			}
		}
		out = append(out, identification.Finding{TestID: t.ID, Disease: t.Disease, Result: ResultPositive,
			SampledOn: t.SampledOn, Laboratory: lr.Laboratory, Act: lr.Act, ActDate: lr.ActDate})
	case ResultNegative:
		for _, f := range have {
			if f.Disease != t.Disease || f.SampledOn.Compare(t.SampledOn) > 0 {
				out = append(out, f)
			}
		}
	default:
		out = append(out, have...)
	}
	if len(out) == 0 && have == nil {
		return nil
	}
	return out
}
