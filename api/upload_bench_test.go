package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/media"
	"github.com/vetfield/vetfield/media/miniotest"
	"github.com/vetfield/vetfield/media/phototest"
)

// BenchmarkPhotoUpload5MiB compares, in one run against one MinIO, putting a 5 MiB photo into
// MinIO with minio-go (what storing the bytes costs at least) with uploading it through vetfield as
// a tablet does: POST the declaration, PATCH the bytes, get the photo back — the server hashing,
// checking the type, parsing the header and EXIF, storing the photo and recording it. Each iteration
// does one of each, so both see the same machine: on a shared host a run of one after the other
// compares two different loads. It reports both throughputs and their ratio.
//
//   - upload:           until the tablet has its answer. The thumbnail is made after the answer, on
//     a thread of the lowest priority, when the one background slot is free; otherwise when asked.
//   - upload+thumbnail: then GET the thumbnail, which waits for it or makes it: the whole cost,
//     decoding 12 megapixels included.
//
// The photo is a 4000×3000 JPEG with grain (about 5 MiB), shaped like a phone's, so it decodes as
// slowly as a real one. Run it without the race detector for numbers that mean anything.
func BenchmarkPhotoUpload5MiB(b *testing.B) {
	cfg := miniotest.Config(b)
	ctx := b.Context()
	s3, err := media.NewS3(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	data := phototest.JPEG(b, phototest.Image(4000, 3000, 24, 1), 92, phototest.Exif{Taken: "2026:03:26 10:20:00",
		Offset: "+05:00", Lat: 42.99, Lon: 71.38})
	sum := hexSHA(data)
	b.Logf("photo: %d bytes", len(data))
	client := miniotest.Client(b, cfg)
	bs := newBenchServer(b, s3)

	for _, thumb := range []bool{false, true} {
		name := "upload"
		if thumb {
			name = "upload+thumbnail"
		}
		b.Run(name, func(b *testing.B) {
			var direct, through time.Duration
			i := 0
			for b.Loop() {
				i++
				t0 := time.Now()
				_, err := client.PutObject(ctx, cfg.Bucket, fmt.Sprintf("bench/%d.jpg", i), bytes.NewReader(data), int64(len(data)),
					minio.PutObjectOptions{ContentType: "image/jpeg"})
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				id := bs.upload(b, data, sum)
				if thumb {
					if r := bs.call(b, "GET", "/v1/photos/"+id+"/thumbnail", bs.inspector, nil); r.StatusCode != 200 {
						b.Fatalf("thumbnail: %d", r.StatusCode)
					}
				}
				direct, through = direct+t1.Sub(t0), through+time.Since(t1)
			}
			mb := float64(len(data)) * float64(i) / (1 << 20)
			b.ReportMetric(mb/direct.Seconds(), "minio-go-MiB/s")
			b.ReportMetric(mb/through.Seconds(), "vetfield-MiB/s")
			b.ReportMetric(direct.Seconds()/through.Seconds(), "ratio")
			b.StopTimer()
			bs.ps.Wait()
		})
	}
}

// benchServer is a vetfield server on a real port with an inspection under way, whose clock can be
// moved a day on (the visit starts a day after the notice).
type benchServer struct {
	base      string
	http      *http.Client
	ps        *media.PhotoStore
	inspector string
	insp      string
	photos    int
	mu        sync.Mutex
	offset    time.Duration
}

func (bs *benchServer) now() time.Time {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return time.Now().Add(bs.offset)
}

func newBenchServer(b *testing.B, objects media.Objects) *benchServer {
	bs := &benchServer{http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	store, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	key, _ := keyring.Generate()
	keys := keyring.New(key)
	app, err := vetfield.Open(b.Context(), vetfield.Config{Store: store, Now: bs.now, Keys: keys,
		RefreshKey: []byte("0123456789abcdef0123456789abcdef"), Passwords: fastPasswords, Objects: objects, Log: discardLog()})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := app.Accounts.EnsureAdmin(b.Context(), adminPassword); err != nil {
		b.Fatal(err)
	}
	bs.ps = app.PhotoStore
	srv := api.New(api.Deps{App: app, Keys: keys, Log: discardLog(),
		PublicURL: "https://vet.example.kz", Issuer: "vetfield", Audience: "vetfield-api"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	bs.base = "http://" + ln.Addr().String()
	go srv.Serve(ln)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		bs.ps.Wait()
	})
	bs.newInspection(b)
	return bs
}

// newInspection takes a fresh inspection to the visit, since one holds at most 500 photos.
func (bs *benchServer) newInspection(b *testing.B) {
	admin := bs.login(b, "admin", adminPassword)
	name := uniqueName("bench")
	var u api.UserView
	bs.json(b, "POST", "/v1/users", admin, map[string]any{"username": name, "password": "password-" + name, "role": "inspector",
		"territory": bayzak}, 201, &u)
	insp := bs.login(b, name, "password-"+name)
	var o api.ObjectView
	bs.json(b, "POST", "/v1/objects", admin, map[string]any{"kind": "farm", "name": "Bench", "owner_iin": ownerA, "address": "x",
		"territory": bayzak}, 201, &o)
	var v api.InspectionView
	bs.json(b, "POST", "/v1/inspections", admin, map[string]any{"object_id": o.ID, "documents": []string{"x"}}, 201, &v)
	bs.json(b, "POST", "/v1/inspections/"+v.ID+"/assign", admin, map[string]any{"executor_id": u.ID}, 200, nil)
	bs.json(b, "POST", "/v1/inspections/"+v.ID+"/completeness", insp, map[string]any{"complete": true}, 200, nil)
	tomorrow := domain.CivilDateOf(bs.now()).AddDays(1)
	bs.json(b, "POST", "/v1/inspections/"+v.ID+"/notice", insp, map[string]any{"addressee": "x", "reference": "1",
		"planned_for": tomorrow.String()}, 200, nil)
	bs.mu.Lock()
	bs.offset += 24 * time.Hour
	bs.mu.Unlock()
	bs.inspector = bs.login(b, name, "password-"+name)
	bs.json(b, "POST", "/v1/inspections/"+v.ID+"/start", bs.inspector, map[string]any{"gps": gps}, 200, nil)
	bs.insp, bs.photos = v.ID, 0
}

// upload sends one photo as a tablet does and returns its id.
func (bs *benchServer) upload(b *testing.B, data []byte, sum string) string {
	if bs.photos == inspection.MaxPhotosPerInspection {
		b.StopTimer()
		bs.newInspection(b)
		b.StartTimer()
	}
	bs.photos++
	var u api.UploadView
	bs.json(b, "POST", "/v1/inspections/"+bs.insp+"/photos", bs.inspector, map[string]any{"size": len(data), "sha256": sum,
		"content_type": "image/jpeg"}, 201, &u)
	r := bs.call(b, "PATCH", "/v1/uploads/"+u.ID, bs.inspector, data, "Content-Type", "application/offset+octet-stream",
		"Upload-Offset", "0")
	if r.StatusCode != 200 {
		b.Fatalf("PATCH: %d", r.StatusCode)
	}
	return u.ID
}

func (bs *benchServer) login(b *testing.B, user, password string) string {
	var pair api.TokenPair
	bs.json(b, "POST", "/v1/auth/login", "", map[string]string{"username": user, "password": password}, 200, &pair)
	return pair.AccessToken
}

// json sends a JSON body and decodes the answer into out, failing unless the status is want.
func (bs *benchServer) json(b *testing.B, method, path, token string, body any, want int, out any) {
	data, err := json.Marshal(body)
	if err != nil {
		b.Fatal(err)
	}
	r := bs.call(b, method, path, token, data, "Content-Type", "application/json")
	if r.StatusCode != want {
		b.Fatalf("%s %s: %d, want %d", method, path, r.StatusCode, want)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			b.Fatal(err)
		}
	}
}

type benchResponse struct {
	StatusCode int
	body       []byte
}

func (bs *benchServer) call(b *testing.B, method, path, token string, body []byte, headers ...string) benchResponse {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, bs.base+path, rd)
	if err != nil {
		b.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if body != nil {
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	resp, err := bs.http.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return benchResponse{StatusCode: resp.StatusCode, body: data}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
