package cases_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite/sqlitetest"
	"github.com/vetfield/vetfield/domain/storetest"
)

// A service of the next issue's shape, declared as data on the same engine: an office service
// with a laboratory step of 60 calendar days. A case waiting for the laboratory stays visible: its
// step is pending with its due date, and past it the case is in the overdue listing beside the
// other services' cases.
func TestLongCalendarStepStaysVisible(t *testing.T) {
	s := sqlitetest.Open(t)
	if err := s.Declare(t.Context(), vetfield.Collections...); err != nil {
		t.Fatal(err)
	}
	start, _ := time.ParseInLocation("2006-01-02 15:04", "2026-05-04 10:00", domain.Almaty)
	clk := storetest.NewClock(start.UTC())
	key, _ := keyring.Generate()
	app := vetfield.New(vetfield.Config{Store: s, Now: clk.Now, Keys: keyring.New(key),
		Passwords: accounts.PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1}})
	office := []domain.Role{domain.RoleVet}
	app.Cases.Declare(&cases.Service{Code: "feed", Prefix: "FRC", Regulation: "veterinary-sanitary conclusion (service 1)",
		Open: func(_ context.Context, _ domain.Principal, _ *cases.Application, c *cases.Case) error {
			c.Territory, c.Subject = "313200000", cases.About{Kind: "dossier", ID: c.ID, Name: "Құрама жем"}
			return nil
		},
		Steps: []cases.StepDef{
			{Name: "register", Kind: cases.KindRegister, Roles: office, Level: cases.District, Term: cases.Term{N: 30, Unit: cases.Minutes}},
			{Name: "send", Kind: cases.KindWork, Roles: office, Level: cases.District, Term: cases.Term{N: 5, Unit: cases.WorkingDays}},
			{Name: "tests", Kind: cases.KindWork, Roles: office, Level: cases.District, MayRefuse: true,
				Term: cases.Term{N: 60, Unit: cases.CalendarDays}},
			{Name: "hand_over", Kind: cases.KindHandOver, Roles: office, Level: cases.District, Term: cases.Term{N: 30, Unit: cases.Minutes}},
		}})
	ctx := t.Context()
	vet := domain.Principal{UserID: "vet", Username: "vet", Role: domain.RoleVet, Territory: "313200000"}
	c, _, err := app.Cases.Apply(ctx, vet, cases.Application{Service: "feed", ApplicantIIN: "880101300123", Documents: []string{"өтініш"},
		Data: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	c, err = app.Cases.Advance(ctx, vet, c.ID, "send", cases.StepInput{})
	if err != nil {
		t.Fatal(err)
	}
	// Sent on Monday 4 May: 60 calendar days end on Friday 3 July.
	if got, want := c.Pending().Due, time.Date(2026, 7, 4, 0, 0, 0, 0, domain.Almaty); c.Pending().Name != "tests" || !got.Equal(want) {
		t.Errorf("the laboratory's step is due %v, want %v", got.In(domain.Almaty), want)
	}
	clk.Advance(59 * 24 * time.Hour)
	if l, _, _ := app.Cases.List(ctx, vet, cases.Filter{Overdue: true}); len(l) != 0 {
		t.Errorf("overdue before its term: %d", len(l))
	}
	if j, _, _ := app.Cases.Journal(ctx, vet, "feed", "", "", 10); len(j) != 1 || j[0].Pending().Name != "tests" {
		t.Errorf("the journal shows where it stands: %d", len(j))
	}
	clk.Advance(2 * 24 * time.Hour)
	l, _, _ := app.Cases.List(ctx, vet, cases.Filter{Overdue: true})
	if len(l) != 1 || l[0].Overdue(clk.Now()).Name != "tests" {
		t.Errorf("overdue after 60 days: %d", len(l))
	}
}
