package epizootic

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/identification"
)

// What a reference is checked against at the moment of application: each animal is in the
// identification database with a valid passport and a readable current number, and no restriction
// in force over the holding's territory or any unit above it concerns the animals' species or the
// products. Every ground found is put in words a farmer understands, in Kazakh and Russian.

// Ground codes of a refusal.
const (
	GroundNotIdentified = "not_identified" // the number or animal is not in the database
	GroundNotActive     = "not_active"     // the animal is no longer on the register
	GroundNoPassport    = "no_passport"    // no valid veterinary passport
	GroundAwaitingTags  = "awaiting_tags"  // tags lost or damaged, replacement under way
	GroundOldNumber     = "old_number"     // a number the animal no longer carries
	GroundRestriction   = "restriction"    // a quarantine or restrictive measures apply
	GroundExamination   = "examination"    // the examination found the animal unhealthy
	GroundVet           = "vet"            // another ground the vet states
)

// Ground is one reason a reference cannot be issued.
type Ground struct {
	Code   string `json:"code"`
	TextKK string `json:"text_kk"`
	TextRU string `json:"text_ru"`
	// Tag and AnimalID name the animal at fault; RestrictionID the restriction, with its decision.
	Tag           string             `json:"tag,omitempty"`
	AnimalID      string             `json:"animal_id,omitempty"`
	RestrictionID string             `json:"restriction_id,omitempty"`
	Decision      *EpizooticDecision `json:"decision,omitempty"`
	// TestID is the diagnostic test whose positive result refuses the animal.
	TestID string `json:"test_id,omitempty"`
}

// RestrictionRef is a restriction as a check found it in force.
type RestrictionRef struct {
	ID          string            `json:"id"`
	Version     int64             `json:"version"`
	Kind        RestrictionKind   `json:"kind"`
	Disease     string            `json:"disease"`
	DiseaseRU   string            `json:"disease_ru"`
	Territory   domain.Kato       `json:"territory"`
	TerritoryRU string            `json:"territory_ru"`
	Decision    EpizooticDecision `json:"decision"`
	Start       time.Time         `json:"start"`
	// Concerns is true when the restriction stops this reference.
	Concerns bool `json:"concerns"`
}

// SituationCheck is the epizootic situation one check read: the instant and the restrictions in
// force then over the holding's territory.
type SituationCheck struct {
	At time.Time `json:"at"`
	// Moment says which instant: application, issue, or sync (for a reference issued offline);
	// dispatch, for a movement.
	Moment string `json:"moment"`
	// Territory is the unit checked, for a check of several (a movement's source and destination).
	Territory    domain.Kato      `json:"territory,omitempty"`
	Restrictions []RestrictionRef `json:"restrictions"`
}

// ReferenceAnimal is an animal of a reference with its identification state at the check.
type ReferenceAnimal struct {
	ID       string         `json:"id,omitempty"`
	Tag      string         `json:"tag"`
	Species  domain.Species `json:"species,omitempty"`
	Passport string         `json:"passport,omitempty"`
	// State is "ok" or the ground code that refuses it.
	State string `json:"state"`
}

// ReferenceProduct is a product or raw material of a reference, with its origin.
type ReferenceProduct struct {
	Kind     ProductKind    `json:"kind"`
	Species  domain.Species `json:"species,omitempty"`
	Quantity float64        `json:"quantity"`
	Unit     string         `json:"unit"`
	Origin   string         `json:"origin"`
}

func animalGround(code, tag, id string) Ground {
	g := Ground{Code: code, Tag: tag, AnimalID: id}
	switch code {
	case GroundNotIdentified:
		g.TextKK = fmt.Sprintf("%s нөмірлі жануар бірдейлендіру дерекқорында жоқ.", tag)
		g.TextRU = fmt.Sprintf("Животного с номером %s нет в базе данных по идентификации.", tag)
	case GroundNotActive:
		g.TextKK = fmt.Sprintf("%s нөмірлі жануар тізілімнен шығарылған.", tag)
		g.TextRU = fmt.Sprintf("Животное с номером %s снято с учёта.", tag)
	case GroundNoPassport:
		g.TextKK = fmt.Sprintf("%s нөмірлі жануардың жарамды ветеринариялық паспорты жоқ.", tag)
		g.TextRU = fmt.Sprintf("У животного с номером %s нет действующего ветеринарного паспорта.", tag)
	case GroundAwaitingTags:
		g.TextKK = fmt.Sprintf("%s нөмірлі жануардың сырғасы жоғалған немесе бүлінген, жаңа нөмір әлі берілмеген.", tag)
		g.TextRU = fmt.Sprintf("Бирка животного с номером %s утеряна или повреждена, новый номер ещё не присвоен.", tag)
	case GroundOldNumber:
		g.TextKK = fmt.Sprintf("%s нөмірі жануардың қазіргі нөмірі емес: ол ауыстырылған.", tag)
		g.TextRU = fmt.Sprintf("Номер %s больше не является номером животного: он заменён.", tag)
	}
	return g
}

func restrictionGround(r *Restriction, what string, whatKK string) Ground {
	d := r.Decision
	return Ground{Code: GroundRestriction, RestrictionID: r.ID, Decision: &d,
		TextKK: fmt.Sprintf("%s. Қатысты: %s.", capitalize(r.Cite("kk")), whatKK),
		TextRU: fmt.Sprintf("%s. Это касается: %s.", capitalize(r.Cite("ru")), what)}
}

func capitalize(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}

// checkAnimal reads the identification state of one animal of holding h, named by id or by
// number. A number the database does not know is a ground of refusal, not an input error: that is
// the check service 2 makes — and so is a number fitted to an animal the caller may not see, told
// apart from an unknown one in nothing, so that a vet cannot learn what another district holds;
// the refusal names only the number typed, never the hidden animal. An id is not something an
// owner shows at the office: one the caller cannot see, or that names no animal, is ENOTFOUND,
// before anything is written. An animal of another holding is an input error.
func (rf *References) checkAnimal(ctx context.Context, by domain.Principal, h *identification.Holding, in ReferenceAnimalInput, field string) (*identification.Animal, ReferenceAnimal, error) {
	as := rf.Identification.Animals
	var a *identification.Animal
	var err error
	ra := ReferenceAnimal{ID: in.ID, Tag: in.Tag}
	switch {
	case in.ID != "":
		a, err = as.Load(ctx, in.ID)
		if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !a.VisibleTo(by)) {
			return nil, ra, domain.Errorf(domain.ENOTFOUND, "no animal with this id in your territory")
		}
	case in.Tag != "":
		if cerr := domain.CheckISO11784(in.Tag); cerr != nil {
			return nil, ra, domain.AtField(field+".tag", cerr)
		}
		var rec *identification.TagRecord
		if rec, err = rf.Identification.Stock.NumberRecord(ctx, domain.EarTag(in.Tag)); err == nil {
			if rec.AnimalID == "" {
				err = domain.Errorf(domain.ENOTFOUND, "not fitted")
			} else {
				a, err = as.Load(ctx, rec.AnimalID)
			}
		}
	default:
		return nil, ra, domain.Invalid(field, "name each animal by its id or its individual number (tag)")
	}
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !a.VisibleTo(by)) {
		ra.ID, ra.State = "", GroundNotIdentified
		return nil, ra, nil
	} else if err != nil {
		return nil, ra, err
	}
	if a.HoldingID != h.ID {
		return nil, ra, domain.Invalid(field, "the animal %s is kept on another holding; one reference covers animals of one holding", a.Tag)
	}
	ra.ID, ra.Species, ra.State = a.ID, a.Species, "ok"
	if ra.Tag == "" {
		ra.Tag = string(a.Tag)
	}
	i := a.Identifier(ra.Tag)
	switch {
	case a.Status != identification.AnimalActive:
		ra.State = GroundNotActive
	case a.InTransit != "":
		ra.State = GroundInTransit
	case a.OpenReissue != "":
		ra.State = GroundAwaitingTags
	case a.Tag == "" || string(a.Tag) != ra.Tag:
		ra.State = GroundOldNumber
	case i < 0 || a.Identifiers[i].Status != domain.IdentActive:
		ra.State = GroundAwaitingTags
	}
	// CurrentPassport repairs what a crash left (an animal still pointing at a passport a duplicate
	// or a reissue superseded) before answering, so a genuine passport is not taken for none.
	passport, err := as.CurrentPassport(ctx, a)
	switch {
	case err == nil:
		ra.Passport = passport.Number
	case domain.IsCode(err, domain.EPRECONDITION) || domain.IsCode(err, domain.ENOTFOUND):
		if ra.State == "ok" {
			ra.State = GroundNoPassport
		}
		if old, perr := as.Passport(ctx, a); perr == nil && old != nil {
			ra.Passport = old.Number // the paper that is not valid, as checked
		}
	default:
		return nil, ra, err
	}
	return a, ra, nil
}

// situationGrounds reads the restrictions in force at one instant over territory t and returns
// the check with the grounds of those that concern the animals or products.
func (rf *References) situationGrounds(ctx context.Context, t domain.Kato, at time.Time, moment string, species []domain.Species, products []ReferenceProduct) (SituationCheck, []Ground, error) {
	c := SituationCheck{At: at.UTC(), Moment: moment, Restrictions: []RestrictionRef{}}
	in, err := rf.Restrictions.InForce(ctx, t, at)
	if err != nil {
		return c, nil, err
	}
	var grounds []Ground
	for _, r := range in {
		var what, whatKK []string
		for _, s := range species {
			if r.Concerns(s) {
				what, whatKK = append(what, s.Name("ru")), append(whatKK, s.Name("kk"))
			}
		}
		for _, p := range products {
			if r.ConcernsProduct(p.Kind, p.Species) {
				what, whatKK = append(what, p.Kind.Name("ru")), append(whatKK, p.Kind.Name("kk"))
			}
		}
		c.Restrictions = append(c.Restrictions, RestrictionRef{ID: r.ID, Version: r.Version, Kind: r.Kind,
			Disease: r.RestrictionTerms.Disease, DiseaseRU: r.DiseaseRU, Territory: r.Territory, TerritoryRU: r.TerritoryRU,
			Decision: r.Decision, Start: r.Start, Concerns: len(what) > 0})
		if len(what) > 0 {
			grounds = append(grounds, restrictionGround(r, strings.Join(uniq(what), ", "), strings.Join(uniq(whatKK), ", ")))
		}
	}
	return c, grounds, nil
}

func uniq(xs []string) []string {
	out := xs[:0]
	seen := map[string]bool{}
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// moment is an instant a reference is checked at.
type moment struct {
	name string
	at   time.Time
}

// assess runs every check of a reference: the identification state of each animal now, and the
// epizootic situation at each moment (application, issue, and sync for a reference made offline).
// It returns the grounds of refusal, none when the reference may be issued.
func (rf *References) assess(ctx context.Context, by domain.Principal, h *identification.Holding, in NewReference, moments []moment) ([]ReferenceAnimal, []SituationCheck, []Ground, error) {
	animals := make([]ReferenceAnimal, 0, len(in.Animals))
	var grounds []Ground
	var species []domain.Species
	seen := map[string]bool{}
	for i, x := range in.Animals {
		a, ra, err := rf.checkAnimal(ctx, by, h, x, fmt.Sprintf("animals[%d]", i))
		if err != nil {
			return nil, nil, nil, err
		}
		key := ra.ID + "/" + ra.Tag
		if seen[key] {
			return nil, nil, nil, domain.Invalid(fmt.Sprintf("animals[%d]", i), "the animal %s is listed twice", ra.Tag)
		}
		seen[key] = true
		animals = append(animals, ra)
		switch ra.State {
		case "ok":
		case GroundInTransit:
			grounds = append(grounds, inTransitGround(ra.Tag, ra.ID))
		default:
			grounds = append(grounds, animalGround(ra.State, ra.Tag, ra.ID))
		}
		if a != nil {
			species = append(species, a.Species)
			// A positive diagnostic result in force refuses the animal for every purpose its
			// disease does not allow, citing the test.
			if fg := FindingGrounds(a, in.Purpose); len(fg) > 0 {
				if animals[len(animals)-1].State == "ok" {
					animals[len(animals)-1].State = GroundPositiveTest
				}
				grounds = append(grounds, fg...)
			}
		}
	}
	checks := []SituationCheck{}
	found := map[string]bool{}
	for _, m := range moments {
		c, gs, err := rf.situationGrounds(ctx, h.Territory, m.at, m.name, species, in.Products)
		if err != nil {
			return nil, nil, nil, err
		}
		checks = append(checks, c)
		for _, g := range gs {
			if !found[g.RestrictionID] {
				found[g.RestrictionID] = true
				grounds = append(grounds, g)
			}
		}
	}
	if in.ExamResult == ExamUnhealthy {
		grounds = append(grounds, Ground{Code: GroundExamination,
			TextKK: "Ветеринариялық тексеру нәтижесі: " + in.ExamNote,
			TextRU: "По результатам ветеринарного осмотра: " + in.ExamNote})
	}
	if in.RefuseReason != "" {
		grounds = append(grounds, Ground{Code: GroundVet, TextKK: in.RefuseReason, TextRU: in.RefuseReason})
	}
	return animals, checks, grounds, nil
}

// groundsText joins the grounds into the sentence a refusal prints.
func groundsText(gs []Ground, lang string) string {
	parts := make([]string, 0, len(gs))
	for _, g := range gs {
		if lang == "kk" {
			parts = append(parts, g.TextKK)
		} else {
			parts = append(parts, g.TextRU)
		}
	}
	lead := "Ветеринарная справка не может быть выдана. "
	if lang == "kk" {
		lead = "Ветеринариялық анықтама берілмейді. "
	}
	return lead + strings.Join(parts, " ")
}
