package main

import (
	"bytes"
	"flag"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// long runs the load test; it is slow, so not part of the default run:
//
//	go test ./cmd/vfload -run TestLoad -v -args -load [-load-for=3m]
var long = flag.Bool("load", false, "run the bounded load test against a real server process (minutes)")

// loadFor is how long TestLoad drives the server.
var loadFor = flag.Duration("load-for", 2*time.Minute, "how long the load test runs")

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestLoad builds the server, starts it on loopback with a fresh data directory and drives it with
// the mixed field workload: no answer may be a 5xx, no request may fail, the log must hold no
// error, and resident memory must stay flat (it may not double).
func TestLoad(t *testing.T) {
	if !*long {
		t.Skip("the load test runs with -load")
	}
	bin := filepath.Join(t.TempDir(), "vetfield")
	if out, err := exec.Command("go", "build", "-o", bin, "../vetfield").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr, maddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "-addr", addr, "-metrics-addr", maddr, "-data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), "VETFIELD_ADMIN_PASSWORD=load-admin-password", "VETFIELD_LOG_LEVEL=warn")
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready:\n%s", logs)
		}
	}
	rep, err := Run(t.Context(), Config{Base: "http://" + addr, Metrics: "http://" + maddr,
		AdminPassword: "load-admin-password", Duration: *loadFor, Rate: 40}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.Print(&out)
	t.Log("\n" + out.String())
	if rep.Failed() {
		t.Errorf("%d answers were 5xx and %d requests failed", rep.ServerErrors, rep.TransportFailures)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("errors in the server's log:\n%s", logs)
	}
	if rep.RSSStart == 0 || rep.RSSEnd > 2*rep.RSSStart+64<<20 {
		t.Errorf("resident memory went from %.0f to %.0f bytes", rep.RSSStart, rep.RSSEnd)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
