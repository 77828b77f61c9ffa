package epizootic_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite/sqlitetest"
	"github.com/vetfield/vetfield/domain/storetest"
)

// refEnv is service 2 over a fresh SQLite file whose writes a test can hook.
type refEnv struct {
	T       *testing.T
	Store   *storetest.HookStore
	Clock   *storetest.Clock
	Docs    *documents.Documents
	Ep      *epizootic.Service
	Admin   domain.Principal
	Vet     domain.Principal
	Vet2    domain.Principal
	Farmer  domain.Principal
	Holding *identification.Holding
}

// Territories and owners of the reference tests.
const (
	kzBayzak  = domain.Kato("313200000")
	kzBayzak1 = domain.Kato("313230000") // a rural district inside Bayzak
	ownerA    = "880101300123"
)

// almaty is a local time in Asia/Almaty.
var almaty = storetest.Almaty

func newRefEnv(t *testing.T) *refEnv {
	t.Helper()
	raw := sqlitetest.Open(t)
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	e := &refEnv{T: t, Store: storetest.Hook(raw), Clock: storetest.NewClock(almaty("2026-03-20", 10, 0))}
	app, err := vetfield.Open(t.Context(), vetfield.Config{Store: e.Store, Now: e.Clock.Now, Keys: keyring.New(key)})
	if err != nil {
		t.Fatal(err)
	}
	e.Docs, e.Ep = app.Documents, app.Epizootic
	ident := app.Identification
	e.Admin = domain.Principal{UserID: "admin", Username: "admin", Role: domain.RoleAdmin}
	e.Vet = domain.Principal{UserID: "vet-1", Username: "aigul", Role: domain.RoleVet, Territory: kzBayzak}
	e.Vet2 = domain.Principal{UserID: "vet-2", Username: "marat", Role: domain.RoleVet, Territory: kzBayzak}
	e.Farmer = domain.Principal{UserID: "farmer-a", Username: "farmer.a", Role: domain.RoleFarmer, IIN: ownerA}
	e.Holding, err = ident.Holdings.Create(t.Context(), e.Vet, identification.NewHolding{Kind: identification.HoldingYard, Name: "Ақжол",
		OwnerIIN: ownerA, OwnerName: "Серік Ахметов", Address: "Сарыкемер", Territory: string(kzBayzak1)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// milk is a reference for cattle milk of the holding, which foot-and-mouth disease restricts.
func (e *refEnv) Milk() epizootic.NewReference {
	return epizootic.NewReference{ID: uuid.NewString(), HoldingID: e.Holding.ID, Purpose: epizootic.PurposeSale,
		Destination: "Тараз қаласы", ExamResult: epizootic.ExamHealthy,
		Products: []epizootic.ReferenceProduct{{Kind: epizootic.ProductMilk, Species: domain.Cattle, Quantity: 200, Unit: "л", Origin: "Ақжол"}}}
}

// fmd declares foot-and-mouth disease over Bayzak from now.
func (e *refEnv) Fmd() {
	e.T.Helper()
	d, _ := domain.ParseCivilDate("2026-03-19")
	if _, err := e.Ep.Restrictions.Declare(e.T.Context(), e.Admin, epizootic.NewRestriction{Kind: epizootic.Quarantine, Disease: "fmd",
		Territory: string(kzBayzak), Decision: epizootic.EpizooticDecision{Number: "7", Date: d}}); err != nil {
		e.T.Fatal(err)
	}
}

// references lists every reference record of Bayzak.
func (e *refEnv) References() []*epizootic.Reference {
	e.T.Helper()
	rs, _, err := e.Ep.References.List(e.T.Context(), e.Admin, epizootic.ReferenceFilter{Limit: 100})
	if err != nil {
		e.T.Fatal(err)
	}
	return rs
}

// noDangling fails when a reference names a document that does not exist.
func (e *refEnv) NoDangling() {
	e.T.Helper()
	for _, r := range e.References() {
		if _, err := e.Docs.Get(e.T.Context(), r.DocumentID); err != nil {
			e.T.Errorf("reference %s names document %s: %v", r.ID, r.DocumentID, err)
		}
	}
}

// Finding 2: two vets deciding the same application at once give one reference, not two.
func TestReferenceApplicationDecidedOnce(t *testing.T) {
	t.Parallel()
	t.Run("OK_RaceLost", func(t *testing.T) {
		e := newRefEnv(t)
		ctx := t.Context()
		in := e.Milk()
		app, err := e.Ep.Applications.Apply(ctx, e.Farmer, epizootic.NewReferenceApplication{ID: uuid.NewString(),
			HoldingID: e.Holding.ID, Products: in.Products, Purpose: in.Purpose, Destination: in.Destination})
		if err != nil {
			t.Fatal(err)
		}
		first := epizootic.ApplicationDecision{ReferenceID: uuid.NewString(), ExamResult: epizootic.ExamHealthy}
		second := epizootic.ApplicationDecision{ReferenceID: uuid.NewString(), ExamResult: epizootic.ExamHealthy}
		var secondErr error
		// The second vet decides just before the first one's reference is stored.
		e.Store.Set(func(op, coll string, _ domain.Record) error {
			if op != "insert" || coll != epizootic.ReferencesSpec.Name {
				return nil
			}
			_, _, _, secondErr = e.Ep.Applications.Decide(ctx, e.Vet2, app.ID, second)
			return storetest.ErrHookDone
		})
		got, ref, _, err := e.Ep.Applications.Decide(ctx, e.Vet, app.ID, first)
		if err != nil {
			t.Fatalf("first decision: %v", err)
		}
		if secondErr == nil {
			t.Errorf("the second vet's decision succeeded too")
		}
		if got.Status != epizootic.AppIssued || got.ReferenceID != ref.ID || ref.ID != first.ReferenceID {
			t.Errorf("application %s names %s, reference %s", got.Status, got.ReferenceID, ref.ID)
		}
		if n := len(e.References()); n != 1 {
			t.Errorf("%d references for one application, want 1", n)
		}
		if _, _, _, err := e.Ep.Applications.Decide(ctx, e.Vet2, app.ID, second); err == nil {
			t.Errorf("the second decision, retried after the first, succeeded")
		}
		again, ref2, _, err := e.Ep.Applications.Decide(ctx, e.Vet, app.ID, first)
		if err != nil || ref2.ID != ref.ID || again.Version != got.Version {
			t.Errorf("a retry of the first decision: %v (reference %v)", err, ref2)
		}
	})
	t.Run("OK_CrashBeforeStatus", func(t *testing.T) {
		e := newRefEnv(t)
		ctx := t.Context()
		in := e.Milk()
		app, err := e.Ep.Applications.Apply(ctx, e.Farmer, epizootic.NewReferenceApplication{ID: uuid.NewString(),
			HoldingID: e.Holding.ID, Products: in.Products, Purpose: in.Purpose, Destination: in.Destination})
		if err != nil {
			t.Fatal(err)
		}
		first := epizootic.ApplicationDecision{ReferenceID: uuid.NewString(), ExamResult: epizootic.ExamHealthy}
		// The reference is issued, then the process dies before the application is marked decided.
		e.Store.Set(func(op, coll string, rec domain.Record) error {
			if op == "update" && coll == epizootic.ReferenceApplicationsSpec.Name && string(rec.Data) != "" &&
				containsJSON(rec.Data, `"status":"issued"`) {
				return storetest.ErrCrash
			}
			return nil
		})
		if _, _, _, err := e.Ep.Applications.Decide(ctx, e.Vet, app.ID, first); !errors.Is(err, storetest.ErrCrash) {
			t.Fatalf("first decision: %v, want the crash", err)
		}
		other := epizootic.ApplicationDecision{ReferenceID: uuid.NewString(), ExamResult: epizootic.ExamHealthy}
		if _, _, _, err := e.Ep.Applications.Decide(ctx, e.Vet2, app.ID, other); !domain.IsCode(err, domain.ECONFLICT) {
			t.Errorf("another vet deciding after the crash: %v, want %s", err, domain.ECONFLICT)
		}
		got, ref, doc, err := e.Ep.Applications.Decide(ctx, e.Vet, app.ID, first)
		if err != nil || got.Status != epizootic.AppIssued || ref.ID != first.ReferenceID || doc.Number != ref.DocumentNumber {
			t.Fatalf("retry after the crash: %v", err)
		}
		if n := len(e.References()); n != 1 {
			t.Errorf("%d references for one application, want 1", n)
		}
	})
	t.Run("ErrInvalidDecisionDoesNotClaim", func(t *testing.T) {
		e := newRefEnv(t)
		ctx := t.Context()
		in := e.Milk()
		app, err := e.Ep.Applications.Apply(ctx, e.Farmer, epizootic.NewReferenceApplication{ID: uuid.NewString(),
			HoldingID: e.Holding.ID, Products: in.Products, Purpose: in.Purpose, Destination: in.Destination})
		if err != nil {
			t.Fatal(err)
		}
		bad := epizootic.ApplicationDecision{ReferenceID: uuid.NewString(), ExamResult: "maybe"}
		if _, _, _, err := e.Ep.Applications.Decide(ctx, e.Vet, app.ID, bad); !domain.IsCode(err, domain.EINVALID) {
			t.Fatalf("invalid decision: %v", err)
		}
		ok := epizootic.ApplicationDecision{ReferenceID: uuid.NewString(), ExamResult: epizootic.ExamHealthy}
		if _, _, _, err := e.Ep.Applications.Decide(ctx, e.Vet2, app.ID, ok); err != nil {
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
	t.Parallel()
	e := newRefEnv(t)
	ctx := t.Context()
	issuedAt := e.Clock.Now().Add(-2 * time.Hour)
	e.Fmd() // declared after the tablet issued, in force when it syncs
	// Any write to the paper after its insert would be the moment it was valid: fail it.
	e.Store.Set(storetest.CrashOn("update", documents.DocumentsSpec.Name))
	r, doc, err := e.Ep.References.IssueOffline(ctx, e.Vet, e.Milk(), epizootic.OfflineIssue{At: issuedAt})
	e.Store.Set(nil)
	if err != nil {
		t.Fatalf("offline reference: %v", err)
	}
	if !r.ReviewRequired || r.Outcome != epizootic.RefIssued {
		t.Fatalf("reference %s, review %v", r.Outcome, r.ReviewRequired)
	}
	stored, err := e.Docs.Get(ctx, r.DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != documents.DocRevoked || stored.RevokedBy != e.Vet.UserID || stored.RevokeReason == "" ||
		stored.RevokedAt == nil || !stored.RevokedAt.Equal(stored.IssuedAt) || stored.Version != 1 || doc.Status != documents.DocRevoked {
		t.Errorf("paper %s by %q at %v (issued %v), version %d", stored.Status, stored.RevokedBy, stored.RevokedAt, stored.IssuedAt, stored.Version)
	}
	if v, err := e.Docs.VerifyToken(ctx, stored.Token); err != nil || v.Status != documents.VerifyRevoked {
		t.Errorf("scan: %v %v", v.Status, err)
	}
}

// Finding 7: a reference never names a document that does not exist, whatever write fails.
func TestReferenceNeverNamesMissingPaper(t *testing.T) {
	t.Parallel()
	t.Run("OK_CrashBeforePaper", func(t *testing.T) {
		e := newRefEnv(t)
		in := e.Milk()
		e.Store.Set(storetest.CrashOn("insert", documents.DocumentsSpec.Name))
		if _, _, err := e.Ep.References.Issue(t.Context(), e.Vet, in); !errors.Is(err, storetest.ErrCrash) {
			t.Fatalf("issue: %v, want the crash", err)
		}
		e.NoDangling()
		r, doc, err := e.Ep.References.Issue(t.Context(), e.Vet, in)
		if err != nil || r.DocumentID != doc.ID || r.DocumentNumber != doc.Number {
			t.Fatalf("retry: %v", err)
		}
		e.NoDangling()
	})
	t.Run("OK_CrashBeforeRecordAdoptsPaper", func(t *testing.T) {
		e := newRefEnv(t)
		in := e.Milk()
		e.Store.Set(storetest.CrashOn("insert", epizootic.ReferencesSpec.Name))
		if _, _, err := e.Ep.References.Issue(t.Context(), e.Vet, in); !errors.Is(err, storetest.ErrCrash) {
			t.Fatalf("issue: %v, want the crash", err)
		}
		e.NoDangling()
		// The situation changes before the retry: the paper already issued is the decision.
		e.Clock.Set(e.Clock.Now().Add(time.Minute))
		e.Fmd()
		e.Clock.Set(e.Clock.Now().Add(time.Minute))
		r, doc, err := e.Ep.References.Issue(t.Context(), e.Vet, in)
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if r.Outcome != epizootic.RefIssued || doc.Type != documents.DocReference || r.DocumentNumber != doc.Number ||
			!r.IssuedAt.Equal(doc.IssuedAt) || len(r.Grounds) != 0 {
			t.Errorf("retry answered %s %s (%v), paper %s %s", r.Outcome, r.DocumentNumber, r.Grounds, doc.Type, doc.Number)
		}
		e.NoDangling()
	})
	t.Run("ErrIDReusedAfterCrash", func(t *testing.T) {
		e := newRefEnv(t)
		in := e.Milk()
		e.Store.Set(storetest.CrashOn("insert", epizootic.ReferencesSpec.Name))
		if _, _, err := e.Ep.References.Issue(t.Context(), e.Vet, in); !errors.Is(err, storetest.ErrCrash) {
			t.Fatalf("issue: %v, want the crash", err)
		}
		other := in
		other.Destination = "Шымкент"
		if _, _, err := e.Ep.References.Issue(t.Context(), e.Vet, other); !domain.IsCode(err, domain.ECONFLICT) {
			t.Errorf("another request with the id: %v, want %s", err, domain.ECONFLICT)
		}
		if n := len(e.References()); n != 0 {
			t.Errorf("%d references stored", n)
		}
	})
}
