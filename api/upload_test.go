package api_test

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/media/phototest"
)

// photo is a real JPEG a tablet could send: w×h with grain, and EXIF time, GPS and orientation.
func photo(t *testing.T, w, h int, seed int64) []byte {
	return phototest.JPEG(t, phototest.Image(w, h, 40, seed), 90, phototest.Exif{Taken: "2026:03:26 10:20:00",
		Offset: "+05:00", Lat: 42.990512, Lon: 71.380277, Orientation: 6})
}

// createUpload declares a photo of an inspection.
func (e *env) createUpload(token, inspectionID string, size int, sum, ct string) response {
	e.t.Helper()
	return e.do("POST", "/v1/inspections/"+inspectionID+"/photos", token, map[string]any{"size": size, "sha256": sum,
		"content_type": ct, "item": "R1", "device": map[string]any{"gps": map[string]any{"lat": 42.9902, "lon": 71.3803, "accuracy_m": 4},
			"device_time": "2026-03-26T05:20:03Z"}})
}

// patch sends bytes of an upload at offset.
func (e *env) patch(token, uploadID string, offset int64, chunk []byte) response {
	e.t.Helper()
	return e.do("PATCH", "/v1/uploads/"+uploadID, token, chunk, "Content-Type", "application/offset+octet-stream",
		"Upload-Offset", strconv.FormatInt(offset, 10))
}

// uploadPhoto uploads data whole and returns the photo.
func (e *env) uploadPhoto(token, inspectionID string, data []byte) api.PhotoView {
	e.t.Helper()
	var u api.UploadView
	e.createUpload(token, inspectionID, len(data), hexSHA(data), "image/jpeg").expect(e.t, 201).JSON(e.t, &u)
	e.patch(token, u.ID, 0, data).expect(e.t, 200).JSON(e.t, &u)
	if u.State != inspection.UploadComplete || u.Photo == nil {
		e.t.Fatalf("upload after its last byte: %+v", u)
	}
	return *u.Photo
}

// cutPatch opens a TCP connection, sends a PATCH declaring all of body but only its first send
// bytes, and drops the connection: with reset, abruptly (RST), as a tablet losing its link may;
// otherwise with a FIN after the bytes.
func (e *env) cutPatch(token, uploadID string, offset int64, body []byte, send int, reset bool) {
	e.t.Helper()
	addr := strings.TrimPrefix(e.base, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		e.t.Fatal(err)
	}
	fmt.Fprintf(c, "PATCH /v1/uploads/%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/offset+octet-stream\r\nUpload-Offset: %d\r\nContent-Length: %d\r\n\r\n",
		uploadID, addr, token, offset, len(body))
	if _, err := c.Write(body[:send]); err != nil {
		e.t.Fatal(err)
	}
	if reset {
		time.Sleep(50 * time.Millisecond) // let the bytes leave before the RST discards what is queued
		_ = c.(*net.TCPConn).SetLinger(0)
	}
	_ = c.Close()
}

// offset asks HEAD for an upload's offset until it is at least atLeast and has stopped moving (the
// server saves a cut request's bytes after the client has gone), and returns it. It fails the test
// if that does not happen within 10 s.
func (e *env) offset(token, uploadID string, atLeast int64) int64 {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last := int64(-1)
	for {
		r := e.do("HEAD", "/v1/uploads/"+uploadID, token, nil).expect(e.t, 200)
		n, err := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
		if err != nil {
			e.t.Fatalf("Upload-Offset %q", r.Header.Get("Upload-Offset"))
		}
		if n >= atLeast && n == last {
			return n
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("upload %s: offset %d after 10 s, want a steady offset of at least %d", uploadID, n, atLeast)
		}
		last = n
		time.Sleep(50 * time.Millisecond)
	}
}

// uploadState reads an upload.
func (e *env) uploadState(token, id string) api.UploadView {
	e.t.Helper()
	var u api.UploadView
	e.do("GET", "/v1/uploads/"+id, token, nil).expect(e.t, 200).JSON(e.t, &u)
	return u
}

// keysUnder lists the stored keys with a prefix.
func keysUnder(t *testing.T, b *backend, prefix string) []string {
	var out []string
	for _, k := range b.list(t) {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

func TestPhotoUpload(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { testPhotoUpload(t, b) })
	}
}

func testPhotoUpload(t *testing.T, b *backend) {
	e := newEnv(t, b)
	in := e.onSite()

	t.Run("OK", func(t *testing.T) {
		data := photo(t, 640, 480, 1)
		var u api.UploadView
		r := e.createUpload(in.Inspector, in.ID, len(data), hexSHA(data), "image/jpeg").expect(t, 201)
		r.JSON(t, &u)
		if r.Header.Get("Location") != "/v1/uploads/"+u.ID || r.Header.Get("Upload-Offset") != "0" {
			t.Errorf("Location %q, Upload-Offset %q", r.Header.Get("Location"), r.Header.Get("Upload-Offset"))
		}
		r = e.patch(in.Inspector, u.ID, 0, data).expect(t, 200)
		r.JSON(t, &u)
		if got, want := r.Header.Get("Upload-Offset"), strconv.Itoa(len(data)); got != want {
			t.Errorf("Upload-Offset %s, want %s", got, want)
		}
		ph := u.Photo
		if ph == nil || ph.ID != u.ID || ph.SHA256 != hexSHA(data) || ph.Size != int64(len(data)) || ph.ContentType != "image/jpeg" ||
			ph.Width != 640 || ph.Height != 480 || !ph.Thumbnail {
			t.Fatalf("photo %+v", ph)
		}
		if x := ph.Exif; x == nil || x.GPS == nil || x.GPS.Lat < 42.9905 || x.GPS.Lat > 42.9906 || x.TimeSource != "offset" ||
			!x.TakenAt.Equal(time.Date(2026, 3, 26, 5, 20, 0, 0, time.UTC)) || x.Orientation != 6 {
			t.Errorf("EXIF %+v", ph.Exif)
		}
		if d := ph.Device; d.GPS == nil || d.GPS.Lat != 42.9902 || d.DeviceTime == nil {
			t.Errorf("the tablet's own fix was not kept beside EXIF: %+v", d)
		}
		got := e.do("GET", "/v1/photos/"+ph.ID, in.Inspector, nil).expect(t, 200)
		if !bytes.Equal(got.Body, data) || got.Header.Get("Content-Type") != "image/jpeg" || got.Header.Get("ETag") != `"`+ph.SHA256+`"` {
			t.Errorf("GET answered %d bytes of %s, ETag %s", len(got.Body), got.Header.Get("Content-Type"), got.Header.Get("ETag"))
		}
		th := e.do("GET", "/v1/photos/"+ph.ID+"/thumbnail", in.Inspector, nil).expect(t, 200)
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(th.Body))
		if err != nil {
			t.Fatalf("the thumbnail is no JPEG: %v", err)
		}
		if cfg.Width != 240 || cfg.Height != 320 { // 640×480 turned upright by orientation 6
			t.Errorf("thumbnail %dx%d, want 240x320", cfg.Width, cfg.Height)
		}
		var page api.Page[api.PhotoView]
		e.do("GET", "/v1/inspections/"+in.ID+"/photos", in.Inspector, nil).expect(t, 200).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != ph.ID {
			t.Errorf("the inspection lists %+v", page.Items)
		}
		if left := keysUnder(t, b, "uploads/"+u.ID); len(left) != 0 {
			t.Errorf("segments left behind: %v", left)
		}
		// The last request, repeated after a lost answer, answers the photo again.
		var again api.UploadView
		e.patch(in.Inspector, u.ID, int64(len(data)), nil).expect(t, 200).JSON(t, &again)
		if again.Photo == nil || again.Photo.ID != ph.ID {
			t.Errorf("a repeated final PATCH answered %+v", again)
		}
	})

	t.Run("OKTypeByContent", func(t *testing.T) {
		data := phototest.PNG(t, phototest.Image(120, 80, 10, 2), phototest.Exif{})
		var u api.UploadView
		e.createUpload(in.Inspector, in.ID, len(data), hexSHA(data), "image/jpeg").expect(t, 201).JSON(t, &u)
		e.patch(in.Inspector, u.ID, 0, data).expect(t, 200).JSON(t, &u)
		if u.Photo == nil || u.Photo.ContentType != "image/png" {
			t.Fatalf("a PNG declared as JPEG was stored as %+v", u.Photo)
		}
		if r := e.do("GET", "/v1/photos/"+u.ID, in.Inspector, nil).expect(t, 200); r.Header.Get("Content-Type") != "image/png" {
			t.Errorf("served as %s", r.Header.Get("Content-Type"))
		}
	})

	t.Run("OKHEIC", func(t *testing.T) {
		// An ISO base media file with a HEIC brand is taken as a photo; the server cannot decode it,
		// so it has no thumbnail and no EXIF read, only the tablet's own fix.
		data := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), bytes.Repeat([]byte{1, 2, 3}, 3000)...)
		var u api.UploadView
		e.createUpload(in.Inspector, in.ID, len(data), hexSHA(data), "image/heic").expect(t, 201).JSON(t, &u)
		e.patch(in.Inspector, u.ID, 0, data).expect(t, 200).JSON(t, &u)
		if u.Photo == nil || u.Photo.ContentType != "image/heic" || u.Photo.Thumbnail || u.Photo.Device.GPS == nil {
			t.Fatalf("HEIC photo %+v", u.Photo)
		}
		p := e.do("GET", "/v1/photos/"+u.ID+"/thumbnail", in.Inspector, nil).expectProblem(t, 404)
		if !strings.Contains(p.Detail, "image/heic") {
			t.Errorf("detail %q does not say why", p.Detail)
		}
	})

	t.Run("OKClientID", func(t *testing.T) {
		data := photo(t, 64, 48, 9)
		id := domain.NewID()
		body := map[string]any{"id": id, "size": len(data), "sha256": hexSHA(data), "content_type": "image/jpeg"}
		e.do("POST", "/v1/inspections/"+in.ID+"/photos", in.Inspector, body).expect(t, 201)
		var u api.UploadView
		e.do("POST", "/v1/inspections/"+in.ID+"/photos", in.Inspector, body).expect(t, 200).JSON(t, &u)
		if u.ID != id {
			t.Errorf("a retried creation answered upload %s, want %s", u.ID, id)
		}
		body["size"] = len(data) + 1
		e.do("POST", "/v1/inspections/"+in.ID+"/photos", in.Inspector, body).expectProblem(t, 409)
	})

	t.Run("OKChunks", func(t *testing.T) {
		data := photo(t, 1400, 1050, 3)
		if len(data) < 2*testSegment {
			t.Fatalf("the photo has %d bytes; the test needs more than two segments", len(data))
		}
		var u api.UploadView
		e.createUpload(in.Inspector, in.ID, len(data), hexSHA(data), "image/jpeg").expect(t, 201).JSON(t, &u)
		// The second chunk is larger than the server's buffer, so part of it is written out mid-request.
		cuts := []int{100 << 10, len(data) - 60<<10, len(data)}
		from := 0
		for _, to := range cuts {
			e.patch(in.Inspector, u.ID, int64(from), data[from:to]).expect(t, 200).JSON(t, &u)
			if u.Offset != int64(to) {
				t.Fatalf("offset %d after a chunk ending at %d", u.Offset, to)
			}
			from = to
		}
		if u.State != inspection.UploadComplete || u.Photo == nil || u.Photo.Width != 1400 {
			t.Fatalf("upload %+v", u)
		}
		if got := e.do("GET", "/v1/photos/"+u.ID, in.Inspector, nil).expect(t, 200).Body; !bytes.Equal(got, data) {
			t.Errorf("the assembled photo differs from what was sent (%d bytes, want %d)", len(got), len(data))
		}
		if left := keysUnder(t, b, "uploads/"+u.ID); len(left) != 0 {
			t.Errorf("segments left behind: %v", left)
		}
	})

	t.Run("OKResumeAfterCut", func(t *testing.T) {
		data := photo(t, 1400, 1050, 4)
		var u api.UploadView
		e.createUpload(in.Inspector, in.ID, len(data), hexSHA(data), "image/jpeg").expect(t, 201).JSON(t, &u)
		// The link drops after 150 KB of a PATCH that declared the whole photo.
		e.cutPatch(in.Inspector, u.ID, 0, data, 150<<10, false)
		off := e.offset(in.Inspector, u.ID, 150<<10)
		if off != 150<<10 {
			t.Fatalf("after a cut at 150 KiB the server has %d bytes, want them all kept", off)
		}
		// A retry from the start is refused: the tablet must resume where the server is.
		p := e.patch(in.Inspector, u.ID, 0, data).expectProblem(t, 409)
		if !strings.Contains(p.Detail, strconv.FormatInt(off, 10)) {
			t.Errorf("the 409 does not name the offset %d: %s", off, p.Detail)
		}
		// It drops again, abruptly this time; whatever arrived is kept. The tablet resumes as a real
		// one does: ask the offset, send the rest, and on 409 (the server was still saving the cut
		// request's bytes when asked) ask again.
		e.cutPatch(in.Inspector, u.ID, off, data[off:], 200<<10, true)
		for attempt := 0; ; attempt++ {
			off2 := e.offset(in.Inspector, u.ID, 0)
			if off2 < off || off2 > off+200<<10 {
				t.Fatalf("offset %d after the second cut, want between %d and %d", off2, off, off+200<<10)
			}
			r := e.patch(in.Inspector, u.ID, off2, data[off2:])
			if r.Status == 409 && attempt < 5 {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			r.expect(t, 200).JSON(t, &u)
			break
		}
		if u.Photo == nil || u.Photo.SHA256 != hexSHA(data) {
			t.Fatalf("the resumed upload did not complete: %+v", u)
		}
		if got := e.do("GET", "/v1/photos/"+u.ID, in.Inspector, nil).expect(t, 200).Body; !bytes.Equal(got, data) {
			t.Error("the resumed photo differs from the original")
		}
		if left := keysUnder(t, b, "uploads/"+u.ID); len(left) != 0 {
			t.Errorf("segments left behind: %v", left)
		}
	})

	t.Run("ErrHashMismatch", func(t *testing.T) {
		data := photo(t, 800, 600, 5)
		wrong := hexSHA(append([]byte("x"), data...))
		for _, chunked := range []bool{false, true} {
			var u api.UploadView
			e.createUpload(in.Inspector, in.ID, len(data), wrong, "image/jpeg").expect(t, 201).JSON(t, &u)
			from := 0
			if chunked { // the first half is kept as segments before the last byte shows the hash
				from = len(data) / 2
				e.patch(in.Inspector, u.ID, 0, data[:from]).expect(t, 200)
			}
			p := e.patch(in.Inspector, u.ID, int64(from), data[from:]).expectProblem(t, 422)
			if !strings.Contains(p.Detail, hexSHA(data)) {
				t.Errorf("the problem does not give the hash computed: %s", p.Detail)
			}
			if got := e.uploadState(in.Inspector, u.ID); got.State != inspection.UploadFailed || got.Photo != nil {
				t.Errorf("upload after a wrong hash: %+v", got)
			}
			e.do("GET", "/v1/photos/"+u.ID+"/info", in.Inspector, nil).expectProblem(t, 404)
			e.patch(in.Inspector, u.ID, int64(len(data)), nil).expectProblem(t, 410)
			if left := append(keysUnder(t, b, "uploads/"+u.ID), keysUnder(t, b, "photos/"+u.ID)...); len(left) != 0 {
				t.Errorf("chunked=%v: half-written objects left: %v", chunked, left)
			}
		}
	})

	t.Run("ErrNotAnImage", func(t *testing.T) {
		gif := append([]byte("GIF89a\x10\x00\x10\x00"), bytes.Repeat([]byte{7}, 5000)...)
		fake := append([]byte{0xFF, 0xD8, 0xFF}, bytes.Repeat([]byte("not a jpeg at all "), 300)...)
		for name, data := range map[string][]byte{"GIF": gif, "JPEG magic only": fake} {
			var u api.UploadView
			e.createUpload(in.Inspector, in.ID, len(data), hexSHA(data), "image/jpeg").expect(t, 201).JSON(t, &u)
			e.patch(in.Inspector, u.ID, 0, data).expectProblem(t, 415)
			if got := e.uploadState(in.Inspector, u.ID); got.State != inspection.UploadFailed || got.Reason == "" {
				t.Errorf("%s: upload %+v, want failed with a reason", name, got)
			}
			if left := append(keysUnder(t, b, "uploads/"+u.ID), keysUnder(t, b, "photos/"+u.ID)...); len(left) != 0 {
				t.Errorf("%s: objects left: %v", name, left)
			}
		}
		e.createUpload(in.Inspector, in.ID, 10, hexSHA([]byte("0123456789")), "image/gif").expectProblem(t, 415)
		r := e.do("PATCH", "/v1/uploads/x", in.Inspector, []byte("abc"), "Content-Type", "image/jpeg", "Upload-Offset", "0")
		r.expectProblem(t, 415)
	})

	t.Run("ErrTooLarge", func(t *testing.T) {
		p := e.createUpload(in.Inspector, in.ID, inspection.DefaultMaxPhotoSize+1, hexSHA(nil), "image/jpeg").expectProblem(t, 413)
		if len(p.Errors) == 0 || p.Errors[0].Location != "body.size" {
			t.Errorf("problem %+v, want body.size", p)
		}
		var u api.UploadView
		e.createUpload(in.Inspector, in.ID, inspection.DefaultMaxPhotoSize, hexSHA(nil), "image/jpeg").expect(t, 201).JSON(t, &u)
		e.patch(in.Inspector, u.ID, inspection.DefaultMaxPhotoSize-2, []byte("abc")).expectProblem(t, 409)
		e.createUpload(in.Inspector, in.ID, 2, hexSHA([]byte("ab")), "image/jpeg").expect(t, 201).JSON(t, &u)
		e.patch(in.Inspector, u.ID, 0, []byte("abc")).expectProblem(t, 413)
		if got := e.uploadState(in.Inspector, u.ID); got.Offset != 0 || got.State != inspection.UploadOpen {
			t.Errorf("a refused chunk moved the upload: %+v", got)
		}
	})

	t.Run("ErrOffset", func(t *testing.T) {
		data := photo(t, 64, 64, 6)
		var u api.UploadView
		e.createUpload(in.Inspector, in.ID, len(data), hexSHA(data), "image/jpeg").expect(t, 201).JSON(t, &u)
		e.patch(in.Inspector, u.ID, 5, data[5:]).expectProblem(t, 409)
		e.do("PATCH", "/v1/uploads/"+u.ID, in.Inspector, data, "Content-Type", "application/offset+octet-stream").expectProblem(t, 422)
		if got := e.uploadState(in.Inspector, u.ID); got.Offset != 0 {
			t.Errorf("offset %d after refused chunks", got.Offset)
		}
	})

	t.Run("ErrOtherDistrict", func(t *testing.T) {
		shuInsp, _ := e.staff(uniqueName("shu"), domain.RoleInspector, shu)
		data := photo(t, 64, 64, 7)
		e.createUpload(shuInsp, in.ID, len(data), hexSHA(data), "image/jpeg").expectProblem(t, 404)
		e.createUpload(in.Other, in.ID, len(data), hexSHA(data), "image/jpeg").expectProblem(t, 403)
		ph := e.uploadPhoto(in.Inspector, in.ID, data)
		for _, path := range []string{"/v1/photos/" + ph.ID, "/v1/photos/" + ph.ID + "/thumbnail", "/v1/photos/" + ph.ID + "/info",
			"/v1/inspections/" + in.ID + "/photos", "/v1/uploads/" + ph.ID} {
			e.do("GET", path, shuInsp, nil).expectProblem(t, 404)
		}
		e.do("GET", "/v1/photos/"+ph.ID, in.Other, nil).expect(t, 200) // colleagues of the district see the evidence
		farmer, _ := e.staff(uniqueName("farmer"), domain.RoleFarmer, ownerA)
		e.do("GET", "/v1/photos/"+ph.ID, farmer, nil).expect(t, 200) // and so does the owner
		stranger, _ := e.staff(uniqueName("farmer"), domain.RoleFarmer, ownerB)
		e.do("GET", "/v1/photos/"+ph.ID, stranger, nil).expectProblem(t, 404)
	})

	t.Run("CancelAndCleanup", func(t *testing.T) {
		data := photo(t, 800, 600, 8)
		var cancelled, abandoned api.UploadView
		e.createUpload(in.Inspector, in.ID, len(data), hexSHA(data), "image/jpeg").expect(t, 201).JSON(t, &cancelled)
		e.patch(in.Inspector, cancelled.ID, 0, data[:len(data)/2]).expect(t, 200)
		e.do("DELETE", "/v1/uploads/"+cancelled.ID, in.Inspector, nil).expect(t, 204)
		e.patch(in.Inspector, cancelled.ID, int64(len(data)/2), data[len(data)/2:]).expectProblem(t, 410)

		e.createUpload(in.Inspector, in.ID, len(data), hexSHA(data), "image/jpeg").expect(t, 201).JSON(t, &abandoned)
		e.cutPatch(in.Inspector, abandoned.ID, 0, data, len(data)/3, false)
		e.offset(in.Inspector, abandoned.ID, int64(len(data)/3))
		if n, err := e.srv.PhotoStore.Cleanup(t.Context(), e.clock.Now()); err != nil || n != 0 {
			t.Fatalf("cleanup of a fresh upload: %d, %v", n, err)
		}
		if len(keysUnder(t, b, "uploads/"+abandoned.ID)) == 0 {
			t.Fatal("the cut upload's bytes are not in the store")
		}
		e.later(&in, inspection.DefaultUploadTTL+time.Minute) // the last subtest: the clock stays moved
		// The open uploads of the subtests above are idle as long, and go too.
		if n, err := e.srv.PhotoStore.Cleanup(t.Context(), e.clock.Now()); err != nil || n < 1 {
			t.Fatalf("cleanup swept %d uploads (%v), want at least the abandoned one", n, err)
		}
		if got := e.uploadState(in.Inspector, abandoned.ID); got.State != inspection.UploadExpired {
			t.Errorf("abandoned upload is %s", got.State)
		}
		e.patch(in.Inspector, abandoned.ID, int64(len(data)/3), data[len(data)/3:]).expectProblem(t, 410)
		for _, id := range []string{cancelled.ID, abandoned.ID} {
			if left := append(keysUnder(t, b, "uploads/"+id), keysUnder(t, b, "photos/"+id)...); len(left) != 0 {
				t.Errorf("objects left after cancel and cleanup: %v", left)
			}
		}
	})
}
