package domain_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/domain/storetest"
)

// openCalendarStore opens a fresh embedded database with the calendar declared.
func openCalendarStore(t *testing.T) domain.Store {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "vetfield.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Declare(t.Context(), domain.CalendarSpec); err != nil {
		t.Fatal(err)
	}
	return store
}

func newTestCalendar(t *testing.T) (*domain.Calendar, domain.Store, *storetest.Clock) {
	t.Helper()
	store := openCalendarStore(t)
	clk := storetest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, domain.Almaty))
	return domain.NewCalendar(store, clk.Now), store, clk
}

// calMorning is 09:00 on a day in Asia/Almaty, the time a vet starts work.
func calMorning(s string) time.Time {
	d, err := domain.ParseCivilDate(s)
	if err != nil {
		panic(err)
	}
	return d.Start().Add(9 * time.Hour)
}

func calDate(s string) domain.CivilDate {
	d, err := domain.ParseCivilDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func calDay(t time.Time) string { return domain.CivilDateOf(t).String() }

func TestCivilDate(t *testing.T) {
	t.Run("Parse", func(t *testing.T) {
		for _, s := range []string{"2026-03-21", "2000-01-01", "2100-12-31", "2024-02-29"} {
			if got, want := calDate(s).String(), s; got != want {
				t.Errorf("round trip of %s = %s", s, got)
			}
		}
		for _, s := range []string{"", "2026-02-30", "2025-02-29", "21.03.2026", "2026-3-21", "2026-03-21T00:00:00Z"} {
			if _, err := domain.ParseCivilDate(s); !domain.IsCode(err, domain.EINVALID) {
				t.Errorf("ParseCivilDate(%q) = %v, want EINVALID", s, err)
			}
		}
	})

	t.Run("JSON", func(t *testing.T) {
		in := domain.DayTransfer{DayOff: calDate("2026-05-08"), WorkingDay: calDate("2026-05-16")}
		data, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(data), `{"day_off":"2026-05-08","working_day":"2026-05-16"}`; got != want {
			t.Errorf("JSON %s, want %s", got, want)
		}
		var out domain.DayTransfer
		if err := json.Unmarshal(data, &out); err != nil || out != in {
			t.Errorf("decoded %+v, %v", out, err)
		}
		if err := json.Unmarshal([]byte(`{"day_off":"2026-05-32"}`), &out); err == nil {
			t.Error("32 May decoded")
		}
	})

	t.Run("AlmatyIsUTCPlus5", func(t *testing.T) {
		// 18:59 UTC is 23:59 in Almaty at UTC+5 (it would be 00:59 the next day at the old UTC+6).
		cases := []struct {
			At   time.Time
			Want string
		}{
			{time.Date(2026, 11, 12, 18, 59, 0, 0, time.UTC), "2026-11-12"},
			{time.Date(2026, 11, 12, 19, 0, 0, 0, time.UTC), "2026-11-13"},
			{time.Date(2026, 11, 13, 0, 0, 0, 0, time.UTC), "2026-11-13"},
		}
		for _, c := range cases {
			if got, want := domain.CivilDateOf(c.At).String(), c.Want; got != want {
				t.Errorf("CivilDateOf(%s) = %s, want %s", c.At, got, want)
			}
		}
		if _, off := calDate("2026-07-01").Start().Zone(); off != 5*3600 {
			t.Errorf("Almaty is UTC%+d s in 2026, want +18000", off)
		}
	})

	t.Run("Weekdays", func(t *testing.T) {
		// Checked against Go's calendar, not memory: the test dates below rely on them.
		cases := map[string]time.Weekday{
			"2026-01-01": time.Thursday, "2026-01-02": time.Friday, "2026-03-08": time.Sunday,
			"2026-03-21": time.Saturday, "2026-03-23": time.Monday, "2026-05-09": time.Saturday,
			"2026-05-27": time.Wednesday, "2026-11-13": time.Friday, "2026-11-17": time.Tuesday,
			"2024-06-16": time.Sunday, "2024-01-07": time.Sunday,
		}
		for s, want := range cases {
			if got := calDate(s).Weekday(); got != want {
				t.Errorf("%s is a %s, want %s", s, got, want)
			}
		}
	})
}

func TestCalendarIsWorkingDay(t *testing.T) {
	cal, _, _ := newTestCalendar(t)
	cases := []struct {
		Date    string
		Working bool
		Why     string
	}{
		{"2026-01-01", false, "New Year, Thursday"},
		{"2026-01-02", false, "New Year, Friday"},
		{"2026-01-05", true, "first working day of 2026"},
		{"2026-01-07", false, "Orthodox Christmas, Wednesday"},
		{"2026-01-08", true, "after Christmas"},
		{"2026-03-06", true, "Friday before 8 March"},
		{"2026-03-08", false, "8 March, a Sunday"},
		{"2026-03-09", false, "8 March moved to Monday"},
		{"2026-03-10", true, "Tuesday after"},
		{"2026-03-20", true, "Friday before Nauryz"},
		{"2026-03-21", false, "Nauryz, Saturday"},
		{"2026-03-22", false, "Nauryz, Sunday"},
		{"2026-03-23", false, "Nauryz, Monday"},
		{"2026-03-24", false, "Nauryz of the 21st moved to Tuesday"},
		{"2026-03-25", false, "Nauryz of the 22nd moved to Wednesday"},
		{"2026-03-26", true, "Thursday after Nauryz"},
		{"2026-05-01", false, "Unity Day, Friday"},
		{"2026-05-04", true, "Monday"},
		{"2026-05-07", false, "Defender of the Fatherland Day, Thursday"},
		{"2026-05-08", true, "Friday between"},
		{"2026-05-09", false, "Victory Day, Saturday"},
		{"2026-05-11", false, "Victory Day moved to Monday"},
		{"2026-05-12", true, "Tuesday"},
		{"2026-05-27", false, "Kurban Ait, Wednesday"},
		{"2026-05-28", true, "day after Kurban Ait"},
		{"2026-07-06", false, "Capital City Day, Monday"},
		{"2026-08-31", false, "Constitution Day (Sunday 30 August) moved to Monday"},
		{"2026-10-26", false, "Republic Day (Sunday 25 October) moved to Monday"},
		{"2026-11-14", false, "an ordinary Saturday"},
		{"2026-11-16", true, "an ordinary Monday"},
		{"2026-12-16", false, "Independence Day, Wednesday"},
		{"2026-12-17", true, "Thursday after"},
		// Religious holidays are not moved: 7 January 2024 and Kurban Ait 2024 were Sundays.
		{"2024-01-08", true, "Monday after Christmas on a Sunday"},
		{"2024-06-17", true, "Monday after Kurban Ait on Sunday 16 June"},
		// 2025: 8 March a Saturday, Nauryz Friday to Sunday.
		{"2025-03-10", false, "8 March 2025 moved to Monday"},
		{"2025-03-24", false, "Nauryz 2025 of the 22nd moved to Monday"},
		{"2025-03-25", false, "Nauryz 2025 of the 23rd moved to Tuesday"},
		{"2025-03-26", true, "Wednesday after"},
		{"2025-06-06", false, "Kurban Ait 2025, Friday"},
		// An unknown year has no Kurban Ait until an admin sets it, but keeps the law's holidays.
		{"2030-03-22", false, "Nauryz 2030, a Friday"},
	}
	for _, c := range cases {
		got, err := cal.IsWorkingDay(t.Context(), calMorning(c.Date))
		if err != nil {
			t.Fatal(err)
		}
		if want := c.Working; got != want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v (%s)", c.Date, got, want, c.Why)
		}
	}
}

func TestCalendarDaysOff(t *testing.T) {
	cal, _, _ := newTestCalendar(t)
	days, err := cal.DaysOff(t.Context(), 2026)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range days {
		s := d.Date.String() + " " + string(d.Kind)
		if d.MovedFrom != nil {
			s += " from " + d.MovedFrom.String()
		}
		got = append(got, s)
	}
	want := []string{
		"2026-01-01 holiday", "2026-01-02 holiday", "2026-01-07 holiday",
		"2026-03-08 holiday", "2026-03-09 moved from 2026-03-08",
		"2026-03-21 holiday", "2026-03-22 holiday", "2026-03-23 holiday",
		"2026-03-24 moved from 2026-03-21", "2026-03-25 moved from 2026-03-22",
		"2026-05-01 holiday", "2026-05-07 holiday", "2026-05-09 holiday", "2026-05-11 moved from 2026-05-09",
		"2026-05-27 holiday",
		"2026-07-06 holiday",
		"2026-08-30 holiday", "2026-08-31 moved from 2026-08-30",
		"2026-10-25 holiday", "2026-10-26 moved from 2026-10-25",
		"2026-12-16 holiday",
	}
	if got, want := strings.Join(got, "\n"), strings.Join(want, "\n"); got != want {
		t.Errorf("days off of 2026:\n%s\nwant:\n%s", got, want)
	}
	for _, d := range days {
		if d.NameKK == "" || d.NameRU == "" || d.Reason == "" {
			t.Errorf("%s has no name or reason: %+v", d.Date, d)
		}
	}
	if got, want := days[8].Reason, "Nauryz, Saturday 21 March, moved here"; got != want {
		t.Errorf("reason of 24 March %q, want %q", got, want)
	}
	if got, want := days[14].NameRU, "Первый день Курбан айта"; got != want {
		t.Errorf("27 May is %q, want %q", got, want)
	}
}

func TestCalendarAddWorkingDays(t *testing.T) {
	cal, _, _ := newTestCalendar(t)
	cases := []struct {
		From string
		N    int
		Want string
	}{
		{"2026-11-13", 0, "2026-11-13"}, // Friday: n = 0 is the day itself
		{"2026-11-13", 1, "2026-11-16"},
		{"2026-11-13", 2, "2026-11-17"},
		{"2026-11-14", 0, "2026-11-14"}, // a Saturday stays itself at 0
		{"2026-11-14", 1, "2026-11-16"},
		{"2026-03-19", 1, "2026-03-20"},
		{"2026-03-20", 1, "2026-03-26"}, // across Nauryz: 21 to 25 March are off
		{"2026-03-20", 2, "2026-03-27"},
		{"2026-03-20", 3, "2026-03-30"},
		{"2026-03-21", 1, "2026-03-26"}, // from inside the holiday
		{"2026-03-05", 1, "2026-03-06"},
		{"2026-03-06", 1, "2026-03-10"}, // 8 March on Sunday: Monday 9 is off
		{"2026-05-06", 1, "2026-05-08"},
		{"2026-05-08", 1, "2026-05-12"}, // 9 May on Saturday: Monday 11 is off
		{"2026-05-26", 1, "2026-05-28"}, // Kurban Ait
		{"2026-12-30", 1, "2026-12-31"},
		// Across the year: 1 January 2027 is a Friday, 2 January a Saturday whose day off moves to
		// Monday 4.
		{"2026-12-30", 2, "2027-01-05"},
		{"2026-01-01", 10, "2026-01-19"}, // 5, 6, 8, 9, 12 to 16 and 19 January; 7 is Christmas
	}
	for _, c := range cases {
		got, err := cal.AddWorkingDays(t.Context(), calMorning(c.From), c.N)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := calDay(got), c.Want; got != want {
			t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", c.From, c.N, got, want)
		}
		if !got.Equal(calDate(c.Want).Start()) {
			t.Errorf("AddWorkingDays(%s, %d) = %s, want 00:00 in Almaty", c.From, c.N, got)
		}
	}
	if _, err := cal.AddWorkingDays(t.Context(), calMorning("2026-11-13"), -1); !domain.IsCode(err, domain.EINVALID) {
		t.Errorf("n = -1 gave %v, want EINVALID", err)
	}
}

func TestCalendarWorkingDaysBetween(t *testing.T) {
	cal, _, _ := newTestCalendar(t)
	cases := []struct {
		From, To string
		Want     int
	}{
		{"2026-11-13", "2026-11-13", 0},
		{"2026-11-13", "2026-11-14", 0}, // Friday to Saturday
		{"2026-11-13", "2026-11-16", 1},
		{"2026-11-13", "2026-11-17", 2},
		{"2026-11-17", "2026-11-13", -2},
		{"2026-03-20", "2026-03-25", 0}, // all of Nauryz off
		{"2026-03-20", "2026-03-26", 1},
		{"2026-03-26", "2026-03-20", -1},
		{"2026-03-01", "2026-03-31", 18}, // 22 weekdays minus 9, 23, 24 and 25 March
		{"2026-12-31", "2027-01-04", 0},
		{"2026-12-31", "2027-01-05", 1},
	}
	for _, c := range cases {
		got, err := cal.WorkingDaysBetween(t.Context(), calMorning(c.From), calMorning(c.To))
		if err != nil {
			t.Fatal(err)
		}
		if want := c.Want; got != want {
			t.Errorf("WorkingDaysBetween(%s, %s) = %d, want %d", c.From, c.To, got, want)
		}
	}

	t.Run("InverseOfAddWorkingDays", func(t *testing.T) {
		from := calMorning("2025-12-20")
		for n := 0; n <= 300; n += 7 {
			to, err := cal.AddWorkingDays(t.Context(), from, n)
			if err != nil {
				t.Fatal(err)
			}
			fwd, err := cal.WorkingDaysBetween(t.Context(), from, to)
			if err != nil {
				t.Fatal(err)
			}
			back, err := cal.WorkingDaysBetween(t.Context(), to, from)
			if err != nil {
				t.Fatal(err)
			}
			if fwd != n || back != -n {
				t.Errorf("n = %d: between %d, back %d", n, fwd, back)
			}
		}
	})
}

func TestCalendarDueAfter(t *testing.T) {
	cal, _, _ := newTestCalendar(t)
	at := func(s string, h, m int) time.Time {
		return calDate(s).Start().Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	cases := []struct {
		Name  string
		Start time.Time
		N     int
		Want  time.Time
	}{
		// Tags arrive on Friday 13 November 2026: 2 working days are Monday 16 and Tuesday 17.
		{"FridayArrival", at("2026-11-13", 16, 45), 2, at("2026-11-18", 0, 0)},
		{"SameDay", at("2026-11-13", 16, 45), 0, at("2026-11-14", 0, 0)},
		{"OneDayBeforeNauryz", at("2026-03-20", 10, 0), 1, at("2026-03-27", 0, 0)},
		{"LateEvening", at("2026-11-12", 23, 59), 1, at("2026-11-14", 0, 0)},
		// 19:30 UTC on Thursday 12 November is 00:30 on Friday 13 in Almaty.
		{"StartGivenInUTC", time.Date(2026, 11, 12, 19, 30, 0, 0, time.UTC), 2, at("2026-11-18", 0, 0)},
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got, err := cal.DueAfter(t.Context(), c.Start, c.N)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(c.Want) {
				t.Errorf("DueAfter(%s, %d) = %s, want %s", c.Start, c.N, got, c.Want)
			}
			if got, want := got.In(domain.Almaty).Format(time.RFC3339), c.Want.Format(time.RFC3339); got != want {
				t.Errorf("due %s, want %s", got, want)
			}
		})
	}
	// The deadline is exclusive: the last nanosecond of Tuesday is on time, midnight is late.
	due, _ := cal.DueAfter(t.Context(), at("2026-11-13", 9, 0), 2)
	if lastMoment := at("2026-11-18", 0, 0).Add(-time.Nanosecond); !lastMoment.Before(due) || at("2026-11-18", 0, 0).Before(due) {
		t.Errorf("due %s is not the end of Tuesday 17 November", due)
	}
}

func TestCalendarSetYear(t *testing.T) {
	cal, store, _ := newTestCalendar(t)
	ctx := t.Context()

	t.Run("TransferChangesLaterDeadlines", func(t *testing.T) {
		due := func(from string, n int) string {
			t.Helper()
			d, err := cal.DueAfter(ctx, calMorning(from), n)
			if err != nil {
				t.Fatal(err)
			}
			return calDay(d.Add(-time.Nanosecond))
		}
		if got, want := due("2026-05-06", 1), "2026-05-08"; got != want {
			t.Fatalf("before the transfer: due end of %s, want %s", got, want)
		}
		kurban := calDate("2026-05-27")
		y, err := cal.SetYear(ctx, 2026, domain.CalendarChange{KurbanAit: &kurban, Transfers: []domain.DayTransfer{
			{DayOff: calDate("2026-05-08"), WorkingDay: calDate("2026-05-16"), Note: "decree (test)"},
		}}, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if y.Version != 1 || y.UpdatedBy != "admin" {
			t.Errorf("stored %+v", y)
		}
		// Friday 8 May is now off: Saturday 9 (Victory Day), Sunday 10, Monday 11 (moved) too.
		if got, want := due("2026-05-06", 1), "2026-05-12"; got != want {
			t.Errorf("after the transfer: due end of %s, want %s", got, want)
		}
		// Saturday 16 May is worked.
		if got, want := due("2026-05-15", 1), "2026-05-16"; got != want {
			t.Errorf("after the transfer: due end of %s, want %s", got, want)
		}
		days, err := cal.DaysOff(ctx, 2026)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, d := range days {
			if d.Date == calDate("2026-05-08") {
				found = d.Kind == domain.DayOffTransfer && d.WorkingDay != nil && *d.WorkingDay == calDate("2026-05-16")
			}
		}
		if !found {
			t.Errorf("8 May is not listed as a transfer: %+v", days)
		}

		rec, err := store.Get(ctx, "calendar_years", "2026")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(rec.Scope, ","), "all"; got != want {
			t.Errorf("scope %q, want %q", got, want)
		}
		for _, want := range []string{`"kurban_ait":"2026-05-27"`, `"day_off":"2026-05-08"`, `"working_day":"2026-05-16"`} {
			if !strings.Contains(string(rec.Data), want) {
				t.Errorf("stored %s lacks %s", rec.Data, want)
			}
		}
		changes, err := store.Changes(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(changes) != 1 || changes[0].Collection != "calendar_years" || changes[0].ID != "2026" {
			t.Errorf("change log %+v, want the calendar's write for tablets", changes)
		}
	})

	t.Run("ClearKurbanAit", func(t *testing.T) {
		y, err := cal.Year(ctx, 2026)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cal.SetYear(ctx, 2026, domain.CalendarChange{Transfers: y.Transfers, IfVersion: &y.Version}, "admin"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := cal.IsWorkingDay(ctx, calMorning("2026-05-27")); !ok {
			t.Error("27 May is still off without Kurban Ait")
		}
		y, _ = cal.Year(ctx, 2026)
		if y.KurbanAit != nil || y.Version != 2 || len(y.Transfers) != 1 {
			t.Errorf("after clearing: %+v", y)
		}
	})

	t.Run("ErrVersionMoved", func(t *testing.T) {
		old := int64(1)
		_, err := cal.SetYear(ctx, 2026, domain.CalendarChange{IfVersion: &old}, "admin")
		if !domain.IsCode(err, domain.ECONFLICT) {
			t.Errorf("a stale version gave %v, want ECONFLICT", err)
		}
		if y, _ := cal.Year(ctx, 2026); y.Version != 2 {
			t.Errorf("a refused write changed the year: %+v", y)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		tr := func(off, work string) domain.DayTransfer {
			return domain.DayTransfer{DayOff: calDate(off), WorkingDay: calDate(work)}
		}
		kurban2025 := calDate("2025-06-06")
		cases := []struct {
			Name  string
			Year  int
			Ch    domain.CalendarChange
			Field string
		}{
			{"SaturdayAsDayOff", 2026, domain.CalendarChange{Transfers: []domain.DayTransfer{tr("2026-03-07", "2026-03-14")}}, "transfers[0].day_off"},
			{"DayOffInAnotherYear", 2026, domain.CalendarChange{Transfers: []domain.DayTransfer{tr("2027-01-04", "2026-12-26")}}, "transfers[0].day_off"},
			{"DayOffAlreadyOff", 2026, domain.CalendarChange{Transfers: []domain.DayTransfer{tr("2026-03-24", "2026-03-28")}}, "transfers[0].day_off"},
			{"WeekdayAsWorkingDay", 2026, domain.CalendarChange{Transfers: []domain.DayTransfer{tr("2026-05-08", "2026-05-15")}}, "transfers[0].working_day"},
			{"HolidayAsWorkingDay", 2026, domain.CalendarChange{Transfers: []domain.DayTransfer{tr("2026-05-08", "2026-05-09")}}, "transfers[0].working_day"},
			{"WorkingDayInAnotherYear", 2026, domain.CalendarChange{Transfers: []domain.DayTransfer{tr("2026-12-31", "2027-01-02")}}, "transfers[0].working_day"},
			{"MissingWorkingDay", 2026, domain.CalendarChange{Transfers: []domain.DayTransfer{{DayOff: calDate("2026-05-08")}}}, "transfers[0].working_day"},
			{"DuplicateDayOff", 2026, domain.CalendarChange{Transfers: []domain.DayTransfer{tr("2026-05-08", "2026-05-16"), tr("2026-05-08", "2026-05-23")}}, "transfers[1].day_off"},
			{"DuplicateWorkingDay", 2026, domain.CalendarChange{Transfers: []domain.DayTransfer{tr("2026-05-08", "2026-05-16"), tr("2026-05-12", "2026-05-16")}}, "transfers[1].working_day"},
			{"KurbanAitInAnotherYear", 2026, domain.CalendarChange{KurbanAit: &kurban2025}, "kurban_ait"},
			{"YearTooEarly", 1999, domain.CalendarChange{}, "year"},
			{"YearTooLate", 2101, domain.CalendarChange{}, "year"},
		}
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				_, err := cal.SetYear(ctx, c.Year, c.Ch, "admin")
				var de *domain.Error
				if !errors.As(err, &de) || de.Code != domain.EINVALID {
					t.Fatalf("got %v, want EINVALID", err)
				}
				if got, want := de.Field, c.Field; got != want {
					t.Errorf("field %q, want %q (%s)", got, want, de.Message)
				}
			})
		}
		if y, _ := cal.Year(ctx, 2026); y.Version != 2 {
			t.Errorf("a refused write changed the year: %+v", y)
		}
	})
}

// TestCalendarSeveralProcesses shows what a second process sees: its cached year until the TTL
// runs out, then the change. The process that made the change sees it at once.
func TestCalendarSeveralProcesses(t *testing.T) {
	store := openCalendarStore(t)
	clk := storetest.NewClock(time.Date(2026, 5, 1, 9, 0, 0, 0, domain.Almaty))
	a, b := domain.NewCalendar(store, clk.Now), domain.NewCalendar(store, clk.Now)
	ctx := t.Context()
	isWorking := func(c *domain.Calendar, s string) bool {
		t.Helper()
		ok, err := c.IsWorkingDay(ctx, calMorning(s))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !isWorking(a, "2026-05-08") || !isWorking(b, "2026-05-08") {
		t.Fatal("8 May 2026 is not a working day before any transfer")
	}
	kurban := calDate("2026-05-27")
	if _, err := a.SetYear(ctx, 2026, domain.CalendarChange{KurbanAit: &kurban,
		Transfers: []domain.DayTransfer{{DayOff: calDate("2026-05-08"), WorkingDay: calDate("2026-05-16")}}}, "admin"); err != nil {
		t.Fatal(err)
	}
	if isWorking(a, "2026-05-08") {
		t.Error("the process that set the transfer does not see it")
	}
	if !isWorking(b, "2026-05-08") {
		t.Error("the other process saw the change before its cache expired; the test no longer shows the TTL")
	}
	clk.Advance(domain.CalendarCacheTTL)
	if isWorking(b, "2026-05-08") {
		t.Errorf("the other process does not see the change after %s", domain.CalendarCacheTTL)
	}
}

func TestCalendarYearRange(t *testing.T) {
	cal, _, _ := newTestCalendar(t)
	ctx := t.Context()
	if _, err := cal.IsWorkingDay(ctx, calMorning("1999-12-31")); !domain.IsCode(err, domain.EINVALID) {
		t.Errorf("1999 gave %v, want EINVALID", err)
	}
	if _, err := cal.AddWorkingDays(ctx, calMorning("2100-12-31"), 1); !domain.IsCode(err, domain.EINVALID) {
		t.Errorf("past 2100 gave %v, want EINVALID", err)
	}
	if _, err := cal.WorkingDaysBetween(ctx, calMorning("2026-01-01"), calMorning("2101-01-01")); !domain.IsCode(err, domain.EINVALID) {
		t.Errorf("up to 2101 gave %v, want EINVALID", err)
	}
	if y, err := cal.Year(ctx, 2031); err != nil || y.KurbanAit != nil || y.Version != 0 {
		t.Errorf("an unknown year: %+v, %v; want the default without Kurban Ait", y, err)
	}
}

// TestCalendarConcurrent reads deadlines while an administrator sets the year, for the race
// detector; every answer must be one of the two calendars, never a mixture.
func TestCalendarConcurrent(t *testing.T) {
	cal, _, _ := newTestCalendar(t)
	ctx := t.Context()
	kurban := calDate("2026-05-27")
	with := domain.CalendarChange{KurbanAit: &kurban,
		Transfers: []domain.DayTransfer{{DayOff: calDate("2026-05-08"), WorkingDay: calDate("2026-05-16")}}}
	without := domain.CalendarChange{KurbanAit: &kurban}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				due, err := cal.DueAfter(ctx, calMorning("2026-05-06"), 1)
				if err != nil {
					t.Error(err)
					return
				}
				if got := calDay(due.Add(-time.Nanosecond)); got != "2026-05-08" && got != "2026-05-12" {
					t.Errorf("due end of %s, want 8 or 12 May", got)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 10 {
			ch := without
			if i%2 == 0 {
				ch = with
			}
			if _, err := cal.SetYear(ctx, 2026, ch, "admin"); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	y, err := cal.Year(ctx, 2026)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := y.Version, int64(10); got != want {
		t.Errorf("version %d after 10 writes, want %d", got, want)
	}
	if ok, _ := cal.IsWorkingDay(ctx, calMorning("2026-05-08")); !ok {
		t.Error("the last write (no transfer) is not the one in force")
	}
}
