package domain_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/domain/storetest"
)

// refHookStore is the real store with a hook that runs just before chosen writes: it may fail the
// write (a crash right there) or run a second request first (a race lost at that very point).
type refHookStore struct {
	domain.Store
	mu   sync.Mutex
	hook func(op, coll string, rec domain.Record) error
}

// set installs a hook; it runs for every write until it returns errRefHookDone, and never re-entrantly.
func (h *refHookStore) set(fn func(op, coll string, rec domain.Record) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hook = fn
}

var errRefHookDone = errors.New("hook done")
var errRefCrash = errors.New("simulated crash")

func (h *refHookStore) before(op, coll string, rec domain.Record) error {
	h.mu.Lock()
	fn := h.hook
	h.hook = nil // the hook's own writes pass through
	h.mu.Unlock()
	if fn == nil {
		return nil
	}
	err := fn(op, coll, rec)
	if errors.Is(err, errRefHookDone) {
		return nil
	}
	if err == nil || errors.Is(err, errRefCrash) {
		h.mu.Lock()
		if err == nil && h.hook == nil {
			h.hook = fn // not its write yet: keep watching
		}
		h.mu.Unlock()
	}
	return err
}

func (h *refHookStore) Insert(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	if err := h.before("insert", coll, rec); err != nil {
		return domain.Record{}, err
	}
	return h.Store.Insert(ctx, coll, rec)
}

func (h *refHookStore) Update(ctx context.Context, coll string, rec domain.Record) (domain.Record, error) {
	if err := h.before("update", coll, rec); err != nil {
		return domain.Record{}, err
	}
	return h.Store.Update(ctx, coll, rec)
}

// crashOn fails the first write op into coll.
func refCrashOn(op, coll string) func(string, string, domain.Record) error {
	return func(o, c string, _ domain.Record) error {
		if o == op && c == coll {
			return errRefCrash
		}
		return nil
	}
}

// refEnv is service 2 over a fresh SQLite file whose writes a test can hook.
type refEnv struct {
	t       *testing.T
	store   *refHookStore
	clock   *storetest.Clock
	docs    *domain.Documents
	ep      *domain.Epizootic
	admin   domain.Principal
	vet     domain.Principal
	vet2    domain.Principal
	farmer  domain.Principal
	holding *domain.Holding
}

func newRefEnv(t *testing.T) *refEnv {
	t.Helper()
	raw, err := sqlite.Open(filepath.Join(t.TempDir(), "ref.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	specs := append([]domain.CollectionSpec{domain.UsersSpec, domain.DocumentsSpec, domain.CalendarSpec}, domain.IdentificationSpecs...)
	specs = append(specs, domain.EpizooticSpecs...)
	if err := raw.Declare(t.Context(), specs...); err != nil {
		t.Fatal(err)
	}
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	e := &refEnv{t: t, store: &refHookStore{Store: raw}, clock: storetest.NewClock(almaty("2026-03-20", 10, 0))}
	e.docs = &domain.Documents{Store: e.store, Now: e.clock.Now, Keys: keyring.New(key)}
	ident := domain.NewIdentification(e.store, e.docs, domain.NewCalendar(e.store, e.clock.Now), e.clock.Now)
	e.ep = domain.NewEpizootic(e.store, e.docs, ident, e.clock.Now)
	if err := e.ep.Seed(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.admin = domain.Principal{UserID: "admin", Username: "admin", Role: domain.RoleAdmin}
	e.vet = domain.Principal{UserID: "vet-1", Username: "aigul", Role: domain.RoleVet, Territory: kzBayzak}
	e.vet2 = domain.Principal{UserID: "vet-2", Username: "marat", Role: domain.RoleVet, Territory: kzBayzak}
	e.farmer = domain.Principal{UserID: "farmer-a", Username: "farmer.a", Role: domain.RoleFarmer, IIN: ownerA}
	e.holding, err = ident.Holdings.Create(t.Context(), e.vet, domain.NewHolding{Kind: domain.HoldingYard, Name: "Ақжол",
		OwnerIIN: ownerA, OwnerName: "Серік Ахметов", Address: "Сарыкемер", Territory: string(kzBayzak1)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// milk is a reference for cattle milk of the holding, which foot-and-mouth disease restricts.
func (e *refEnv) milk() domain.NewReference {
	return domain.NewReference{ID: uuid.NewString(), HoldingID: e.holding.ID, Purpose: domain.PurposeSale,
		Destination: "Тараз қаласы", ExamResult: domain.ExamHealthy,
		Products: []domain.ReferenceProduct{{Kind: domain.ProductMilk, Species: domain.Cattle, Quantity: 200, Unit: "л", Origin: "Ақжол"}}}
}

// fmd declares foot-and-mouth disease over Bayzak from now.
func (e *refEnv) fmd() {
	e.t.Helper()
	d, _ := domain.ParseCivilDate("2026-03-19")
	if _, err := e.ep.Restrictions.Declare(e.t.Context(), e.admin, domain.NewRestriction{Kind: domain.Quarantine, Disease: "fmd",
		Territory: string(kzBayzak), Decision: domain.EpizooticDecision{Number: "7", Date: d}}); err != nil {
		e.t.Fatal(err)
	}
}

// references lists every reference record of Bayzak.
func (e *refEnv) references() []*domain.Reference {
	e.t.Helper()
	rs, _, err := e.ep.References.List(e.t.Context(), e.admin, domain.ReferenceFilter{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return rs
}

// noDangling fails when a reference names a document that does not exist.
func (e *refEnv) noDangling() {
	e.t.Helper()
	for _, r := range e.references() {
		if _, err := e.docs.Get(e.t.Context(), r.DocumentID); err != nil {
			e.t.Errorf("reference %s names document %s: %v", r.ID, r.DocumentID, err)
		}
	}
}

// Finding 2: two vets deciding the same application at once give one reference, not two.
func TestReferenceApplicationDecidedOnce(t *testing.T) {
	t.Run("OK_RaceLost", func(t *testing.T) {
		e := newRefEnv(t)
		ctx := t.Context()
		in := e.milk()
		app, err := e.ep.Applications.Apply(ctx, e.farmer, domain.NewReferenceApplication{ID: uuid.NewString(),
			HoldingID: e.holding.ID, Products: in.Products, Purpose: in.Purpose, Destination: in.Destination})
		if err != nil {
			t.Fatal(err)
		}
		first := domain.ApplicationDecision{ReferenceID: uuid.NewString(), ExamResult: domain.ExamHealthy}
		second := domain.ApplicationDecision{ReferenceID: uuid.NewString(), ExamResult: domain.ExamHealthy}
		var secondErr error
		// The second vet decides just before the first one's reference is stored.
		e.store.set(func(op, coll string, _ domain.Record) error {
			if op != "insert" || coll != domain.ReferencesSpec.Name {
				return nil
			}
			_, _, _, secondErr = e.ep.Applications.Decide(ctx, e.vet2, app.ID, second)
			return errRefHookDone
		})
		got, ref, _, err := e.ep.Applications.Decide(ctx, e.vet, app.ID, first)
		if err != nil {
			t.Fatalf("first decision: %v", err)
		}
		if secondErr == nil {
			t.Errorf("the second vet's decision succeeded too")
		}
		if got.Status != domain.AppIssued || got.ReferenceID != ref.ID || ref.ID != first.ReferenceID {
			t.Errorf("application %s names %s, reference %s", got.Status, got.ReferenceID, ref.ID)
		}
		if n := len(e.references()); n != 1 {
			t.Errorf("%d references for one application, want 1", n)
		}
		if _, _, _, err := e.ep.Applications.Decide(ctx, e.vet2, app.ID, second); err == nil {
			t.Errorf("the second decision, retried after the first, succeeded")
		}
		again, ref2, _, err := e.ep.Applications.Decide(ctx, e.vet, app.ID, first)
		if err != nil || ref2.ID != ref.ID || again.Version != got.Version {
			t.Errorf("a retry of the first decision: %v (reference %v)", err, ref2)
		}
	})
	t.Run("OK_CrashBeforeStatus", func(t *testing.T) {
		e := newRefEnv(t)
		ctx := t.Context()
		in := e.milk()
		app, err := e.ep.Applications.Apply(ctx, e.farmer, domain.NewReferenceApplication{ID: uuid.NewString(),
			HoldingID: e.holding.ID, Products: in.Products, Purpose: in.Purpose, Destination: in.Destination})
		if err != nil {
			t.Fatal(err)
		}
		first := domain.ApplicationDecision{ReferenceID: uuid.NewString(), ExamResult: domain.ExamHealthy}
		// The reference is issued, then the process dies before the application is marked decided.
		e.store.set(func(op, coll string, rec domain.Record) error {
			if op == "update" && coll == domain.ReferenceApplicationsSpec.Name && string(rec.Data) != "" &&
				containsJSON(rec.Data, `"status":"issued"`) {
				return errRefCrash
			}
			return nil
		})
		if _, _, _, err := e.ep.Applications.Decide(ctx, e.vet, app.ID, first); !errors.Is(err, errRefCrash) {
			t.Fatalf("first decision: %v, want the crash", err)
		}
		other := domain.ApplicationDecision{ReferenceID: uuid.NewString(), ExamResult: domain.ExamHealthy}
		if _, _, _, err := e.ep.Applications.Decide(ctx, e.vet2, app.ID, other); !domain.IsCode(err, domain.ECONFLICT) {
			t.Errorf("another vet deciding after the crash: %v, want %s", err, domain.ECONFLICT)
		}
		got, ref, doc, err := e.ep.Applications.Decide(ctx, e.vet, app.ID, first)
		if err != nil || got.Status != domain.AppIssued || ref.ID != first.ReferenceID || doc.Number != ref.DocumentNumber {
			t.Fatalf("retry after the crash: %v", err)
		}
		if n := len(e.references()); n != 1 {
			t.Errorf("%d references for one application, want 1", n)
		}
	})
	t.Run("ErrInvalidDecisionDoesNotClaim", func(t *testing.T) {
		e := newRefEnv(t)
		ctx := t.Context()
		in := e.milk()
		app, err := e.ep.Applications.Apply(ctx, e.farmer, domain.NewReferenceApplication{ID: uuid.NewString(),
			HoldingID: e.holding.ID, Products: in.Products, Purpose: in.Purpose, Destination: in.Destination})
		if err != nil {
			t.Fatal(err)
		}
		bad := domain.ApplicationDecision{ReferenceID: uuid.NewString(), ExamResult: "maybe"}
		if _, _, _, err := e.ep.Applications.Decide(ctx, e.vet, app.ID, bad); !domain.IsCode(err, domain.EINVALID) {
			t.Fatalf("invalid decision: %v", err)
		}
		ok := domain.ApplicationDecision{ReferenceID: uuid.NewString(), ExamResult: domain.ExamHealthy}
		if _, _, _, err := e.ep.Applications.Decide(ctx, e.vet2, app.ID, ok); err != nil {
			t.Errorf("a valid decision after an invalid one: %v", err)
		}
	})
}

func containsJSON(data []byte, s string) bool {
	return strings.Contains(string(data), s)
}

// Finding 8: a reference issued offline that needs review is never a valid paper, even for a
// moment: its paper is stored revoked in the one insert.
func TestOfflineReviewPaperNeverValid(t *testing.T) {
	e := newRefEnv(t)
	ctx := t.Context()
	issuedAt := e.clock.Now().Add(-2 * time.Hour)
	e.fmd() // declared after the tablet issued, in force when it syncs
	// Any write to the paper after its insert would be the moment it was valid: fail it.
	e.store.set(refCrashOn("update", domain.DocumentsSpec.Name))
	r, doc, err := e.ep.References.IssueOffline(ctx, e.vet, e.milk(), domain.OfflineIssue{At: issuedAt})
	e.store.set(nil)
	if err != nil {
		t.Fatalf("offline reference: %v", err)
	}
	if !r.ReviewRequired || r.Outcome != domain.RefIssued {
		t.Fatalf("reference %s, review %v", r.Outcome, r.ReviewRequired)
	}
	stored, err := e.docs.Get(ctx, r.DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != domain.DocRevoked || stored.RevokedBy != e.vet.UserID || stored.RevokeReason == "" ||
		stored.RevokedAt == nil || !stored.RevokedAt.Equal(stored.IssuedAt) || stored.Version != 1 || doc.Status != domain.DocRevoked {
		t.Errorf("paper %s by %q at %v (issued %v), version %d", stored.Status, stored.RevokedBy, stored.RevokedAt, stored.IssuedAt, stored.Version)
	}
	if v, err := e.docs.VerifyToken(ctx, stored.Token); err != nil || v.Status != domain.VerifyRevoked {
		t.Errorf("scan: %v %v", v.Status, err)
	}
}

// Finding 7: a reference never names a document that does not exist, whatever write fails.
func TestReferenceNeverNamesMissingPaper(t *testing.T) {
	t.Run("OK_CrashBeforePaper", func(t *testing.T) {
		e := newRefEnv(t)
		in := e.milk()
		e.store.set(refCrashOn("insert", domain.DocumentsSpec.Name))
		if _, _, err := e.ep.References.Issue(t.Context(), e.vet, in); !errors.Is(err, errRefCrash) {
			t.Fatalf("issue: %v, want the crash", err)
		}
		e.noDangling()
		r, doc, err := e.ep.References.Issue(t.Context(), e.vet, in)
		if err != nil || r.DocumentID != doc.ID || r.DocumentNumber != doc.Number {
			t.Fatalf("retry: %v", err)
		}
		e.noDangling()
	})
	t.Run("OK_CrashBeforeRecordAdoptsPaper", func(t *testing.T) {
		e := newRefEnv(t)
		in := e.milk()
		e.store.set(refCrashOn("insert", domain.ReferencesSpec.Name))
		if _, _, err := e.ep.References.Issue(t.Context(), e.vet, in); !errors.Is(err, errRefCrash) {
			t.Fatalf("issue: %v, want the crash", err)
		}
		e.noDangling()
		// The situation changes before the retry: the paper already issued is the decision.
		e.clock.Set(e.clock.Now().Add(time.Minute))
		e.fmd()
		e.clock.Set(e.clock.Now().Add(time.Minute))
		r, doc, err := e.ep.References.Issue(t.Context(), e.vet, in)
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if r.Outcome != domain.RefIssued || doc.Type != domain.DocReference || r.DocumentNumber != doc.Number ||
			!r.IssuedAt.Equal(doc.IssuedAt) || len(r.Grounds) != 0 {
			t.Errorf("retry answered %s %s (%v), paper %s %s", r.Outcome, r.DocumentNumber, r.Grounds, doc.Type, doc.Number)
		}
		e.noDangling()
	})
	t.Run("ErrIDReusedAfterCrash", func(t *testing.T) {
		e := newRefEnv(t)
		in := e.milk()
		e.store.set(refCrashOn("insert", domain.ReferencesSpec.Name))
		if _, _, err := e.ep.References.Issue(t.Context(), e.vet, in); !errors.Is(err, errRefCrash) {
			t.Fatalf("issue: %v, want the crash", err)
		}
		other := in
		other.Destination = "Шымкент"
		if _, _, err := e.ep.References.Issue(t.Context(), e.vet, other); !domain.IsCode(err, domain.ECONFLICT) {
			t.Errorf("another request with the id: %v, want %s", err, domain.ECONFLICT)
		}
		if n := len(e.references()); n != 0 {
			t.Errorf("%d references stored", n)
		}
	})
}
