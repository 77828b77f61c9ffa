package inspection_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite/sqlitetest"
	"github.com/vetfield/vetfield/domain/storetest"
)

// workflow is service 1 over a fresh embedded database, with a clock the test moves.
type workflow struct {
	Clock    *storetest.Clock
	Calendar *domain.Calendar
	Objects  *inspection.ObjectRegister
	Insp     *inspection.Inspections
	Users    *accounts.Accounts
	Admin    domain.Principal
}

func newWorkflow(t *testing.T, start string) *workflow {
	t.Helper()
	return newWorkflowOn(t, start, openStore(t))
}

// openStore opens a fresh SQLite file with every collection declared.
func openStore(t *testing.T) domain.Store {
	t.Helper()
	s := sqlitetest.Open(t)
	if err := s.Declare(t.Context(), vetfield.Collections...); err != nil {
		t.Fatal(err)
	}
	return s
}

// newWorkflowOn is service 1 over store, built by the one wiring.
func newWorkflowOn(t *testing.T, start string, store domain.Store) *workflow {
	t.Helper()
	at, err := time.ParseInLocation("2006-01-02 15:04", start, domain.Almaty)
	if err != nil {
		t.Fatal(err)
	}
	clk := storetest.NewClock(at.UTC())
	key, _ := keyring.Generate()
	app := vetfield.New(vetfield.Config{Store: store, Now: clk.Now, Keys: keyring.New(key),
		Passwords: accounts.PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1}})
	w := &workflow{Clock: clk, Calendar: app.Calendar, Users: app.Accounts}
	w.Objects = app.Inspection.Register
	w.Insp = app.Inspection.Inspections
	w.Admin = domain.Principal{UserID: "head", Username: "head", Role: domain.RoleAdmin}
	return w
}

// staff creates an inspector of territory.
func (w *workflow) Staff(t *testing.T, name, territory string) domain.Principal {
	t.Helper()
	u, err := w.Users.Create(t.Context(), accounts.NewUser{Username: name, Password: "password-" + name,
		Role: domain.RoleInspector, Territory: territory})
	if err != nil {
		t.Fatal(err)
	}
	return u.Principal()
}

// apply registers an application for a new object in territory.
func (w *workflow) Apply(t *testing.T, territory string) *inspection.Inspection {
	t.Helper()
	o, _, err := w.Objects.Create(t.Context(), w.Admin, inspection.NewObject{Kind: inspection.KindFeedlot, Name: "Бордақылау алаңы",
		OwnerIIN: "880101300123", Address: "Сарыкемер", Territory: territory})
	if err != nil {
		t.Fatal(err)
	}
	in, created, err := w.Insp.Register(t.Context(), w.Admin, inspection.NewApplication{ObjectID: o.ID, Documents: []string{"өтініш"}})
	if err != nil || !created {
		t.Fatalf("register: %v (created %v)", err, created)
	}
	return in
}

func due(in *inspection.Inspection, s inspection.Step) time.Time {
	for _, d := range in.Deadlines {
		if d.Step == s {
			return d.Due
		}
	}
	return time.Time{}
}

func atAlmaty(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, domain.Almaty)
	if err != nil {
		panic(err)
	}
	return t
}

func TestInspectionDeadlinesAcrossHolidays(t *testing.T) {
	t.Parallel()
	t.Run("Nauryz", func(t *testing.T) {
		// Friday 20 March 2026; 21–23 March are Nauryz, the 21st and 22nd move to the 24th and 25th.
		w := newWorkflow(t, "2026-03-20 17:30")
		in := w.Apply(t, "313200000")
		if got, want := due(in, inspection.StepAssign), atAlmaty("2026-03-27 00:00"); !got.Equal(want) {
			t.Errorf("assign due %v, want %v (end of Thursday 26 March)", got, want)
		}
	})
	t.Run("KurbanAit", func(t *testing.T) {
		// Tuesday 26 May 2026; Wednesday 27 May is the first day of Kurban Ait.
		w := newWorkflow(t, "2026-05-26 11:00")
		in := w.Apply(t, "313200000")
		if got, want := due(in, inspection.StepAssign), atAlmaty("2026-05-29 00:00"); !got.Equal(want) {
			t.Errorf("assign due %v, want %v (end of Thursday 28 May)", got, want)
		}
	})
	t.Run("GovernmentTransfer", func(t *testing.T) {
		// A decree makes Thursday 26 March a day off and Saturday 28 March a working day.
		w := newWorkflow(t, "2026-03-20 10:00")
		d := func(s string) domain.CivilDate { c, _ := domain.ParseCivilDate(s); return c }
		kurban := d("2026-05-27")
		if _, err := w.Calendar.SetYear(t.Context(), 2026, domain.CalendarChange{KurbanAit: &kurban,
			Transfers: []domain.DayTransfer{{DayOff: d("2026-03-26"), WorkingDay: d("2026-03-28")}}}, "admin"); err != nil {
			t.Fatal(err)
		}
		in := w.Apply(t, "313200000")
		if got, want := due(in, inspection.StepAssign), atAlmaty("2026-03-28 00:00"); !got.Equal(want) {
			t.Errorf("assign due %v, want %v (end of Friday 27 March)", got, want)
		}
		// Accepted on Friday 27: three working days are Saturday 28 (worked), Monday 30, Tuesday 31.
		w.Clock.Advance(7 * 24 * time.Hour)
		insp := w.Staff(t, "insp", "313200000")
		if _, err := w.Insp.Assign(t.Context(), w.Admin, in.ID, insp.UserID); err != nil {
			t.Fatal(err)
		}
		in, err := w.Insp.CheckCompleteness(t.Context(), insp, in.ID, inspection.CompletenessCheck{Complete: true})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := due(in, inspection.StepAct), atAlmaty("2026-04-01 00:00"); !got.Equal(want) {
			t.Errorf("act due %v, want %v", got, want)
		}
	})
}

func TestInspectionNoticeRule(t *testing.T) {
	t.Parallel()
	w := newWorkflow(t, "2026-04-06 09:00") // Monday
	in := w.Apply(t, "313200000")
	insp := w.Staff(t, "insp", "313200000")
	ctx := t.Context()
	if _, err := w.Insp.Assign(ctx, w.Admin, in.ID, insp.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Insp.CheckCompleteness(ctx, insp, in.ID, inspection.CompletenessCheck{Complete: true}); err != nil {
		t.Fatal(err)
	}
	fix := domain.Fix{GPS: &domain.GeoPoint{Lat: 42.99, Lon: 71.38}}
	if _, err := w.Insp.Start(ctx, insp, in.ID, fix); !domain.IsCode(err, domain.EPRECONDITION) {
		t.Fatalf("start without a notice: %v, want %s", err, domain.EPRECONDITION)
	}
	w.Clock.Advance(14 * time.Hour) // 23:00 Monday
	planned, _ := domain.ParseCivilDate("2026-04-08")
	if _, err := w.Insp.RecordNotice(ctx, insp, in.ID, inspection.NoticeInput{Addressee: "ҚСжАЕАК", Reference: "5", PlannedFor: planned}); err != nil {
		t.Fatal(err)
	}
	w.Clock.Advance(time.Hour) // 00:00 Tuesday: a day after the notice, but before the planned day
	_, err := w.Insp.Start(ctx, insp, in.ID, fix)
	if !domain.IsCode(err, domain.EPRECONDITION) || !strings.Contains(err.Error(), "2026-04-08") {
		t.Fatalf("start before the planned day: %v", err)
	}
	w.Clock.Advance(24 * time.Hour) // 00:00 Wednesday, the planned day
	got, err := w.Insp.Start(ctx, insp, in.ID, fix)
	if err != nil || got.State != inspection.InspOnSite {
		t.Fatalf("start on the planned day: %v", err)
	}
	if _, err := w.Insp.Start(ctx, insp, in.ID, fix); !domain.IsCode(err, domain.EPRECONDITION) {
		t.Errorf("a second start: %v", err)
	}
}

// Lists go by the caller's territory level: an oblast's staff see every district, a district's
// its own, a rural district's only theirs.
func TestInspectionListByTerritory(t *testing.T) {
	t.Parallel()
	w := newWorkflow(t, "2026-04-06 09:00")
	w.Apply(t, "313230100") // a village of Bayzak
	w.Apply(t, "313250000") // another rural district of Bayzak
	w.Apply(t, "315800000") // Shu district
	ctx := t.Context()
	for _, c := range []struct {
		Territory domain.Kato
		Want      int
	}{{"310000000", 3}, {"313200000", 2}, {"313230000", 1}, {"315800000", 1}, {"710000000", 0}} {
		p := domain.Principal{UserID: "x", Role: domain.RoleInspector, Territory: c.Territory}
		list, _, err := w.Insp.List(ctx, p, inspection.InspectionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		objs, _, err := w.Objects.List(ctx, p, inspection.ObjectFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != c.Want || len(objs) != c.Want {
			t.Errorf("%s sees %d applications and %d objects, want %d", c.Territory, len(list), len(objs), c.Want)
		}
	}
	w.Clock.Advance(30 * 24 * time.Hour)
	list, _, err := w.Insp.List(ctx, domain.Principal{Role: domain.RoleInspector, Territory: "313200000"}, inspection.InspectionFilter{Overdue: true})
	if err != nil || len(list) != 2 {
		t.Errorf("Bayzak's overdue list: %d (%v), want 2", len(list), err)
	}
}
