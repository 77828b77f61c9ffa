package client_test

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
	vsync "github.com/vetfield/vetfield/sync"
	"github.com/vetfield/vetfield/sync/client"
)

// specs are the collections the sync tests declare.
var specs = []domain.CollectionSpec{accounts.UsersSpec, accounts.SessionsSpec, accounts.LoginFailuresSpec,
	documents.DocumentsSpec, vsync.MutationsSpec, vsync.ConflictsSpec, vsync.DevicesSpec, vsync.ProjectionSpec}

// instance is one vetfield process: its own store handle and server over a shared database.
type instance struct {
	store    domain.Store
	docs     *documents.Documents
	accounts *accounts.Accounts
	base     string
}

// shared holds what every instance of one deployment shares: the keys.
type shared struct {
	keys       *keyring.Ring
	refreshKey []byte
	// projectEvery is how often each instance files the log in the snapshot index (20 ms when
	// zero); FerretDB, which scans a collection for every query, wants it slower.
	projectEvery time.Duration
}

func newShared(t testing.TB) *shared {
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return &shared{keys: keyring.New(key), refreshKey: domain.RandomToken(32)}
}

var fastPasswords = accounts.PasswordParams{MemoryKiB: 1024, Time: 1, Threads: 1}

// start serves an instance over store on a loopback port.
func (sh *shared) start(t testing.TB, store domain.Store) *instance {
	t.Helper()
	if err := store.Declare(context.Background(), specs...); err != nil {
		t.Fatal(err)
	}
	// Only the collections these tests touch are declared: FerretDB makes each one slow to create.
	app := vetfield.New(vetfield.Config{Store: store, Keys: sh.keys, RefreshKey: sh.refreshKey, RefreshTTL: time.Hour,
		Passwords: fastPasswords})
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	srv := api.New(api.Deps{App: app, Keys: sh.keys, Log: log,
		Issuer: "vetfield", Audience: "vetfield-api", PublicURL: "https://vet.example.kz"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	projecting(t, app.Sync, cmp.Or(sh.projectEvery, 20*time.Millisecond))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &instance{store: store, docs: app.Documents, accounts: app.Accounts, base: "http://" + ln.Addr().String()}
}

// projecting files the change log in the snapshot index, as the server's loop does, until the test
// ends: every instance does, so projectors race one another and the writers, and first pulls read
// an index that moves under them.
func projecting(t testing.TB, svc *vsync.Service, every time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if _, _, err := svc.Project(ctx, 5); err != nil && ctx.Err() == nil {
				t.Errorf("Project: %v", err)
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(every):
			}
		}
	}()
}

func openSQLite(t testing.TB, path string) domain.Store {
	t.Helper()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Territories of the tests: the client's vet works in Bayzak; Korday is elsewhere.
const (
	bayzak = domain.Kato("313200000")
	korday = domain.Kato("314800000")
)

func (in *instance) user(t testing.TB, username string, role domain.Role, territory domain.Kato) *accounts.User {
	t.Helper()
	u, err := in.accounts.Create(context.Background(), accounts.NewUser{Username: username, Password: "test-password-1",
		Role: role, Territory: string(territory)})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// issue issues a passport for an animal in territory through the instance's domain.
func (in *instance) issue(t testing.TB, territory domain.Kato) *documents.Document {
	d, err := in.docs.Issue(context.Background(), documents.Draft{Type: documents.DocPassport,
		Subject: documents.Subject{Kind: documents.SubjectAnimal, ID: domain.NewID(), Tag: "398012345678901", Species: "sheep", Territory: territory},
		Issuer:  documents.Issuer{UserID: "vet", Unit: territory}, Content: map[string]any{"colour": "ақ"}})
	if err != nil {
		t.Error(err)
		return nil
	}
	return d
}

func newClient(t testing.TB, base, device, username string) *client.Client {
	t.Helper()
	c, err := client.Open(t.TempDir(), base, device, username, "test-password-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// serverDocuments returns every document the store holds in territory, by id with its version.
func serverDocuments(t testing.TB, store domain.Store, territory domain.Kato) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	after := ""
	for {
		page, err := store.List(context.Background(), documents.DocumentsSpec.Name, domain.Query{Index: "documents_subject", After: after, Limit: domain.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			d, err := domain.DecodeEntity[documents.Document](r)
			if err != nil {
				t.Fatal(err)
			}
			if territory.Covers(d.Subject.Territory) {
				out[d.ID] = r.Version
			}
		}
		if page.Next == "" {
			return out
		}
		after = page.Next
	}
}

// assertReplica checks that the client's replica of documents equals the server's in territory:
// the same records at the same versions, nothing missing, nothing extra.
func assertReplica(t testing.TB, c *client.Client, store domain.Store, territory domain.Kato) {
	t.Helper()
	want := serverDocuments(t, store, territory)
	got, err := c.Records(context.Background(), documents.DocumentsSpec.Name)
	if err != nil {
		t.Fatal(err)
	}
	missing, stale, extra := replicaDiff(want, got)
	if missing+stale+extra > 0 || len(want) == 0 {
		t.Fatalf("replica differs from the server: %d records on the server, %d missing, %d stale, %d extra",
			len(want), missing, stale, extra)
	}
	t.Logf("replica = server: %d documents", len(want))
}

// replicaDiff counts how a replica's records (got) differ from the server's versions (want): the
// records it lacks, those at another version, and those the server does not have.
func replicaDiff(want map[string]int64, got map[string]client.Record) (missing, stale, extra int) {
	for id, v := range want {
		switch r, ok := got[id]; {
		case !ok:
			missing++
		case r.Version != v:
			stale++
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			extra++
		}
	}
	return missing, stale, extra
}
