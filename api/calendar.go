package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
)

func (s *Server) registerCalendar() {
	register(s, huma.Operation{
		OperationID: "getCalendar", Method: http.MethodGet, Path: "/v1/calendar/{year}", Tags: []string{"calendar"},
		Summary: "The working calendar of a year",
		Description: "The year in force: the first day of Kurban Ait, the government's transfers of days off, and every " +
			"day off worked out from them with its reason. A year no administrator has set answers the built-in " +
			"default (version 0). Tablets get the same data through sync.",
	}, authenticated, s.getCalendar)
	register(s, huma.Operation{
		OperationID: "putCalendar", Method: http.MethodPut, Path: "/v1/calendar/{year}", Tags: []string{"calendar"},
		Summary: "Set a year's Kurban Ait and transfers of days off",
		Description: "Replaces the year's settings whole: kurban_ait null means the date is not announced yet. " +
			"A transfer makes a weekday (day_off) a day off and a Saturday or Sunday (working_day) a working day. " +
			"Deadlines computed afterwards use the new calendar. With If-Match (the ETag of a GET), the write is " +
			"refused with 409 if the year changed since.",
		Errors: []int{409},
	}, roles(domain.RoleAdmin), s.putCalendar)
}

// TransferView is one government transfer of a day off.
type TransferView struct {
	DayOff     domain.CivilDate `json:"day_off" format:"date" doc:"A weekday (Monday to Friday) that becomes a day off."`
	WorkingDay domain.CivilDate `json:"working_day" format:"date" doc:"A Saturday or Sunday that becomes a working day in exchange."`
	Note       string           `json:"note,omitempty" maxLength:"200" doc:"The decree, for whoever checks the calendar."`
}

// DayOffView is one day off with its reason.
type DayOffView struct {
	Date   domain.CivilDate `json:"date" format:"date"`
	Kind   string           `json:"kind" enum:"holiday,moved,transfer" doc:"holiday: a public holiday on its own date (listed on a weekend too); moved: the day off of a holiday that fell on a weekend; transfer: a government transfer."`
	NameKK string           `json:"name_kk"`
	NameRU string           `json:"name_ru"`
	// MovedFrom and WorkingDay are pointers so that they are absent, not "", when they do not apply.
	MovedFrom  *domain.CivilDate `json:"moved_from,omitempty" format:"date" doc:"For moved: the holiday's own date."`
	WorkingDay *domain.CivilDate `json:"working_day,omitempty" format:"date" doc:"For transfer: the weekend day worked instead."`
	Reason     string            `json:"reason" doc:"In English, e.g. \"Nauryz, Saturday 21 March, moved here\"."`
}

// CalendarView is a year of the working calendar as the API shows it.
type CalendarView struct {
	Year      int               `json:"year"`
	Version   int64             `json:"version" doc:"0 while the year is the built-in default."`
	KurbanAit *domain.CivilDate `json:"kurban_ait" format:"date" doc:"First day of Kurban Ait; null while it is not announced."`
	Transfers []TransferView    `json:"transfers"`
	Notes     string            `json:"notes,omitempty"`
	DaysOff   []DayOffView      `json:"days_off" doc:"In date order. Ordinary Saturdays and Sundays are not listed."`
	// ExtraWorkingDays are the weekend days that transfers make working days.
	ExtraWorkingDays []domain.CivilDate `json:"extra_working_days"`
	UpdatedAt        *time.Time         `json:"updated_at,omitempty"`
	UpdatedBy        string             `json:"updated_by,omitempty"`
}

type calendarOutput struct {
	ETag string `header:"ETag"`
	Body CalendarView
}

func viewCalendar(y *domain.CalendarYear) *calendarOutput {
	v := CalendarView{Year: y.Year, Version: y.Version, KurbanAit: y.KurbanAit, Notes: y.Notes,
		Transfers: make([]TransferView, 0, len(y.Transfers)), ExtraWorkingDays: y.ExtraWorkingDays(),
		UpdatedBy: y.UpdatedBy}
	if !y.UpdatedAt.IsZero() {
		v.UpdatedAt = &y.UpdatedAt
	}
	for _, t := range y.Transfers {
		v.Transfers = append(v.Transfers, TransferView{DayOff: t.DayOff, WorkingDay: t.WorkingDay, Note: t.Note})
	}
	days := y.DaysOff()
	v.DaysOff = make([]DayOffView, 0, len(days))
	for _, d := range days {
		v.DaysOff = append(v.DaysOff, DayOffView{Date: d.Date, Kind: string(d.Kind), NameKK: d.NameKK, NameRU: d.NameRU,
			MovedFrom: d.MovedFrom, WorkingDay: d.WorkingDay, Reason: d.Reason})
	}
	return &calendarOutput{ETag: `"` + strconv.FormatInt(y.Version, 10) + `"`, Body: v}
}

type calendarYearInput struct {
	Year int `path:"year" minimum:"2000" maximum:"2100"`
}

// getCalendar answers GET /v1/calendar/{year}.
func (s *Server) getCalendar(ctx context.Context, in *calendarYearInput) (*calendarOutput, error) {
	y, err := s.Calendar.Year(ctx, in.Year)
	if err != nil {
		return nil, err
	}
	return viewCalendar(y), nil
}

type putCalendarInput struct {
	Year    int    `path:"year" minimum:"2000" maximum:"2100"`
	IfMatch string `header:"If-Match" maxLength:"40" doc:"The ETag of a GET of this year."`
	Body    struct {
		KurbanAit *domain.CivilDate `json:"kurban_ait" required:"true" nullable:"true" format:"date" doc:"First day of Kurban Ait, or null while it is not announced."`
		Transfers []TransferView    `json:"transfers" maxItems:"20"`
		Notes     string            `json:"notes,omitempty" maxLength:"2000"`
	}
}

// putCalendar answers PUT /v1/calendar/{year}.
func (s *Server) putCalendar(ctx context.Context, in *putCalendarInput) (*calendarOutput, error) {
	ch := domain.CalendarChange{KurbanAit: in.Body.KurbanAit, Notes: in.Body.Notes,
		Transfers: make([]domain.DayTransfer, 0, len(in.Body.Transfers))}
	for _, t := range in.Body.Transfers {
		ch.Transfers = append(ch.Transfers, domain.DayTransfer{DayOff: t.DayOff, WorkingDay: t.WorkingDay, Note: t.Note})
	}
	if m := strings.TrimSpace(in.IfMatch); m != "" && m != "*" {
		v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(m, "W/"), `"`), 10, 64)
		if err != nil {
			return nil, domain.Invalid("header.If-Match", "If-Match takes the ETag of a GET of this year, like \"3\"")
		}
		ch.IfVersion = &v
	}
	y, err := s.Calendar.SetYear(ctx, in.Year, ch, principal(ctx).Username)
	if err != nil {
		return nil, err
	}
	return viewCalendar(y), nil
}
