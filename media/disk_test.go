package media_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/media"
)

func TestDiskLayout(t *testing.T) {
	dir := t.TempDir()
	d, err := media.NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(t.Context(), "photos/a1/x.jpg", strings.NewReader("jpeg"), 4, "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "photos", "a1", "x.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(raw), "vetfield-media/1 image/jpeg\njpeg"; got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
}

// A failed Put leaves no temporary file behind and nothing visible.
func TestDiskFailedPutLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	d, err := media.NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	broken := io.MultiReader(strings.NewReader("partial"), errReader{errors.New("boom")})
	if _, err := d.Put(t.Context(), "a/b.jpg", broken, -1, "image/jpeg"); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	if _, err := d.Put(t.Context(), "a/c.jpg", strings.NewReader("abc"), 10, "image/jpeg"); !domain.IsCode(err, domain.EINVALID) {
		t.Fatalf("Put with a short body: %v, want %s", err, domain.EINVALID)
	}
	err = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			t.Errorf("left behind: %s", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// On disk a key cannot be both an object and the directory of another object.
func TestDiskErrKeyClash(t *testing.T) {
	d, err := media.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := d.Put(ctx, "a/b", strings.NewReader("x"), 1, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(ctx, "a/b/c", strings.NewReader("x"), 1, ""); !domain.IsCode(err, domain.ECONFLICT) {
		t.Errorf("Put under an object: %v, want %s", err, domain.ECONFLICT)
	}
	if _, err := d.Put(ctx, "x/y/z", strings.NewReader("x"), 1, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(ctx, "x/y", strings.NewReader("x"), 1, ""); !domain.IsCode(err, domain.ECONFLICT) {
		t.Errorf("Put over a directory: %v, want %s", err, domain.ECONFLICT)
	}
}

// A file that vetfield did not write is reported as an internal error, not served.
func TestDiskForeignFile(t *testing.T) {
	dir := t.TempDir()
	d, err := media.NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x.jpg"), []byte("\xff\xd8 raw jpeg"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat(t.Context(), "x.jpg"); !domain.IsCode(err, domain.EINTERNAL) {
		t.Errorf("Stat of a foreign file: %v, want %s", err, domain.EINTERNAL)
	}
}

// Get's reader seeks within the object, so http.ServeContent can serve ranges.
func TestDiskGetSeeks(t *testing.T) {
	d, err := media.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(t.Context(), "s.txt", strings.NewReader("0123456789"), 10, "text/plain"); err != nil {
		t.Fatal(err)
	}
	rc, _, err := d.Get(t.Context(), "s.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rs, ok := rc.(io.ReadSeeker)
	if !ok {
		t.Fatal("Disk.Get's reader does not implement io.Seeker")
	}
	if _, err := rs.Seek(7, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(rs)
	if err != nil {
		t.Fatal(err)
	}
	if string(rest) != "789" {
		t.Errorf("after Seek(7): %q, want %q", rest, "789")
	}
}

func TestNewDiskErrNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := media.NewDisk(file); err == nil {
		t.Error("NewDisk on a file succeeded")
	}
}
