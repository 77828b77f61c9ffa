package cases

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// Channel is how an application came in.
type Channel string

// The channels.
const (
	// ChannelAccount: the applicant applied through their own account ("personal cabinet").
	ChannelAccount Channel = "account"
	// ChannelOffice: staff registered it at the office for the applicant.
	ChannelOffice Channel = "office"
	// ChannelRepresentative: a representative applied with a power of attorney.
	ChannelRepresentative Channel = "representative"
)

// Representative is who applies for the applicant with a power of attorney.
type Representative struct {
	IIN  domain.IIN `json:"iin"`
	Name string     `json:"name"`
	// PowerOfAttorney is the number and date of the power of attorney.
	PowerOfAttorney     string           `json:"power_of_attorney"`
	PowerOfAttorneyDate domain.CivilDate `json:"power_of_attorney_date"`
}

// Applicant is who the case is for: an individual (IIN) or a legal entity (BIN).
type Applicant struct {
	IIN            domain.IIN      `json:"iin"`
	Name           string          `json:"name,omitempty"`
	Channel        Channel         `json:"channel"`
	Representative *Representative `json:"representative,omitempty"`
}

// Subject is what the case is about: an object of the register, a consignment.
type About struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Registration is the office's registration mark: the talon.
type Talon struct {
	Number    string    `json:"number"`
	At        time.Time `json:"at"`
	By        string    `json:"by"`
	ByName    string    `json:"by_name"`
	ResultDue time.Time `json:"result_due"`
	TalonID   string    `json:"talon_id"`
	TalonNo   string    `json:"talon_number"`
}

// Executor is who the head assigned.
type Executor struct {
	UserID string    `json:"user_id"`
	Name   string    `json:"name"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
}

// StepRecord is one step as done: who did it, when it started and ended, when it was due, and what
// it recorded.
type StepRecord struct {
	Name      string          `json:"name"`
	Start     time.Time       `json:"start"`
	Due       time.Time       `json:"due"`
	End       *time.Time      `json:"end,omitempty"`
	Actor     string          `json:"actor,omitempty"`
	ActorName string          `json:"actor_name,omitempty"`
	Refused   bool            `json:"refused,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// Late reports whether the step missed its deadline: done at or after Due, or still pending at now.
func (s StepRecord) Late(now time.Time) bool {
	if s.End != nil {
		return !s.End.Before(s.Due)
	}
	return !now.Before(s.Due)
}

// Result is a document a case issued.
type Result struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Number string `json:"number"`
}

// Refusal is the motivated refusal that ended a case.
type Refusal struct {
	Step    string    `json:"step"`
	Ground  string    `json:"ground"`
	Missing []string  `json:"missing,omitempty"`
	DocID   string    `json:"doc_id"`
	DocNo   string    `json:"doc_number"`
	At      time.Time `json:"at"`
}

// HandOver is how the result reached the applicant.
type HandOver struct {
	How string    `json:"how"`
	At  time.Time `json:"at"`
	By  string    `json:"by"`
}

// The ways of handing over.
const (
	HandCabinet  = "cabinet"
	HandInPerson = "in_person"
)

// State is where a case stands.
type State string

// The states.
const (
	// StateSubmitted: applied through an account, waiting for the office to register it.
	StateSubmitted State = "submitted"
	StateOpen      State = "open"
	StateDone      State = "done"
	StateRefused   State = "refused"
)

// Ended reports whether the case is over.
func (s State) Ended() bool { return s == StateDone || s == StateRefused }

// Case is one application to a state service and everything done on it.
type Case struct {
	domain.Meta
	Service      string      `json:"service"`
	Territory    domain.Kato `json:"territory"`
	Applicant    Applicant   `json:"applicant"`
	Subject      About       `json:"subject"`
	Documents    []string    `json:"documents"`
	SubmittedAt  time.Time   `json:"submitted_at"`
	Registration *Talon      `json:"registration,omitempty"`
	State        State       `json:"state"`
	// Current is the index of the step to do next, len(Steps of the service) once ended.
	Current  int          `json:"current"`
	Steps    []StepRecord `json:"steps"`
	Executor *Executor    `json:"executor,omitempty"`
	Results  []Result     `json:"results"`
	Refusal  *Refusal     `json:"refusal,omitempty"`
	HandOver *HandOver    `json:"hand_over,omitempty"`
	// Laboratory is the account of the laboratory or research institution (domain.RoleLaboratory)
	// the case is with now, at the steps a laboratory does; Laboratories every one it was sent to,
	// who alone of their role may see it. The service's hooks set them (SendTo).
	Laboratory     string   `json:"laboratory,omitempty"`
	LaboratoryName string   `json:"laboratory_name,omitempty"`
	Laboratories   []string `json:"laboratories,omitempty"`
	// Data holds what the service keeps of the application (the object, the kind of request).
	Data    map[string]json.RawMessage `json:"data,omitempty"`
	EndedAt *time.Time                 `json:"ended_at,omitempty"`
	// Offline says the case was done on a tablet offline and synced later (Cases.ApplyOffline).
	Offline   *OfflineMark `json:"offline,omitempty"`
	UpdatedAt time.Time    `json:"updated_at"`

	// Indexed copies.
	domain.AreaKeys
	ApplicantKey string `json:"applicant_iin"`
	RegisteredMs int64  `json:"registered_ms"`
	// NextDueMs is the due time of the pending step, 0 when none is pending: the overdue list is
	// the range (0, now].
	NextDueMs int64  `json:"next_due_ms"`
	NumberKey string `json:"number_key"`
	LabKey    string `json:"lab_key"`
}

// OfflineMark records a case a tablet did offline: when by its clock, when it reached the server,
// and a digest of the tablet's request, which tells a retry from another request reusing the id.
type OfflineMark struct {
	At       time.Time `json:"at"`
	SyncedAt time.Time `json:"synced_at"`
	Request  string    `json:"request"`
}

// CasesSpec declares the cases of every service. Cases are office work and are not synced; the
// papers they issue reach tablets and cabinets as documents do.
var CasesSpec = domain.CollectionSpec{
	Name: "cases",
	Indexes: []domain.Index{
		{Name: "cases_number", Fields: []string{"number_key"}, Unique: true},
		{Name: "cases_applicant", Fields: []string{"applicant_iin", "registered_ms"}},
		{Name: "cases_journal_all", Fields: []string{"service", "registered_ms"}},
		{Name: "cases_journal_oblast", Fields: []string{"service", "oblast", "registered_ms"}},
		{Name: "cases_journal_district", Fields: []string{"service", "district", "registered_ms"}},
		{Name: "cases_reg_all", Fields: []string{"registered_ms"}},
		{Name: "cases_reg_oblast", Fields: []string{"oblast", "registered_ms"}},
		{Name: "cases_reg_district", Fields: []string{"district", "registered_ms"}},
		{Name: "cases_due_all", Fields: []string{"next_due_ms"}},
		{Name: "cases_due_oblast", Fields: []string{"oblast", "next_due_ms"}},
		{Name: "cases_due_district", Fields: []string{"district", "next_due_ms"}},
		{Name: "cases_lab", Fields: []string{"lab_key", "registered_ms"}},
	},
}

// VisibleTo reports whether p may read c: staff whose territory covers it, admins, the applicant,
// and a laboratory it was sent to.
func (c *Case) VisibleTo(p domain.Principal) bool {
	if p.Role == domain.RoleLaboratory {
		return p.UserID != "" && slices.Contains(c.Laboratories, p.UserID)
	}
	return p.CanSeeOwned(c.Territory, c.Applicant.IIN)
}

// Pending returns the step being worked on, if any.
func (c *Case) Pending() *StepRecord {
	if c.State.Ended() || len(c.Steps) == 0 {
		return nil
	}
	last := &c.Steps[len(c.Steps)-1]
	if last.End != nil {
		return nil
	}
	return last
}

// Overdue reports the pending step when it is past due at now.
func (c *Case) Overdue(now time.Time) *StepRecord {
	if s := c.Pending(); s != nil && s.Late(now) {
		return s
	}
	return nil
}

// Record returns the record of the step named name, or nil.
func (c *Case) Record(name string) *StepRecord {
	for i := range c.Steps {
		if c.Steps[i].Name == name {
			return &c.Steps[i]
		}
	}
	return nil
}

// SendTo hands the case to the laboratory account lab: it does the laboratory's steps from now on
// and may see the case ever after.
func (c *Case) SendTo(lab, name string) {
	c.Laboratory, c.LaboratoryName = lab, name
	if !slices.Contains(c.Laboratories, lab) {
		c.Laboratories = append(c.Laboratories, lab)
	}
}

// Release ends the case's stay with its laboratory: the office holds it again.
func (c *Case) Release() { c.Laboratory, c.LaboratoryName = "", "" }

// Holder is who holds the case now, for the journals: the laboratory it was sent to, else the
// executor the head assigned, else "" (the office).
func (c *Case) Holder() string {
	if c.Laboratory != "" {
		return c.LaboratoryName
	}
	if c.Executor != nil {
		return c.Executor.Name
	}
	return ""
}

// SetData stores v under key in the case's data.
func (c *Case) SetData(key string, v any) {
	if c.Data == nil {
		c.Data = map[string]json.RawMessage{}
	}
	c.Data[key] = domain.MustJSON(v)
}

// GetData decodes the case's data under key into v; false when absent.
func (c *Case) GetData(key string, v any) bool {
	raw, ok := c.Data[key]
	return ok && json.Unmarshal(raw, v) == nil
}

// index refreshes the indexed copies before a write.
func (c *Case) index() {
	c.AreaKeys = domain.AreaOf(c.Territory)
	c.ApplicantKey = string(c.Applicant.IIN)
	c.RegisteredMs, c.NumberKey = 0, "-"+c.ID
	if c.Registration != nil {
		c.RegisteredMs = c.Registration.At.UnixMilli()
		c.NumberKey = c.Registration.Number
	}
	c.LabKey = c.Laboratory
	c.NextDueMs = 0
	if s := c.Pending(); s != nil {
		c.NextDueMs = max(s.Due.UnixMilli(), 1)
	}
	if c.Results == nil {
		c.Results = []Result{}
	}
	c.Steps = slices.Clip(c.Steps)
}

// scope is nil: cases are not synced.
func (c *Case) scope() []string { return nil }
