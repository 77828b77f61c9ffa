package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/media"
	"github.com/vetfield/vetfield/media/phototest"
	vsync "github.com/vetfield/vetfield/sync"
	"github.com/vetfield/vetfield/sync/client"
	"github.com/vetfield/vetfield/sync/internal/faultproxy"
)

// field is a whole vetfield server (every collection, the photo store on the local disk) with a
// clock that can be set back, for field work whose paperwork began days before: a visit starts the
// day after its notice at the earliest.
type field struct {
	app   *vetfield.App
	store domain.Store
	base  string
	back  atomic.Int64 // how far the server's clock is behind the real one
	admin domain.Principal
}

func startField(t testing.TB) *field {
	t.Helper()
	sh := newShared(t)
	f := &field{store: openSQLite(t, filepath.Join(t.TempDir(), "field.db"))}
	disk, err := media.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Now().Add(-time.Duration(f.back.Load())) }
	// Thumbnails only when asked for: a background one per photo would compete with the uploads
	// for this 2-core machine and tell nothing about the link.
	f.app, err = vetfield.Open(context.Background(), vetfield.Config{Store: f.store, Now: now, Keys: sh.keys, RefreshKey: sh.refreshKey,
		RefreshTTL: time.Hour, Passwords: fastPasswords, Objects: disk, Photo: media.PhotoConfig{ThumbJobs: -1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Deps{App: f.app, Keys: sh.keys, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Issuer: "vetfield", Audience: "vetfield-api", PublicURL: "https://vet.example.kz"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	f.base = "http://" + ln.Addr().String()
	if _, _, err := f.app.Accounts.EnsureAdmin(context.Background(), "admin-password-1"); err != nil {
		t.Fatal(err)
	}
	admin, err := f.app.Accounts.GetByUsername(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	f.admin = admin.Principal()
	return f
}

// vet creates a vet of Bayzak, the executor of the visits below.
func (f *field) vet(t testing.TB, username string) *accounts.User {
	t.Helper()
	u, err := f.app.Accounts.Create(context.Background(), accounts.NewUser{Username: username, Password: "test-password-1",
		Role: domain.RoleVet, Territory: string(bayzak), FullName: "Айгүл Серікқызы"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// visits registers n applications for conclusions on farms of Bayzak with vet as executor, and
// starts their visits: registered, accepted and noticed with the clock set back by the notice
// plus a day, and started with it set back by started — so photos may be taken from then on.
func (f *field) visits(t testing.TB, vet *accounts.User, n int, noticed, started time.Duration) []string {
	t.Helper()
	ctx := context.Background()
	s, executor := f.app.Inspection, vet.Principal()
	f.back.Store(int64(noticed))
	var ids []string
	for i := range n {
		o, _, err := s.Register.Create(ctx, f.admin, inspection.NewObject{Kind: inspection.KindFarm, Name: fmt.Sprintf("Береке %d", i+1),
			OwnerIIN: "880101300123", Address: "Сарыкемер ауылы", Territory: string(bayzak)})
		if err != nil {
			t.Fatal(err)
		}
		in, _, err := s.Inspections.Register(ctx, f.admin, inspection.NewApplication{ObjectID: o.ID, Documents: []string{"өтініш"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Inspections.Assign(ctx, f.admin, in.ID, vet.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Inspections.CheckCompleteness(ctx, executor, in.ID, inspection.CompletenessCheck{Complete: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Inspections.RecordNotice(ctx, executor, in.ID, inspection.NoticeInput{Addressee: "ҚСжАЕАК",
			Reference: fmt.Sprintf("N-%d", i+1), PlannedFor: domain.CivilDateOf(time.Now().Add(-noticed)).AddDays(1)}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, in.ID)
	}
	f.back.Store(int64(started))
	for _, id := range ids {
		if _, err := s.Inspections.Start(ctx, executor, id, domain.Fix{GPS: &domain.GeoPoint{Lat: 42.9901, Lon: 71.3802, AccuracyM: 6}}); err != nil {
			t.Fatal(err)
		}
	}
	f.back.Store(0)
	return ids
}

// photoOfAbout is a real JPEG of at least size bytes (a little more), the same for the same seed:
// a noisy picture, grown until its file is large enough.
func photoOfAbout(t testing.TB, size int, seed int64) []byte {
	t.Helper()
	for w := 64; ; w = w * 11 / 10 {
		data := phototest.JPEG(t, phototest.Image(w, w*3/4, 60, seed), 85, phototest.Exif{})
		if len(data) >= size {
			return data
		}
	}
}

func hexSHA(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// storedPhotos returns the SHA-256 of every photo the server recorded, by id.
func (f *field) storedPhotos(t testing.TB, inspections []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range inspections {
		cursor := ""
		for {
			page, next, err := f.app.PhotoStore.Photos.List(context.Background(), &inspection.Inspection{Meta: domain.Meta{ID: id}}, cursor, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, ph := range page {
				if _, dup := out[ph.ID]; dup {
					t.Errorf("photo %s recorded twice", ph.ID)
				}
				out[ph.ID] = ph.SHA256
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return out
}

// checkStoredBytes reads a stored photo back and checks its bytes are the ones queued.
func (f *field) checkStoredBytes(t testing.TB, vet *accounts.User, id string, want []byte) {
	t.Helper()
	rc, _, err := f.app.PhotoStore.Open(context.Background(), vet.Principal(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("photo %s: %d bytes stored differ from the %d queued", id, len(got), len(want))
	}
	if _, err := jpeg.DecodeConfig(bytes.NewReader(got)); err != nil {
		t.Errorf("photo %s stored is not a JPEG: %v", id, err)
	}
}

// TestPhotoResume uploads photos over a link that resets every few tens of kilobytes: each photo
// is stored once, whole, and most of them were resumed from the offset the server had.
func TestPhotoResume(t *testing.T) {
	f := startField(t)
	vet := f.vet(t, "vet.bayzak")
	insp := f.visits(t, vet, 1, 25*time.Hour, time.Hour)[0]
	proxy, err := faultproxy.Start(f.base[len("http://"):], faultproxy.Faults{BytesPerSecond: 4 << 20, ResetMeanBytes: 40 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	c := newClient(t, "http://"+proxy.Addr(), "tablet-1", "vet.bayzak")
	c.Attempts = 100
	photos := map[string][]byte{}
	for i := range 6 {
		data := photoOfAbout(t, 150<<10, int64(i))
		id := uuid.NewString()
		photos[id] = data
		p := client.Photo{ID: id, InspectionID: insp, ContentType: "image/jpeg", Data: data}
		if i%2 == 1 { // half of them from files
			p.Data, p.Path = nil, filepath.Join(t.TempDir(), "photo.jpg")
			writeFile(t, p.Path, data)
		}
		if err := c.EnqueuePhoto(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := c.UploadPhotos(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	up := proxy.Up.Load()
	t.Logf("%+v; %d resets; %d bytes reached the server for %d bytes of photos (%.2f×)", rep, proxy.Resets.Load(),
		up, rep.Stored, float64(up)/float64(rep.Stored))
	// Only the requests' own headers and bytes lost in flight at a reset (an RST discards what the
	// server's socket had not read yet) cross twice; sending photos again from 0 would be several
	// times the photos.
	if float64(up) > 1.3*float64(rep.Stored) {
		t.Errorf("%d bytes reached the server for %d bytes of photos: bytes the server had were sent again", up, rep.Stored)
	}
	if rep.Uploaded != len(photos) || rep.Resumes == 0 {
		t.Errorf("uploaded %d of %d, %d resumes", rep.Uploaded, len(photos), rep.Resumes)
	}
	stored := f.storedPhotos(t, []string{insp})
	if len(stored) != len(photos) {
		t.Errorf("the server holds %d photos, %d were queued", len(stored), len(photos))
	}
	for id, data := range photos {
		if stored[id] != hexSHA(data) {
			t.Errorf("photo %s stored with SHA-256 %q", id, stored[id])
		}
		f.checkStoredBytes(t, vet, id, data)
	}
	// Another call has nothing left to do.
	if again, err := c.UploadPhotos(t.Context()); err != nil || again != (client.PhotoReport{}) {
		t.Errorf("a second upload: %+v, %v", again, err)
	}
}

// TestPhotoQueueNeverBlocks: a photo the server refuses, one of an inspection it does not know and
// one whose mutation was rejected are marked failed with a reason, one whose mutation is not
// pushed yet waits, and every other photo goes through.
func TestPhotoQueueNeverBlocks(t *testing.T) {
	f := startField(t)
	vet := f.vet(t, "vet.bayzak")
	insp := f.visits(t, vet, 1, 25*time.Hour, time.Hour)[0]
	c := newClient(t, f.base, "tablet-1", "vet.bayzak")
	bad := vsync.Mutation{ID: "bad", Kind: "animal.teleport", RecordID: "x"}
	later := vsync.Mutation{ID: "later", Kind: "animal.teleport", RecordID: "y"}
	if err := c.Enqueue(t.Context(), bad); err != nil {
		t.Fatal(err)
	}
	if err := c.Push(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c.Enqueue(t.Context(), later); err != nil {
		t.Fatal(err)
	}
	good := photoOfAbout(t, 20<<10, 1)
	queue := []client.Photo{
		{ID: uuid.NewString(), InspectionID: insp, ContentType: "image/jpeg", Data: []byte("not a photo at all, but text")},
		{ID: uuid.NewString(), InspectionID: uuid.NewString(), ContentType: "image/jpeg", Data: good},
		{ID: uuid.NewString(), InspectionID: insp, ContentType: "image/jpeg", Data: good, After: bad.ID},
		{ID: uuid.NewString(), InspectionID: insp, ContentType: "image/jpeg", Data: good, After: later.ID},
		{ID: uuid.NewString(), InspectionID: insp, ContentType: "image/jpeg", Data: good},
	}
	for _, p := range queue {
		if err := c.EnqueuePhoto(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := c.UploadPhotos(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Uploaded != 1 || rep.Failed != 3 || rep.Waiting != 1 {
		t.Errorf("report %+v", rep)
	}
	states, err := c.Photos(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{client.PhotoFailed, client.PhotoFailed, client.PhotoFailed, client.PhotoQueued, client.PhotoUploaded}
	for i, s := range states {
		if s.State != want[i] || (s.State == client.PhotoFailed) != (len(s.Problem) > 0) {
			t.Errorf("photo %d: %s %s, want %s", i, s.State, s.Problem, want[i])
		}
	}
	// Pushed, the waiting photo's mutation is answered (rejected too): it fails in its turn.
	if err := c.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	states, _ = c.Photos(t.Context())
	if states[3].State != client.PhotoFailed {
		t.Errorf("the photo after a rejected mutation: %s", states[3].State)
	}
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
