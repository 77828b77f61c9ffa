package cases

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/documents"
)

// Limits of an application.
const (
	MaxDocuments = 30
	MaxDocName   = 300
	MaxName      = 300
	MaxGround    = 4000
)

// Cases runs the declared services.
type Cases struct {
	Store     domain.Store
	Now       domain.Clock
	Calendar  *domain.Calendar
	Office    *domain.Office
	Documents *documents.Documents
	Users     *accounts.Accounts

	services map[string]*Service
	order    []string
}

// Declare adds a service; the wiring calls it once per service package.
func (e *Cases) Declare(s *Service) {
	if e.services == nil {
		e.services = map[string]*Service{}
	}
	if _, dup := e.services[s.Code]; dup {
		panic("cases: service " + s.Code + " declared twice")
	}
	if len(s.Steps) < 2 || s.Steps[0].Kind != KindRegister || s.Steps[len(s.Steps)-1].Kind != KindHandOver {
		panic("cases: service " + s.Code + " must start with a register step and end with a hand-over")
	}
	e.services[s.Code] = s
	e.order = append(e.order, s.Code)
}

// Service returns the declared service with code, or ENOTFOUND.
func (e *Cases) Service(code string) (*Service, error) {
	if s, ok := e.services[code]; ok {
		return s, nil
	}
	return nil, domain.Errorf(domain.ENOTFOUND, "no such service %q", code)
}

// Services lists the declared services in the order declared.
func (e *Cases) Services() []*Service {
	out := make([]*Service, 0, len(e.order))
	for _, c := range e.order {
		out = append(out, e.services[c])
	}
	return out
}

// DueAfter is the deadline of a step of term started at start: an exclusive bound, like every due
// time of vetfield.
func (e *Cases) DueAfter(ctx context.Context, start time.Time, t Term) (time.Time, error) {
	if t.N < 0 {
		return time.Time{}, domain.Errorf(domain.EINVALID, "a term cannot be negative")
	}
	switch t.Unit {
	case Minutes:
		return e.Office.AddOfficeTime(ctx, start, time.Duration(t.N)*time.Minute)
	case Hours:
		return e.Office.AddOfficeTime(ctx, start, time.Duration(t.N)*time.Hour)
	case WorkingDays:
		return e.Calendar.DueAfter(ctx, start, t.N)
	case CalendarDays:
		d := domain.CivilDateOf(start).AddDays(t.N)
		for range domain.MaxOfficeDays {
			ok, err := e.Calendar.IsWorkingDay(ctx, d.Start())
			if err != nil {
				return time.Time{}, err
			}
			if ok {
				return d.AddDays(1).Start(), nil
			}
			d = d.AddDays(1)
		}
		return time.Time{}, domain.Errorf(domain.EINVALID, "no working day after %s", d)
	}
	return time.Time{}, domain.Errorf(domain.EINVALID, "unknown unit %q", t.Unit)
}

// plannedDue is when the result is due if every step from index from on takes its whole term,
// starting at start: the date the talon promises.
func (e *Cases) plannedDue(ctx context.Context, svc *Service, c *Case, from int, start time.Time) (time.Time, error) {
	t, due := start, start
	for i := from; i < len(svc.Steps); i++ {
		term := svc.Steps[i].TermOf(c)
		var err error
		if due, err = e.DueAfter(ctx, t, term); err != nil {
			return time.Time{}, err
		}
		t = due
		if term.Unit == WorkingDays || term.Unit == CalendarDays {
			t = due.Add(-time.Nanosecond) // the next step may start on the last day allowed
		}
	}
	if svc.Total != nil {
		limit, err := e.DueAfter(ctx, start, svc.Total(c))
		if err != nil {
			return time.Time{}, err
		}
		if limit.Before(due) {
			due = limit
		}
	}
	return due, nil
}

// RepresentativeInput is a representative as given.
type RepresentativeInput struct {
	IIN                 string
	Name                string
	PowerOfAttorney     string
	PowerOfAttorneyDate domain.CivilDate
}

// Application is what an applicant or the office gives to open a case.
type Application struct {
	// ID, when set (a UUID made by the client), makes the call idempotent.
	ID             string
	Service        string
	ApplicantIIN   string
	ApplicantName  string
	Representative *RepresentativeInput
	Documents      []string
	// Data is the service's own part of the application (the object, the kind of request).
	Data json.RawMessage
}

// Apply opens a case. An applicant (a farmer's account) applies for themselves: the case waits
// for the office to register it within the register step's term. Staff whose territory covers the
// case register it at once, for the applicant or their representative, and the talon is issued.
// created is false when ID names a case that exists (a retried request).
func (e *Cases) Apply(ctx context.Context, p domain.Principal, a Application) (c *Case, created bool, err error) {
	now := e.Now().UTC()
	c, w, existing, err := e.open(ctx, p, a, now)
	if err != nil || existing {
		return c, false, err
	}
	c.index()
	if err := domain.WriteInsert(w, CasesSpec.Name, c, c.scope()); err != nil {
		return nil, false, err
	}
	if _, err := domain.ApplyWrites(ctx, e.Store, w); err != nil {
		if domain.IsCode(err, domain.ECONFLICT) && a.ID != "" {
			old, gerr := e.Get(ctx, p, a.ID)
			return old, false, gerr
		}
		return nil, false, err
	}
	return c, true, nil
}

// open checks application a and builds its case as opened by p at now, registered when p is
// staff, into a unit of work that has everything but the case's own insert. existing is true when
// a.ID names a case that exists: c is that case and nothing is to be written.
func (e *Cases) open(ctx context.Context, p domain.Principal, a Application, now time.Time) (c *Case, w *domain.Writes, existing bool, err error) {
	svc, err := e.Service(a.Service)
	if err != nil {
		return nil, nil, false, err
	}
	if a.ID != "" {
		if a.ID, err = domain.ParseClientID(a.ID, "id"); err != nil {
			return nil, nil, false, err
		}
		if old, err := e.Get(ctx, p, a.ID); err == nil {
			return old, nil, true, nil
		} else if !domain.IsCode(err, domain.ENOTFOUND) {
			return nil, nil, false, err
		}
	}
	reg := &svc.Steps[0]
	c = &Case{Meta: domain.Meta{ID: a.ID}, Service: svc.Code, SubmittedAt: now, State: StateSubmitted, UpdatedAt: e.Now().UTC()}
	if c.ID == "" {
		c.ID = domain.NewID()
	}
	switch {
	case p.Role == domain.RoleFarmer:
		if a.Representative != nil {
			return nil, nil, false, domain.Invalid("representative", "a representative applies at the office with the power of attorney")
		}
		if a.ApplicantIIN != "" && a.ApplicantIIN != string(p.IIN) {
			return nil, nil, false, domain.Invalid("applicant_iin", "through your account you apply for yourself")
		}
		c.Applicant = Applicant{IIN: p.IIN, Channel: ChannelAccount}
	case p.Role == domain.RoleAdmin || slices.Contains(reg.Roles, p.Role):
		iin, err := domain.ParseIIN(a.ApplicantIIN)
		if err != nil {
			return nil, nil, false, domain.AtField("applicant_iin", err)
		}
		c.Applicant = Applicant{IIN: iin, Channel: ChannelOffice}
		if r := a.Representative; r != nil {
			rep, err := parseRepresentative(r, now)
			if err != nil {
				return nil, nil, false, err
			}
			if rep.IIN == iin {
				return nil, nil, false, domain.Invalid("representative.iin", "the representative is someone other than the applicant")
			}
			c.Applicant.Channel, c.Applicant.Representative = ChannelRepresentative, rep
		}
	default:
		return nil, nil, false, domain.Errorf(domain.EFORBIDDEN, "applications to this service are registered by %s", roleList(reg.Roles))
	}
	if c.Applicant.Name, err = domain.TrimmedText(a.ApplicantName, "applicant_name", MaxName, true); err != nil {
		return nil, nil, false, err
	}
	if c.Documents, err = textList("documents", a.Documents, 1, MaxDocuments, MaxDocName); err != nil {
		return nil, nil, false, err
	}
	// The service checks what the application is about, with the applicant's own rights: an
	// object the applicant does not own is not theirs to apply for.
	applicant := domain.Principal{Role: domain.RoleFarmer, IIN: c.Applicant.IIN}
	if svc.Open != nil {
		raw := a.Data
		if len(raw) == 0 {
			raw = json.RawMessage("{}")
		}
		if err := svc.Open(ctx, applicant, &Application{Data: raw}, c); err != nil {
			return nil, nil, false, err
		}
	}
	if len(c.Territory) != 9 {
		return nil, nil, false, domain.Internal("open case", fmt.Errorf("service %s left no territory", svc.Code))
	}
	w = &domain.Writes{}
	due, err := e.DueAfter(ctx, now, reg.TermOf(c))
	if err != nil {
		return nil, nil, false, err
	}
	c.Steps = []StepRecord{{Name: reg.Name, Start: now, Due: due.UTC()}}
	if p.Role != domain.RoleFarmer {
		if p.Role != domain.RoleAdmin && !p.CanSeeTerritory(c.Territory) {
			return nil, nil, false, domain.Errorf(domain.EFORBIDDEN, "you register applications within your own territory (%s)", p.Territory)
		}
		if err := e.register(ctx, p, svc, c, now, w); err != nil {
			return nil, nil, false, err
		}
	}
	return c, w, false, nil
}

// register does the register step: numbers the case, issues the talon into w and starts the next
// step. A talon already issued for the case (an attempt cut short) is adopted with its number.
func (e *Cases) register(ctx context.Context, p domain.Principal, svc *Service, c *Case, now time.Time, w *domain.Writes) error {
	talonID := domain.DerivedID("case", c.ID, "talon")
	name := e.actorName(ctx, p)
	var number string
	at := now
	talon, err := e.Documents.Get(ctx, talonID)
	if err == nil {
		var content struct {
			Application string `json:"application"`
		}
		_ = json.Unmarshal(talon.Content, &content)
		number, at = content.Application, talon.IssuedAt
	} else if !domain.IsCode(err, domain.ENOTFOUND) {
		return err
	} else {
		year := at.In(domain.Almaty).Year()
		unit := documents.UnitCode(domain.Kato(domain.AreaOf(c.Territory).District))
		seq, err := e.Store.Incr(ctx, fmt.Sprintf("case:%s:%d:%s", svc.Prefix, year, unit), 1, time.Time{})
		if err != nil {
			return err
		}
		number = fmt.Sprintf("%s-%04d-%s-%s", svc.Prefix, year, unit, domain.ZeroPad(seq, 6))
	}
	resultDue, err := e.plannedDue(ctx, svc, c, 1, at)
	if err != nil {
		return err
	}
	if talon == nil {
		talon, err = e.Documents.Prepare(ctx, documents.Draft{Type: documents.DocTalon, ID: talonID,
			Subject: e.docSubject(c), Issuer: e.issuer(p, name, c), Content: map[string]any{
				"service":        svc.Regulation,
				"application":    number,
				"registered_at":  at.In(domain.Almaty).Format("02.01.2006 15:04"),
				"accepted_by":    name,
				"result_due":     resultDue.Add(-time.Nanosecond).In(domain.Almaty).Format("02.01.2006"),
				"applicant":      applicantLine(c.Applicant),
				"representative": representativeLine(c.Applicant.Representative),
				"submitted":      c.Documents,
			}}, w)
		if err != nil {
			return err
		}
	}
	c.Registration = &Talon{Number: number, At: at, By: p.UserID, ByName: name, ResultDue: resultDue.UTC(),
		TalonID: talon.ID, TalonNo: talon.Number}
	c.State = StateOpen
	return e.finishStep(ctx, svc, c, p, name, at, nil, false)
}

// finishStep closes the pending step as done by p at now with what it recorded, and starts the
// next one (or ends the case after the last).
func (e *Cases) finishStep(ctx context.Context, svc *Service, c *Case, p domain.Principal, name string, now time.Time, record map[string]any, refused bool) error {
	s := &c.Steps[len(c.Steps)-1]
	end := now.UTC()
	s.End, s.Actor, s.ActorName, s.Refused = &end, p.UserID, name, refused
	if len(record) > 0 {
		s.Data = domain.MustJSON(record)
	}
	c.Current++
	if refused {
		c.State, c.EndedAt = StateRefused, &end
		return nil
	}
	if c.Current >= len(svc.Steps) {
		c.State, c.EndedAt = StateDone, &end
		return nil
	}
	next := &svc.Steps[c.Current]
	due, err := e.DueAfter(ctx, now, next.TermOf(c))
	if err != nil {
		return err
	}
	if svc.Total != nil && c.Registration != nil && c.Registration.ResultDue.Before(due) {
		due = c.Registration.ResultDue // the service's total term bounds every step
	}
	c.Steps = append(c.Steps, StepRecord{Name: next.Name, Start: end, Due: due.UTC()})
	return nil
}

// StepInput is what the actor of a step gives.
type StepInput struct {
	// ExecutorID names the executor, at an assign step.
	ExecutorID string
	// Refuse ends the case with a motivated refusal citing Ground (and Missing documents), at a
	// step that may refuse; at a completeness step Complete=false means the same.
	Refuse  bool
	Ground  string
	Missing []string
	// HandOver is "cabinet" or "in_person", at the hand-over.
	HandOver string
	// Data is the service's own input of the step.
	Data json.RawMessage
}

// Advance does step of case id. The step must be the case's next one (repeating the step just done
// answers the case as it is: a retried request), done by a role it names within its level and,
// where it says so, by the assigned executor. Everything is checked before anything is written;
// the step's writes and the case's update are one unit of work.
func (e *Cases) Advance(ctx context.Context, p domain.Principal, id, step string, in StepInput) (*Case, error) {
	var out *Case
	var after []func(context.Context) error
	err := domain.RetryCAS(ctx, func() error {
		after = nil
		c, err := e.Get(ctx, p, id)
		if err != nil {
			return domain.Final(err)
		}
		svc, err := e.Service(c.Service)
		if err != nil {
			return domain.Final(err)
		}
		def, idx := svc.step(step)
		if def == nil {
			return domain.Final(domain.Errorf(domain.ENOTFOUND, "service %s has no step %q", svc.Code, step))
		}
		if err := mayAct(p, c, def); err != nil {
			return domain.Final(err)
		}
		if idx < c.Current {
			if idx == c.Current-1 {
				out = c // the step just done: a retried request answers the case as it is
				if def.Done != nil && !(c.State == StateRefused) {
					after = append(after, func(ctx context.Context) error { return def.Done(ctx, c) })
				}
				return nil
			}
			if c.State.Ended() {
				return domain.Final(domain.Errorf(domain.EPRECONDITION, "the case %s has ended (%s): no step can be done on it", caseNo(c), c.State))
			}
			return domain.Final(domain.Errorf(domain.EPRECONDITION, "step %s of case %s is done already; the case is at %s", step, caseNo(c), svc.Steps[c.Current].Name))
		}
		if c.State.Ended() {
			return domain.Final(domain.Errorf(domain.EPRECONDITION, "the case %s has ended (%s): no step can be done on it", caseNo(c), c.State))
		}
		if idx > c.Current {
			return domain.Final(domain.Errorf(domain.EPRECONDITION, "out of order: case %s is at step %s, not %s", caseNo(c), svc.Steps[c.Current].Name, step))
		}
		run, err := e.doStep(ctx, p, svc, c, def, in, e.Now().UTC(), time.Time{}, &domain.Writes{})
		if err != nil {
			return domain.Final(err)
		}
		if err := e.save(ctx, c, run.Writes, &out); err != nil {
			return err
		}
		after = run.After
		if def.Done != nil && c.State != StateRefused {
			after = append(after, func(ctx context.Context) error { return def.Done(ctx, c) })
		}
		return nil
	}, "the case is changing concurrently; try again")
	if err != nil {
		return nil, err
	}
	for _, f := range after {
		if err := f(ctx); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// doStep does step def of c, the case's next one, as p at now into w: the engine's own work of
// the step's kind, then the refusal or the service's hook, and the step's close. synced is the
// server's time when now is a tablet's (ApplyOffline), zero otherwise.
func (e *Cases) doStep(ctx context.Context, p domain.Principal, svc *Service, c *Case, def *StepDef, in StepInput,
	now, synced time.Time, w *domain.Writes) (*Run, error) {
	name := e.actorName(ctx, p)
	run := &Run{Principal: p, ActorName: name, Case: c, Def: def, Input: in, Now: now, SyncedAt: synced, Writes: w,
		Record: map[string]any{}, Documents: e.Documents}
	switch def.Kind {
	case KindRegister:
		return run, e.register(ctx, p, svc, c, now, w)
	case KindAssign:
		ex, err := e.executor(ctx, svc, c, c.Current, in.ExecutorID)
		if err != nil {
			return nil, err
		}
		c.Executor = &Executor{UserID: ex.ID, Name: displayName(ex), At: now, By: p.UserID}
		run.Record["executor"] = c.Executor.Name
	case KindHandOver:
		if in.HandOver != HandCabinet && in.HandOver != HandInPerson {
			return nil, domain.Invalid("hand_over", "the result goes to the applicant's cabinet (cabinet) or is handed over in person (in_person)")
		}
		c.HandOver = &HandOver{How: in.HandOver, At: now, By: p.UserID}
		run.Record["hand_over"] = in.HandOver
	}
	refused := false
	if in.Refuse {
		if !def.MayRefuse {
			return nil, domain.Invalid("refuse", "step %s does not end in a refusal", def.Name)
		}
		if err := e.refuse(ctx, run, svc, name); err != nil {
			return nil, err
		}
		refused = true
	} else if def.Hook != nil {
		if err := def.Hook(ctx, run); err != nil {
			return nil, err
		}
	}
	c.Results = append(c.Results, run.Results...)
	if err := e.finishStep(ctx, svc, c, p, name, now, run.Record, refused); err != nil {
		return nil, err
	}
	return run, nil
}

// save appends the case's update to w, applies it and answers the case in out. A lost race — the
// case moved on, or a paper of the step issued by a concurrent attempt — runs the step again.
func (e *Cases) save(ctx context.Context, c *Case, w *domain.Writes, out **Case) error {
	c.UpdatedAt = e.Now().UTC()
	c.index()
	if err := domain.WriteUpdate(w, CasesSpec.Name, c, c.scope()); err != nil {
		return domain.Final(err)
	}
	if _, err := domain.ApplyWrites(ctx, e.Store, w); err != nil {
		if domain.IsCode(err, domain.ECONFLICT) && !domain.IsTemporary(err) {
			return domain.Again(err)
		}
		return domain.Final(err)
	}
	*out = c
	return nil
}

// refusalContent is what a motivated refusal prints; its fields are in the order of their names, so
// it encodes as the map it replaced did.
type refusalContent struct {
	Application     string           `json:"application"`
	ApplicationDate domain.CivilDate `json:"application_date"`
	Ground          string           `json:"ground"`
	Missing         []string         `json:"missing"`
	// Returned are the documents given back to the applicant with the refusal (StepDef.OnRefuse).
	Returned []string `json:"returned,omitempty"`
	Service  string   `json:"service"`
}

// refuse issues the motivated refusal of the step into the run's unit of work.
func (e *Cases) refuse(ctx context.Context, r *Run, svc *Service, name string) error {
	ground, err := domain.TrimmedLines(r.Input.Ground, "ground", MaxGround, false)
	if err != nil {
		return err
	}
	missing, err := textList("missing", r.Input.Missing, 0, MaxDocuments, MaxDocName)
	if err != nil {
		return err
	}
	c := r.Case
	content := refusalContent{Service: svc.Regulation, Application: caseNo(c), ApplicationDate: domain.CivilDateOf(c.Registration.At),
		Ground: ground, Missing: missing}
	if r.Def.OnRefuse != nil {
		if content.Returned, err = r.Def.OnRefuse(ctx, r); err != nil {
			return err
		}
	}
	doc, err := r.Adopt(ctx, documents.Draft{Type: documents.DocRefusal, ID: domain.DerivedID("case", c.ID, "refusal"),
		Subject: e.docSubject(c), Issuer: e.issuer(r.Principal, name, c), Content: content})
	if err != nil {
		return err
	}
	var paper struct {
		Ground  string   `json:"ground"`
		Missing []string `json:"missing"`
	}
	_ = json.Unmarshal(doc.Content, &paper)
	c.Refusal = &Refusal{Step: r.Def.Name, Ground: paper.Ground, Missing: paper.Missing, DocID: doc.ID, DocNo: doc.Number, At: r.Now}
	r.Results = append(r.Results, Result{Type: string(doc.Type), ID: doc.ID, Number: doc.Number})
	r.Record["refusal"] = doc.Number
	return nil
}

// executor checks the account the head names: active, of a role that does the executor's steps,
// working where the case is.
func (e *Cases) executor(ctx context.Context, svc *Service, c *Case, from int, id string) (*accounts.User, error) {
	if id == "" {
		return nil, domain.Invalid("executor_id", "name the executor")
	}
	u, err := e.Users.Get(ctx, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && u.Disabled) {
		return nil, domain.Invalid("executor_id", "no such active account")
	} else if err != nil {
		return nil, err
	}
	var roles []domain.Role
	for _, s := range svc.Steps[from+1:] {
		if s.ByExecutor {
			roles = s.Roles
			break
		}
	}
	if !slices.Contains(roles, u.Role) || !u.Principal().CanSeeTerritory(c.Territory) {
		return nil, domain.Invalid("executor_id", "the executor is a %s whose territory covers %s", roleList(roles), c.Territory)
	}
	return u, nil
}

// mayAct checks that p may do step def of c: a role the step names, at its level, and the assigned
// executor where the step says so. The case itself p can see (Get checked it).
func mayAct(p domain.Principal, c *Case, def *StepDef) error {
	if p.Role == domain.RoleAdmin {
		return nil
	}
	if p.Role == domain.RoleLaboratory {
		// A laboratory has no territory: it acts on the case while the case is with it.
		if !slices.Contains(def.Roles, p.Role) {
			return domain.Errorf(domain.EFORBIDDEN, "step %s is done by %s", def.Name, roleList(def.Roles))
		}
		if c.Laboratory != p.UserID {
			return domain.Errorf(domain.EFORBIDDEN, "the case %s was not sent to your laboratory for step %s", caseNo(c), def.Name)
		}
		return nil
	}
	if !slices.Contains(def.Roles, p.Role) || !p.CanSeeTerritory(c.Territory) {
		return domain.Errorf(domain.EFORBIDDEN, "step %s is done by %s", def.Name, roleList(def.Roles))
	}
	if def.Level == Oblast && p.Territory.Level() != 1 {
		return domain.Errorf(domain.EFORBIDDEN, "step %s is done by the oblast department", def.Name)
	}
	if def.ByExecutor && (c.Executor == nil || c.Executor.UserID != p.UserID) {
		return domain.Errorf(domain.EFORBIDDEN, "step %s is done by the executor the head assigned", def.Name)
	}
	return nil
}

// Get returns the case with id if p may see it; otherwise ENOTFOUND, so its existence does not leak.
func (e *Cases) Get(ctx context.Context, p domain.Principal, id string) (*Case, error) {
	c, err := domain.GetEntity[Case](ctx, e.Store, CasesSpec.Name, id)
	if domain.IsCode(err, domain.ENOTFOUND) || (err == nil && !c.VisibleTo(p)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such case")
	}
	return c, err
}

func (e *Cases) actorName(ctx context.Context, p domain.Principal) string {
	if u, err := e.Users.Get(ctx, p.UserID); err == nil {
		return displayName(u)
	}
	return p.Username
}

func displayName(u *accounts.User) string {
	if u.FullName != "" {
		return u.FullName
	}
	return u.Username
}

func (e *Cases) issuer(p domain.Principal, name string, c *Case) documents.Issuer {
	return documents.Issuer{UserID: p.UserID, Name: name, Unit: domain.Kato(domain.AreaOf(c.Territory).District)}
}

// docSubject is the subject of the case's papers: the case, kept by its territory and applicant.
func (e *Cases) docSubject(c *Case) documents.Subject {
	return documents.Subject{Kind: documents.SubjectCase, ID: c.ID, Name: c.Subject.Name, OwnerIIN: c.Applicant.IIN, Territory: c.Territory}
}

func caseNo(c *Case) string {
	if c.Registration != nil {
		return c.Registration.Number
	}
	return c.ID
}

func applicantLine(a Applicant) string {
	if a.Name != "" {
		return a.Name + ", " + string(a.IIN)
	}
	return string(a.IIN)
}

func representativeLine(r *Representative) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf("%s, %s (%s, %s)", r.Name, r.IIN, r.PowerOfAttorney, r.PowerOfAttorneyDate)
}

func parseRepresentative(r *RepresentativeInput, now time.Time) (*Representative, error) {
	iin, err := domain.ParseIIN(r.IIN)
	if err != nil {
		return nil, domain.AtField("representative.iin", err)
	}
	name, err := domain.TrimmedText(r.Name, "representative.name", MaxName, false)
	if err != nil {
		return nil, err
	}
	poa, err := domain.TrimmedText(r.PowerOfAttorney, "representative.power_of_attorney", 100, false)
	if err != nil {
		return nil, err
	}
	if r.PowerOfAttorneyDate.IsZero() || r.PowerOfAttorneyDate.Compare(domain.CivilDateOf(now)) > 0 {
		return nil, domain.Invalid("representative.power_of_attorney_date", "give the date of the power of attorney, not later than today")
	}
	return &Representative{IIN: iin, Name: name, PowerOfAttorney: poa, PowerOfAttorneyDate: r.PowerOfAttorneyDate}, nil
}

func roleList(roles []domain.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

// textList trims a list of short texts and checks its length and each item's.
func textList(field string, items []string, minItems, maxItems, maxLen int) ([]string, error) {
	if len(items) < minItems || len(items) > maxItems {
		return nil, domain.Invalid(field, "give %d to %d items", minItems, maxItems)
	}
	out := make([]string, 0, len(items))
	for i, s := range items {
		t, err := domain.TrimmedText(s, fmt.Sprintf("%s[%d]", field, i), maxLen, false)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
