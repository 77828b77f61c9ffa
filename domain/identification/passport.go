package identification

import (
	"context"
	"strings"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
)

// Veterinary passports are documents (document.go) about an animal. An animal has one valid
// passport at a time — the one issued at identification, a duplicate of it, or the new passport
// of a reissue — and the animal record points at it; each replaces the previous one through
// Draft.Supersedes. Extracts are copies that replace nothing.

// passportContent is the animal's description as its papers print it. Keys are the ones the
// print page labels in Kazakh and Russian; the number and species are the document's subject.
type passportContent struct {
	IDMeans     string           `json:"id_means"`
	Sex         Sex              `json:"sex"`
	BirthDate   domain.CivilDate `json:"birth_date"`
	Breed       string           `json:"breed"`
	Colour      string           `json:"colour"`
	Nickname    string           `json:"nickname,omitempty"`
	Holding     string           `json:"holding"`
	Owner       string           `json:"owner"`
	PreviousTag string           `json:"previous_tag,omitempty"`
	// Passport is, on an extract, the number of the passport it is taken from.
	Passport string `json:"passport,omitempty"`
}

// passportContent describes a as of now.
func (as *Animals) passportContent(ctx context.Context, a *Animal) (passportContent, error) {
	h, err := domain.GetEntity[Holding](ctx, as.Store, HoldingsSpec.Name, a.HoldingID)
	if err != nil {
		return passportContent{}, err
	}
	return contentOf(a, h), nil
}

// contentOf describes a living on h, for a caller that has just read the holding.
func contentOf(a *Animal, h *Holding) passportContent {
	c := passportContent{Sex: a.Sex, BirthDate: a.BirthDate, Breed: a.Breed, Colour: a.Colour, Nickname: a.Nickname}
	var means []string
	for _, x := range a.Identifiers {
		if x.Status == domain.IdentActive {
			means = append(means, string(x.Means)+" "+x.Number)
		}
	}
	c.IDMeans = strings.Join(means, "; ")
	c.Holding = h.Name + ", " + h.Address + " (" + string(h.Territory) + ")"
	c.Owner = h.OwnerName
	return c
}

// issuePassport issues a paper about a under id (derived from the request, so a retry finds it).
// A paper that supersedes another also makes sure the other is marked superseded: Issue answers a
// retried id without looking at the old paper, and a crash between its two writes would leave the
// old one valid.
func (as *Animals) issuePassport(ctx context.Context, a *Animal, id string, t documents.DocType, supersedes string, iss documents.Issuer, c passportContent) (*documents.Document, error) {
	doc, err := as.Documents.Issue(ctx, documents.Draft{ID: id, Type: t, Subject: a.subject(), Issuer: iss, Content: c, Supersedes: supersedes})
	if err != nil || doc.Supersedes == "" {
		return doc, err
	}
	old, err := as.Documents.Get(ctx, doc.Supersedes)
	if err != nil {
		return nil, err
	}
	if old.Status == documents.DocValid {
		if err := as.Documents.MarkSuperseded(ctx, old.ID, doc); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// vetIssuer is the vet by as a paper names its issuer.
func (as *Animals) vetIssuer(ctx context.Context, by domain.Principal) documents.Issuer {
	return documents.Issuer{UserID: by.UserID, Name: as.StaffName(ctx, by), Unit: by.Territory}
}

// CurrentPassport returns the animal's valid passport, for services that print or check it (a
// reference, a copy). It repairs first what a crash left (see passportOf) and updates a in place
// when that moves the animal's pointer. An animal whose passport is revoked, or superseded by a
// paper that is not its passport, has none: EPRECONDITION.
func (as *Animals) CurrentPassport(ctx context.Context, a *Animal) (*documents.Document, error) {
	d, err := as.passportOf(ctx, a, true)
	if err != nil {
		return nil, err
	}
	if d.Status != documents.DocValid {
		return nil, domain.Errorf(domain.EPRECONDITION, "the animal's passport %s is %s: it has no valid passport", d.Number, d.Status)
	}
	return d, nil
}

// passportOf returns the paper a.PassportID names, repairing what a crash can leave:
//   - an identification that never issued its passport (finish set): it is issued now;
//   - a passport superseded by a passport or duplicate of the same animal that was issued but
//     never pointed at (a duplicate or a reissue that died between issuing and pointing; a reissue
//     issues its passport before it changes the animal, so this is its only crash state): the
//     animal is pointed at the newer paper (compare-and-swap), following the chain.
//
// a is updated in place when the animal record moves.
func (as *Animals) passportOf(ctx context.Context, a *Animal, finish bool) (*documents.Document, error) {
	d, err := as.Documents.Get(ctx, a.PassportID)
	if domain.IsCode(err, domain.ENOTFOUND) && finish && isIdentPassport(a) {
		_, d, err = as.finishIdentification(ctx, a)
	}
	if err != nil {
		return nil, err
	}
	for range domain.CASRetries {
		if d.Status != documents.DocSuperseded || d.SupersededBy == "" {
			return d, nil
		}
		next, err := as.Documents.Get(ctx, d.SupersededBy)
		if err != nil {
			return nil, err
		}
		if next.Subject.ID != a.ID || next.Supersedes != d.ID || next.Status == documents.DocRevoked ||
			(next.Type != documents.DocPassport && next.Type != documents.DocPassportDuplicate) {
			return d, nil
		}
		moved, err := as.pointPassport(ctx, a.ID, next)
		if err != nil {
			return nil, err
		}
		*a = *moved
		if a.PassportID == next.ID {
			d = next
		} else if d, err = as.Documents.Get(ctx, a.PassportID); err != nil { // moved by someone else
			return nil, err
		}
	}
	return d, nil
}

// DuplicatePassport issues a duplicate of the animal's passport, which supersedes it, and makes it
// the animal's current passport. requestID (a client UUID) makes the call idempotent.
func (as *Animals) DuplicatePassport(ctx context.Context, by domain.Principal, animalID, requestID string) (*Animal, *documents.Document, error) {
	return as.copyPassport(ctx, by, animalID, requestID, documents.DocPassportDuplicate, EventPassportDuplicate)
}

// ExtractPassport issues an extract from the animal's passport; the passport stays valid.
// requestID (a client UUID) makes the call idempotent.
func (as *Animals) ExtractPassport(ctx context.Context, by domain.Principal, animalID, requestID string) (*Animal, *documents.Document, error) {
	return as.copyPassport(ctx, by, animalID, requestID, documents.DocPassportExtract, EventPassportExtract)
}

func (as *Animals) copyPassport(ctx context.Context, by domain.Principal, animalID, requestID string, t documents.DocType, kind EventKind) (*Animal, *documents.Document, error) {
	if by.Role != domain.RoleVet {
		return nil, nil, domain.Errorf(domain.EFORBIDDEN, "only vets issue passports")
	}
	reqID, err := domain.ParseClientID(requestID, "id")
	if err != nil {
		return nil, nil, err
	}
	a, err := as.Get(ctx, by, animalID)
	if err != nil {
		return nil, nil, err
	}
	docID := domain.DerivedID(string(t), reqID)
	doc, err := as.Documents.Get(ctx, docID)
	switch {
	case err == nil && doc.Subject.ID != a.ID:
		return nil, nil, &domain.Error{Code: domain.ECONFLICT, Field: "id", Message: "this id was used for another animal's paper"}
	case domain.IsCode(err, domain.ENOTFOUND):
		if err := a.RefuseDisposed(); err != nil {
			return nil, nil, err
		}
		if a.OpenReissue != "" {
			// The case will issue a new passport superseding the current one; a copy issued now
			// would either sit beside it as a second valid passport or print the lost number.
			return nil, nil, domain.Errorf(domain.EPRECONDITION,
				"a reissue case (%s) is open for this animal: its completion issues a new passport; ask for a copy after that", a.OpenReissue)
		}
		cur, err := as.CurrentPassport(ctx, a)
		if err != nil {
			return nil, nil, err
		}
		c, err := as.passportContent(ctx, a)
		if err != nil {
			return nil, nil, err
		}
		supersedes := ""
		if t == documents.DocPassportDuplicate {
			supersedes = cur.ID
		} else {
			c.Passport = cur.Number
		}
		if doc, err = as.issuePassport(ctx, a, docID, t, supersedes, as.vetIssuer(ctx, by), c); err != nil {
			return nil, nil, err
		}
	case err != nil:
		return nil, nil, err
	}
	if t == documents.DocPassportDuplicate {
		if a, err = as.pointPassport(ctx, a.ID, doc); err != nil {
			return nil, nil, err
		}
	}
	_, err = as.RecordEvent(ctx, a, AnimalEvent{Meta: domain.Meta{ID: domain.DerivedID("event", doc.ID)}, Kind: kind,
		By: by.UserID, Unit: by.Territory, Tag: string(a.Tag), DocumentID: doc.ID,
		Details: domain.MustJSON(map[string]string{"number": doc.Number})})
	if err != nil {
		return nil, nil, err
	}
	return a, doc, nil
}

// pointPassport makes doc the animal's current passport if it replaced the current one; a retry
// of an older request leaves a newer passport in place, and a revoked paper is never pointed at.
func (as *Animals) pointPassport(ctx context.Context, animalID string, doc *documents.Document) (*Animal, error) {
	return as.change(ctx, animalID, func(a *Animal) (bool, error) {
		if a.PassportID != doc.Supersedes || a.PassportID == doc.ID || doc.Status == documents.DocRevoked {
			return false, nil
		}
		a.PassportID = doc.ID
		return true, nil
	})
}

// change applies fn to the animal with compare-and-swap retries; fn says whether it changed
// anything.
func (as *Animals) change(ctx context.Context, id string, fn func(*Animal) (bool, error)) (*Animal, error) {
	var a *Animal
	err := domain.RetryCAS(ctx, func() error {
		var err error
		if a, err = as.Load(ctx, id); err != nil {
			return err
		}
		changed, err := fn(a)
		if err != nil || !changed {
			return domain.Final(err)
		}
		a.UpdatedAt = as.Now().UTC()
		return domain.UpdateEntity(ctx, as.Store, AnimalsSpec.Name, a, a.scope())
	}, "the animal is changing concurrently; try again")
	if err != nil {
		return nil, err
	}
	return a, nil
}
