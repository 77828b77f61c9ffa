package accounts_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"
	_ "modernc.org/sqlite"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/mongo"
	"github.com/vetfield/vetfield/domain/mongo/mongotest"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/domain/storetest"
)

var cheap = accounts.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}

// engine is a store under test and how to count the rows the throttle keeps, read from the engine
// itself rather than through the port, so a row the port can no longer reach still counts.
type engine struct {
	store domain.Store
	rows  func(t *testing.T) int
}

func engines(t *testing.T, clk *storetest.Clock) map[string]func(t *testing.T) engine {
	return map[string]func(t *testing.T) engine{
		"SQLite": func(t *testing.T) engine {
			path := filepath.Join(t.TempDir(), "vetfield.db")
			s, err := sqlite.Open(path, sqlite.WithClock(clk.Now))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			db, err := sql.Open("sqlite", path+"?mode=ro")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return engine{store: s, rows: func(t *testing.T) int {
				var n int
				if err := db.QueryRow(`SELECT count(*) FROM "c_` + accounts.LoginFailuresSpec.Name + `"`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}}
		},
		"FerretDB": func(t *testing.T) engine {
			uri := mongotest.Start(t)
			s, err := mongo.Open(t.Context(), uri, "", mongo.WithClock(clk.Now))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			cs, err := connstring.ParseAndValidate(uri)
			if err != nil {
				t.Fatal(err)
			}
			client, err := driver.Connect(options.Client().ApplyURI(uri))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { client.Disconnect(context.Background()) })
			coll := client.Database(cs.Database).Collection(accounts.LoginFailuresSpec.Name)
			return engine{store: s, rows: func(t *testing.T) int {
				n, err := coll.CountDocuments(t.Context(), bson.D{})
				if err != nil {
					t.Fatal(err)
				}
				return int(n)
			}}
		},
	}
}

// TestThrottleRowsExpire: a flood of logins under random unknown usernames leaves one throttle row
// each, and after the window and a sweep nothing is left of them; neither of an account's row once
// its failures left the window, nor of a row a correct login emptied.
func TestThrottleRowsExpire(t *testing.T) {
	clk := storetest.NewClock(time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC))
	for name, open := range engines(t, clk) {
		t.Run(name, func(t *testing.T) {
			e := open(t)
			ctx := t.Context()
			if err := e.store.Declare(ctx, accounts.Specs...); err != nil {
				t.Fatal(err)
			}
			a := accounts.NewAccounts(e.store, clk.Now, cheap)
			if _, err := a.Create(ctx, accounts.NewUser{Username: "vet1", Password: "vet-password-1", Role: domain.RoleVet,
				Territory: "313200000"}); err != nil {
				t.Fatal(err)
			}
			const flood = 60
			var wg sync.WaitGroup
			for i := range flood {
				wg.Go(func() {
					_, err := a.Authenticate(ctx, fmt.Sprintf("nobody-%d-%x", i, domain.RandomToken(4)), "wrong-password")
					if !domain.IsCode(err, domain.EUNAUTHORIZED) {
						t.Errorf("an unknown username answered %v", err)
					}
				})
			}
			wg.Wait()
			if _, err := a.Authenticate(ctx, "vet1", "wrong-password"); !domain.IsCode(err, domain.EUNAUTHORIZED) {
				t.Fatal(err)
			}
			if got := e.rows(t); got != flood+1 {
				t.Fatalf("%d throttle rows after %d unknown usernames and a wrong password, want %d", got, flood, flood+1)
			}

			// Within the window the rows still throttle, so a sweep keeps them.
			clk.Advance(accounts.LoginWindow - time.Minute)
			if err := e.store.Sweep(ctx, clk.Now()); err != nil {
				t.Fatal(err)
			}
			if got := e.rows(t); got != flood+1 {
				t.Fatalf("a sweep within the window left %d rows of %d", got, flood+1)
			}
			clk.Advance(time.Minute)
			if err := e.store.Sweep(ctx, clk.Now()); err != nil {
				t.Fatal(err)
			}
			if got := e.rows(t); got != 0 {
				t.Fatalf("%d throttle rows left after the window and a sweep, want none", got)
			}

			// A failure then a correct login: nothing is left to throttle, so nothing is kept.
			if _, err := a.Authenticate(ctx, "vet1", "wrong-password"); !domain.IsCode(err, domain.EUNAUTHORIZED) {
				t.Fatal(err)
			}
			if _, err := a.Authenticate(ctx, "vet1", "vet-password-1"); err != nil {
				t.Fatal(err)
			}
			if err := e.store.Sweep(ctx, clk.Now()); err != nil {
				t.Fatal(err)
			}
			if got := e.rows(t); got != 0 {
				t.Fatalf("%d throttle rows left after a correct login and a sweep, want none", got)
			}
		})
	}
}

// TestThrottleAfterSweep: a sweep removes only what no longer throttles. Five failures still lock
// the account after a sweep within the window; the lock ends when the oldest failure leaves it,
// sweep or not.
func TestThrottleAfterSweep(t *testing.T) {
	clk := storetest.NewClock(time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC))
	for name, open := range engines(t, clk) {
		t.Run(name, func(t *testing.T) {
			e := open(t)
			ctx := t.Context()
			if err := e.store.Declare(ctx, accounts.Specs...); err != nil {
				t.Fatal(err)
			}
			a := accounts.NewAccounts(e.store, clk.Now, cheap)
			for _, user := range []string{"vet1", "nobody"} {
				if user == "vet1" {
					if _, err := a.Create(ctx, accounts.NewUser{Username: user, Password: "vet-password-1", Role: domain.RoleVet,
						Territory: "313200000"}); err != nil {
						t.Fatal(err)
					}
				}
				for range accounts.LoginMaxFailures {
					if _, err := a.Authenticate(ctx, user, "wrong-password"); !domain.IsCode(err, domain.EUNAUTHORIZED) {
						t.Fatalf("%s: %v", user, err)
					}
					clk.Advance(time.Minute)
				}
				if err := e.store.Sweep(ctx, clk.Now()); err != nil {
					t.Fatal(err)
				}
				_, err := a.Authenticate(ctx, user, "vet-password-1")
				var de *domain.Error
				if !domain.IsCode(err, domain.ETOOMANY) || !errors.As(err, &de) || de.RetryAfterSeconds != 10*60 {
					t.Fatalf("%s after five failures and a sweep: %v, want too many for 10 minutes", user, err)
				}
			}
			clk.Advance(accounts.LoginWindow)
			if _, err := a.Authenticate(ctx, "vet1", "vet-password-1"); err != nil {
				t.Fatalf("after the window: %v", err)
			}
		})
	}
}

// TestThrottleHoldsWhileSweeping: thirty parallel guesses check at most five passwords while
// sweeps run beside them, starting from a record that stopped throttling but was not swept yet —
// so guesses race the sweep for it, and some find it gone under their compare-and-swap.
func TestThrottleHoldsWhileSweeping(t *testing.T) {
	clk := storetest.NewClock(time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC))
	e := engines(t, clk)["SQLite"](t)
	ctx := t.Context()
	if err := e.store.Declare(ctx, accounts.Specs...); err != nil {
		t.Fatal(err)
	}
	a := accounts.NewAccounts(e.store, clk.Now, cheap)
	for range accounts.LoginMaxFailures {
		a.Authenticate(ctx, "nobody", "wrong-password")
	}
	clk.Advance(accounts.LoginWindow + time.Minute)
	stop := make(chan struct{})
	var sweeps sync.WaitGroup
	sweeps.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				if err := e.store.Sweep(ctx, clk.Now()); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	var mu sync.Mutex
	count := map[string]int{}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			_, err := a.Authenticate(ctx, "nobody", fmt.Sprint("guess-", i))
			mu.Lock()
			count[domain.ErrorCode(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	close(stop)
	sweeps.Wait()
	if count[domain.EUNAUTHORIZED] > accounts.LoginMaxFailures || count[domain.EUNAUTHORIZED]+count[domain.ETOOMANY] != 30 {
		t.Errorf("30 parallel guesses beside sweeps answered %v: at most %d may be checked", count, accounts.LoginMaxFailures)
	}
}
