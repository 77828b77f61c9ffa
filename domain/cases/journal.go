package cases

import (
	"context"
	"encoding/csv"
	"io"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// Filter selects cases to list.
type Filter struct {
	// Service narrows the list to one service.
	Service string
	// Territory narrows it to a territory within the caller's own.
	Territory domain.Kato
	// Overdue lists only cases whose pending step is past its deadline, across services, the
	// oldest deadline first.
	Overdue bool
	After   string
	Limit   int
}

// List pages through the cases p may see: an applicant their own, newest first; staff their
// territory's, newest first, or with Overdue those past a deadline. The territory is part of the
// query itself; a page may hold fewer than Limit when some were filtered out, and Next says
// whether more follow.
func (e *Cases) List(ctx context.Context, p domain.Principal, f Filter) ([]*Case, string, error) {
	if f.Service != "" {
		if _, err := e.Service(f.Service); err != nil {
			return nil, "", domain.Invalid("service", "no such service")
		}
	}
	territory, ok := e.territory(p, f.Territory)
	if !ok {
		return []*Case{}, "", nil
	}
	now := e.Now()
	suffix, eq := domain.AreaQuery(territory)
	var q domain.Query
	switch {
	case p.Role == domain.RoleFarmer:
		q = domain.Query{Index: "cases_applicant", Eq: []any{string(p.IIN)}, Desc: true}
	case p.Role == domain.RoleLaboratory:
		// A laboratory lists the cases that are with it now; one it has reported on stays
		// readable by its id.
		q = domain.Query{Index: "cases_lab", Eq: []any{p.UserID}, Desc: true}
	case f.Overdue:
		q = domain.Query{Index: "cases_due_" + suffix, Eq: eq, From: int64(1), To: now.UnixMilli() + 1}
	case f.Service != "":
		q = domain.Query{Index: "cases_journal_" + suffix, Eq: append([]any{f.Service}, eq...), Desc: true}
	default:
		q = domain.Query{Index: "cases_reg_" + suffix, Eq: eq, Desc: true}
	}
	q.After, q.Limit = f.After, f.Limit
	list, next, err := domain.ListEntities[Case](ctx, e.Store, CasesSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	out := list[:0]
	for _, c := range list {
		if !c.VisibleTo(p) || !territory.Covers(c.Territory) || (f.Service != "" && c.Service != f.Service) {
			continue
		}
		if f.Overdue && c.Overdue(now) == nil {
			continue
		}
		out = append(out, c)
	}
	return out, next, nil
}

// territory is the narrowest of the caller's territory and the one asked for.
func (e *Cases) territory(p domain.Principal, asked domain.Kato) (domain.Kato, bool) {
	own := p.Territory
	if p.Role == domain.RoleAdmin || p.Role == domain.RoleFarmer {
		own = ""
	}
	return domain.Narrowest(own, asked)
}

// Journal pages through a service's journal: its registered cases in registration order, within
// the caller's territory. Applicants have no journal; they list their own cases.
func (e *Cases) Journal(ctx context.Context, p domain.Principal, service string, t domain.Kato, after string, limit int) ([]*Case, string, error) {
	if _, err := e.Service(service); err != nil {
		return nil, "", err
	}
	if p.Role == domain.RoleFarmer || p.Role == domain.RoleLaboratory {
		return nil, "", domain.Errorf(domain.EFORBIDDEN, "the journal is kept by the office")
	}
	territory, ok := e.territory(p, t)
	if !ok {
		return []*Case{}, "", nil
	}
	suffix, eq := domain.AreaQuery(territory)
	q := domain.Query{Index: "cases_journal_" + suffix, Eq: append([]any{service}, eq...), From: int64(1), After: after, Limit: limit}
	list, next, err := domain.ListEntities[Case](ctx, e.Store, CasesSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	out := list[:0]
	for _, c := range list {
		if c.VisibleTo(p) && territory.Covers(c.Territory) {
			out = append(out, c)
		}
	}
	return out, next, nil
}

// MaxJournalRows bounds one CSV export.
const MaxJournalRows = 100_000

// journalHeader names the CSV columns in Kazakh and Russian.
var journalHeader = []string{
	"Р/с № / № п/п", "Өтініш нөмірі / Номер заявления", "Тіркелген уақыты / Дата и время регистрации",
	"Қабылдаған / Принял", "Өтініш беруші ЖСН/БСН / ИИН/БИН заявителя", "Өтініш беруші / Заявитель",
	"Өтініш беру тәсілі / Способ подачи", "Өтініш нысаны / Предмет", "Жай-күйі / Состояние",
	"Ағымдағы кезең / Текущий этап", "Орындаушы / Исполнитель", "Кезеңнің мерзімі / Срок этапа",
	"Нәтиже мерзімі / Срок результата", "Нәтиже / Результат", "Аяқталды / Завершено",
}

// WriteJournalCSV writes a service's journal in registration order as CSV, at most MaxJournalRows
// rows; times are Asia/Almaty.
func (e *Cases) WriteJournalCSV(ctx context.Context, p domain.Principal, service string, t domain.Kato, out io.Writer) error {
	if _, _, err := e.Journal(ctx, p, service, t, "", 1); err != nil {
		return err
	}
	w := csv.NewWriter(out)
	if err := w.Write(journalHeader); err != nil {
		return err
	}
	after, n := "", 0
	for {
		page, next, err := e.Journal(ctx, p, service, t, after, domain.MaxPageSize)
		if err != nil {
			return err
		}
		for _, c := range page {
			n++
			if n > MaxJournalRows {
				w.Flush()
				return w.Error()
			}
			if err := w.Write(journalRow(n, c)); err != nil {
				return err
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	w.Flush()
	return w.Error()
}

func journalRow(n int, c *Case) []string {
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(domain.Almaty).Format("02.01.2006 15:04")
	}
	row := []string{itoa(n), c.Registration.Number, at(c.Registration.At), c.Registration.ByName, string(c.Applicant.IIN),
		c.Applicant.Name, string(c.Applicant.Channel), c.Subject.Name, string(c.State), "", "", "",
		at(c.Registration.ResultDue.Add(-time.Nanosecond)), "", ""}
	if s := c.Pending(); s != nil {
		row[9], row[11] = s.Name, at(s.Due)
	}
	if !c.State.Ended() {
		row[10] = c.Holder()
	} else if c.Executor != nil {
		row[10] = c.Executor.Name
	}
	if len(c.Results) > 0 {
		row[13] = c.Results[len(c.Results)-1].Number
	}
	if c.EndedAt != nil {
		row[14] = at(*c.EndedAt)
	}
	return row
}

func itoa(n int) string { return domain.ZeroPad(int64(n), 1) }
