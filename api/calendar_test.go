package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
)

// calendarVetToken creates a vet and returns their access token.
func (e *env) calendarVetToken() string {
	e.t.Helper()
	e.createUser(map[string]any{"username": "vet.calendar", "password": "vet-password-1", "role": "vet", "territory": "313200000"})
	return e.login("vet.calendar", "vet-password-1").AccessToken
}

func calendarDayOff(v api.CalendarView, date string) (api.DayOffView, bool) {
	for _, d := range v.DaysOff {
		if d.Date.String() == date {
			return d, true
		}
	}
	return api.DayOffView{}, false
}

func TestCalendar(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	vet := e.calendarVetToken()

	t.Run("GetAsVet", func(t *testing.T) {
		r := e.do("GET", "/v1/calendar/2026", vet, nil).expect(t, 200)
		var v api.CalendarView
		r.JSON(t, &v)
		if got, want := r.Header.Get("ETag"), `"0"`; got != want {
			t.Errorf("ETag %s, want %s for the built-in year", got, want)
		}
		if v.Year != 2026 || v.Version != 0 || v.KurbanAit == nil || v.KurbanAit.String() != "2026-05-27" ||
			len(v.Transfers) != 0 || len(v.ExtraWorkingDays) != 0 {
			t.Errorf("2026 is %+v", v)
		}
		cases := []struct{ date, kind, movedFrom string }{
			{"2026-01-01", "holiday", ""},
			{"2026-03-09", "moved", "2026-03-08"},
			{"2026-03-24", "moved", "2026-03-21"},
			{"2026-03-25", "moved", "2026-03-22"},
			{"2026-05-11", "moved", "2026-05-09"},
			{"2026-05-27", "holiday", ""},
			{"2026-12-16", "holiday", ""},
		}
		for _, c := range cases {
			d, ok := calendarDayOff(v, c.date)
			if !ok {
				t.Errorf("%s is not a day off", c.date)
				continue
			}
			movedFrom := ""
			if d.MovedFrom != nil {
				movedFrom = d.MovedFrom.String()
			}
			if got, want := d.Kind+" "+movedFrom, c.kind+" "+c.movedFrom; got != want {
				t.Errorf("%s is %q, want %q", c.date, got, want)
			}
		}
		if _, ok := calendarDayOff(v, "2026-03-26"); ok {
			t.Error("26 March 2026 is listed as a day off")
		}
		// Pin the shape tablets read.
		for _, want := range []string{`"kurban_ait":"2026-05-27"`, `"transfers":[]`, `"extra_working_days":[]`,
			`{"date":"2026-03-24","kind":"moved","name_kk":"Наурыз мейрамы","name_ru":"Наурыз мейрамы","moved_from":"2026-03-21","reason":"Nauryz, Saturday 21 March, moved here"}`} {
			if !strings.Contains(string(r.Body), want) {
				t.Errorf("body lacks %s:\n%s", want, r.Body)
			}
		}
		var unknown api.CalendarView
		e.do("GET", "/v1/calendar/2031", vet, nil).expect(t, 200).JSON(t, &unknown)
		if unknown.KurbanAit != nil {
			t.Errorf("2031 has Kurban Ait %s; nobody knows it yet", unknown.KurbanAit)
		}
		e.do("GET", "/v1/calendar/2026", "", nil).expectProblem(t, 401)
		e.do("GET", "/v1/calendar/1999", vet, nil).expectProblem(t, 422)
		e.do("GET", "/v1/calendar/2101", vet, nil).expectProblem(t, 422)
	})

	transfer := map[string]any{"kurban_ait": "2026-05-27", "transfers": []map[string]any{
		{"day_off": "2026-05-08", "working_day": "2026-05-16", "note": "decree (test)"},
	}}

	t.Run("PutAsVetForbidden", func(t *testing.T) {
		e.do("PUT", "/v1/calendar/2026", vet, transfer).expectProblem(t, 403)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		cases := []struct {
			name  string
			path  string
			body  map[string]any
			field string
		}{
			{"SaturdayAsDayOff", "/v1/calendar/2026", map[string]any{"kurban_ait": "2026-05-27", "transfers": []map[string]any{
				{"day_off": "2026-03-07", "working_day": "2026-03-14"}}}, "body.transfers[0].day_off"},
			{"DayOffOutsideTheYear", "/v1/calendar/2026", map[string]any{"kurban_ait": "2026-05-27", "transfers": []map[string]any{
				{"day_off": "2027-01-04", "working_day": "2026-12-26"}}}, "body.transfers[0].day_off"},
			{"KurbanAitOutsideTheYear", "/v1/calendar/2026", map[string]any{"kurban_ait": "2025-06-06", "transfers": []any{}}, "body.kurban_ait"},
			{"WeekdayAsWorkingDay", "/v1/calendar/2026", map[string]any{"kurban_ait": nil, "transfers": []map[string]any{
				{"day_off": "2026-05-08", "working_day": "2026-05-15"}}}, "body.transfers[0].working_day"},
			{"Duplicate", "/v1/calendar/2026", map[string]any{"kurban_ait": nil, "transfers": []map[string]any{
				{"day_off": "2026-05-08", "working_day": "2026-05-16"}, {"day_off": "2026-05-08", "working_day": "2026-05-23"}}}, "body.transfers[1].day_off"},
			{"NotADate", "/v1/calendar/2026", map[string]any{"kurban_ait": "2026-02-30", "transfers": []any{}}, "body.kurban_ait"},
			// huma names a missing property in the message, at the location of its parent.
			{"KurbanAitMissing", "/v1/calendar/2026", map[string]any{"transfers": []any{}}, "body"},
			{"YearOutOfRange", "/v1/calendar/2101", map[string]any{"kurban_ait": nil, "transfers": []any{}}, "path.year"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p := e.do("PUT", c.path, e.admin, c.body).expectProblem(t, 422)
				found := false
				for _, d := range p.Errors {
					found = found || d.Location == c.field && (c.field != "body" || strings.Contains(d.Message, "kurban_ait"))
				}
				if !found {
					t.Errorf("problem %+v does not name %s", p, c.field)
				}
			})
		}
		var v api.CalendarView
		e.do("GET", "/v1/calendar/2026", vet, nil).expect(t, 200).JSON(t, &v)
		if v.Version != 0 {
			t.Errorf("a refused PUT wrote the year: %+v", v)
		}
	})

	t.Run("PutChangesLaterDeadlines", func(t *testing.T) {
		// Before: 8 May 2026, the Friday between Defender's Day and Victory Day, is a working day.
		var before api.CalendarView
		e.do("GET", "/v1/calendar/2026", vet, nil).expect(t, 200).JSON(t, &before)
		if _, ok := calendarDayOff(before, "2026-05-08"); ok {
			t.Fatal("8 May 2026 is off before the transfer")
		}
		due, err := e.calendarDue("2026-05-06", 1)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := due, "2026-05-08"; got != want {
			t.Fatalf("before: due end of %s, want %s", got, want)
		}

		r := e.do("PUT", "/v1/calendar/2026", e.admin, transfer, "If-Match", `"0"`).expect(t, 200)
		var after api.CalendarView
		r.JSON(t, &after)
		if got, want := r.Header.Get("ETag"), `"1"`; got != want {
			t.Errorf("ETag %s, want %s", got, want)
		}
		if after.Version != 1 || after.UpdatedBy != "admin" || after.UpdatedAt == nil || len(after.Transfers) != 1 ||
			len(after.ExtraWorkingDays) != 1 || after.ExtraWorkingDays[0].String() != "2026-05-16" {
			t.Errorf("after the PUT: %+v", after)
		}
		d, ok := calendarDayOff(after, "2026-05-08")
		if !ok || d.Kind != "transfer" || d.WorkingDay == nil || d.WorkingDay.String() != "2026-05-16" {
			t.Errorf("8 May after the transfer: %+v", d)
		}
		due, err = e.calendarDue("2026-05-06", 1)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := due, "2026-05-12"; got != want {
			t.Errorf("after: due end of %s, want %s", got, want)
		}

		// The same If-Match again is stale now.
		e.do("PUT", "/v1/calendar/2026", e.admin, transfer, "If-Match", `"0"`).expectProblem(t, 409)
		e.do("PUT", "/v1/calendar/2026", e.admin, transfer, "If-Match", `garbage`).expectProblem(t, 422)
		e.do("PUT", "/v1/calendar/2026", e.admin, transfer).expect(t, 200)
	})
}

// calendarDue is the last day of "within n working days from day", by the server's calendar, as
// a service that computes a deadline after the PUT would see it.
func (e *env) calendarDue(day string, n int) (string, error) {
	start, err := domain.ParseCivilDate(day)
	if err != nil {
		return "", err
	}
	due, err := e.srv.Calendar.DueAfter(e.t.Context(), start.Start().Add(10*time.Hour), n)
	if err != nil {
		return "", err
	}
	return domain.CivilDateOf(due.Add(-time.Nanosecond)).String(), nil
}
