// Package mongotest runs an embedded FerretDB (v1.24, SQLite backend) for tests that need a
// MongoDB: no mongod can be installed where vetfield is built, and FerretDB speaks the wire
// protocol, so the real driver is exercised. One FerretDB serves the whole test binary; each test
// gets a database of its own, dropped when the test ends.
//
//	uri := mongotest.Start(t)
//	store, err := mongo.Open(t.Context(), uri, "") // "" means the database named in the URI
//
// FerretDB scans a collection for every query and applies updates as a separate read and write:
// keep test data small, and do not expect two concurrent updates of one document to be atomic.
package mongotest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

var (
	once    sync.Once
	baseURI string // mongodb://127.0.0.1:port/
	client  *mongo.Client
	failed  error
	count   atomic.Int64
)

// dirPrefix names the per-process directories of FerretDB's SQLite files under the system's
// temporary directory.
const dirPrefix = "vetfield-ferretdb-"

// Start returns the URI of a database of its own for t on the test binary's FerretDB, starting
// FerretDB on first use. The database is named in the URI's path and dropped when t ends.
func Start(t testing.TB) (uri string) {
	t.Helper()
	once.Do(func() { failed = start() })
	if failed != nil {
		t.Fatalf("mongotest: start FerretDB: %v", failed)
	}
	db := fmt.Sprintf("t%d_%s", count.Add(1), unsafe.ReplaceAllString(t.Name(), "_"))
	if len(db) > 63 {
		db = db[:63]
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := client.Database(db).Drop(ctx); err != nil {
			t.Logf("mongotest: drop %s: %v", db, err)
		}
	})
	return baseURI + db
}

// unsafe matches what FerretDB does not allow in a database name.
var unsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func start() error {
	removeStale()
	dir := filepath.Join(os.TempDir(), dirPrefix+strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return err
	}
	// It runs for the life of the test binary: tests in one binary share it, and the process's
	// exit stops it.
	go f.Run(context.Background())
	baseURI = f.MongoDBURI() // waits until the listener is up
	if !strings.HasSuffix(baseURI, "/") {
		baseURI += "/"
	}
	client, err = mongo.Connect(options.Client().ApplyURI(baseURI))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return client.Ping(ctx, nil)
}

// removeStale deletes the directories left by earlier test binaries, which cannot clean up after
// themselves: FerretDB keeps its files open until the process exits.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), dirPrefix))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if p, err := os.FindProcess(pid); err == nil && p.Signal(syscall.Signal(0)) == nil {
			continue // still running
		}
		os.RemoveAll(d)
	}
}
