package domain_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/domain"
)

// identHookStore is the real store with hooks on chosen writes: a hook runs just before the n-th
// Insert or Update of a collection (once), and can run a second request there (an interleaving)
// or return an error that replaces the write (a crash right before it).
type identHookStore struct {
	domain.Store
	mu    sync.Mutex
	hooks []*identStoreHook
}

type identStoreHook struct {
	op, coll string // op is "insert" or "update"
	// match, if set, picks the writes the hook counts.
	match func(domain.Record) bool
	// skip is how many matching writes pass before the hook fires.
	skip int
	run  func() error
	done bool
}

// on adds a hook: run fires before the first matching write of op on coll.
func (h *identHookStore) on(op, coll string, run func() error) *identStoreHook {
	k := &identStoreHook{op: op, coll: coll, run: run}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hooks = append(h.hooks, k)
	return k
}

// crash makes the first matching write of op on coll fail with errCrash.
func (h *identHookStore) crash(op, coll string) *identStoreHook {
	return h.on(op, coll, func() error { return errCrash })
}

func (h *identHookStore) fire(op, coll string, rec domain.Record) error {
	h.mu.Lock()
	var k *identStoreHook
	for _, x := range h.hooks {
		if x.done || x.op != op || x.coll != coll || (x.match != nil && !x.match(rec)) {
			continue
		}
		if x.skip > 0 {
			x.skip--
			continue
		}
		x.done, k = true, x
		break
	}
	h.mu.Unlock()
	if k == nil {
		return nil
	}
	return k.run() // outside the lock: the hook may write through this store
}

func (h *identHookStore) Insert(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	if err := h.fire("insert", coll, rec); err != nil {
		return domain.Record{}, err
	}
	return h.Store.Insert(ctx, coll, rec)
}

func (h *identHookStore) Update(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	if err := h.fire("update", coll, rec); err != nil {
		return domain.Record{}, err
	}
	return h.Store.Update(ctx, coll, rec)
}

// hooked puts a identHookStore under every identification service and the documents.
func (e *identEnv) hooked() *identHookStore {
	h := &identHookStore{Store: e.store}
	e.docs.Store, e.id.Animals.Store, e.id.Reissues.Store, e.id.Stock.Store, e.id.Holdings.Store = h, h, h, h, h
	return h
}

// openArrived opens a loss case for a and records the tags' arrival.
func (e *identEnv) openArrived(a *domain.Animal) *domain.Reissue {
	e.t.Helper()
	rc, err := e.id.Reissues.ReportTagLoss(e.t.Context(), e.vet, a.ID, domain.TagLoss{ID: uuid.NewString(), Kind: domain.TagLost})
	if err != nil {
		e.t.Fatal(err)
	}
	if rc, err = e.id.Reissues.TagsArrived(e.t.Context(), e.vet, rc.ID, domain.NewCivilDate(2026, 3, 20)); err != nil {
		e.t.Fatal(err)
	}
	return rc
}

// checkOnePassport checks the animal's papers: exactly one valid passport (or duplicate), the one
// the animal points at, printing the animal's current number.
func (e *identEnv) checkOnePassport(animalID string) *domain.Document {
	t := e.t
	t.Helper()
	a, err := e.id.Animals.Get(t.Context(), e.vet, animalID)
	if err != nil {
		t.Fatal(err)
	}
	docs, _, err := e.docs.List(t.Context(), domain.DocumentFilter{SubjectID: animalID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var valid []*domain.Document
	for _, d := range docs {
		if d.Status == domain.DocValid && (d.Type == domain.DocPassport || d.Type == domain.DocPassportDuplicate) {
			valid = append(valid, d)
		}
	}
	if len(valid) != 1 {
		for _, d := range docs {
			t.Logf("  %s %s %s tag %s supersedes %s", d.ID, d.Type, d.Status, d.Subject.Tag, d.Supersedes)
		}
		t.Fatalf("%d valid passports, want 1 (animal points at %s)", len(valid), a.PassportID)
	}
	if got, want := a.PassportID, valid[0].ID; got != want {
		t.Errorf("the animal points at %s, want the valid passport %s", got, want)
	}
	if got, want := valid[0].Subject.Tag, string(a.Tag); got != want {
		t.Errorf("the valid passport prints %s, the animal carries %s", got, want)
	}
	return valid[0]
}

// TestPassportCopiesDuringReissue: while a reissue case is open, no duplicate or extract is issued
// (finding 1): the case will issue a new passport, and a duplicate beside it would leave two.
func TestPassportCopiesDuringReissue(t *testing.T) {
	t.Run("ErrDuplicateWhileOpen", func(t *testing.T) {
		e := newIdentEnv(t)
		a, _ := e.identify("398000000000001")
		e.openArrived(a)
		before := e.lastSeq()
		for _, copyFn := range []func(context.Context, domain.Principal, string, string) (*domain.Animal, *domain.Document, error){
			e.id.Animals.DuplicatePassport, e.id.Animals.ExtractPassport,
		} {
			if _, _, err := copyFn(t.Context(), e.vet, a.ID, uuid.NewString()); !domain.IsCode(err, domain.EPRECONDITION) {
				t.Errorf("err = %v, want EPRECONDITION", err)
			}
		}
		if e.lastSeq() != before {
			t.Error("a refused copy wrote something")
		}
	})

	// Vet B asks for a duplicate just after vet A's completion pinned its number.
	t.Run("DuplicateAfterPin", func(t *testing.T) {
		e := newIdentEnv(t)
		a, _ := e.identify("398000000000001")
		rc := e.openArrived(a)
		h := e.hooked()
		var dupErr error
		h.on("update", domain.ReissuesSpec.Name, func() error {
			_, _, dupErr = e.id.Animals.DuplicatePassport(t.Context(), e.vet2, a.ID, uuid.NewString())
			return nil
		})
		if _, err := e.id.Reissues.Complete(t.Context(), e.vet, rc.ID, domain.ReissueCompletion{Number: "398000000000500"}); err != nil {
			t.Fatal(err)
		}
		if !domain.IsCode(dupErr, domain.EPRECONDITION) {
			t.Errorf("duplicate during completion: %v, want EPRECONDITION", dupErr)
		}
		e.checkOnePassport(a.ID)
	})

	// Complete dies after pinning; days later a duplicate is asked for; then Complete is retried.
	t.Run("DuplicateBetweenCrashAndRetry", func(t *testing.T) {
		e := newIdentEnv(t)
		a, p0 := e.identify("398000000000001")
		rc := e.openArrived(a)
		h := e.hooked()
		h.crash("update", domain.AnimalsSpec.Name)
		in := domain.ReissueCompletion{Number: "398000000000500"}
		if _, err := e.id.Reissues.Complete(t.Context(), e.vet, rc.ID, in); !errors.Is(err, errCrash) {
			t.Fatalf("first attempt: %v, want the crash", err)
		}
		if _, _, err := e.id.Animals.DuplicatePassport(t.Context(), e.vet2, a.ID, uuid.NewString()); !domain.IsCode(err, domain.EPRECONDITION) {
			t.Errorf("duplicate while the case is open: %v, want EPRECONDITION", err)
		}
		rc, err := e.id.Reissues.Complete(t.Context(), e.vet, rc.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		p1 := e.checkOnePassport(a.ID)
		if p1.ID != rc.PassportID {
			t.Errorf("the valid passport is %s, the case issued %s", p1.ID, rc.PassportID)
		}
		e.checkReissued(a.ID, p0, rc)
		// Once completed, a duplicate replaces the new passport.
		_, d, err := e.id.Animals.DuplicatePassport(t.Context(), e.vet2, a.ID, uuid.NewString())
		if err != nil {
			t.Fatal(err)
		}
		if d.Supersedes != p1.ID || e.checkOnePassport(a.ID).ID != d.ID {
			t.Errorf("duplicate after completion supersedes %s", d.Supersedes)
		}
	})
}

// TestReissueCrashAroundPassport: a completion that dies around issuing the new passport never
// leaves the animal pointing at a passport that does not exist (finding 3).
func TestReissueCrashAroundPassport(t *testing.T) {
	for _, c := range []struct {
		name, op, coll string
	}{
		{"BeforePassport", "insert", domain.DocumentsSpec.Name},
		{"BeforeAnimal", "update", domain.AnimalsSpec.Name},
		{"BeforeClosingCase", "update", domain.ReissuesSpec.Name},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newIdentEnv(t)
			a, p0 := e.identify("398000000000001")
			rc := e.openArrived(a)
			h := e.hooked()
			k := h.crash(c.op, c.coll)
			if c.coll == domain.ReissuesSpec.Name {
				k.skip = 2 // the pin and the fitted mark pass; closing the case dies
			}
			in := domain.ReissueCompletion{Number: "398000000000500"}
			if _, err := e.id.Reissues.Complete(t.Context(), e.vet, rc.ID, in); !errors.Is(err, errCrash) {
				t.Fatalf("first attempt: %v, want the crash", err)
			}
			got, err := e.id.Animals.Get(t.Context(), e.vet, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			p, err := e.id.Animals.Passport(t.Context(), got)
			if err != nil || p == nil || p.Status != domain.DocValid {
				t.Fatalf("passport after the crash: %+v, %v; want a valid one", p, err)
			}
			if got.PassportID != p.ID {
				t.Errorf("the animal points at %s, its passport is %s", got.PassportID, p.ID)
			}
			cur, err := e.id.Animals.CurrentPassport(t.Context(), got)
			if err != nil || cur.ID != p.ID {
				t.Errorf("CurrentPassport: %v, %v", cur, err)
			}
			rc, err = e.id.Reissues.Complete(t.Context(), e.vet, rc.ID, in)
			if err != nil {
				t.Fatal(err)
			}
			e.checkReissued(a.ID, p0, rc)
			e.checkOnePassport(a.ID)
		})
	}
}

// TestDuplicateCrashBeforePointing: a duplicate issued but never pointed at (a crash in between)
// becomes the animal's passport when next read, and further copies work (finding 4).
func TestDuplicateCrashBeforePointing(t *testing.T) {
	e := newIdentEnv(t)
	a, p0 := e.identify("398000000000001")
	h := e.hooked()
	h.crash("update", domain.AnimalsSpec.Name)
	reqID := uuid.NewString()
	if _, _, err := e.id.Animals.DuplicatePassport(t.Context(), e.vet, a.ID, reqID); !errors.Is(err, errCrash) {
		t.Fatalf("first attempt: %v, want the crash", err)
	}
	got, err := e.id.Animals.Get(t.Context(), e.vet, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.PassportID != p0.ID {
		t.Fatalf("the crash should leave the animal on %s, it is on %s", p0.ID, got.PassportID)
	}
	d, err := e.id.Animals.Passport(t.Context(), got)
	if err != nil {
		t.Fatal(err)
	}
	if d == nil || d.Status != domain.DocValid || d.Supersedes != p0.ID || got.PassportID != d.ID {
		t.Fatalf("passport read after the crash: %+v (animal on %s), want the valid duplicate", d, got.PassportID)
	}
	if stored := e.checkOnePassport(a.ID); stored.ID != d.ID {
		t.Errorf("stored pointer %s, want %s", stored.ID, d.ID)
	}
	_, d2, err := e.id.Animals.DuplicatePassport(t.Context(), e.vet, a.ID, uuid.NewString())
	if err != nil {
		t.Fatalf("a further duplicate: %v", err)
	}
	if d2.Supersedes != d.ID || e.checkOnePassport(a.ID).ID != d2.ID {
		t.Errorf("further duplicate supersedes %s, want %s", d2.Supersedes, d.ID)
	}
	if _, _, err := e.id.Animals.ExtractPassport(t.Context(), e.vet, a.ID, uuid.NewString()); err != nil {
		t.Errorf("an extract: %v", err)
	}
	// The first request, retried, changes nothing.
	if _, again, err := e.id.Animals.DuplicatePassport(t.Context(), e.vet, a.ID, reqID); err != nil || again.ID != d.ID {
		t.Errorf("retry of the first request: %v, %v", again, err)
	}
	e.checkOnePassport(a.ID)
}

// TestReissueLossAppliedAfterCrash: a case stored just before a crash still has its loss applied,
// by the next step of the case (finding 5).
func TestReissueLossAppliedAfterCrash(t *testing.T) {
	e := newIdentEnv(t)
	a, p0 := e.identify("398000000000001")
	h := e.hooked()
	h.crash("update", domain.TagsSpec.Name) // markLost, right after the case is stored
	rc, err := e.id.Reissues.ReportTagLoss(t.Context(), e.farmerA, a.ID, domain.TagLoss{ID: uuid.NewString(), Kind: domain.TagLost})
	if !errors.Is(err, errCrash) {
		t.Fatalf("report: %v, want the crash", err)
	}
	cases, _, err := e.id.Reissues.List(t.Context(), e.vet, domain.ReissueFilter{Status: domain.ReissueAwaitingTags})
	if err != nil || len(cases) != 1 {
		t.Fatalf("cases: %v, %v", cases, err)
	}
	rc = cases[0]
	if rc, err = e.id.Reissues.TagsArrived(t.Context(), e.vet, rc.ID, domain.NewCivilDate(2026, 3, 20)); err != nil {
		t.Fatal(err)
	}
	got, err := e.id.Animals.Get(t.Context(), e.vet, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.OpenReissue != rc.ID || got.Identifiers[0].Status != domain.IdentLost || e.tagStatus("398000000000001") != domain.TagLost {
		t.Errorf("after the arrival: open %q, identifier %s, stock %s", got.OpenReissue, got.Identifiers[0].Status, e.tagStatus("398000000000001"))
	}
	if _, _, err := e.id.Animals.DuplicatePassport(t.Context(), e.vet, a.ID, uuid.NewString()); !domain.IsCode(err, domain.EPRECONDITION) {
		t.Errorf("duplicate while the case is open: %v", err)
	}
	if rc, err = e.id.Reissues.Complete(t.Context(), e.vet, rc.ID, domain.ReissueCompletion{Number: "398000000000500"}); err != nil {
		t.Fatal(err)
	}
	e.checkReissued(a.ID, p0, rc)
	kinds := e.events(e.vet, a.ID)
	if len(kinds) != 4 || !slices.Contains(kinds, domain.EventTagLost) {
		t.Errorf("events %v, want identified, tag_lost, tags_arrived, reissued", kinds)
	}
}

// TestIdentifyKeepsNumbersOfStoredAnimal: a request that fails claiming its second number gives
// back the first only when the number was refused and the animal was never stored; here a
// concurrent retry stored it (finding 9).
func TestIdentifyKeepsNumbersOfStoredAnimal(t *testing.T) {
	e := newIdentEnv(t)
	in := e.newAnimal("398000000000001")
	in.Identifiers = append(in.Identifiers, domain.IdentifierInput{Means: domain.MeansEarTag, Number: "398000000000002"})
	h := e.hooked()
	var retryErr error
	k := h.on("insert", domain.TagsSpec.Name, func() error {
		_, _, retryErr = e.id.Animals.Identify(t.Context(), e.vet, in) // the retry wins the race
		return errCrash                                                // and this attempt's claim fails
	})
	k.match = func(r domain.Record) bool { return r.ID == "398000000000002" }
	if _, _, err := e.id.Animals.Identify(t.Context(), e.vet, in); !errors.Is(err, errCrash) {
		t.Fatalf("first attempt: %v, want the crash", err)
	}
	if retryErr != nil {
		t.Fatalf("the retry: %v", retryErr)
	}
	for _, n := range []string{"398000000000001", "398000000000002"} {
		if got := e.tagStatus(n); got != domain.TagFitted {
			t.Errorf("number %s is %s, want fitted: the stored animal carries it", n, got)
		}
	}
	if _, _, err := e.id.Animals.Identify(t.Context(), e.vet, e.newAnimal("398000000000001")); !domain.IsCode(err, domain.ECONFLICT) {
		t.Errorf("another animal with the first number: %v, want ECONFLICT", err)
	}
}

// TestReissueLosesSupersedeRace: a duplicate asked for before the case opened lands while the
// completion issues its passport, and both supersede the old passport at the same moment. The
// duplicate wins that race (Documents revokes the completion's passport); the completion then
// issues another passport superseding the duplicate, and the animal ends with one valid passport
// printing the new number.
func TestReissueLosesSupersedeRace(t *testing.T) {
	e := newIdentEnv(t)
	a, _ := e.identify("398000000000001")
	h := e.hooked()
	dupReady, dupGo := make(chan struct{}), make(chan struct{})
	dupDone := make(chan error, 1)
	k := h.on("insert", domain.DocumentsSpec.Name, func() error {
		close(dupReady) // the duplicate checked the old passport is valid and is about to store
		<-dupGo
		return nil
	})
	k.match = func(r domain.Record) bool { return strings.Contains(string(r.Data), `"vet_passport_duplicate"`) }
	go func() {
		_, _, err := e.id.Animals.DuplicatePassport(context.Background(), e.vet2, a.ID, uuid.NewString())
		dupDone <- err
	}()
	<-dupReady
	rc := e.openArrived(a)
	var dupErr error
	h.on("update", domain.DocumentsSpec.Name, func() error { // the completion marks the old passport
		close(dupGo)
		dupErr = <-dupDone
		return nil
	})
	rc, err := e.id.Reissues.Complete(t.Context(), e.vet, rc.ID, domain.ReissueCompletion{Number: "398000000000500"})
	if err != nil {
		t.Fatal(err)
	}
	if dupErr != nil {
		t.Errorf("the duplicate: %v", dupErr)
	}
	p := e.checkOnePassport(a.ID)
	if p.ID != rc.PassportID || p.Subject.Tag != "398000000000500" {
		t.Errorf("valid passport %s about %s, the case names %s", p.ID, p.Subject.Tag, rc.PassportID)
	}
	docs, _, err := e.docs.List(t.Context(), domain.DocumentFilter{SubjectID: a.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	revoked := 0
	for _, d := range docs {
		if d.Status == domain.DocRevoked {
			revoked++
		}
	}
	if len(docs) != 4 || revoked != 1 {
		t.Errorf("%d papers, %d revoked; want the first passport, the duplicate, the revoked loser and its replacement", len(docs), revoked)
	}
}
