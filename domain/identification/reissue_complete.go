package identification

import (
	"context"
	"fmt"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
)

// ReissueCompletion is what a vet gives to complete a case: the new number fitted.
type ReissueCompletion struct {
	Number string
	// Means defaults to the means of the lost number.
	Means domain.IDMeans
}

// Complete fits a new number from the vet's stock, retires the old number (linked to the new one
// and never reused) and issues a new passport that supersedes the old one. A case is completed
// only after its tags arrived; one completed after its due date is recorded as late.
//
// The steps, each idempotent so a retry with the same number finishes a failed attempt: apply the
// loss if the report died before it did; pin the number on the case; fit it (insert-if-absent);
// link the old number to it; issue the passport under an id derived from the case; update the
// animal; close the case; record the event.
func (rs *Reissues) Complete(ctx context.Context, by domain.Principal, id string, in ReissueCompletion) (*Reissue, error) {
	if by.Role != domain.RoleVet {
		return nil, domain.Errorf(domain.EFORBIDDEN, "only vets fit tags")
	}
	c, err := rs.Get(ctx, by, id)
	if err != nil {
		return nil, err
	}
	tag, err := domain.ParseEarTag(in.Number)
	if err != nil {
		return nil, domain.AtField("number", err)
	}
	switch c.Status {
	case ReissueAwaitingTags:
		return nil, domain.Errorf(domain.EPRECONDITION, "the replacement tags have not arrived yet: record their arrival first")
	case ReissueCompleted:
		if c.NewTag != tag {
			return nil, &domain.Error{Code: domain.EPRECONDITION, Field: "number", Message: fmt.Sprintf(
				"the case was completed with number %s", c.NewTag)}
		}
		return c, rs.event(ctx, c, EventReissued, by, reissuedDetails(c))
	}
	means := in.Means
	if means == "" {
		means = c.Means
	}
	if !means.Stocked() {
		return nil, domain.Invalid("means", "a new number is fitted as an ear tag, bolus or chip")
	}
	a, err := rs.Animals.Load(ctx, c.AnimalID)
	if err != nil {
		return nil, err
	}
	if err := a.RefuseDisposed(); err != nil && !c.NewTagFitted {
		return nil, err // a completion already under way when the animal left is finished
	}
	if a.Identifier(string(tag)) >= 0 && c.NewTag != tag {
		return nil, &domain.Error{Code: domain.ECONFLICT, Field: "number", Message: fmt.Sprintf(
			"number %s is already on this animal: fit a new one", tag)}
	}
	f, err := rs.Stock.checkFit(ctx, tag, means, by.Territory, a.ID, "number")
	if err != nil {
		return nil, err
	}
	// The loss must be on the animal before anything else: its OpenReissue is what refuses
	// passport copies while the case runs, and what lets applyTo move the passport pointer.
	if err := rs.applyLoss(ctx, c, by); err != nil {
		return nil, err
	}
	if c, err = rs.pin(ctx, c.ID, tag, means); err != nil {
		return nil, err
	}
	if err := rs.Stock.claim(ctx, f, a.ID, c.ID, by.UserID); err != nil {
		// Unpin, so the vet can fit another number.
		if _, uerr := rs.change(ctx, c.ID, func(c *Reissue) (bool, error) {
			if c.NewTag != tag || c.NewTagFitted || c.Status != ReissueTagsArrived {
				return false, nil
			}
			c.NewTag, c.OldPassportID = "", ""
			return true, nil
		}); uerr != nil {
			return nil, uerr
		}
		return nil, err
	}
	// Mark the number fitted on the case. This write is what makes a concurrent completion with
	// another number lose: it moves the case's version, so that completion's pin cannot succeed
	// unseen; and if that pin came first, this mark sees it, and the number goes back to stock.
	if c, err = rs.change(ctx, c.ID, func(c *Reissue) (bool, error) {
		switch {
		case c.NewTag != tag:
			return false, &domain.Error{Code: domain.ECONFLICT, Field: "number", Message: fmt.Sprintf(
				"another vet is completing this case with number %s", c.NewTag)}
		case c.NewTagFitted:
			return false, nil
		}
		c.NewTagFitted = true
		return true, nil
	}); err != nil {
		if domain.IsCode(err, domain.ECONFLICT) {
			if rerr := rs.Stock.release(ctx, tag, a.ID); rerr != nil {
				return nil, rerr
			}
		}
		return nil, err
	}
	if err := rs.Stock.markReplaced(ctx, c.OldTag, tag); err != nil {
		return nil, err
	}
	doc, err := rs.newPassport(ctx, c, by)
	if err != nil {
		return nil, err
	}
	if _, err = rs.Animals.change(ctx, a.ID, func(a *Animal) (bool, error) {
		return c.applyTo(a, doc.ID), nil
	}); err != nil {
		return nil, err
	}
	now := rs.Now().UTC()
	late, lateDays := false, 0
	if !now.Before(*c.Due) {
		if lateDays, err = rs.Calendar.WorkingDaysBetween(ctx, c.DueDay.Start(), now); err != nil {
			return nil, err
		}
		late = true
	}
	if c, err = rs.change(ctx, c.ID, func(c *Reissue) (bool, error) {
		if c.Status == ReissueCompleted {
			return false, nil
		}
		c.Status, c.CompletedAt, c.CompletedBy, c.PassportID = ReissueCompleted, &now, by.UserID, doc.ID
		c.OldPassportID = doc.Supersedes
		c.Late, c.LateDays, c.OpenKey = late, lateDays, "closed:"+c.ID
		return true, nil
	}); err != nil {
		return nil, err
	}
	return c, rs.event(ctx, c, EventReissued, by, reissuedDetails(c))
}

// pin records on the case the number about to be fitted. A different number pinned earlier may
// be replaced only if it was never fitted: after a crash between fitting and marking, the request
// must be repeated with the fitted number.
func (rs *Reissues) pin(ctx context.Context, id string, tag domain.EarTag, means domain.IDMeans) (*Reissue, error) {
	return rs.change(ctx, id, func(c *Reissue) (bool, error) {
		if c.Status != ReissueTagsArrived {
			return false, domain.Errorf(domain.EPRECONDITION, "the case is %s", c.Status)
		}
		if c.NewTag == tag {
			return false, nil
		}
		if c.NewTag != "" {
			busy := c.NewTagFitted
			if !busy {
				rec, err := rs.Stock.NumberRecord(ctx, c.NewTag)
				if err != nil && !domain.IsCode(err, domain.ENOTFOUND) {
					return false, err
				}
				busy = err == nil && rec.Status == TagFitted && rec.ReissueID == c.ID
			}
			if busy {
				return false, &domain.Error{Code: domain.EPRECONDITION, Field: "number", Message: fmt.Sprintf(
					"number %s was already fitted for this case: repeat the request with it", c.NewTag)}
			}
		}
		c.NewTag, c.Means, c.NewTagFitted, c.OldPassportID = tag, means, false, ""
		return true, nil
	})
}

// newPassport issues the case's passport, describing the animal as it will be, BEFORE the animal
// is changed to carry the new number and point at it. In that order the animal never names a
// passport that does not exist: a crash after issuing leaves it on the passport the new one
// superseded, and every reader (passportOf) moves it on to the new one; the retry finds the
// passport under its id derived from the case.
//
// The passport supersedes whatever passport is current when it is issued, not one noted earlier:
// copies are refused while the case is open, but one asked for just before it opened may land
// meanwhile. If such a duplicate superseded the same passport at the same moment, Documents
// revokes whichever of the two lost; when ours lost, the case issues another under an id derived
// from the revoked one, so that retries agree on it.
func (rs *Reissues) newPassport(ctx context.Context, c *Reissue, by domain.Principal) (*documents.Document, error) {
	id := domain.DerivedID("passport", c.ID)
	for range domain.CASRetries {
		a, err := rs.Animals.Load(ctx, c.AnimalID)
		if err != nil {
			return nil, err
		}
		supersedes := ""
		switch doc, err := rs.Documents.Get(ctx, id); {
		case err == nil && doc.Status == documents.DocRevoked && a.OpenReissue == c.ID:
			id = domain.DerivedID("passport", id)
			continue
		case err == nil:
			// Issued by an earlier attempt: issuePassport answers it and finishes its supersession.
		case !domain.IsCode(err, domain.ENOTFOUND):
			return nil, err
		case a.PassportID == id && c.OldPassportID != "":
			// A case begun before passports were issued first: the animal was pointed at the
			// passport before a crash kept it from being issued. It replaces the one then noted.
			old, err := rs.Documents.Get(ctx, c.OldPassportID)
			if err != nil {
				return nil, err
			}
			if old.Status == documents.DocValid {
				supersedes = old.ID
			}
		default:
			cur, err := rs.Animals.passportOf(ctx, a, true)
			if err != nil {
				return nil, err
			}
			if cur.Status == documents.DocValid {
				supersedes = cur.ID
			}
		}
		next := *a
		c.applyTo(&next, id)
		content, err := rs.Animals.passportContent(ctx, &next)
		if err != nil {
			return nil, err
		}
		content.PreviousTag = string(c.OldTag)
		doc, err := rs.Animals.issuePassport(ctx, &next, id, documents.DocPassport, supersedes, rs.Animals.vetIssuer(ctx, by), content)
		if domain.IsCode(err, domain.ECONFLICT) || domain.IsCode(err, domain.EPRECONDITION) {
			continue // the current passport was replaced meanwhile: look again
		}
		return doc, err
	}
	return nil, domain.Busy("the animal's passport is changing concurrently; try again")
}

// applyTo makes the animal carry the case's new number: the old one retired and linked to it, the
// new one active (and the individual number when the old one was), the new passport current, the
// case closed. It reports whether anything changed, so a retry writes nothing twice. The passport
// pointer moves only in the write that closes the case on the animal: once closed, a duplicate may
// replace the new passport, and a retry must not move the animal back.
func (c *Reissue) applyTo(a *Animal, newPassport string) bool {
	changed := false
	if i := a.Identifier(string(c.OldTag)); i >= 0 && a.Identifiers[i].Status != domain.IdentRetired {
		a.Identifiers = cloneIdentifiers(a.Identifiers)
		a.Identifiers[i].Status, a.Identifiers[i].ReplacedBy = domain.IdentRetired, string(c.NewTag)
		changed = true
	}
	if a.Identifier(string(c.NewTag)) < 0 {
		a.Identifiers = append(cloneIdentifiers(a.Identifiers), domain.Identifier{Means: c.Means, Number: string(c.NewTag), Status: domain.IdentActive})
		changed = true
	}
	if a.Tag == c.OldTag {
		a.Tag, changed = c.NewTag, true
	}
	if a.OpenReissue == c.ID {
		a.OpenReissue, a.PassportID, changed = "", newPassport, true
	}
	return changed
}

func reissuedDetails(c *Reissue) map[string]any {
	return map[string]any{"old_tag": c.OldTag, "new_tag": c.NewTag, "due": c.Due, "late": c.Late,
		"late_working_days": c.LateDays}
}
