package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain/mongo/mongotest"
)

// syncBuffer collects logs from the server goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs Main in the background with cfg and returns its base URL and a stop function that
// waits for it to return.
func start(t *testing.T, cfg Config) (string, *syncBuffer, func() error) {
	t.Helper()
	logs := &syncBuffer{}
	addr := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	m := &Main{Config: cfg, LogOutput: logs, Listening: addr}
	go func() { done <- m.Run(ctx) }()
	select {
	case a := <-addr:
		return "http://" + a, logs, func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		t.Fatalf("vetfield did not start: %v\n%s", err, logs)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("vetfield did not start within 60 s\n%s", logs)
	}
	return "", nil, nil
}

func testConfig(t *testing.T, dir string) Config {
	t.Helper()
	c, err := ParseConfig([]string{"-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0", "-data-dir", dir}, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return *c
}

func call(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, url, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

// adminPasswordFromLog finds the generated password in the start-up log.
func adminPasswordFromLog(t *testing.T, logs string) string {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["password"] != nil {
			return rec["password"].(string)
		}
	}
	t.Fatalf("no generated password in the log:\n%s", logs)
	return ""
}

func TestRunWithNoConfiguration(t *testing.T) {
	dir := t.TempDir()
	base, logs, stop := start(t, testConfig(t, dir))
	if code, _ := call(t, "GET", base+"/readyz", "", nil); code != 200 {
		t.Fatalf("/readyz = %d", code)
	}
	password := adminPasswordFromLog(t, logs.String())
	code, tokens := call(t, "POST", base+"/v1/auth/login", "", map[string]string{"username": "admin", "password": password})
	if code != 200 {
		t.Fatalf("login with the logged password: %d %v", code, tokens)
	}
	for _, p := range []string{"db/vetfield.db", "keys/current", "media"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("data dir lacks %s: %v", p, err)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// A second start keeps the account and the keys, and prints no password.
	base, logs, stop = start(t, testConfig(t, dir))
	defer stop()
	if strings.Contains(logs.String(), `"password"`) {
		t.Errorf("the second start logged a password:\n%s", logs)
	}
	token := tokens["access_token"].(string)
	if code, _ := call(t, "GET", base+"/v1/me", token, nil); code != 200 {
		t.Errorf("a token from the first run does not work after a restart: %d", code)
	}
}

// TestMongoEndToEnd runs the server on the mongo adapter against a MongoDB-wire engine (FerretDB)
// and goes through the API once.
func TestMongoEndToEnd(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.MongoURI = mongotest.Start(t)
	cfg.MongoDB = "e2e_" + fmt.Sprint(time.Now().UnixNano())
	cfg.AdminPassword = "mongo-admin-password"
	base, _, stop := start(t, cfg)
	defer stop()

	if code, _ := call(t, "GET", base+"/readyz", "", nil); code != 200 {
		t.Fatalf("/readyz = %d", code)
	}
	_, tokens := call(t, "POST", base+"/v1/auth/login", "", map[string]string{"username": "admin", "password": "mongo-admin-password"})
	admin, _ := tokens["access_token"].(string)
	code, user := call(t, "POST", base+"/v1/users", admin, map[string]any{"username": "vet.shu", "password": "vet-password-1",
		"role": "vet", "territory": "314000000"})
	if code != 201 {
		t.Fatalf("create user: %d %v", code, user)
	}
	if code, _ := call(t, "POST", base+"/v1/users", admin, map[string]any{"username": "vet.shu", "password": "vet-password-1",
		"role": "vet", "territory": "314000000"}); code != 409 {
		t.Errorf("a taken username on mongo: %d, want 409", code)
	}
	_, vetTokens := call(t, "POST", base+"/v1/auth/login", "", map[string]string{"username": "vet.shu", "password": "vet-password-1"})
	code, me := call(t, "GET", base+"/v1/me", vetTokens["access_token"].(string), nil)
	if code != 200 || me["username"] != "vet.shu" {
		t.Errorf("/v1/me on mongo: %d %v", code, me)
	}
	code, pair := call(t, "POST", base+"/v1/auth/refresh", "", map[string]string{"refresh_token": vetTokens["refresh_token"].(string)})
	if code != 200 || pair["refresh_token"] == vetTokens["refresh_token"] {
		t.Errorf("refresh on mongo: %d %v", code, pair)
	}
	code, _ = call(t, "GET", base+"/v1/users", vetTokens["access_token"].(string), nil)
	if code != 403 {
		t.Errorf("a vet listing users on mongo: %d, want 403", code)
	}
}

// TestGracefulShutdown builds the real binary, starts it, holds a slow request open, sends
// SIGTERM, and checks that /readyz turns 503 at once, the request finishes and the process exits
// well within 10 s.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "vetfield")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	port := freePort(t)
	cmd := exec.Command(bin, "-addr", "127.0.0.1:"+port, "-metrics-addr", "127.0.0.1:0", "-data-dir", dir)
	cmd.Env = append(os.Environ(), "VETFIELD_ADMIN_PASSWORD=shutdown-test-pw")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()
	base := "http://127.0.0.1:" + port
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 30 s:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Requests in flight when SIGTERM arrives must finish. Each login goes over a connection the
	// server has already accepted and served (a /livez first, kept alive), so the request bytes are
	// with the server, not in a listen queue; a login then takes tens of milliseconds of argon2id,
	// eight of them queue on two cores, and the signal comes while they run.
	const inFlight = 8
	conns := make([]net.Conn, inFlight)
	readers := make([]*bufio.Reader, inFlight)
	for i := range conns {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i], readers[i] = c, bufio.NewReader(c)
		fmt.Fprintf(c, "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(readers[i], nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("warm-up request: %v %v", resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	const login = `{"username":"admin","password":"shutdown-test-pw"}`
	for _, c := range conns {
		fmt.Fprintf(c, "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(login), login)
	}
	time.Sleep(50 * time.Millisecond) // the server reads at once: it waits on these connections
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for i := range conns {
		conns[i].SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(readers[i], nil)
		if err != nil {
			t.Fatalf("a login sent before SIGTERM got no answer: %v\n%s", err, logs.String())
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("a login sent before SIGTERM ended with %d", resp.StatusCode)
		}
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM:\n%s", logs.String())
	}
	t.Logf("exited %v after SIGTERM", time.Since(sent).Round(time.Millisecond))
	if _, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
		t.Error("the port still accepts connections after the server exited")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", logs.String())
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := strings.Cut(ln.Addr().String(), ":")
	return port
}

// TestMetricsApart: /metrics answers on its own address and not beside the API.
func TestMetricsApart(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	logs := &syncBuffer{}
	addr, maddr := make(chan string, 1), make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	m := &Main{Config: cfg, LogOutput: logs, Listening: addr, MetricsListening: maddr}
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var base, metrics string
	for base == "" || metrics == "" {
		select {
		case a := <-addr:
			base = "http://" + a
		case a := <-maddr:
			metrics = "http://" + a
		case err := <-done:
			t.Fatalf("vetfield did not start: %v\n%s", err, logs)
		case <-time.After(60 * time.Second):
			t.Fatalf("vetfield did not start within 60 s\n%s", logs)
		}
	}
	call(t, "GET", base+"/readyz", "", nil)
	resp, err := http.Get(metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `vetfield_http_requests_total{method="GET",route="/readyz",status="200"}`) {
		t.Errorf("metrics address: %d\n%.500s", resp.StatusCode, body)
	}
	if code, _ := call(t, "GET", base+"/metrics", "", nil); code != 404 {
		t.Errorf("/metrics beside the API answers %d, want 404", code)
	}
}
