// Package attestation runs the attestation of individuals and legal entities doing veterinary
// business (seed 000, service 5) on the case engine. Registration 30 min; the head sends the case
// to the commission within 30 min, naming the commission (chair, members, secretary) and the date
// of the attestation schedule; completeness is checked on the day of arrival; the commission holds
// the attestation on the scheduled date in one working day, in two stages: the test, then the
// interview (a failed test ends it: the interview is not held). The attestation sheet, signed by
// the commission, says attested, subject to re-attestation, or not attested. The waits are refusal
// grounds with their dates, checked when the application is made: a re-test no earlier than six
// months after the first test, a re-interview one month after the first, a new application one
// year after a fail. The register of attested persons lists those attested.
package attestation

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/registers"
)

// Code is the service's code; Register the public register's name.
const (
	Code     = "attestation"
	Register = "attested"
)

// Regulation is how papers name the service.
const Regulation = "attestation of persons doing veterinary business (service 5)"

// The requests.
const (
	// RequestAttestation: both stages, the test and the interview.
	RequestAttestation = "attestation"
	// RequestReinterview: the interview again, for one subject to re-attestation.
	RequestReinterview = "reinterview"
)

// The results of the attestation sheet.
const (
	Attested       = "attested"
	ReAttestation  = "re_attestation"
	NotAttested    = "not_attested"
	maxText        = 300
	maxMembers     = 15
	TestWaitMonths = 6
	// InterviewWaitMonths and FailWaitMonths are the other waits.
	InterviewWaitMonths = 1
	FailWaitMonths      = 12
)

// Application is the service's part of an application.
type Application struct {
	Request   string `json:"request"`
	Territory string `json:"territory"`
	// Activity is the veterinary business the applicant is attested for.
	Activity string `json:"activity"`
}

// Commission is who sits.
type Commission struct {
	Chair     string           `json:"chair"`
	Members   []string         `json:"members"`
	Secretary string           `json:"secretary"`
	Date      domain.CivilDate `json:"date"`
}

// Person is an applicant's attestation record, by IIN: when they were last tested and interviewed
// and how it ended, from which the waits are counted.
type Person struct {
	domain.Meta
	IIN           domain.IIN        `json:"iin"`
	Name          string            `json:"name"`
	Activity      string            `json:"activity"`
	Territory     domain.Kato       `json:"territory"`
	LastTest      *domain.CivilDate `json:"last_test,omitempty"`
	TestFailed    bool              `json:"test_failed"`
	LastInterview *domain.CivilDate `json:"last_interview,omitempty"`
	Result        string            `json:"result"`
	ResultOn      domain.CivilDate  `json:"result_on"`
	SheetID       string            `json:"sheet_id"`
	SheetNo       string            `json:"sheet_number"`
	CaseIDs       []string          `json:"case_ids"`
	UpdatedAt     time.Time         `json:"updated_at"`

	// Indexed copies: Listed is "1" for the attested, whom the public register lists.
	Listed  string `json:"listed"`
	NameKey string `json:"name_key"`
}

// PersonsSpec declares the attestation records.
var PersonsSpec = domain.CollectionSpec{
	Name:    "attestation_persons",
	Indexes: []domain.Index{{Name: "attested_all", Fields: []string{"listed", "sheet_number"}}},
}

// Specs are the collections of the service.
var Specs = []domain.CollectionSpec{PersonsSpec}

// Service runs the attestation.
type Service struct {
	Store     domain.Store
	Now       domain.Clock
	Documents *documents.Documents
	Def       *cases.Service
}

// New declares the service on engine e.
func New(store domain.Store, now domain.Clock, docs *documents.Documents, e *cases.Cases) *Service {
	s := &Service{Store: store, Now: now, Documents: docs}
	s.Def = s.definition()
	e.Declare(s.Def)
	return s
}

func personID(iin domain.IIN) string { return domain.DerivedID("attestee", string(iin)) }

// Person returns the record of iin, or ENOTFOUND.
func (s *Service) Person(ctx context.Context, iin domain.IIN) (*Person, error) {
	return domain.GetEntity[Person](ctx, s.Store, PersonsSpec.Name, personID(iin))
}

// AddMonths is d n months later, on the same day or the month's last day when it has none.
func AddMonths(d domain.CivilDate, n int) domain.CivilDate {
	first := time.Date(d.Year(), d.Month()+time.Month(n), 1, 12, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return domain.CivilDateOf(time.Date(first.Year(), first.Month(), min(d.Day(), last), 12, 0, 0, 0, domain.Almaty))
}

func (s *Service) definition() *cases.Service {
	office := []domain.Role{domain.RoleVet, domain.RoleInspector, domain.RoleHead}
	head := []domain.Role{domain.RoleHead}
	return &cases.Service{Code: Code, Prefix: "ATT", Regulation: Regulation,
		Title: cases.Text{KK: "Ветеринария саласында кәсіпкерлік қызметті жүзеге асыратын тұлғаларды аттестаттау",
			RU: "Аттестация лиц, осуществляющих предпринимательскую деятельность в области ветеринарии"},
		Open: s.open,
		Steps: []cases.StepDef{
			{Name: "register", Kind: cases.KindRegister, Roles: office, Level: cases.District,
				Title: cases.Text{KK: "Өтінішті тіркеу", RU: "Регистрация заявления"},
				Term:  cases.Term{N: 30, Unit: cases.Minutes}, Records: []string{"talon"}},
			{Name: "commission", Kind: cases.KindWork, Roles: head, Level: cases.District,
				Title: cases.Text{KK: "Басшы комиссияға жолдайды (аттестаттау кестесі)", RU: "Руководитель направляет в комиссию (график аттестации)"},
				Term:  cases.Term{N: 30, Unit: cases.Minutes}, Records: []string{"chair", "members", "secretary", "date"}, Hook: s.commission},
			{Name: "completeness", Kind: cases.KindCompleteness, Roles: office, Level: cases.District,
				Title: cases.Text{KK: "Құжаттардың толықтығын тексеру (келген күні)", RU: "Проверка полноты документов (в день поступления)"},
				Term:  cases.Term{N: 0, Unit: cases.WorkingDays}, MayRefuse: true, Records: []string{"refusal"}},
			{Name: "test", Kind: cases.KindWork, Roles: office, Level: cases.District,
				Title: cases.Text{KK: "Бірінші кезең: тестілеу", RU: "Первый этап: тестирование"},
				Term:  cases.Term{N: 0, Unit: cases.CalendarDays}, TermFor: untilSchedule,
				TermNote: "on the date of the attestation schedule the head named",
				Records:  []string{"held", "score", "passed"}, Hook: s.test},
			{Name: "interview", Kind: cases.KindWork, Roles: office, Level: cases.District,
				Title: cases.Text{KK: "Екінші кезең: әңгімелесу", RU: "Второй этап: собеседование"},
				Term:  cases.Term{N: 0, Unit: cases.WorkingDays}, TermNote: "the same working day as the test",
				Records: []string{"held", "passed", "notes"}, Hook: s.interview},
			{Name: "sheet", Kind: cases.KindWork, Roles: office, Level: cases.District,
				Title: cases.Text{KK: "Аттестаттау парағы (комиссия қол қояды)", RU: "Аттестационный лист (подписывает комиссия)"},
				Term:  cases.Term{N: 0, Unit: cases.WorkingDays}, Records: []string{"result", "sheet"}, Hook: s.sheet},
			{Name: "hand_over", Kind: cases.KindHandOver, Roles: office, Level: cases.District,
				Title: cases.Text{KK: "Аттестаттау парағын беру", RU: "Выдача аттестационного листа"},
				Term:  cases.Term{N: 30, Unit: cases.Minutes}, Records: []string{"hand_over"}},
		}}
}

// untilSchedule is the test's term: until the scheduled date.
func untilSchedule(c *cases.Case) cases.Term {
	var com Commission
	if !c.GetData("commission", &com) || len(c.Steps) == 0 || c.Steps[len(c.Steps)-1].End == nil {
		return cases.Term{N: 0, Unit: cases.CalendarDays}
	}
	from := domain.CivilDateOf(*c.Steps[len(c.Steps)-1].End)
	n := 0
	for d := from; d.Compare(com.Date) < 0 && n < 400; d = d.AddDays(1) {
		n++
	}
	return cases.Term{N: n, Unit: cases.CalendarDays}
}

func (s *Service) open(ctx context.Context, applicant domain.Principal, a *cases.Application, c *cases.Case) error {
	var app Application
	r := cases.Run{Input: cases.StepInput{Data: a.Data}}
	if err := r.DecodeData(&app); err != nil {
		return err
	}
	var err error
	if app.Activity, err = domain.TrimmedText(app.Activity, "data.activity", maxText, false); err != nil {
		return err
	}
	t, err := domain.ParseKato(app.Territory)
	if err != nil || len(t) != 9 {
		return domain.Invalid("data.territory", "give the KATO code of the applicant's location (9 digits)")
	}
	app.Territory = string(t)
	today := domain.CivilDateOf(s.Now())
	p, err := s.Person(ctx, applicant.IIN)
	if err != nil && !domain.IsCode(err, domain.ENOTFOUND) {
		return err
	}
	switch app.Request {
	case RequestAttestation:
		if p != nil {
			// Not attested at the interview: a year's wait; a failed test waits six months for the
			// re-test instead.
			if p.Result == NotAttested && !p.TestFailed {
				if from := AddMonths(p.ResultOn, FailWaitMonths); today.Compare(from) < 0 {
					return domain.Errorf(domain.EPRECONDITION, "not attested on %s: a new application is accepted from %s (one year after)", p.ResultOn, from)
				}
			}
			if p.TestFailed && p.LastTest != nil {
				if from := AddMonths(*p.LastTest, TestWaitMonths); today.Compare(from) < 0 {
					return domain.Errorf(domain.EPRECONDITION, "the test of %s was failed: a re-test is held no earlier than %s (six months after)", *p.LastTest, from)
				}
			}
		}
	case RequestReinterview:
		if p == nil || p.Result != ReAttestation {
			return domain.Errorf(domain.EPRECONDITION, "a re-interview is for one found subject to re-attestation")
		}
		if p.LastInterview == nil {
			return domain.Errorf(domain.EPRECONDITION, "a re-interview follows an interview")
		}
		if from := AddMonths(*p.LastInterview, InterviewWaitMonths); today.Compare(from) < 0 {
			return domain.Errorf(domain.EPRECONDITION, "the interview of %s: a re-interview is held no earlier than %s (one month after)", *p.LastInterview, from)
		}
	default:
		return domain.Invalid("data.request", "the request is attestation or reinterview")
	}
	c.Territory = t
	c.Subject = cases.About{Kind: "attestee", ID: personID(applicant.IIN), Name: c.Applicant.Name}
	c.SetData("application", app)
	return nil
}

func (s *Service) commission(_ context.Context, r *cases.Run) error {
	var com Commission
	if err := r.DecodeData(&com); err != nil {
		return err
	}
	var err error
	if com.Chair, err = domain.TrimmedText(com.Chair, "data.chair", maxText, false); err != nil {
		return err
	}
	if com.Secretary, err = domain.TrimmedText(com.Secretary, "data.secretary", maxText, false); err != nil {
		return err
	}
	if len(com.Members) < 1 || len(com.Members) > maxMembers {
		return domain.Invalid("data.members", "name 1 to %d members of the commission", maxMembers)
	}
	for i := range com.Members {
		if com.Members[i], err = domain.TrimmedText(com.Members[i], fmt.Sprintf("data.members[%d]", i), maxText, false); err != nil {
			return err
		}
	}
	today := domain.CivilDateOf(r.Now)
	if com.Date.IsZero() || com.Date.Compare(today) < 0 || com.Date.Compare(today.AddDays(366)) > 0 {
		return domain.Invalid("data.date", "the date of the attestation schedule is today or later, within a year")
	}
	r.Case.SetData("commission", com)
	r.Record["chair"], r.Record["members"], r.Record["secretary"], r.Record["date"] = com.Chair, com.Members, com.Secretary, com.Date
	return nil
}

func (s *Service) scheduled(r *cases.Run) error {
	var com Commission
	r.Case.GetData("commission", &com)
	if today := domain.CivilDateOf(r.Now); today.Compare(com.Date) != 0 {
		return domain.Errorf(domain.EPRECONDITION, "the commission sits on %s by the attestation schedule, not on %s", com.Date, today)
	}
	return nil
}

func (s *Service) test(_ context.Context, r *cases.Run) error {
	var app Application
	r.Case.GetData("application", &app)
	if app.Request == RequestReinterview {
		r.Record["held"] = false
		return nil
	}
	if err := s.scheduled(r); err != nil {
		return err
	}
	var in struct {
		Score  string `json:"score"`
		Passed *bool  `json:"passed"`
	}
	if err := r.DecodeData(&in); err != nil {
		return err
	}
	score, err := domain.TrimmedText(in.Score, "data.score", 50, false)
	if err != nil {
		return err
	}
	if in.Passed == nil {
		return domain.Invalid("data.passed", "say whether the test was passed")
	}
	r.Record["held"], r.Record["score"], r.Record["passed"] = true, score, *in.Passed
	r.Case.SetData("test", map[string]any{"score": score, "passed": *in.Passed, "on": domain.CivilDateOf(r.Now)})
	return nil
}

func testFailed(c *cases.Case) bool {
	var t struct {
		Passed *bool `json:"passed"`
	}
	return c.GetData("test", &t) && t.Passed != nil && !*t.Passed
}

func (s *Service) interview(_ context.Context, r *cases.Run) error {
	if testFailed(r.Case) {
		if len(r.Input.Data) > 0 && string(r.Input.Data) != "{}" {
			return domain.Invalid("data", "the test was failed: the interview is not held")
		}
		r.Record["held"] = false
		return nil
	}
	if err := s.scheduled(r); err != nil {
		return err
	}
	var in struct {
		Passed *bool  `json:"passed"`
		Notes  string `json:"notes"`
	}
	if err := r.DecodeData(&in); err != nil {
		return err
	}
	notes, err := domain.TrimmedLines(in.Notes, "data.notes", 2000, true)
	if err != nil {
		return err
	}
	if in.Passed == nil {
		return domain.Invalid("data.passed", "say how the interview went")
	}
	r.Record["held"], r.Record["passed"] = true, *in.Passed
	if notes != "" {
		r.Record["notes"] = notes
	}
	r.Case.SetData("interview", map[string]any{"passed": *in.Passed, "on": domain.CivilDateOf(r.Now)})
	return nil
}

// sheetContent is what the attestation sheet prints.
type sheetContent struct {
	Service         string   `json:"service"`
	Result          string   `json:"result"`
	Application     string   `json:"application"`
	ApplicationDate string   `json:"application_date"`
	Applicant       string   `json:"applicant"`
	Activity        string   `json:"activity"`
	Chair           string   `json:"chair"`
	Members         []string `json:"members"`
	Secretary       string   `json:"secretary"`
	AttestedOn      string   `json:"attested_on"`
	TestResult      string   `json:"test_result,omitempty"`
	InterviewResult string   `json:"interview_result,omitempty"`
}

// sheet draws up the attestation sheet the commission signs, and updates the applicant's record.
func (s *Service) sheet(ctx context.Context, r *cases.Run) error {
	var in struct {
		Result string `json:"result"`
	}
	if err := r.DecodeData(&in); err != nil {
		return err
	}
	c := r.Case
	failed := testFailed(c)
	switch {
	case in.Result != Attested && in.Result != ReAttestation && in.Result != NotAttested:
		return domain.Invalid("data.result", "the result is attested, re_attestation or not_attested")
	case failed && in.Result != NotAttested:
		return domain.Invalid("data.result", "the test was failed: the applicant is not attested")
	}
	var app Application
	var com Commission
	var test struct {
		Score  string           `json:"score"`
		Passed bool             `json:"passed"`
		On     domain.CivilDate `json:"on"`
	}
	var iv struct {
		Passed bool             `json:"passed"`
		On     domain.CivilDate `json:"on"`
	}
	c.GetData("application", &app)
	c.GetData("commission", &com)
	hadTest, hadInterview := c.GetData("test", &test), c.GetData("interview", &iv)
	content := sheetContent{Service: Regulation, Result: in.Result, Application: c.Registration.Number,
		ApplicationDate: domain.CivilDateOf(c.Registration.At).String(), Applicant: strings.TrimSpace(c.Applicant.Name + " " + string(c.Applicant.IIN)),
		Activity: app.Activity, Chair: com.Chair, Members: com.Members, Secretary: com.Secretary, AttestedOn: com.Date.String()}
	if hadTest {
		content.TestResult = test.Score
	}
	if hadInterview {
		content.InterviewResult = map[bool]string{true: "passed", false: "failed"}[iv.Passed]
	}
	doc, err := r.Adopt(ctx, documents.Draft{Type: documents.DocAttestation, ID: domain.DerivedID("case", c.ID, "sheet"),
		Subject: documents.Subject{Kind: documents.SubjectApplicant, ID: c.Subject.ID, Name: c.Applicant.Name, OwnerIIN: c.Applicant.IIN, Territory: c.Territory},
		Issuer:  documents.Issuer{UserID: r.Principal.UserID, Name: com.Chair, Unit: domain.Kato(domain.AreaOf(c.Territory).District)},
		Content: content})
	if err != nil {
		return err
	}
	p, err := s.Person(ctx, c.Applicant.IIN)
	if err != nil && !domain.IsCode(err, domain.ENOTFOUND) {
		return err
	}
	fresh := p == nil
	if fresh {
		p = &Person{Meta: domain.Meta{ID: personID(c.Applicant.IIN)}, IIN: c.Applicant.IIN}
	}
	if p.SheetID != doc.ID {
		p.Name, p.Activity, p.Territory = c.Applicant.Name, app.Activity, c.Territory
		if hadTest {
			on := test.On
			p.LastTest, p.TestFailed = &on, !test.Passed
		}
		if hadInterview {
			on := iv.On
			p.LastInterview = &on
		}
		p.Result, p.ResultOn, p.SheetID, p.SheetNo, p.UpdatedAt = in.Result, domain.CivilDateOf(r.Now), doc.ID, doc.Number, r.Now
		p.CaseIDs = append(p.CaseIDs, c.ID)
		p.Listed, p.NameKey = "0", strings.ToLower(p.Name)
		if in.Result == Attested {
			p.Listed = "1"
		}
		if fresh {
			err = domain.WriteInsert(r.Writes, PersonsSpec.Name, p, nil)
		} else {
			err = domain.WriteUpdate(r.Writes, PersonsSpec.Name, p, nil)
		}
		if err != nil {
			return err
		}
	}
	r.Record["result"], r.Record["sheet"] = in.Result, doc.Number
	r.Results = append(r.Results, cases.Result{Type: string(doc.Type), ID: doc.ID, Number: doc.Number})
	return nil
}

// List pages through the register of attested persons; q keeps names or sheet numbers containing it.
func (s *Service) List(ctx context.Context, q, after string, limit int) ([]*Person, string, error) {
	q = strings.ToLower(strings.TrimSpace(q))
	return registers.Search(ctx, s.Store, PersonsSpec.Name, domain.Query{Index: "attested_all", Eq: []any{"1"}, After: after}, limit,
		func(p *Person) bool {
			return q == "" || strings.Contains(p.NameKey, q) || strings.Contains(strings.ToLower(p.SheetNo), q)
		})
}
