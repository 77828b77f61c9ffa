package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/storetest"
)

// workflow is service 1 over a fresh embedded database, with a clock the test moves.
type workflow struct {
	clock    *storetest.Clock
	calendar *domain.Calendar
	objects  *domain.ObjectRegister
	insp     *domain.Inspections
	users    *domain.Accounts
	admin    domain.Principal
}

func newWorkflow(t *testing.T, start string) *workflow {
	t.Helper()
	at, err := time.ParseInLocation("2006-01-02 15:04", start, domain.Almaty)
	if err != nil {
		t.Fatal(err)
	}
	store := openStore(t, domain.UsersSpec, domain.DocumentsSpec, domain.CalendarSpec, domain.ObjectsSpec,
		domain.InspectionsSpec, domain.PhotosSpec, domain.UploadsSpec)
	clk := storetest.NewClock(at.UTC())
	key, _ := keyring.Generate()
	w := &workflow{clock: clk, calendar: domain.NewCalendar(store, clk.Now),
		users: domain.NewAccounts(store, clk.Now, domain.PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1})}
	w.objects = &domain.ObjectRegister{Store: store, Now: clk.Now}
	w.insp = &domain.Inspections{Store: store, Now: clk.Now, Calendar: w.calendar, Objects: w.objects, Users: w.users,
		Documents: &domain.Documents{Store: store, Now: clk.Now, Keys: keyring.New(key)},
		Photos:    &domain.Photos{Store: store, Now: clk.Now}}
	w.admin = domain.Principal{UserID: "head", Username: "head", Role: domain.RoleAdmin}
	return w
}

// staff creates an inspector of territory.
func (w *workflow) staff(t *testing.T, name, territory string) domain.Principal {
	t.Helper()
	u, err := w.users.Create(t.Context(), domain.NewUser{Username: name, Password: "password-" + name,
		Role: domain.RoleInspector, Territory: territory})
	if err != nil {
		t.Fatal(err)
	}
	return u.Principal()
}

// apply registers an application for a new object in territory.
func (w *workflow) apply(t *testing.T, territory string) *domain.Inspection {
	t.Helper()
	o, _, err := w.objects.Create(t.Context(), w.admin, domain.NewObject{Kind: domain.KindFeedlot, Name: "Бордақылау алаңы",
		OwnerIIN: "880101300123", Address: "Сарыкемер", Territory: territory})
	if err != nil {
		t.Fatal(err)
	}
	in, created, err := w.insp.Register(t.Context(), w.admin, domain.NewApplication{ObjectID: o.ID, Documents: []string{"өтініш"}})
	if err != nil || !created {
		t.Fatalf("register: %v (created %v)", err, created)
	}
	return in
}

func due(in *domain.Inspection, s domain.Step) time.Time {
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
	t.Run("Nauryz", func(t *testing.T) {
		// Friday 20 March 2026; 21–23 March are Nauryz, the 21st and 22nd move to the 24th and 25th.
		w := newWorkflow(t, "2026-03-20 17:30")
		in := w.apply(t, "313200000")
		if got, want := due(in, domain.StepAssign), atAlmaty("2026-03-27 00:00"); !got.Equal(want) {
			t.Errorf("assign due %v, want %v (end of Thursday 26 March)", got, want)
		}
	})
	t.Run("KurbanAit", func(t *testing.T) {
		// Tuesday 26 May 2026; Wednesday 27 May is the first day of Kurban Ait.
		w := newWorkflow(t, "2026-05-26 11:00")
		in := w.apply(t, "313200000")
		if got, want := due(in, domain.StepAssign), atAlmaty("2026-05-29 00:00"); !got.Equal(want) {
			t.Errorf("assign due %v, want %v (end of Thursday 28 May)", got, want)
		}
	})
	t.Run("GovernmentTransfer", func(t *testing.T) {
		// A decree makes Thursday 26 March a day off and Saturday 28 March a working day.
		w := newWorkflow(t, "2026-03-20 10:00")
		d := func(s string) domain.CivilDate { c, _ := domain.ParseCivilDate(s); return c }
		kurban := d("2026-05-27")
		if _, err := w.calendar.SetYear(t.Context(), 2026, domain.CalendarChange{KurbanAit: &kurban,
			Transfers: []domain.DayTransfer{{DayOff: d("2026-03-26"), WorkingDay: d("2026-03-28")}}}, "admin"); err != nil {
			t.Fatal(err)
		}
		in := w.apply(t, "313200000")
		if got, want := due(in, domain.StepAssign), atAlmaty("2026-03-28 00:00"); !got.Equal(want) {
			t.Errorf("assign due %v, want %v (end of Friday 27 March)", got, want)
		}
		// Accepted on Friday 27: three working days are Saturday 28 (worked), Monday 30, Tuesday 31.
		w.clock.Advance(7 * 24 * time.Hour)
		insp := w.staff(t, "insp", "313200000")
		if _, err := w.insp.Assign(t.Context(), w.admin, in.ID, insp.UserID); err != nil {
			t.Fatal(err)
		}
		in, err := w.insp.CheckCompleteness(t.Context(), insp, in.ID, domain.CompletenessCheck{Complete: true})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := due(in, domain.StepAct), atAlmaty("2026-04-01 00:00"); !got.Equal(want) {
			t.Errorf("act due %v, want %v", got, want)
		}
	})
}

func TestInspectionNoticeRule(t *testing.T) {
	w := newWorkflow(t, "2026-04-06 09:00") // Monday
	in := w.apply(t, "313200000")
	insp := w.staff(t, "insp", "313200000")
	ctx := t.Context()
	if _, err := w.insp.Assign(ctx, w.admin, in.ID, insp.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.insp.CheckCompleteness(ctx, insp, in.ID, domain.CompletenessCheck{Complete: true}); err != nil {
		t.Fatal(err)
	}
	fix := domain.Fix{GPS: &domain.GeoPoint{Lat: 42.99, Lon: 71.38}}
	if _, err := w.insp.Start(ctx, insp, in.ID, fix); !domain.IsCode(err, domain.EPRECONDITION) {
		t.Fatalf("start without a notice: %v, want %s", err, domain.EPRECONDITION)
	}
	w.clock.Advance(14 * time.Hour) // 23:00 Monday
	planned, _ := domain.ParseCivilDate("2026-04-08")
	if _, err := w.insp.RecordNotice(ctx, insp, in.ID, domain.NoticeInput{Addressee: "ҚСжАЕАК", Reference: "5", PlannedFor: planned}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Hour) // 00:00 Tuesday: a day after the notice, but before the planned day
	_, err := w.insp.Start(ctx, insp, in.ID, fix)
	if !domain.IsCode(err, domain.EPRECONDITION) || !strings.Contains(err.Error(), "2026-04-08") {
		t.Fatalf("start before the planned day: %v", err)
	}
	w.clock.Advance(24 * time.Hour) // 00:00 Wednesday, the planned day
	got, err := w.insp.Start(ctx, insp, in.ID, fix)
	if err != nil || got.State != domain.InspOnSite {
		t.Fatalf("start on the planned day: %v", err)
	}
	if _, err := w.insp.Start(ctx, insp, in.ID, fix); !domain.IsCode(err, domain.EPRECONDITION) {
		t.Errorf("a second start: %v", err)
	}
}

// Lists go by the caller's territory level: an oblast's staff see every district, a district's
// its own, a rural district's only theirs.
func TestInspectionListByTerritory(t *testing.T) {
	w := newWorkflow(t, "2026-04-06 09:00")
	w.apply(t, "313230100") // a village of Bayzak
	w.apply(t, "313250000") // another rural district of Bayzak
	w.apply(t, "315800000") // Shu district
	ctx := t.Context()
	for _, c := range []struct {
		territory domain.Kato
		want      int
	}{{"310000000", 3}, {"313200000", 2}, {"313230000", 1}, {"315800000", 1}, {"710000000", 0}} {
		p := domain.Principal{UserID: "x", Role: domain.RoleInspector, Territory: c.territory}
		list, _, err := w.insp.List(ctx, p, domain.InspectionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		objs, _, err := w.objects.List(ctx, p, domain.ObjectFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != c.want || len(objs) != c.want {
			t.Errorf("%s sees %d applications and %d objects, want %d", c.territory, len(list), len(objs), c.want)
		}
	}
	w.clock.Advance(30 * 24 * time.Hour)
	list, _, err := w.insp.List(ctx, domain.Principal{Role: domain.RoleInspector, Territory: "313200000"}, domain.InspectionFilter{Overdue: true})
	if err != nil || len(list) != 2 {
		t.Errorf("Bayzak's overdue list: %d (%v), want 2", len(list), err)
	}
}
