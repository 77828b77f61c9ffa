package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain/sqlite"
)

// BenchmarkDeclare declares every collection of vetfield on a fresh file, as each test's
// environment and a first start do, and then again on the declared file, as every later start.
func BenchmarkDeclare(b *testing.B) {
	for _, again := range []bool{false, true} {
		name := "Fresh"
		if again {
			name = "Declared"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				store, err := sqlite.Open(filepath.Join(b.TempDir(), "declare.db"))
				if err != nil {
					b.Fatal(err)
				}
				if again {
					if err := store.Declare(b.Context(), vetfield.Collections...); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if err := store.Declare(b.Context(), vetfield.Collections...); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				store.Close()
			}
		})
	}
}
