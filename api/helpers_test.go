package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/domain/sqlite/sqlitetest"
	"github.com/vetfield/vetfield/domain/storetest"
	"github.com/vetfield/vetfield/media"
)

// env is one test's server over a fresh embedded database.
type env struct {
	t      *testing.T
	srv    *api.Server
	app    *vetfield.App
	store  *sqlite.Store
	clock  *storetest.Clock
	keys   *keyring.Ring
	logs   *bytes.Buffer
	admin  string // an admin's access token
	base   string // the server's URL
	logsMu sync.Mutex
}

const adminPassword = "admin-password-1"

// fastPasswords keeps argon2id real but cheap, so tests that log in often stay fast.
var fastPasswords = accounts.PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	clk := storetest.NewClock(time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC))
	store := sqlitetest.Open(t, sqlite.WithClock(clk.Now))
	objects, err := media.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store, clock: clk, keys: keyring.New(key), logs: &bytes.Buffer{}}
	log := slog.New(slog.NewJSONHandler(lockedWriter{e}, nil))
	app, err := vetfield.Open(t.Context(), vetfield.Config{Store: store, Now: clk.Now, Keys: e.keys,
		RefreshKey: []byte("0123456789abcdef0123456789abcdef"), Passwords: fastPasswords,
		Objects: envObjects(t, objects, opts), Photo: media.PhotoConfig{SegmentSize: testSegment}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.PhotoStore.Wait) // before the store's directory or bucket goes
	if _, _, err := app.Accounts.EnsureAdmin(t.Context(), adminPassword); err != nil {
		t.Fatal(err)
	}
	e.app = app
	e.srv = api.New(api.Deps{App: app, Keys: e.keys, Log: log,
		PublicURL: "https://vet.example.kz", Issuer: "vetfield", Audience: "vetfield-api"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.base = "http://" + ln.Addr().String()
	go e.srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.srv.Shutdown(ctx)
	})
	e.admin = e.login("admin", adminPassword).AccessToken
	return e
}

type lockedWriter struct{ e *env }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.e.logsMu.Lock()
	defer w.e.logsMu.Unlock()
	return w.e.logs.Write(p)
}

func (e *env) logText() string {
	e.logsMu.Lock()
	defer e.logsMu.Unlock()
	return e.logs.String()
}

// response is a finished HTTP exchange.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r response) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, r.Body)
	}
}

// do sends a request through the app; body may be nil, a string (sent as is) or a value to encode.
func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.base+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// expect fails the test unless the response has the status.
func (r response) expect(t *testing.T, status int) response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// problem is an RFC 9457 problem document as vetfield answers it.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Message  string `json:"message"`
		Location string `json:"location"`
	} `json:"errors"`
}

// expectProblem checks the status, the problem+json media type and shape, and returns the problem.
func (r response) expectProblem(t *testing.T, status int) problem {
	t.Helper()
	r.expect(t, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want application/problem+json; body: %s", ct, r.Body)
	}
	var p problem
	r.JSON(t, &p)
	if p.Status != status || p.Title == "" || p.Detail == "" {
		t.Fatalf("problem %+v lacks status %d, a title or a detail", p, status)
	}
	return p
}

func (e *env) login(username, password string) api.TokenPair {
	e.t.Helper()
	var pair api.TokenPair
	e.do("POST", "/v1/auth/login", "", map[string]string{"username": username, "password": password}).
		expect(e.t, 200).JSON(e.t, &pair)
	return pair
}

// createUser makes an account through the API and returns its view.
func (e *env) createUser(body map[string]any) api.UserView {
	e.t.Helper()
	var u api.UserView
	e.do("POST", "/v1/users", e.admin, body).expect(e.t, 201).JSON(e.t, &u)
	return u
}

// metrics is what the server's /metrics answers, which it serves apart from the API.
func (e *env) metrics() string {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		e.t.Fatalf("/metrics answered %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}
