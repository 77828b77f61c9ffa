package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
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
	addr, maddr, dataDir := freeAddr(t), freeAddr(t), t.TempDir()
	inspections := prepareVisits(t, dataDir, 3)
	cmd := exec.Command(bin, "-addr", addr, "-metrics-addr", maddr, "-data-dir", dataDir)
	cmd.Env = append(os.Environ(), "VETFIELD_ADMIN_PASSWORD="+loadAdminPassword, "VETFIELD_LOG_LEVEL=warn")
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
		AdminPassword: loadAdminPassword, Duration: *loadFor, Rate: 40,
		Inspections: inspections, Inspector: loadInspector, InspectorPassword: loadInspectorPassword}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	rep.Print(&out)
	t.Log("\n" + out.String())
	if rep.Failed() {
		t.Errorf("%d answers were 5xx, %d requests failed, unexpected: %v", rep.ServerErrors, rep.TransportFailures, rep.UnexpectedStatuses)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("errors in the server's log:\n%s", logs)
	}
	if rep.RSSStart == 0 || rep.RSSEnd > 2*rep.RSSStart+64<<20 {
		t.Errorf("resident memory went from %.0f to %.0f bytes", rep.RSSStart, rep.RSSEnd)
	}
	if s := rep.Routes["photo_patch"]; s == nil || s.Statuses[200] == 0 {
		t.Errorf("no photo was uploaded")
	}
}

const (
	loadAdminPassword     = "load-admin-password"
	loadInspector         = "load-inspector"
	loadInspectorPassword = "load-inspector-password"
)

// prepareVisits writes into the fresh data directory, before the server opens it, n applications
// for conclusions whose visits have started, with their executor loadInspector, for the photo
// uploads of the mix. A visit starts the day after the notice to the legal-statistics body at the
// earliest, which a run against the server's own clock cannot wait for: so the applications are
// registered, assigned, accepted and noticed yesterday, through the services and a clock set a day
// back, and the visit starts now.
func prepareVisits(t *testing.T, dataDir string, n int) []string {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(filepath.Join(dataDir, "db", "vetfield.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys, err := keyring.LoadDir(filepath.Join(dataDir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	var offset atomic.Int64 // how far the services' clock is behind
	now := func() time.Time { return time.Now().Add(-time.Duration(offset.Load())) }
	offset.Store(int64(24 * time.Hour))
	app, err := vetfield.Open(ctx, vetfield.Config{Store: store, Now: now, Keys: keys, RefreshKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.Accounts.EnsureAdmin(ctx, loadAdminPassword); err != nil {
		t.Fatal(err)
	}
	admin, err := app.Accounts.GetByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	insp, err := app.Accounts.Create(ctx, accounts.NewUser{Username: loadInspector, Password: loadInspectorPassword,
		Role: domain.RoleInspector, Territory: "313200000", FullName: "Load Inspector"})
	if err != nil {
		t.Fatal(err)
	}
	head, executor := admin.Principal(), insp.Principal()
	s := app.Inspection
	var ids []string
	for i := range n {
		o, _, err := s.Register.Create(ctx, head, inspection.NewObject{Kind: inspection.KindFarm, Name: fmt.Sprintf("Береке %d", i+1),
			OwnerIIN: "880101300123", Address: "Сарыкемер ауылы", Territory: "313200000"})
		if err != nil {
			t.Fatal(err)
		}
		in, _, err := s.Inspections.Register(ctx, head, inspection.NewApplication{ObjectID: o.ID, Documents: []string{"өтініш"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Inspections.Assign(ctx, head, in.ID, insp.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Inspections.CheckCompleteness(ctx, executor, in.ID, inspection.CompletenessCheck{Complete: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Inspections.RecordNotice(ctx, executor, in.ID, inspection.NoticeInput{Addressee: "ҚСжАЕАК",
			Reference: fmt.Sprintf("N-%d", i+1), PlannedFor: domain.CivilDateOf(time.Now())}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, in.ID)
	}
	offset.Store(0)
	for _, id := range ids {
		if _, err := s.Inspections.Start(ctx, executor, id, domain.Fix{GPS: &domain.GeoPoint{Lat: 42.9901, Lon: 71.3802, AccuracyM: 6}}); err != nil {
			t.Fatal(err)
		}
	}
	return ids
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
