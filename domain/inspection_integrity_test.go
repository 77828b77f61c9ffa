package domain_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/storetest"
)

// acceptEvidence stands in for media's check of the photos' bytes, which these tests do not store.
type acceptEvidence struct{}

func (acceptEvidence) VerifyPhoto(context.Context, *domain.Photo) error { return nil }

// hookedWorkflow is newWorkflow over a store whose writes the test can hook.
func hookedWorkflow(t *testing.T, start string) (*workflow, *refHookStore) {
	t.Helper()
	store := &refHookStore{Store: openStore(t, domain.UsersSpec, domain.DocumentsSpec, domain.CalendarSpec, domain.ObjectsSpec,
		domain.InspectionsSpec, domain.PhotosSpec, domain.UploadsSpec)}
	clk := storetest.NewClock(atAlmaty(start).UTC())
	key, _ := keyring.Generate()
	w := &workflow{clock: clk, calendar: domain.NewCalendar(store, clk.Now),
		users: domain.NewAccounts(store, clk.Now, domain.PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1})}
	w.objects = &domain.ObjectRegister{Store: store, Now: clk.Now}
	w.insp = &domain.Inspections{Store: store, Now: clk.Now, Calendar: w.calendar, Objects: w.objects, Users: w.users,
		Documents: &domain.Documents{Store: store, Now: clk.Now, Keys: keyring.New(key)},
		Photos:    &domain.Photos{Store: store, Now: clk.Now}, Evidence: acceptEvidence{}}
	w.admin = domain.Principal{UserID: "head", Username: "head", Role: domain.RoleAdmin}
	return w, store
}

// onSite brings a new application to the visit, started on Wednesday 8 April 2026.
func (w *workflow) onSite(t *testing.T) (*domain.Inspection, domain.Principal) {
	t.Helper()
	ctx := t.Context()
	in := w.apply(t, "313200000")
	insp := w.staff(t, "insp", "313200000")
	if _, err := w.insp.Assign(ctx, w.admin, in.ID, insp.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.insp.CheckCompleteness(ctx, insp, in.ID, domain.CompletenessCheck{Complete: true}); err != nil {
		t.Fatal(err)
	}
	planned, _ := domain.ParseCivilDate("2026-04-08")
	if _, err := w.insp.RecordNotice(ctx, insp, in.ID, domain.NoticeInput{Addressee: "ҚСжАЕАК", Reference: "5", PlannedFor: planned}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(48 * time.Hour)
	in, err := w.insp.Start(ctx, insp, in.ID, domain.Fix{GPS: &domain.GeoPoint{Lat: 42.99, Lon: 71.38}})
	if err != nil {
		t.Fatal(err)
	}
	return in, insp
}

// actSubmitted brings a new application to the head's decision, its checklist naming photos.
func (w *workflow) actSubmitted(t *testing.T, photos ...string) *domain.Inspection {
	t.Helper()
	in, insp := w.onSite(t)
	ctx := t.Context()
	items := []domain.ChecklistItem{{Code: "R1", Requirement: "Қоралар", Conform: true, Photos: photos}}
	if _, err := w.insp.SetChecklist(ctx, insp, in.ID, items); err != nil {
		t.Fatal(err)
	}
	in, err := w.insp.SubmitAct(ctx, insp, in.ID, domain.ActInput{Summary: "x", Fix: domain.Fix{GPS: &domain.GeoPoint{Lat: 42.99, Lon: 71.38}}})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// Finding 7: an application never names a refusal or a conclusion that does not exist.
func TestInspectionNeverNamesMissingPaper(t *testing.T) {
	t.Run("OK_Refusal", func(t *testing.T) {
		w, store := hookedWorkflow(t, "2026-04-06 09:00")
		ctx := t.Context()
		in := w.apply(t, "313200000")
		insp := w.staff(t, "insp", "313200000")
		if _, err := w.insp.Assign(ctx, w.admin, in.ID, insp.UserID); err != nil {
			t.Fatal(err)
		}
		c := domain.CompletenessCheck{Ground: "Құжаттар толық емес", Missing: []string{"жоспар"}}
		store.set(refCrashOn("insert", domain.DocumentsSpec.Name))
		if _, err := w.insp.CheckCompleteness(ctx, insp, in.ID, c); !errors.Is(err, errRefCrash) {
			t.Fatalf("check: %v, want the crash", err)
		}
		got, err := w.insp.Get(ctx, w.admin, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Completeness != nil && got.Completeness.RefusalID != "" {
			if _, err := w.insp.Documents.Get(ctx, got.Completeness.RefusalID); err != nil {
				t.Errorf("the application names refusal %s: %v", got.Completeness.RefusalID, err)
			}
		}
		done, err := w.insp.CheckCompleteness(ctx, insp, in.ID, c)
		if err != nil || done.State != domain.InspRefused || done.Completeness.RefusalNumber == "" {
			t.Fatalf("retry: %v", err)
		}
		// Finding 14: repeating it answers the same application.
		again, err := w.insp.CheckCompleteness(ctx, insp, in.ID, c)
		if err != nil || again.Version != done.Version {
			t.Errorf("a second retry: %v", err)
		}
	})
	t.Run("OK_RefusalIssuedThenCrash", func(t *testing.T) {
		w, store := hookedWorkflow(t, "2026-04-06 09:00")
		ctx := t.Context()
		in := w.apply(t, "313200000")
		insp := w.staff(t, "insp", "313200000")
		if _, err := w.insp.Assign(ctx, w.admin, in.ID, insp.UserID); err != nil {
			t.Fatal(err)
		}
		c := domain.CompletenessCheck{Ground: "Құжаттар толық емес", Missing: []string{"жоспар"}}
		store.set(refCrashOn("update", domain.InspectionsSpec.Name))
		if _, err := w.insp.CheckCompleteness(ctx, insp, in.ID, c); !errors.Is(err, errRefCrash) {
			t.Fatalf("check: %v, want the crash", err)
		}
		// A refusal exists that no application names: a complete finding must not pass it by.
		if _, err := w.insp.CheckCompleteness(ctx, insp, in.ID, domain.CompletenessCheck{Complete: true}); !domain.IsCode(err, domain.EPRECONDITION) {
			t.Errorf("complete after an issued refusal: %v, want %s", err, domain.EPRECONDITION)
		}
		done, err := w.insp.CheckCompleteness(ctx, insp, in.ID, c)
		if err != nil || done.State != domain.InspRefused || done.Completeness.RefusalNumber == "" {
			t.Fatalf("retry: %v", err)
		}
	})
	t.Run("OK_Conclusion", func(t *testing.T) {
		w, store := hookedWorkflow(t, "2026-04-06 09:00")
		ctx := t.Context()
		in := w.actSubmitted(t)
		store.set(refCrashOn("insert", domain.DocumentsSpec.Name))
		if _, err := w.insp.Decide(ctx, w.admin, in.ID, domain.OutcomeConformity); !errors.Is(err, errRefCrash) {
			t.Fatalf("decide: %v, want the crash", err)
		}
		got, err := w.insp.Get(ctx, w.admin, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Decision != nil {
			if _, err := w.insp.Documents.Get(ctx, got.Decision.ConclusionID); err != nil {
				t.Errorf("the application names conclusion %s: %v", got.Decision.ConclusionID, err)
			}
		}
		done, err := w.insp.Decide(ctx, w.admin, in.ID, domain.OutcomeConformity)
		if err != nil || done.State != domain.InspConcluded || done.Decision.ConclusionNumber == "" {
			t.Fatalf("retry: %v", err)
		}
		// Finding 14: repeating the decision answers the same application.
		again, err := w.insp.Decide(ctx, w.admin, in.ID, domain.OutcomeConformity)
		if err != nil || again.Version != done.Version || again.Decision.ConclusionNumber != done.Decision.ConclusionNumber {
			t.Errorf("a second retry: %v", err)
		}
		if _, err := w.insp.Decide(ctx, w.admin, in.ID, domain.OutcomeNonConformity); !domain.IsCode(err, domain.EPRECONDITION) {
			t.Errorf("another outcome after the decision: %v", err)
		}
	})
}

// Finding 14: a completeness finding repeated after it succeeded answers the same application.
func TestCompletenessRetry(t *testing.T) {
	w, _ := hookedWorkflow(t, "2026-04-06 09:00")
	ctx := t.Context()
	in := w.apply(t, "313200000")
	insp := w.staff(t, "insp", "313200000")
	if _, err := w.insp.Assign(ctx, w.admin, in.ID, insp.UserID); err != nil {
		t.Fatal(err)
	}
	first, err := w.insp.CheckCompleteness(ctx, insp, in.ID, domain.CompletenessCheck{Complete: true})
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.insp.CheckCompleteness(ctx, insp, in.ID, domain.CompletenessCheck{Complete: true})
	if err != nil || again.Version != first.Version || again.State != domain.InspAccepted {
		t.Errorf("retry: %v", err)
	}
	c := domain.CompletenessCheck{Ground: "Құжаттар толық емес"}
	if _, err := w.insp.CheckCompleteness(ctx, insp, in.ID, c); !domain.IsCode(err, domain.EPRECONDITION) {
		t.Errorf("an incomplete finding after a complete one: %v", err)
	}
}

// Finding 13: a photo whose upload closed but whose record was not written is a photo of the
// inspection: the act accepts it and its record is written.
func TestPhotoClosedButNotRecorded(t *testing.T) {
	w, store := hookedWorkflow(t, "2026-04-06 09:00")
	ctx := t.Context()
	in, insp := w.onSite(t)
	sha := "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	u, _, err := w.insp.Photos.CreateUpload(ctx, insp, in, domain.NewUpload{ID: "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e8f",
		Size: 10, SHA256: sha, ContentType: "image/jpeg"})
	if err != nil {
		t.Fatal(err)
	}
	ph := &domain.Photo{InspectionID: in.ID, ObjectID: in.ObjectID, Territory: in.Territory, OwnerIIN: in.OwnerIIN,
		Key: "photos/" + u.ID + ".jpg", ContentType: "image/jpeg", Size: 10, SHA256: sha, UploadedBy: insp.UserID,
		UploadedAt: w.clock.Now()}
	store.set(refCrashOn("insert", domain.PhotosSpec.Name))
	if _, err := w.insp.Photos.Complete(ctx, u, ph); !errors.Is(err, errRefCrash) {
		t.Fatalf("complete: %v, want the crash", err)
	}
	items := []domain.ChecklistItem{{Code: "R1", Requirement: "Қоралар", Conform: true, Photos: []string{u.ID}}}
	if _, err := w.insp.SetChecklist(ctx, insp, in.ID, items); err != nil {
		t.Fatal(err)
	}
	gps := domain.Fix{GPS: &domain.GeoPoint{Lat: 42.99, Lon: 71.38}}
	if _, err := w.insp.SubmitAct(ctx, insp, in.ID, domain.ActInput{Summary: "x", Fix: gps, Photos: []string{u.ID}}); err != nil {
		t.Fatalf("act naming the photo: %v", err)
	}
	if got, err := w.insp.Photos.Photo(ctx, u.ID); err != nil || got.InspectionID != in.ID {
		t.Errorf("the photo's record: %v", err)
	}
	done, err := w.insp.Decide(ctx, w.admin, in.ID, domain.OutcomeConformity)
	if err != nil || done.State != domain.InspConcluded {
		t.Fatalf("decide: %v", err)
	}
}

// Finding 13, at the decision: a photo the act named while it was uploading, whose upload then
// closed without its record, is recorded when the head decides, not refused as still uploading.
func TestPhotoRecordedAtDecision(t *testing.T) {
	w, store := hookedWorkflow(t, "2026-04-06 09:00")
	ctx := t.Context()
	in, insp := w.onSite(t)
	sha := "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	u, _, err := w.insp.Photos.CreateUpload(ctx, insp, in, domain.NewUpload{ID: "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e8f",
		Size: 10, SHA256: sha, ContentType: "image/jpeg"})
	if err != nil {
		t.Fatal(err)
	}
	items := []domain.ChecklistItem{{Code: "R1", Requirement: "Қоралар", Conform: true, Photos: []string{u.ID}}}
	if _, err := w.insp.SetChecklist(ctx, insp, in.ID, items); err != nil {
		t.Fatal(err)
	}
	gps := domain.Fix{GPS: &domain.GeoPoint{Lat: 42.99, Lon: 71.38}}
	if _, err := w.insp.SubmitAct(ctx, insp, in.ID, domain.ActInput{Summary: "x", Fix: gps}); err != nil {
		t.Fatal(err)
	}
	ph := &domain.Photo{InspectionID: in.ID, ObjectID: in.ObjectID, Territory: in.Territory, OwnerIIN: in.OwnerIIN,
		Key: "photos/" + u.ID + ".jpg", ContentType: "image/jpeg", Size: 10, SHA256: sha, UploadedBy: insp.UserID,
		UploadedAt: w.clock.Now()}
	store.set(refCrashOn("insert", domain.PhotosSpec.Name))
	if _, err := w.insp.Photos.Complete(ctx, u, ph); !errors.Is(err, errRefCrash) {
		t.Fatalf("complete: %v, want the crash", err)
	}
	done, err := w.insp.Decide(ctx, w.admin, in.ID, domain.OutcomeConformity)
	if err != nil || done.State != domain.InspConcluded {
		t.Fatalf("decide: %v", err)
	}
	if _, err := w.insp.Photos.Photo(ctx, u.ID); err != nil {
		t.Errorf("the photo's record: %v", err)
	}
}
