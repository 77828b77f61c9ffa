package identification_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/identification"
)

// TestReissueDeadlines runs the reissue of a lost tag across real 2026 dates: the due date is the
// end of the 2nd working day after the day the tags arrive, in Asia/Almaty.
func TestReissueDeadlines(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		Name    string
		Opened  time.Time
		Arrived string
		DueDay  string // the last working day allowed
		// done is when the vet completes; lateDays the working days late (0: on time).
		Done     time.Time
		LateDays int
	}{
		// Friday 13 November: Saturday and Sunday do not count; Monday 16 and Tuesday 17 do.
		{"FridayArrivalOnTime", almaty("2026-11-12", 9, 0), "2026-11-13", "2026-11-17", almaty("2026-11-17", 17, 59), 0},
		{"FridayArrivalLate", almaty("2026-11-12", 9, 0), "2026-11-13", "2026-11-17", almaty("2026-11-18", 0, 0), 1},
		// Friday 20 March, then Nauryz: 21–23 March, with the days off of Saturday 21 and Sunday 22
		// moved to Tuesday 24 and Wednesday 25. The two working days are Thursday 26 and Friday 27.
		{"FridayBeforeNauryz", almaty("2026-03-19", 11, 0), "2026-03-20", "2026-03-27", almaty("2026-03-27", 12, 0), 0},
		{"FridayBeforeNauryzLate", almaty("2026-03-19", 11, 0), "2026-03-20", "2026-03-27", almaty("2026-03-31", 9, 0), 2},
		// Wednesday 6 May: 7 May (Defender of the Fatherland Day) is off, Friday 8 counts, Victory
		// Day on Saturday 9 moves its day off to Monday 11, so Tuesday 12 is the second.
		{"MayHolidays", almaty("2026-05-05", 15, 0), "2026-05-06", "2026-05-12", almaty("2026-05-12", 10, 0), 0},
		// Tags already in stock the day before the loss was reported: the clock starts on the day
		// the case was opened (Thursday 30 April), then 1 May is off: Monday 4 and Tuesday 5.
		{"TagsInStockBeforeTheCase", almaty("2026-04-30", 9, 0), "2026-04-29", "2026-05-05", almaty("2026-05-06", 9, 0), 1},
	} {
		t.Run(c.Name, func(t *testing.T) {
			e := newIdentEnv(t)
			e.Clock.Set(c.Opened)
			a, oldPassport := e.Identify("398000000000001")
			rc, err := e.Id.Reissues.ReportTagLoss(t.Context(), e.FarmerA, a.ID, identification.TagLoss{ID: uuid.NewString(), Kind: identification.TagLost})
			if err != nil {
				t.Fatal(err)
			}
			if rc.Status != identification.ReissueAwaitingTags {
				t.Fatalf("opened as %s", rc.Status)
			}
			arrived, _ := domain.ParseCivilDate(c.Arrived)
			e.Clock.Set(arrived.Start().Add(16 * time.Hour))
			if e.Clock.Now().Before(c.Opened) {
				e.Clock.Set(c.Opened.Add(time.Hour))
			}
			rc, err = e.Id.Reissues.TagsArrived(t.Context(), e.Vet, rc.ID, arrived)
			if err != nil {
				t.Fatal(err)
			}
			dueDay, _ := domain.ParseCivilDate(c.DueDay)
			if got, want := rc.DueDay, dueDay; got != want {
				t.Errorf("due day %s (%s), want %s", got, got.Weekday(), want)
			}
			if got, want := *rc.Due, dueDay.AddDays(1).Start(); !got.Equal(want) {
				t.Errorf("due %s, want %s", got, want)
			}

			e.Clock.Set(c.Done)
			clock, err := e.Id.Reissues.Clock(t.Context(), rc)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := clock.Overdue, c.LateDays > 0; got != want || clock.WorkingDaysOverdue != c.LateDays {
				t.Errorf("before completion: overdue %v by %d working days, want %v by %d", got, clock.WorkingDaysOverdue, want, c.LateDays)
			}
			overdue, _, err := e.Id.Reissues.List(t.Context(), e.Vet, identification.ReissueFilter{Overdue: true})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(overdue), min(c.LateDays, 1); got != want {
				t.Errorf("%d overdue cases listed, want %d", got, want)
			}

			rc, err = e.Id.Reissues.Complete(t.Context(), e.Vet, rc.ID, identification.ReissueCompletion{Number: "398000000000500"})
			if err != nil {
				t.Fatal(err)
			}
			if rc.Status != identification.ReissueCompleted || rc.Late != (c.LateDays > 0) || rc.LateDays != c.LateDays {
				t.Errorf("completed: status %s late %v by %d, want late by %d", rc.Status, rc.Late, rc.LateDays, c.LateDays)
			}
			late, _, err := e.Id.Reissues.List(t.Context(), e.Vet, identification.ReissueFilter{Status: identification.ReissueCompleted, Overdue: true})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(late), min(c.LateDays, 1); got != want {
				t.Errorf("%d completed-late cases listed, want %d: a late case must stay visible", got, want)
			}
			e.CheckReissued(a.ID, oldPassport, rc)
		})
	}
}

// checkReissued checks the state a completed reissue leaves.
func (e *identEnv) CheckReissued(animalID string, oldPassport *documents.Document, rc *identification.Reissue) {
	t := e.T
	t.Helper()
	a, err := e.Id.Animals.Get(t.Context(), e.Vet, animalID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Tag != rc.NewTag || a.OpenReissue != "" || a.PassportID != rc.PassportID {
		t.Errorf("animal after reissue: tag %s, open %q, passport %s", a.Tag, a.OpenReissue, a.PassportID)
	}
	old := a.Identifiers[0]
	if old.Number != string(rc.OldTag) || old.Status != domain.IdentRetired || old.ReplacedBy != string(rc.NewTag) {
		t.Errorf("old identifier %+v", old)
	}
	// The old number still finds the animal, and is never fitted again.
	found, _, err := e.Id.Animals.List(t.Context(), e.Vet, identification.AnimalFilter{Tag: string(rc.OldTag)})
	if err != nil || len(found) != 1 || found[0].ID != a.ID {
		t.Errorf("lookup by the old number: %v, %v", found, err)
	}
	if got := e.TagStatus(string(rc.OldTag)); got != identification.TagLost {
		t.Errorf("old number is %s", got)
	}
	if _, _, err := e.Id.Animals.Identify(t.Context(), e.Vet, e.NewAnimal(string(rc.OldTag))); !domain.IsCode(err, domain.ECONFLICT) {
		t.Errorf("fitting the old number again: %v, want ECONFLICT", err)
	}
	oldNow, err := e.Docs.Get(t.Context(), oldPassport.ID)
	if err != nil {
		t.Fatal(err)
	}
	newDoc, err := e.Docs.Get(t.Context(), rc.PassportID)
	if err != nil {
		t.Fatal(err)
	}
	if oldNow.Status != documents.DocSuperseded || oldNow.SupersededBy != newDoc.ID || newDoc.Supersedes != oldPassport.ID ||
		newDoc.Subject.Tag != string(rc.NewTag) || newDoc.Status != documents.DocValid {
		t.Errorf("passports: old %s superseded by %s; new %s about %s", oldNow.Status, oldNow.SupersededBy, newDoc.Status, newDoc.Subject.Tag)
	}
}

func TestReissueRefusals(t *testing.T) {
	t.Parallel()
	e := newIdentEnv(t)
	a, _ := e.Identify("398000000000001")
	other, _ := e.Identify("398000000000002")
	rc, err := e.Id.Reissues.ReportTagLoss(t.Context(), e.Vet, a.ID, identification.TagLoss{ID: uuid.NewString(), Kind: identification.TagDamaged})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("ErrCompleteBeforeArrival", func(t *testing.T) {
		before := e.LastSeq()
		_, err := e.Id.Reissues.Complete(t.Context(), e.Vet, rc.ID, identification.ReissueCompletion{Number: "398000000000600"})
		if !domain.IsCode(err, domain.EPRECONDITION) {
			t.Fatalf("err = %v, want EPRECONDITION", err)
		}
		if e.LastSeq() != before || e.TagStatus("398000000000600") != identification.TagInStock {
			t.Error("a refused completion wrote something")
		}
	})

	t.Run("ErrSecondOpenCase", func(t *testing.T) {
		_, err := e.Id.Reissues.ReportTagLoss(t.Context(), e.Vet, a.ID, identification.TagLoss{ID: uuid.NewString(), Kind: identification.TagLost})
		if !domain.IsCode(err, domain.EPRECONDITION) {
			t.Fatalf("err = %v, want EPRECONDITION", err)
		}
	})

	t.Run("RetryAnswersTheCase", func(t *testing.T) {
		again, err := e.Id.Reissues.ReportTagLoss(t.Context(), e.Vet, a.ID, identification.TagLoss{ID: rc.ID, Kind: identification.TagDamaged})
		if err != nil || again.ID != rc.ID || again.Version != rc.Version {
			t.Fatalf("retry: %+v, %v", again, err)
		}
	})

	t.Run("ErrArrivalInFuture", func(t *testing.T) {
		_, err := e.Id.Reissues.TagsArrived(t.Context(), e.Vet, rc.ID, domain.NewCivilDate(2026, 3, 21))
		if !domain.IsCode(err, domain.EINVALID) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("ErrOtherDistrict", func(t *testing.T) {
		_, err := e.Id.Reissues.TagsArrived(t.Context(), e.VetKorday, rc.ID, domain.NewCivilDate(2026, 3, 20))
		if !domain.IsCode(err, domain.ENOTFOUND) {
			t.Fatalf("err = %v", err)
		}
	})

	if _, err := e.Id.Reissues.TagsArrived(t.Context(), e.Vet, rc.ID, domain.NewCivilDate(2026, 3, 20)); err != nil {
		t.Fatal(err)
	}

	t.Run("ErrArrivalMoved", func(t *testing.T) {
		_, err := e.Id.Reissues.TagsArrived(t.Context(), e.Vet, rc.ID, domain.NewCivilDate(2026, 3, 19))
		if !domain.IsCode(err, domain.EPRECONDITION) {
			t.Fatalf("err = %v", err)
		}
	})

	for _, c := range []struct {
		Name, Number, Code string
	}{
		{"ErrNumberOfAnotherAnimal", "398000000000002", domain.ECONFLICT},
		{"ErrOldNumber", "398000000000001", domain.ECONFLICT},
		{"ErrOtherUnitsStock", "398000000100001", domain.EPRECONDITION},
		{"ErrCountry", "112000000000001", domain.EINVALID},
	} {
		t.Run(c.Name, func(t *testing.T) {
			before := e.LastSeq()
			_, err := e.Id.Reissues.Complete(t.Context(), e.Vet, rc.ID, identification.ReissueCompletion{Number: c.Number})
			if !domain.IsCode(err, c.Code) {
				t.Fatalf("err = %v, want %s", err, c.Code)
			}
			if e.LastSeq() != before {
				t.Error("a refused completion wrote to the change log")
			}
		})
	}

	t.Run("CompleteIsIdempotent", func(t *testing.T) {
		first, err := e.Id.Reissues.Complete(t.Context(), e.Vet, rc.ID, identification.ReissueCompletion{Number: "398000000000600"})
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.Id.Reissues.Complete(t.Context(), e.Vet, rc.ID, identification.ReissueCompletion{Number: "398000000000600"})
		if err != nil || again.Version != first.Version || again.PassportID != first.PassportID {
			t.Fatalf("retry: %+v, %v", again, err)
		}
		if _, err := e.Id.Reissues.Complete(t.Context(), e.Vet, rc.ID, identification.ReissueCompletion{Number: "398000000000601"}); !domain.IsCode(err, domain.EPRECONDITION) {
			t.Fatalf("another number after completion: %v", err)
		}
		if got := e.Passports(a.ID); got != 2 {
			t.Errorf("%d passports, want the first and its replacement", got)
		}
	})
	_ = other
}

// TestReissueConcurrentCompletion has several vets complete one case at once, each with another
// number: one number ends on the animal, and every other goes back to stock.
func TestReissueConcurrentCompletion(t *testing.T) {
	t.Parallel()
	e := newIdentEnv(t)
	a, _ := e.Identify("398000000000001")
	rc, err := e.Id.Reissues.ReportTagLoss(t.Context(), e.Vet, a.ID, identification.TagLoss{ID: uuid.NewString(), Kind: identification.TagLost})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Id.Reissues.TagsArrived(t.Context(), e.Vet, rc.ID, domain.NewCivilDate(2026, 3, 20)); err != nil {
		t.Fatal(err)
	}
	const vets = 6
	numbers := make([]string, vets)
	errs := make([]error, vets)
	var wg sync.WaitGroup
	for i := range vets {
		numbers[i] = fmt.Sprintf("3980000000007%02d", i)
		wg.Go(func() {
			_, errs[i] = e.Id.Reissues.Complete(t.Context(), e.Vet, rc.ID, identification.ReissueCompletion{Number: numbers[i]})
		})
	}
	wg.Wait()
	var winner string
	for i, err := range errs {
		switch {
		case err == nil:
			winner = numbers[i]
		case domain.IsCode(err, domain.ECONFLICT) || domain.IsCode(err, domain.EPRECONDITION):
		default:
			t.Errorf("vet %d: %v", i, err)
		}
	}
	got, err := e.Id.Animals.Get(t.Context(), e.Vet, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	final, err := e.Id.Reissues.Get(t.Context(), e.Vet, rc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != identification.ReissueCompleted || string(final.NewTag) != string(got.Tag) || len(got.Identifiers) != 2 {
		t.Fatalf("case %s with %s, animal %s with %+v (winner %q)", final.Status, final.NewTag, got.Tag, got.Identifiers, winner)
	}
	for _, n := range numbers {
		want := identification.TagInStock
		if n == string(got.Tag) {
			want = identification.TagFitted
		}
		if s := e.TagStatus(n); s != want {
			t.Errorf("number %s is %s, want %s", n, s, want)
		}
	}
}
