package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
)

// Backup writes a consistent copy of the database file at path into dest (a new file) while
// writers go on: VACUUM INTO reads one snapshot in a read transaction of its own connection, so
// it blocks no write, and the copy holds every commit before it began and none after. The copy
// is compact and needs no WAL beside it.
func Backup(ctx context.Context, path, dest string) error {
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("sqlite: backup: %s exists", dest)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("sqlite: backup: open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		os.Remove(dest)
		return fmt.Errorf("sqlite: backup %s: %w", path, err)
	}
	return nil
}
