package documents_test

import (
	"testing"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
)

// Finding 12: a draft refused because the paper it supersedes is no longer valid uses up no number.
func TestRefusedDraftUsesNoNumber(t *testing.T) {
	docs, _ := newDocuments(t)
	ctx := t.Context()
	old, err := docs.Issue(ctx, passportDraft())
	if err != nil {
		t.Fatal(err)
	}
	admin := domain.Principal{UserID: "admin", Role: domain.RoleAdmin}
	if _, err := docs.Revoke(ctx, old.ID, admin, "issued in error"); err != nil {
		t.Fatal(err)
	}
	d := passportDraft()
	d.Supersedes = old.ID
	if _, err := docs.Issue(ctx, d); !domain.IsCode(err, domain.EPRECONDITION) {
		t.Fatalf("superseding a revoked paper: %v", err)
	}
	next, err := docs.Issue(ctx, passportDraft())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := next.Number, "VP-2026-311010-000002"; got != want {
		t.Errorf("number %q, want %q", got, want)
	}
}

// A draft issued revoked is stored revoked by its issuer at its issue time, and cannot supersede.
func TestIssueRevoked(t *testing.T) {
	docs, _ := newDocuments(t)
	ctx := t.Context()
	t.Run("OK", func(t *testing.T) {
		d := passportDraft()
		d.RevokeReason = "under review"
		doc, err := docs.Issue(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if doc.Status != documents.DocRevoked || doc.RevokeReason != "under review" || doc.RevokedBy != d.Issuer.UserID ||
			doc.RevokedAt == nil || !doc.RevokedAt.Equal(doc.IssuedAt) || doc.Version != 1 {
			t.Errorf("issued %s by %q at %v, version %d", doc.Status, doc.RevokedBy, doc.RevokedAt, doc.Version)
		}
	})
	t.Run("ErrWithSupersedes", func(t *testing.T) {
		old, err := docs.Issue(ctx, passportDraft())
		if err != nil {
			t.Fatal(err)
		}
		d := passportDraft()
		d.Supersedes, d.RevokeReason = old.ID, "x"
		if _, err := docs.Issue(ctx, d); !domain.IsCode(err, domain.EINVALID) {
			t.Errorf("revoked and superseding: %v", err)
		}
		if got, err := docs.Get(ctx, old.ID); err != nil || got.Status != documents.DocValid {
			t.Errorf("the old paper: %v", err)
		}
	})
}
