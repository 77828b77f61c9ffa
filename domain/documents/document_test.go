package documents_test

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skip2/go-qrcode"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
)

func openStore(t *testing.T, specs ...domain.CollectionSpec) domain.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Declare(t.Context(), specs...); err != nil {
		t.Fatal(err)
	}
	return s
}

func newDocuments(t *testing.T) (*documents.Documents, *keyring.Ring) {
	t.Helper()
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	ring := keyring.New(key)
	now := time.Date(2026, 3, 20, 10, 30, 0, 0, domain.Almaty)
	return &documents.Documents{Store: openStore(t, documents.DocumentsSpec), Now: func() time.Time { return now }, Keys: ring}, ring
}

var bayzak = domain.Kato("313200000")

func passportDraft() documents.Draft {
	return documents.Draft{
		Type: documents.DocPassport,
		Subject: documents.Subject{Kind: documents.SubjectAnimal, ID: domain.NewID(), Tag: "398012345678901",
			Species: "cattle", OwnerIIN: "880101300123", Territory: bayzak},
		Issuer:  documents.Issuer{UserID: "vet-1", Name: "Айгүл Серікқызы", Unit: "311010000", UnitName: "Тараз қ. ветеринариялық станциясы"},
		Content: map[string]any{"breed": "Әулиеата", "colour": "қызыл", "sex": "female"},
	}
}

func TestIssueAndVerify(t *testing.T) {
	docs, _ := newDocuments(t)
	d, err := docs.Issue(t.Context(), passportDraft())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Number, "VP-2026-311010-000001"; got != want {
		t.Errorf("number %q, want %q", got, want)
	}
	if d.Status != documents.DocValid || len(d.ContentHash) != 64 || d.KeyID == "" {
		t.Errorf("issued %+v", d)
	}
	v, err := docs.VerifyToken(t.Context(), d.Token)
	if err != nil || v.Status != documents.VerifyGenuine {
		t.Fatalf("verify = %+v, %v", v, err)
	}
	v0 := v
	if v.Claims.Number() != d.Number || v.Claims.Subject != "398012345678901" || v.Claims.DocumentID != d.ID ||
		!v.Claims.IssueDate.Equal(time.Date(2026, 3, 20, 0, 0, 0, 0, domain.Almaty)) {
		t.Errorf("claims %+v", v.Claims)
	}

	t.Run("EveryFlippedByteIsNotGenuine", func(t *testing.T) {
		raw, _ := base64.RawURLEncoding.DecodeString(d.Token)
		for i := range raw {
			for _, flip := range []byte{0x01, 0x80} {
				b := append([]byte(nil), raw...)
				b[i] ^= flip
				v, err := docs.VerifyToken(t.Context(), base64.RawURLEncoding.EncodeToString(b))
				if err != nil || v.Status != documents.VerifyNotGenuine {
					t.Fatalf("byte %d ^ %#x: %+v, %v", i, flip, v.Status, err)
				}
			}
		}
	})

	t.Run("TruncatedAndGarbage", func(t *testing.T) {
		for _, tok := range []string{"", "A", d.Token[:len(d.Token)-1], d.Token[:40], d.Token + "A", d.Token + "==", "!!!!", string(make([]byte, 300))} {
			if v, err := docs.VerifyToken(t.Context(), tok); err != nil || v.Status != documents.VerifyNotGenuine {
				t.Errorf("%q: %+v, %v", tok, v.Status, err)
			}
		}
	})

	t.Run("QRToken", func(t *testing.T) {
		qr, err := documents.QRToken(d.Token)
		if err != nil || len(qr) != 161 || strings.ToUpper(qr) != qr || strings.ContainsAny(qr, " %/") {
			t.Fatalf("QRToken = %q (%d characters), %v", qr, len(qr), err)
		}
		v, err := docs.VerifyToken(t.Context(), qr)
		if err != nil || v.Status != documents.VerifyGenuine || v.Claims != v0.Claims {
			t.Fatalf("the QR form verifies as %+v, %v", v, err)
		}
		raw, _ := documents.DecodeURL45(qr)
		for i := range raw {
			b := append([]byte(nil), raw...)
			b[i] ^= 0x01
			if v, err := docs.VerifyToken(t.Context(), documents.EncodeURL45(b)); err != nil || v.Status != documents.VerifyNotGenuine {
				t.Fatalf("URL45 byte %d flipped: %+v, %v", i, v.Status, err)
			}
		}
		for _, tok := range []string{strings.ToLower(qr), qr[:len(qr)-1], qr + "A", documents.EncodeBase45(raw)} {
			if v, err := docs.VerifyToken(t.Context(), tok); err != nil || v.Status != documents.VerifyNotGenuine {
				t.Errorf("%q: %+v, %v", tok, v.Status, err)
			}
		}
	})

	t.Run("UnknownKey", func(t *testing.T) {
		other, _ := keyring.Generate()
		forger := &documents.Documents{Store: docs.Store, Now: docs.Now, Keys: keyring.New(other)}
		forged, err := forger.Issue(t.Context(), passportDraft())
		if err != nil {
			t.Fatal(err)
		}
		// The forger's document is even in the store: only the key gives it away.
		if v, _ := docs.VerifyToken(t.Context(), forged.Token); v.Status != documents.VerifyNotGenuine {
			t.Errorf("a token of an unknown key verifies as %s", v.Status)
		}
	})
}

func TestSupersedeAndRevoke(t *testing.T) {
	docs, _ := newDocuments(t)
	first, err := docs.Issue(t.Context(), passportDraft())
	if err != nil {
		t.Fatal(err)
	}
	dup := passportDraft()
	dup.Type, dup.Subject, dup.Supersedes = documents.DocPassportDuplicate, first.Subject, first.ID
	second, err := docs.Issue(t.Context(), dup)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := docs.VerifyToken(t.Context(), first.Token)
	if v.Status != documents.VerifySuperseded || v.Document.SupersededByNo != second.Number {
		t.Errorf("old passport: %s by %q", v.Status, v.Document.SupersededByNo)
	}
	if _, err := docs.Issue(t.Context(), dup); !domain.IsCode(err, domain.EPRECONDITION) {
		t.Errorf("superseding a superseded document: %v", err)
	}

	admin := domain.Principal{UserID: "admin", Role: domain.RoleAdmin}
	if _, err := docs.Revoke(t.Context(), second.ID, admin, " "); !domain.IsCode(err, domain.EINVALID) {
		t.Errorf("revoke without reason: %v", err)
	}
	otherUnit := domain.Principal{UserID: "vet-2", Role: domain.RoleVet, Territory: "314000000"}
	if _, err := docs.Revoke(t.Context(), second.ID, otherUnit, "mistake"); !domain.IsCode(err, domain.ENOTFOUND) {
		t.Errorf("revoke by a vet of another district: %v", err)
	}
	sameUnit := domain.Principal{UserID: "vet-3", Role: domain.RoleVet, Territory: "311010000"}
	revoked, err := docs.Revoke(t.Context(), second.ID, sameUnit, "issued in error")
	if err != nil {
		t.Fatal(err)
	}
	if revoked.Status != documents.DocRevoked || revoked.RevokeReason != "issued in error" || revoked.RevokedBy != "vet-3" {
		t.Errorf("revoked %+v", revoked)
	}
	if v, _ := docs.VerifyToken(t.Context(), second.Token); v.Status != documents.VerifyRevoked {
		t.Errorf("revoked document verifies as %s", v.Status)
	}
	if revoked.ContentHash != second.ContentHash || string(revoked.Content) != string(second.Content) {
		t.Error("revoking changed the content")
	}
	if _, err := docs.Revoke(t.Context(), second.ID, admin, "again"); !domain.IsCode(err, domain.EPRECONDITION) {
		t.Errorf("revoking twice: %v", err)
	}
}

func TestIssueIdempotent(t *testing.T) {
	docs, _ := newDocuments(t)
	d := passportDraft()
	d.ID = domain.NewID()
	a, err := docs.Issue(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := docs.Issue(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || a.Number != b.Number {
		t.Errorf("a retry issued %s after %s", b.Number, a.Number)
	}
}

func TestKeyRotation(t *testing.T) {
	docs, ring := newDocuments(t)
	old, err := docs.Issue(t.Context(), passportDraft())
	if err != nil {
		t.Fatal(err)
	}
	next, _ := keyring.Generate()
	ring.Add(next)
	if err := ring.SetCurrent(next.ID); err != nil {
		t.Fatal(err)
	}
	fresh, err := docs.Issue(t.Context(), passportDraft())
	if err != nil {
		t.Fatal(err)
	}
	if fresh.KeyID != next.ID || old.KeyID == next.ID {
		t.Fatalf("kids: old %s, fresh %s, want the new key %s", old.KeyID, fresh.KeyID, next.ID)
	}
	for _, d := range []*documents.Document{old, fresh} {
		if v, _ := docs.VerifyToken(t.Context(), d.Token); v.Status != documents.VerifyGenuine {
			t.Errorf("%s signed by %s verifies as %s after rotation", d.Number, d.KeyID, v.Status)
		}
	}
}

func TestNumberingUnderConcurrency(t *testing.T) {
	docs, _ := newDocuments(t)
	const issuers = 50
	numbers := make([]string, issuers)
	var wg sync.WaitGroup
	for i := range issuers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := docs.Issue(t.Context(), passportDraft())
			if err != nil {
				t.Error(err)
				return
			}
			numbers[i] = d.Number
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, n := range numbers {
		if n == "" || seen[n] {
			t.Fatalf("numbers are not unique: %v", numbers)
		}
		seen[n] = true
	}
	if !seen["VP-2026-311010-000050"] || seen["VP-2026-311010-000051"] {
		t.Errorf("50 issuers did not take numbers 1 to 50: %v", numbers)
	}
}

// TestTokenSizes prints and bounds the token of every document type and the QR version of its URL
// at level M, for a realistic public URL: the base64url URL of papers printed before (byte mode)
// and the upper-case URL45 one the code holds now (alphanumeric mode). The URL45 text is longer
// but costs fewer bits, so it needs a smaller code; no type may need more than version 9.
func TestTokenSizes(t *testing.T) {
	docs, _ := newDocuments(t)
	version := func(url string) int {
		q, err := qrcode.New(url, qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		return q.VersionNumber
	}
	for _, typ := range documents.DocTypes {
		d := passportDraft()
		d.Type = typ
		if typ == documents.DocConclusion || typ == documents.DocRegNumber {
			d.Subject = documents.Subject{Kind: documents.SubjectObject, ID: domain.NewID(), RegNumber: "KZ-31-0001-2026",
				Name: "Мясокомбинат", Territory: bayzak}
		}
		doc, err := docs.Issue(t.Context(), d)
		if err != nil {
			t.Fatal(err)
		}
		qr, err := documents.QRToken(doc.Token)
		if err != nil {
			t.Fatal(err)
		}
		old := "https://vetfield.zhambyl.gov.kz/v/" + doc.Token
		url := "HTTPS://VETFIELD.ZHAMBYL.GOV.KZ/V/" + qr
		t.Logf("%-24s token %d characters, URL %d, version %d; QR form %d, URL %d, version %d",
			typ, len(doc.Token), len(old), version(old), len(qr), len(url), version(url))
		if v := version(url); v > 9 || v >= version(old) {
			t.Errorf("%s: the URL45 URL needs version %d, the base64url one %d", typ, v, version(old))
		}
		if typ == documents.DocPassport && version(url) != 8 {
			t.Errorf("a passport's URL needs version %d, want 8", version(url))
		}
	}
}

// FuzzParseToken: no input panics, and whatever parses re-encodes to itself, in base64url or in
// its QR form.
func FuzzParseToken(f *testing.F) {
	key, _ := keyring.Generate()
	ring := keyring.New(key)
	kid, sign := ring.SigningKey()
	good, _ := documents.SignToken(documents.TokenClaims{DocumentID: domain.NewID(), Type: documents.DocPassport,
		IssueDate: time.Date(2026, 3, 20, 0, 0, 0, 0, domain.Almaty), Unit: "311010", Seq: 7, Subject: "398012345678901"}, kid, sign)
	f.Add(good)
	f.Add("")
	f.Add(good[:50])
	goodQR, _ := documents.QRToken(good)
	f.Add(goodQR)
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := documents.ParseToken(tok, ring.Verify)
		if err != nil {
			return
		}
		again, err := documents.SignToken(c, c.KeyID, sign)
		if qr, _ := documents.QRToken(again); err == nil && qr == tok {
			return
		}
		if err != nil || again != tok {
			t.Fatalf("token %q parses to %+v but re-signs to %q (%v)", tok, c, again, err)
		}
	})
}

// TestConcurrentSupersede: two duplicates of one passport requested at the same moment leave
// exactly one valid successor.
func TestConcurrentSupersede(t *testing.T) {
	docs, _ := newDocuments(t)
	first, err := docs.Issue(t.Context(), passportDraft())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]error, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dup := passportDraft()
			dup.Type, dup.Subject, dup.Supersedes = documents.DocPassportDuplicate, first.Subject, first.ID
			_, results[i] = docs.Issue(t.Context(), dup)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case !domain.IsCode(err, domain.ECONFLICT) && !domain.IsCode(err, domain.EPRECONDITION):
			t.Errorf("unexpected error: %v", err)
		}
	}
	page, _, err := docs.List(t.Context(), domain.Principal{Role: domain.RoleAdmin}, documents.DocumentFilter{SubjectID: first.Subject.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	valid := 0
	for _, d := range page {
		if d.Status == documents.DocValid {
			valid++
		}
	}
	if ok != 1 || valid != 1 {
		t.Errorf("%d duplicates succeeded and %d papers are valid; want exactly one of each", ok, valid)
	}
}

// TestIssuerUnitNamed: a draft that gives no unit name gets the territory's, in both languages.
func TestIssuerUnitNamed(t *testing.T) {
	store := openStore(t, documents.DocumentsSpec, epizootic.TerritoriesSpec)
	now := func() time.Time { return time.Date(2026, 3, 20, 10, 0, 0, 0, domain.Almaty) }
	territories := &epizootic.Territories{Store: store, Now: now}
	if err := territories.Seed(t.Context()); err != nil {
		t.Fatal(err)
	}
	key, _ := keyring.Generate()
	docs := &documents.Documents{Store: store, Now: now, Keys: keyring.New(key), UnitNames: territories.UnitName}
	d := passportDraft()
	d.Issuer = documents.Issuer{UserID: "vet-1", Unit: "313200000"}
	doc, err := docs.Issue(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	kk, ru, _ := territories.Names(t.Context(), "313200000")
	if want := kk + " / " + ru; doc.Issuer.UnitName != want || kk == "313200000" {
		t.Errorf("the passport names its unit %q, want %q", doc.Issuer.UnitName, want)
	}
}
