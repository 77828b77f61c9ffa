package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/api"

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

// BenchmarkIdentifyHTTP measures what the server sustains when eight tablets identify animals at
// once: POST /v1/animals (the claim of the number, the animal, the numbered and signed passport
// and the event) over a real listener, each request with its own fresh number. It reports
// requests per second next to ns/op, so the figure compares directly with other HTTP backends on
// the same machine:
//
//	go test -run x -bench IdentifyHTTP -benchtime 2000x ./api/
func BenchmarkIdentifyHTTP(b *testing.B) {
	const clients = 8
	ctx := b.Context()
	store, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	objects, err := media.NewDisk(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	key, _ := keyring.Generate()
	keys := keyring.New(key)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	app, err := vetfield.Open(ctx, vetfield.Config{Store: store, Now: time.Now, Keys: keys,
		RefreshKey: []byte("0123456789abcdef0123456789abcdef"), Passwords: fastPasswords, Objects: objects, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(app.PhotoStore.Wait)
	if _, _, err := app.Accounts.EnsureAdmin(ctx, adminPassword); err != nil {
		b.Fatal(err)
	}
	srv := api.New(api.Deps{App: app, Keys: keys, Log: log,
		PublicURL: "https://vet.example.kz", Issuer: "vetfield", Audience: "vetfield-api"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	})
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	call := func(method, path, token string, body any, want int, out any) error {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(data))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != want {
			return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, got)
		}
		if out != nil {
			return json.Unmarshal(got, out)
		}
		return nil
	}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	login := func(user, password string) string {
		var pair api.TokenPair
		must(call("POST", "/v1/auth/login", "", map[string]string{"username": user, "password": password}, 200, &pair))
		return pair.AccessToken
	}
	admin := login("admin", adminPassword)
	must(call("POST", "/v1/users", admin, map[string]any{"username": "vet.bayzak", "password": "long-enough-1", "role": "vet",
		"territory": bayzakKato, "full_name": "Айгүл Серікқызы"}, 201, nil))
	vet := login("vet.bayzak", "long-enough-1")
	var holding api.HoldingView
	must(call("POST", "/v1/holdings", vet, map[string]any{"kind": "yard", "name": "Ақжол", "owner_iin": ownerIIN,
		"owner_name": "Серік Ахметов", "address": "Сарыкемер, Абай к-сі 12", "territory": bayzakRural}, 201, &holding))
	must(call("POST", "/v1/tag-ranges", admin, map[string]any{"unit": bayzakKato, "first": "398000000000001", "count": 100_000}, 201, nil))

	var next atomic.Int64
	next.Store(398000000000000)
	b.SetParallelism(max(1, (clients+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := map[string]any{"id": uuid.NewString(), "holding_id": holding.ID, "species": "cattle", "sex": "female",
				"birth_date": "2025-04-02", "breed": "Әулиеата", "colour": "қызыл",
				"identifiers": []map[string]any{{"means": "ear_tag", "number": fmt.Sprintf("%015d", next.Add(1))}}}
			if err := call("POST", "/v1/animals", vet, body, 201, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
