// Package cases is the case engine of the state services of REGULATIONS.md: a service is
// declared as data (Service: its steps in order, each with who acts, its term in office minutes or
// hours, working days or calendar days, what it records, and whether it may end in a motivated
// refusal) and every application is a Case that the engine moves through those steps: registered
// with a talon, each step's actor, start, end and due time recorded, result documents and the
// hand-over, a journal per service in registration order (CSV too) and one overdue listing across
// services. A service package (domain/regnumber) declares its Service and supplies hooks for the
// work only it knows; the engine owns order, roles, territory, deadlines, refusals and the writes.
package cases

import (
	"context"
	"encoding/json"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
)

// Unit is the unit of a step's term.
type Unit string

// The units the regulations count in. Minutes and hours are office time (domain.Office): they run
// only on working days, within the office hours, outside the break. Working days are counted on
// the working calendar from the day after the step starts (0 is "the same day"). Calendar days are
// counted from the day after the step starts too; a last day that is not a working day moves to
// the next working day, as the Civil Code has it for every term.
const (
	Minutes      Unit = "minutes"
	Hours        Unit = "hours"
	WorkingDays  Unit = "working_days"
	CalendarDays Unit = "calendar_days"
)

// Term is a step's deadline: N of Unit.
type Term struct {
	N    int  `json:"n"`
	Unit Unit `json:"unit"`
}

// Level is the territorial level of the one who acts: the district (or city) department or the
// oblast's.
type Level string

// The levels.
const (
	District Level = "district"
	Oblast   Level = "oblast"
)

// Kind is what the engine itself does at a step; the service's Hook adds its own work.
type Kind string

// The kinds of steps.
const (
	// KindRegister: the office accepts the application and registers it; the talon is issued.
	// A case registered at the office starts with this step done; one submitted through the
	// applicant's account waits for it.
	KindRegister Kind = "register"
	// KindAssign: the head names the executor (StepInput.ExecutorID), who alone does the steps
	// marked ByExecutor afterwards.
	KindAssign Kind = "assign"
	// KindCompleteness: the executor checks the documents; incomplete ones end the case with a
	// motivated refusal.
	KindCompleteness Kind = "completeness"
	// KindWork: the service's own work, done by its Hook (an inspection, a number, a decision).
	KindWork Kind = "work"
	// KindHandOver: the result goes to the applicant's cabinet or is handed over; the case ends.
	KindHandOver Kind = "hand_over"
)

// Text is a name in Kazakh and Russian.
type Text struct {
	KK string `json:"kk"`
	RU string `json:"ru"`
}

// StepDef declares one step of a service.
type StepDef struct {
	// Name identifies the step in routes and records ("assign", "oblast").
	Name  string `json:"name"`
	Title Text   `json:"title"`
	Kind  Kind   `json:"kind"`
	// Roles may act at this step (admins always may: they stand for the republic); ByExecutor
	// narrows it to the executor the head assigned. Level is the department that acts: a district
	// step is done by staff whose territory covers the case's, an oblast step only by staff of the
	// whole oblast.
	Roles      []domain.Role `json:"roles"`
	ByExecutor bool          `json:"by_executor,omitempty"`
	Level      Level         `json:"level"`
	// Term is the step's deadline from its start; TermFor, when set, chooses it by the case (the
	// capital and cities of republican significance have 7 working days, not 3).
	Term    Term               `json:"term"`
	TermFor func(c *Case) Term `json:"-"`
	// TermNote says in words when TermFor departs from Term.
	TermNote string   `json:"term_note,omitempty"`
	Records  []string `json:"records,omitempty"`
	// MayRefuse says the step may end the case in a motivated refusal, with its ground.
	MayRefuse bool `json:"may_refuse,omitempty"`
	// Hook does the service's work of the step: it checks StepInput.Data, records what it found
	// and adds the writes of its result (documents through Documents.Prepare, its own records)
	// to the step's unit of work. It runs on every attempt (a retry after a crash, a lost race)
	// and must build the same writes again from what it reads: ids derived from the case, papers
	// adopted when already issued (Run.Adopt).
	Hook func(ctx context.Context, r *Run) error `json:"-"`
	// OnRefuse, when set, runs when the step ends in a refusal: it records what the service does
	// on a refusal and answers the documents returned to the applicant, which the refusal's paper
	// lists. Like Hook it must build the same again on a retry.
	OnRefuse func(ctx context.Context, r *Run) ([]string, error) `json:"-"`
	// Done, when set, runs once the step's unit of work is stored, and again whenever the step
	// just done is repeated (a retried request): a crash between the unit and it is finished by
	// the retry, which Run.After cannot promise. It must be safe to run again.
	Done func(ctx context.Context, c *Case) error `json:"-"`
}

// SupersedeResults is the Done of a step whose papers may replace earlier ones (a re-issue, a
// re-registration): it marks each paper a case's results supersede as superseded by it. Marking
// one already marked changes nothing, so a retry after a crash finishes it.
func SupersedeResults(docs *documents.Documents) func(ctx context.Context, c *Case) error {
	return func(ctx context.Context, c *Case) error {
		for _, res := range c.Results {
			doc, err := docs.Get(ctx, res.ID)
			if err != nil {
				return err
			}
			if doc.Supersedes == "" {
				continue
			}
			if err := docs.MarkSuperseded(ctx, doc.Supersedes, doc); err != nil {
				return err
			}
		}
		return nil
	}
}

// TermOf is the step's term for case c.
func (s *StepDef) TermOf(c *Case) Term {
	if s.TermFor != nil {
		return s.TermFor(c)
	}
	return s.Term
}

// Service declares a state service.
type Service struct {
	// Code names the service in routes and journals ("regnumber"); Prefix starts its case numbers.
	Code   string `json:"code"`
	Prefix string `json:"prefix"`
	Title  Text   `json:"title"`
	// Regulation is what the service follows, for the journal and the papers.
	Regulation string    `json:"regulation"`
	Steps      []StepDef `json:"steps"`
	// Total, when set, is the longest the whole service may take from the registration, where the
	// regulation gives one shorter than its steps' terms added up (a drug's registration: 96
	// calendar days, though its steps add up to about 103). The talon promises the result by then
	// at the latest, and no step is due after it.
	Total func(c *Case) Term `json:"-"`
	// Open checks an application for this service and fills the case's subject, territory and
	// Data from it; it is where the service refuses an object outside the applicant's ownership.
	Open func(ctx context.Context, p domain.Principal, a *Application, c *Case) error `json:"-"`
}

// step returns the step named name and its index, or -1.
func (s *Service) step(name string) (*StepDef, int) {
	for i := range s.Steps {
		if s.Steps[i].Name == name {
			return &s.Steps[i], i
		}
	}
	return nil, -1
}

// Run is one attempt at a step, as a Hook sees it.
type Run struct {
	Principal domain.Principal
	// ActorName is how the papers name the one who acts.
	ActorName string
	Case      *Case
	Def       *StepDef
	Input     StepInput
	Now       time.Time
	// SyncedAt is, for a step a tablet did offline (Cases.ApplyOffline), when it reached the
	// server: Now is then the tablet's time. Zero for a step done online.
	SyncedAt time.Time
	// Writes is the step's unit of work: the hook's writes come first, the case's own update last,
	// so any prefix a crash leaves is one the retry can resume from.
	Writes *domain.Writes
	// Record is what the step records, stored in the case's step record.
	Record map[string]any
	// Results are the result documents the step issued, named in the case.
	Results []Result
	// After runs once the step's unit of work is stored (a superseded paper marked as such); it
	// must be safe to run again.
	After []func(ctx context.Context) error
	// Documents issues the step's papers.
	Documents *documents.Documents
}

// Adopt prepares the paper of d in the step's unit of work, or, when a paper with d.ID already
// exists (an earlier attempt cut short), answers that one and adds nothing: the paper issued is
// the one the case names.
func (r *Run) Adopt(ctx context.Context, d documents.Draft) (*documents.Document, error) {
	if doc, err := r.Documents.Get(ctx, d.ID); err == nil {
		return doc, nil
	} else if !domain.IsCode(err, domain.ENOTFOUND) {
		return nil, err
	}
	return r.Documents.Prepare(ctx, d, r.Writes)
}

// DecodeData decodes the step's service-specific input into v; a malformed body is EINVALID at
// "data".
func (r *Run) DecodeData(v any) error {
	if len(r.Input.Data) == 0 {
		return domain.Invalid("data", "this step needs its data")
	}
	if err := json.Unmarshal(r.Input.Data, v); err != nil {
		return domain.Invalid("data", "the step's data do not match what it records")
	}
	return nil
}
