package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/vetfield/vetfield/domain/sqlite"
)

// A backup directory holds db/vetfield.db (a consistent copy of the embedded database), media/
// (the photos kept on disk), keys/ (the signing keys and the refresh-token secret: a backup
// without them restores papers that no longer verify) and manifest.json, which lists every file
// with its SHA-256 so a restore can tell a damaged backup.
type manifest struct {
	TakenAt time.Time         `json:"taken_at"`
	Files   map[string]string `json:"files"` // path within the backup → SHA-256
}

// backup copies the data of cfg into dir while the server may keep serving writes. The database
// is copied first: every photo and key a copied record names already exists then, since photos
// are stored before the records that name them and keys before the papers they sign.
func backup(ctx context.Context, cfg Config, dir string, log io.Writer) error {
	if cfg.MongoURI != "" || cfg.S3Endpoint != "" {
		return errors.New("backup copies the embedded database and photos on disk; for MongoDB and MinIO see deploy/README.md")
	}
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s exists: back up into a new directory", dir)
	}
	taken := time.Now().UTC()
	if err := sqlite.Backup(ctx, filepath.Join(cfg.DataDir, "db", "vetfield.db"), filepath.Join(dir, "db", "vetfield.db")); err != nil {
		return err
	}
	fmt.Fprintln(log, "backup: database copied")
	for _, sub := range []struct{ from, to string }{{filepath.Join(cfg.DataDir, "media"), "media"}, {cfg.KeysDir, "keys"}} {
		n, err := copyTree(sub.from, filepath.Join(dir, sub.to))
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "backup: %d files of %s copied\n", n, sub.to)
	}
	m := manifest{TakenAt: taken, Files: map[string]string{}}
	if err := hashTree(dir, m.Files); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(m, "", "  ")
	return os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o600)
}

// restore puts a backup back into cfg's data directory, which must hold no database: restore
// runs on a stopped server, and never over data it would destroy. Every file is checked against
// the manifest first.
func restore(cfg Config, dir string, log io.Writer) error {
	if cfg.MongoURI != "" || cfg.S3Endpoint != "" {
		return errors.New("restore puts back the embedded database and photos on disk; for MongoDB and MinIO see deploy/README.md")
	}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return fmt.Errorf("%s is not a vetfield backup: %w", dir, err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("%s/manifest.json: %w", dir, err)
	}
	got := map[string]string{}
	if err := hashTree(dir, got); err != nil {
		return err
	}
	for name, sum := range m.Files {
		if got[name] != sum {
			return fmt.Errorf("the backup is damaged: %s does not match its manifest", name)
		}
	}
	db := filepath.Join(cfg.DataDir, "db", "vetfield.db")
	if _, err := os.Stat(db); err == nil {
		return fmt.Errorf("%s exists: restore into an empty data directory (move the old one aside), with the server stopped", db)
	}
	for _, sub := range []struct{ from, to string }{{"db", filepath.Join(cfg.DataDir, "db")}, {"media", filepath.Join(cfg.DataDir, "media")}, {"keys", cfg.KeysDir}} {
		n, err := copyTree(filepath.Join(dir, sub.from), sub.to)
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "restore: %d files of %s put back\n", n, sub.from)
	}
	fmt.Fprintf(log, "restore: the data of %s is back\n", m.TakenAt.Format(time.RFC3339))
	return nil
}

// copyTree copies the regular files under from into to, keeping their paths; a missing from
// copies nothing. Files are synced, so a backup reported done is on disk.
func copyTree(from, to string) (int, error) {
	n := 0
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == from {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if err := copyFile(path, dst); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // an abandoned upload's segment swept meanwhile
		}
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// hashTree records the SHA-256 of every file under dir but the manifest.
func hashTree(dir string, out map[string]string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if rel == "manifest.json" {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = hex.EncodeToString(h.Sum(nil))
		return nil
	})
}
