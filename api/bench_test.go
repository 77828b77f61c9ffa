package api_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/media"
)

// BenchmarkDocument measures what a vet's tablet waits for when a paper is issued (numbering,
// signing, storing and rendering the 256 px QR code) and what a buyer's scan costs the server
// (parsing, checking the signature and reading the document's status).
func BenchmarkDocument(b *testing.B) {
	store, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if err := store.Declare(b.Context(), documents.DocumentsSpec); err != nil {
		b.Fatal(err)
	}
	key, _ := keyring.Generate()
	docs := &documents.Documents{Store: store, Now: time.Now, Keys: keyring.New(key)}
	draft := documents.Draft{Type: documents.DocPassport,
		Subject: documents.Subject{Kind: documents.SubjectAnimal, ID: domain.NewID(), Tag: "398012345678901", Species: "cattle", Territory: "313200000"},
		Issuer:  documents.Issuer{UserID: "vet", Unit: "313200000"}, Content: map[string]any{"breed": "Әулиеата"}}
	const base = "https://vetfield.zhambyl.gov.kz/v/"

	var last *documents.Document
	b.Run("IssueWithQR", func(b *testing.B) {
		for b.Loop() {
			d, err := docs.Issue(b.Context(), draft)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := media.QRCode(base+d.Token, 256); err != nil {
				b.Fatal(err)
			}
			last = d
		}
	})
	b.Run("SignOnly", func(b *testing.B) {
		kid, sign := docs.Keys.SigningKey()
		c := documents.TokenClaims{DocumentID: domain.NewID(), Type: documents.DocPassport, IssueDate: time.Now(), Unit: "313200", Seq: 1, Subject: "398012345678901"}
		for b.Loop() {
			if _, err := documents.SignToken(c, kid, sign); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("QR256Only", func(b *testing.B) {
		for b.Loop() {
			if _, err := media.QRCode(base+last.Token, 256); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Verify", func(b *testing.B) {
		for b.Loop() {
			v, err := docs.VerifyToken(b.Context(), last.Token)
			if err != nil || v.Status != documents.VerifyGenuine {
				b.Fatal(v.Status, err)
			}
		}
	})
}
