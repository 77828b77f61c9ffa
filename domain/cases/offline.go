package cases

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// Bounds of the instant of a case done on a tablet offline, as for references: a tablet's clock
// may run a little ahead of the server's, and what was done more than MaxOfflineAge ago is done
// anew rather than synced.
const (
	MaxOfflineAge = 30 * 24 * time.Hour
	MaxClockAhead = 5 * time.Minute
)

// OfflineStep is one step a tablet did offline, after the registration.
type OfflineStep struct {
	Name  string
	Input StepInput
	// Field is where the step's own input sits in the caller's request: an error the step finds
	// at data… is answered at Field… instead.
	Field string
}

// Offline is how a tablet did a case offline: at its time At, the steps in order, and a digest
// of its request (OfflineMark.Request).
type Offline struct {
	At      time.Time
	Request string
	Steps   []OfflineStep
}

// ApplyOffline records a case that staff did on a tablet offline: the application registered and
// the steps done, in order, at the tablet's time off.At rather than now. It is Apply and Advance
// at another instant — the same roles, territory, order, terms and hooks; hooks see Run.Now as
// the tablet's time and Run.SyncedAt as the server's — and it stores the case, its talon and
// every paper of its steps in one unit of work, so any bad input writes nothing. off.At is at
// most MaxClockAhead ahead of the server's clock and at most MaxOfflineAge old. created is false
// when a.ID names a case that exists: that case is answered as it is, and the caller compares
// its Offline.Request to tell a retry from another request.
func (e *Cases) ApplyOffline(ctx context.Context, p domain.Principal, a Application, off Offline) (c *Case, created bool, err error) {
	if p.Role == domain.RoleFarmer {
		return nil, false, domain.Errorf(domain.EFORBIDDEN, "an applicant applies online; staff record what they did offline")
	}
	if a.ID == "" {
		return nil, false, domain.Invalid("id", "a case done offline has the id its tablet made")
	}
	now := e.Now().UTC()
	at := off.At.UTC()
	switch {
	case at.IsZero():
		return nil, false, domain.Invalid("at", "give the tablet's time of the case")
	case at.After(now.Add(MaxClockAhead)):
		return nil, false, domain.Invalid("at", "the tablet's time %s is ahead of the server's: set the tablet's clock", at.Format(time.RFC3339))
	case at.Before(now.Add(-MaxOfflineAge)):
		return nil, false, domain.Invalid("at", "a case done offline more than %d days ago cannot be synced; apply anew", int(MaxOfflineAge.Hours()/24))
	}
	c, w, existing, err := e.open(ctx, p, a, at)
	if err != nil {
		return nil, false, err
	}
	svc, err := e.Service(c.Service)
	if err != nil {
		return nil, false, err
	}
	if existing {
		// A retry: what the steps' Done hooks finish after the unit is finished again.
		return c, false, e.doneHooks(ctx, svc, c)
	}
	c.Offline = &OfflineMark{At: at, SyncedAt: now, Request: off.Request}
	var after []func(context.Context) error
	for _, st := range off.Steps {
		def, idx := svc.step(st.Name)
		switch {
		case def == nil:
			return nil, false, domain.Invalid("steps", "service %s has no step %q", svc.Code, st.Name)
		case c.State.Ended():
			return nil, false, domain.Errorf(domain.EPRECONDITION, "the case has ended (%s) before step %s", c.State, st.Name)
		case idx != c.Current:
			return nil, false, domain.Errorf(domain.EPRECONDITION, "out of order: the case is at step %s, not %s", svc.Steps[c.Current].Name, st.Name)
		}
		if err := mayAct(p, c, def); err != nil {
			return nil, false, err
		}
		run, err := e.doStep(ctx, p, svc, c, def, st.Input, at, now, w)
		if err != nil {
			return nil, false, moveField(err, st.Field)
		}
		after = append(after, run.After...)
	}
	c.UpdatedAt = now
	c.index()
	if err := domain.WriteInsert(w, CasesSpec.Name, c, c.scope()); err != nil {
		return nil, false, err
	}
	if _, err := domain.ApplyWrites(ctx, e.Store, w); err != nil {
		if domain.IsCode(err, domain.ECONFLICT) {
			old, gerr := e.Get(ctx, p, a.ID) // a concurrent retry stored it first
			return old, false, gerr
		}
		return nil, false, err
	}
	for _, f := range after {
		if err := f(ctx); err != nil {
			return nil, false, err
		}
	}
	return c, true, e.doneHooks(ctx, svc, c)
}

// doneHooks runs the Done hook of every step of c that is done, unless the case was refused, as
// Advance does after a step: safe to run again, so a retried push finishes what a crash left.
func (e *Cases) doneHooks(ctx context.Context, svc *Service, c *Case) error {
	if c.State == StateRefused {
		return nil
	}
	for _, s := range c.Steps {
		if def, _ := svc.step(s.Name); def != nil && def.Done != nil && s.End != nil {
			if err := def.Done(ctx, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// moveField answers err of a step's own input (at data…) at field instead.
func moveField(err error, field string) error {
	var de *domain.Error
	if field == "" || !errors.As(err, &de) || (de.Field != "data" && !strings.HasPrefix(de.Field, "data.")) {
		return err
	}
	moved := *de
	moved.Field = field + strings.TrimPrefix(de.Field, "data")
	return &moved
}
