package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestBackupWhileWriting backs up a server while a vet identifies animals, restores the backup
// into a fresh data directory and starts a server on it: every identification acknowledged
// before the backup began is there, every passport still verifies, and every photo file is the
// same to the byte.
func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.AdminPassword = "backup-admin-password"
	base, _, stop := start(t, cfg)
	_, tok := call(t, "POST", base+"/v1/auth/login", "", map[string]string{"username": "admin", "password": cfg.AdminPassword})
	admin := tok["access_token"].(string)
	call(t, "POST", base+"/v1/users", admin, map[string]any{"username": "vet", "password": "vet-password-1", "role": "vet", "territory": "313200000"})
	_, tok = call(t, "POST", base+"/v1/auth/login", "", map[string]string{"username": "vet", "password": "vet-password-1"})
	vet := tok["access_token"].(string)
	if code, _ := call(t, "POST", base+"/v1/tag-ranges", admin, map[string]any{"unit": "313200000", "first": "398000000000001", "count": 1000}); code != 201 {
		t.Fatalf("tag range: %d", code)
	}
	code, holding := call(t, "POST", base+"/v1/holdings", vet, map[string]any{"kind": "farm", "name": "Береке", "owner_iin": "880101300123",
		"owner_name": "Серік Ахметов", "address": "Сарыкемер", "territory": "313200000"})
	if code != 201 {
		t.Fatalf("holding: %d %v", code, holding)
	}
	// A photo on disk, as the photo store keeps them.
	photo := filepath.Join(dir, "media", "photos", "p1.jpg")
	os.MkdirAll(filepath.Dir(photo), 0o700)
	os.WriteFile(photo, bytes.Repeat([]byte("jpeg"), 4096), 0o600)

	var mu sync.Mutex
	var acked []string // animals whose identification was answered 201, in order
	done := make(chan struct{})
	writer := sync.WaitGroup{}
	writer.Add(1)
	go func() {
		defer writer.Done()
		for i := 1; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			id := uuid.NewString()
			code, _ := call(t, "POST", base+"/v1/animals", vet, map[string]any{"id": id, "holding_id": holding["id"], "species": "cattle",
				"sex": "female", "birth_date": "2025-04-02", "breed": "Әулиеата", "colour": "қызыл",
				"identifiers": []map[string]any{{"means": "ear_tag", "number": fmt.Sprintf("398%012d", i)}}})
			if code == 201 {
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}
	}()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d identifications in 60 s", n)
		}
	}
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	bdir := filepath.Join(t.TempDir(), "backup")
	if err := backup(context.Background(), cfg, bdir, io.Discard); err != nil {
		t.Fatal(err)
	}
	close(done)
	writer.Wait()
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	dir2 := t.TempDir()
	cfg2 := testConfig(t, dir2)
	if err := restore(cfg2, bdir, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := restore(cfg2, bdir, io.Discard); err == nil {
		t.Error("a second restore over the restored data was not refused")
	}
	base2, _, stop2 := start(t, cfg2)
	defer stop2()
	_, tok = call(t, "POST", base2+"/v1/auth/login", "", map[string]string{"username": "admin", "password": cfg.AdminPassword})
	admin2, _ := tok["access_token"].(string)
	for _, id := range before {
		code, a := call(t, "GET", base2+"/v1/animals/"+id, admin2, nil)
		if code != 200 {
			t.Errorf("animal %s acknowledged before the backup: %d", id, code)
			continue
		}
		p := a["passport"].(map[string]any)
		if code, v := call(t, "GET", base2+"/v1/verify/"+p["token"].(string), "", nil); code != 200 || v["status"] != "genuine" {
			t.Errorf("the passport of %s after restore: %d %v", id, code, v)
		}
	}
	want, _ := os.ReadFile(photo)
	if got, err := os.ReadFile(filepath.Join(dir2, "media", "photos", "p1.jpg")); err != nil || !bytes.Equal(got, want) {
		t.Errorf("the restored photo differs (%v)", err)
	}

	// A damaged backup is refused before anything is put back.
	os.WriteFile(filepath.Join(bdir, "media", "photos", "p1.jpg"), []byte("changed"), 0o600)
	if err := restore(testConfig(t, t.TempDir()), bdir, io.Discard); err == nil {
		t.Error("a damaged backup was restored")
	}
}
