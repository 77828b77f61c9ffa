package domain

import (
	"context"
	"fmt"
)

// ReissueCompletion is what a vet gives to complete a case: the new number fitted.
type ReissueCompletion struct {
	Number string
	// Means defaults to the means of the lost number.
	Means IDMeans
}

// Complete fits a new number from the vet's stock, retires the old number (linked to the new one
// and never reused) and issues a new passport that supersedes the old one. A case is completed
// only after its tags arrived; one completed after its due date is recorded as late.
//
// The steps, each idempotent so a retry with the same number finishes a failed attempt: pin the
// number on the case; fit it (insert-if-absent); link the old number to it; update the animal;
// issue the passport under an id derived from the case; close the case; record the event.
func (rs *Reissues) Complete(ctx context.Context, by Principal, id string, in ReissueCompletion) (*Reissue, error) {
	if by.Role != RoleVet {
		return nil, Errorf(EFORBIDDEN, "only vets fit tags")
	}
	c, err := rs.Get(ctx, by, id)
	if err != nil {
		return nil, err
	}
	tag, err := ParseEarTag(in.Number)
	if err != nil {
		return nil, atField("body.number", err)
	}
	switch c.Status {
	case ReissueAwaitingTags:
		return nil, Errorf(EPRECONDITION, "the replacement tags have not arrived yet: record their arrival first")
	case ReissueCompleted:
		if c.NewTag != tag {
			return nil, &Error{Code: EPRECONDITION, Field: "body.number", Message: fmt.Sprintf(
				"the case was completed with number %s", c.NewTag)}
		}
		return c, rs.event(ctx, c, EventReissued, by, reissuedDetails(c))
	}
	means := in.Means
	if means == "" {
		means = c.Means
	}
	if !means.Stocked() {
		return nil, Invalid("body.means", "a new number is fitted as an ear tag, bolus or chip")
	}
	a, err := rs.Animals.load(ctx, c.AnimalID)
	if err != nil {
		return nil, err
	}
	if a.identifier(string(tag)) >= 0 && c.NewTag != tag {
		return nil, &Error{Code: ECONFLICT, Field: "body.number", Message: fmt.Sprintf(
			"number %s is already on this animal: fit a new one", tag)}
	}
	f, err := rs.Stock.checkFit(ctx, tag, means, by.Territory, a.ID, "body.number")
	if err != nil {
		return nil, err
	}
	oldPassport, err := rs.passportToReplace(ctx, a)
	if err != nil {
		return nil, err
	}
	if c, err = rs.pin(ctx, c.ID, tag, means, oldPassport); err != nil {
		return nil, err
	}
	if err := rs.Stock.claim(ctx, f, a.ID, c.ID, by.UserID); err != nil {
		// Unpin, so the vet can fit another number.
		if _, uerr := rs.change(ctx, c.ID, func(c *Reissue) (bool, error) {
			if c.NewTag != tag || c.NewTagFitted || c.Status != ReissueTagsArrived {
				return false, nil
			}
			c.NewTag = ""
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
			return false, &Error{Code: ECONFLICT, Field: "body.number", Message: fmt.Sprintf(
				"another vet is completing this case with number %s", c.NewTag)}
		case c.NewTagFitted:
			return false, nil
		}
		c.NewTagFitted = true
		return true, nil
	}); err != nil {
		if IsCode(err, ECONFLICT) {
			if rerr := rs.Stock.release(ctx, tag, a.ID); rerr != nil {
				return nil, rerr
			}
		}
		return nil, err
	}
	if err := rs.Stock.markReplaced(ctx, c.OldTag, tag); err != nil {
		return nil, err
	}
	newPassport := derivedUUID("passport", c.ID)
	if a, err = rs.Animals.change(ctx, a.ID, func(a *Animal) (bool, error) {
		return c.applyTo(a, newPassport), nil
	}); err != nil {
		return nil, err
	}
	content, err := rs.Animals.passportContent(ctx, a)
	if err != nil {
		return nil, err
	}
	content.PreviousTag = string(c.OldTag)
	supersedes, err := rs.supersedable(ctx, c.OldPassportID, newPassport)
	if err != nil {
		return nil, err
	}
	doc, err := rs.Animals.issuePassport(ctx, a, newPassport, DocPassport, supersedes, rs.Animals.vetIssuer(ctx, by), content)
	if err != nil {
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
		c.Late, c.LateDays, c.OpenKey = late, lateDays, "closed:"+c.ID
		return true, nil
	}); err != nil {
		return nil, err
	}
	return c, rs.event(ctx, c, EventReissued, by, reissuedDetails(c))
}

// pin records on the case the number about to be fitted and the passport it will replace. A
// different number pinned earlier may be replaced only if it was never fitted: after a crash
// between fitting and marking, the request must be repeated with the fitted number.
func (rs *Reissues) pin(ctx context.Context, id string, tag EarTag, means IDMeans, oldPassport string) (*Reissue, error) {
	return rs.change(ctx, id, func(c *Reissue) (bool, error) {
		if c.Status != ReissueTagsArrived {
			return false, Errorf(EPRECONDITION, "the case is %s", c.Status)
		}
		if c.NewTag == tag && c.OldPassportID != "" {
			return false, nil
		}
		if c.NewTag != "" && c.NewTag != tag {
			busy := c.NewTagFitted
			if !busy {
				rec, err := rs.Stock.record(ctx, c.NewTag)
				if err != nil && !IsCode(err, ENOTFOUND) {
					return false, err
				}
				busy = err == nil && rec.Status == TagFitted && rec.ReissueID == c.ID
			}
			if busy {
				return false, &Error{Code: EPRECONDITION, Field: "body.number", Message: fmt.Sprintf(
					"number %s was already fitted for this case: repeat the request with it", c.NewTag)}
			}
		}
		c.NewTag, c.Means, c.NewTagFitted = tag, means, false
		if c.OldPassportID == "" {
			c.OldPassportID = oldPassport
		}
		return true, nil
	})
}

// applyTo makes the animal carry the case's new number: the old one retired and linked to it, the
// new one active (and the individual number when the old one was), the new passport current, the
// case closed. It reports whether anything changed, so a retry writes nothing twice.
func (c *Reissue) applyTo(a *Animal, newPassport string) bool {
	changed := false
	if i := a.identifier(string(c.OldTag)); i >= 0 && a.Identifiers[i].Status != IdentRetired {
		a.Identifiers = cloneIdentifiers(a.Identifiers)
		a.Identifiers[i].Status, a.Identifiers[i].ReplacedBy = IdentRetired, string(c.NewTag)
		changed = true
	}
	if a.identifier(string(c.NewTag)) < 0 {
		a.Identifiers = append(cloneIdentifiers(a.Identifiers), Identifier{Means: c.Means, Number: string(c.NewTag), Status: IdentActive})
		changed = true
	}
	if a.Tag == c.OldTag {
		a.Tag, changed = c.NewTag, true
	}
	if a.OpenReissue == c.ID {
		a.OpenReissue, changed = "", true
	}
	if a.PassportID == c.OldPassportID && a.PassportID != newPassport {
		a.PassportID, changed = newPassport, true
	}
	return changed
}

// passportToReplace returns the id of the animal's current passport, finishing its identification
// first if a crash left the passport unissued.
func (rs *Reissues) passportToReplace(ctx context.Context, a *Animal) (string, error) {
	_, err := rs.Documents.Get(ctx, a.PassportID)
	if IsCode(err, ENOTFOUND) && a.PassportID == identPassportID(a.ID) {
		_, _, err = rs.Animals.finishIdentification(ctx, a)
	}
	return a.PassportID, err
}

// supersedable returns old if the new passport may supersede it: it is valid (or already
// superseded by this very passport, on a retry). A revoked passport is left as it is.
func (rs *Reissues) supersedable(ctx context.Context, old, newID string) (string, error) {
	d, err := rs.Documents.Get(ctx, old)
	if err != nil {
		return "", err
	}
	if d.Status == DocValid || d.SupersededBy == newID {
		return old, nil
	}
	return "", nil
}

func reissuedDetails(c *Reissue) map[string]any {
	return map[string]any{"old_tag": c.OldTag, "new_tag": c.NewTag, "due": c.Due, "late": c.Late,
		"late_working_days": c.LateDays}
}
