package inspection_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/domain/storetest"
)

// acceptEvidence stands in for media's check of the photos' bytes, which these tests do not store.
type acceptEvidence struct{}

func (acceptEvidence) VerifyPhoto(context.Context, *inspection.Photo) error { return nil }

// hookedWorkflow is newWorkflow over a store whose writes the test can hook.
func hookedWorkflow(t *testing.T, start string) (*workflow, *storetest.HookStore) {
	t.Helper()
	store := storetest.Hook(openStore(t))
	w := newWorkflowOn(t, start, store)
	w.Insp.Evidence = acceptEvidence{}
	return w, store
}

// onSite brings a new application to the visit, started on Wednesday 8 April 2026.
func (w *workflow) OnSite(t *testing.T) (*inspection.Inspection, domain.Principal) {
	t.Helper()
	ctx := t.Context()
	in := w.Apply(t, "313200000")
	insp := w.Staff(t, "insp", "313200000")
	if _, err := w.Insp.Assign(ctx, w.Admin, in.ID, insp.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Insp.CheckCompleteness(ctx, insp, in.ID, inspection.CompletenessCheck{Complete: true}); err != nil {
		t.Fatal(err)
	}
	planned, _ := domain.ParseCivilDate("2026-04-08")
	if _, err := w.Insp.RecordNotice(ctx, insp, in.ID, inspection.NoticeInput{Addressee: "ҚСжАЕАК", Reference: "5", PlannedFor: planned}); err != nil {
		t.Fatal(err)
	}
	w.Clock.Advance(48 * time.Hour)
	in, err := w.Insp.Start(ctx, insp, in.ID, domain.Fix{GPS: &domain.GeoPoint{Lat: 42.99, Lon: 71.38}})
	if err != nil {
		t.Fatal(err)
	}
	return in, insp
}

// actSubmitted brings a new application to the head's decision, its checklist naming photos.
func (w *workflow) ActSubmitted(t *testing.T, photos ...string) *inspection.Inspection {
	t.Helper()
	in, insp := w.OnSite(t)
	ctx := t.Context()
	items := []inspection.ChecklistItem{{Code: "R1", Requirement: "Қоралар", Conform: true, Photos: photos}}
	if _, err := w.Insp.SetChecklist(ctx, insp, in.ID, items); err != nil {
		t.Fatal(err)
	}
	in, err := w.Insp.SubmitAct(ctx, insp, in.ID, inspection.ActInput{Summary: "x", Fix: domain.Fix{GPS: &domain.GeoPoint{Lat: 42.99, Lon: 71.38}}})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// Finding 7: an application never names a refusal or a conclusion that does not exist.
func TestInspectionNeverNamesMissingPaper(t *testing.T) {
	t.Parallel()
	t.Run("OK_Refusal", func(t *testing.T) {
		w, store := hookedWorkflow(t, "2026-04-06 09:00")
		ctx := t.Context()
		in := w.Apply(t, "313200000")
		insp := w.Staff(t, "insp", "313200000")
		if _, err := w.Insp.Assign(ctx, w.Admin, in.ID, insp.UserID); err != nil {
			t.Fatal(err)
		}
		c := inspection.CompletenessCheck{Ground: "Құжаттар толық емес", Missing: []string{"жоспар"}}
		store.Set(storetest.CrashOn("insert", documents.DocumentsSpec.Name))
		if _, err := w.Insp.CheckCompleteness(ctx, insp, in.ID, c); !errors.Is(err, storetest.ErrCrash) {
			t.Fatalf("check: %v, want the crash", err)
		}
		got, err := w.Insp.Get(ctx, w.Admin, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Completeness != nil && got.Completeness.RefusalID != "" {
			if _, err := w.Insp.Documents.Get(ctx, got.Completeness.RefusalID); err != nil {
				t.Errorf("the application names refusal %s: %v", got.Completeness.RefusalID, err)
			}
		}
		done, err := w.Insp.CheckCompleteness(ctx, insp, in.ID, c)
		if err != nil || done.State != inspection.InspRefused || done.Completeness.RefusalNumber == "" {
			t.Fatalf("retry: %v", err)
		}
		// Finding 14: repeating it answers the same application.
		again, err := w.Insp.CheckCompleteness(ctx, insp, in.ID, c)
		if err != nil || again.Version != done.Version {
			t.Errorf("a second retry: %v", err)
		}
	})
	t.Run("OK_RefusalIssuedThenCrash", func(t *testing.T) {
		w, store := hookedWorkflow(t, "2026-04-06 09:00")
		ctx := t.Context()
		in := w.Apply(t, "313200000")
		insp := w.Staff(t, "insp", "313200000")
		if _, err := w.Insp.Assign(ctx, w.Admin, in.ID, insp.UserID); err != nil {
			t.Fatal(err)
		}
		c := inspection.CompletenessCheck{Ground: "Құжаттар толық емес", Missing: []string{"жоспар"}}
		store.Set(storetest.CrashOn("update", inspection.InspectionsSpec.Name))
		if _, err := w.Insp.CheckCompleteness(ctx, insp, in.ID, c); !errors.Is(err, storetest.ErrCrash) {
			t.Fatalf("check: %v, want the crash", err)
		}
		// A refusal exists that no application names: a complete finding must not pass it by.
		if _, err := w.Insp.CheckCompleteness(ctx, insp, in.ID, inspection.CompletenessCheck{Complete: true}); !domain.IsCode(err, domain.EPRECONDITION) {
			t.Errorf("complete after an issued refusal: %v, want %s", err, domain.EPRECONDITION)
		}
		done, err := w.Insp.CheckCompleteness(ctx, insp, in.ID, c)
		if err != nil || done.State != inspection.InspRefused || done.Completeness.RefusalNumber == "" {
			t.Fatalf("retry: %v", err)
		}
	})
	t.Run("OK_Conclusion", func(t *testing.T) {
		w, store := hookedWorkflow(t, "2026-04-06 09:00")
		ctx := t.Context()
		in := w.ActSubmitted(t)
		store.Set(storetest.CrashOn("insert", documents.DocumentsSpec.Name))
		if _, err := w.Insp.Decide(ctx, w.Admin, in.ID, inspection.OutcomeConformity); !errors.Is(err, storetest.ErrCrash) {
			t.Fatalf("decide: %v, want the crash", err)
		}
		got, err := w.Insp.Get(ctx, w.Admin, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Decision != nil {
			if _, err := w.Insp.Documents.Get(ctx, got.Decision.ConclusionID); err != nil {
				t.Errorf("the application names conclusion %s: %v", got.Decision.ConclusionID, err)
			}
		}
		done, err := w.Insp.Decide(ctx, w.Admin, in.ID, inspection.OutcomeConformity)
		if err != nil || done.State != inspection.InspConcluded || done.Decision.ConclusionNumber == "" {
			t.Fatalf("retry: %v", err)
		}
		// Finding 14: repeating the decision answers the same application.
		again, err := w.Insp.Decide(ctx, w.Admin, in.ID, inspection.OutcomeConformity)
		if err != nil || again.Version != done.Version || again.Decision.ConclusionNumber != done.Decision.ConclusionNumber {
			t.Errorf("a second retry: %v", err)
		}
		if _, err := w.Insp.Decide(ctx, w.Admin, in.ID, inspection.OutcomeNonConformity); !domain.IsCode(err, domain.EPRECONDITION) {
			t.Errorf("another outcome after the decision: %v", err)
		}
	})
}

// Finding 14: a completeness finding repeated after it succeeded answers the same application.
func TestCompletenessRetry(t *testing.T) {
	t.Parallel()
	w, _ := hookedWorkflow(t, "2026-04-06 09:00")
	ctx := t.Context()
	in := w.Apply(t, "313200000")
	insp := w.Staff(t, "insp", "313200000")
	if _, err := w.Insp.Assign(ctx, w.Admin, in.ID, insp.UserID); err != nil {
		t.Fatal(err)
	}
	first, err := w.Insp.CheckCompleteness(ctx, insp, in.ID, inspection.CompletenessCheck{Complete: true})
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.Insp.CheckCompleteness(ctx, insp, in.ID, inspection.CompletenessCheck{Complete: true})
	if err != nil || again.Version != first.Version || again.State != inspection.InspAccepted {
		t.Errorf("retry: %v", err)
	}
	c := inspection.CompletenessCheck{Ground: "Құжаттар толық емес"}
	if _, err := w.Insp.CheckCompleteness(ctx, insp, in.ID, c); !domain.IsCode(err, domain.EPRECONDITION) {
		t.Errorf("an incomplete finding after a complete one: %v", err)
	}
}

// Finding 13: a photo whose upload closed but whose record was not written is a photo of the
// inspection: the act accepts it and its record is written.
func TestPhotoClosedButNotRecorded(t *testing.T) {
	t.Parallel()
	w, store := hookedWorkflow(t, "2026-04-06 09:00")
	ctx := t.Context()
	in, insp := w.OnSite(t)
	sha := "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	u, _, err := w.Insp.Photos.CreateUpload(ctx, insp, in, inspection.NewUpload{ID: "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e8f",
		Size: 10, SHA256: sha, ContentType: "image/jpeg"})
	if err != nil {
		t.Fatal(err)
	}
	ph := &inspection.Photo{InspectionID: in.ID, ObjectID: in.ObjectID, Territory: in.Territory, OwnerIIN: in.OwnerIIN,
		Key: "photos/" + u.ID + ".jpg", ContentType: "image/jpeg", Size: 10, SHA256: sha, UploadedBy: insp.UserID,
		UploadedAt: w.Clock.Now()}
	store.Set(storetest.CrashOn("insert", inspection.PhotosSpec.Name))
	if _, err := w.Insp.Photos.Complete(ctx, u, ph); !errors.Is(err, storetest.ErrCrash) {
		t.Fatalf("complete: %v, want the crash", err)
	}
	items := []inspection.ChecklistItem{{Code: "R1", Requirement: "Қоралар", Conform: true, Photos: []string{u.ID}}}
	if _, err := w.Insp.SetChecklist(ctx, insp, in.ID, items); err != nil {
		t.Fatal(err)
	}
	gps := domain.Fix{GPS: &domain.GeoPoint{Lat: 42.99, Lon: 71.38}}
	if _, err := w.Insp.SubmitAct(ctx, insp, in.ID, inspection.ActInput{Summary: "x", Fix: gps, Photos: []string{u.ID}}); err != nil {
		t.Fatalf("act naming the photo: %v", err)
	}
	if got, err := w.Insp.Photos.Photo(ctx, u.ID); err != nil || got.InspectionID != in.ID {
		t.Errorf("the photo's record: %v", err)
	}
	done, err := w.Insp.Decide(ctx, w.Admin, in.ID, inspection.OutcomeConformity)
	if err != nil || done.State != inspection.InspConcluded {
		t.Fatalf("decide: %v", err)
	}
}

// Finding 13, at the decision: a photo the act named while it was uploading, whose upload then
// closed without its record, is recorded when the head decides, not refused as still uploading.
func TestPhotoRecordedAtDecision(t *testing.T) {
	t.Parallel()
	w, store := hookedWorkflow(t, "2026-04-06 09:00")
	ctx := t.Context()
	in, insp := w.OnSite(t)
	sha := "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	u, _, err := w.Insp.Photos.CreateUpload(ctx, insp, in, inspection.NewUpload{ID: "0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e8f",
		Size: 10, SHA256: sha, ContentType: "image/jpeg"})
	if err != nil {
		t.Fatal(err)
	}
	items := []inspection.ChecklistItem{{Code: "R1", Requirement: "Қоралар", Conform: true, Photos: []string{u.ID}}}
	if _, err := w.Insp.SetChecklist(ctx, insp, in.ID, items); err != nil {
		t.Fatal(err)
	}
	gps := domain.Fix{GPS: &domain.GeoPoint{Lat: 42.99, Lon: 71.38}}
	if _, err := w.Insp.SubmitAct(ctx, insp, in.ID, inspection.ActInput{Summary: "x", Fix: gps}); err != nil {
		t.Fatal(err)
	}
	ph := &inspection.Photo{InspectionID: in.ID, ObjectID: in.ObjectID, Territory: in.Territory, OwnerIIN: in.OwnerIIN,
		Key: "photos/" + u.ID + ".jpg", ContentType: "image/jpeg", Size: 10, SHA256: sha, UploadedBy: insp.UserID,
		UploadedAt: w.Clock.Now()}
	store.Set(storetest.CrashOn("insert", inspection.PhotosSpec.Name))
	if _, err := w.Insp.Photos.Complete(ctx, u, ph); !errors.Is(err, storetest.ErrCrash) {
		t.Fatalf("complete: %v, want the crash", err)
	}
	done, err := w.Insp.Decide(ctx, w.Admin, in.ID, inspection.OutcomeConformity)
	if err != nil || done.State != inspection.InspConcluded {
		t.Fatalf("decide: %v", err)
	}
	if _, err := w.Insp.Photos.Photo(ctx, u.ID); err != nil {
		t.Errorf("the photo's record: %v", err)
	}
}
