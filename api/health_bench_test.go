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
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
)

// BenchmarkVaccinationHTTP compares, per animal, a vaccination of 500 animals in one request
// (POST /v1/vaccinations) with 500 requests of one animal each, in the same run over one herd:
//
//	go test -run x -bench VaccinationHTTP -benchtime 3x ./api/
func BenchmarkVaccinationHTTP(b *testing.B) {
	ctx := b.Context()
	store, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	key, _ := keyring.Generate()
	keys := keyring.New(key)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	app, err := vetfield.Open(ctx, vetfield.Config{Store: store, Now: time.Now, Keys: keys,
		RefreshKey: []byte("0123456789abcdef0123456789abcdef"), Passwords: fastPasswords, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := app.Accounts.EnsureAdmin(ctx, adminPassword); err != nil {
		b.Fatal(err)
	}
	srv := api.New(api.Deps{App: app, Keys: keys, Log: log, PublicURL: "https://vet.example.kz", Issuer: "vetfield", Audience: "vetfield-api"})
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
	call := func(path, token string, body any, want int, out any) {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, "POST", base+path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			b.Fatalf("POST %s: %d: %s", path, resp.StatusCode, got)
		}
		if out != nil {
			json.Unmarshal(got, out)
		}
	}
	login := func(user, password string) string {
		var pair api.TokenPair
		call("/v1/auth/login", "", map[string]string{"username": user, "password": password}, 200, &pair)
		return pair.AccessToken
	}
	admin := login("admin", adminPassword)
	call("/v1/users", admin, map[string]any{"username": "vet.bayzak", "password": "long-enough-1", "role": "vet",
		"territory": bayzakKato, "full_name": "Айгүл Серікқызы"}, 201, nil)
	vet := login("vet.bayzak", "long-enough-1")
	var holding api.HoldingView
	call("/v1/holdings", vet, map[string]any{"kind": "yard", "name": "Ақжол", "owner_iin": ownerIIN,
		"owner_name": "Серік Ахметов", "address": "Сарыкемер", "territory": bayzakRural}, 201, &holding)
	call("/v1/tag-ranges", admin, map[string]any{"unit": bayzakKato, "first": "398000000000001", "count": 1000}, 201, nil)
	ids := make([]string, 0, 500)
	for i := range 500 {
		var a api.AnimalView
		call("/v1/animals", vet, map[string]any{"id": uuid.NewString(), "holding_id": holding.ID, "species": "sheep", "sex": "female",
			"birth_date": "2025-04-02", "breed": "Едилбай", "colour": "қоңыр",
			"identifiers": []map[string]any{{"means": "ear_tag", "number": fmt.Sprintf("398%012d", i+1)}}}, 201, &a)
		ids = append(ids, a.ID)
	}
	body := func(animals []string) map[string]any {
		list := make([]map[string]any, 0, len(animals))
		for _, id := range animals {
			list = append(list, map[string]any{"id": id})
		}
		return map[string]any{"id": uuid.NewString(), "holding_id": holding.ID, "disease": "sheep_goat_pox",
			"vaccine": "Қой шешегіне қарсы вакцина", "series": "С-17", "dose": "0,5 мл", "date": time.Now().In(time.UTC).AddDate(0, 0, -1).Format(time.DateOnly),
			"animals": list}
	}
	b.Run("Group500", func(b *testing.B) {
		for b.Loop() {
			var v api.VaccinationView
			call("/v1/vaccinations", vet, body(ids), 201, &v)
			if v.Applied != 500 {
				b.Fatalf("applied %d", v.Applied)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/animal")
	})
	b.Run("Single500", func(b *testing.B) {
		for b.Loop() {
			for _, id := range ids {
				call("/v1/vaccinations", vet, body([]string{id}), 201, nil)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/animal")
	})
}
