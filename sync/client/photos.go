package client

// Photos of inspections travel beside the mutation queue, by the server's resumable upload
// protocol (api/upload.go): declare the photo (POST /v1/inspections/{id}/photos with the photo's
// own id, size and SHA-256, so a repeat answers the same upload), PATCH the bytes from the offset
// the server has, and after a dropped link ask HEAD for the offset and send only the rest. The
// server keeps every byte that arrived, so a link that drops every few hundred kilobytes still
// moves a photo forward, and no byte the server holds is sent again.
//
// A photo waits for the mutation it names in After (the one that made the record it shows) to be
// answered: Sync pushes first, so by the photos' turn it usually is. A photo whose mutation was
// rejected, or that the server refuses (too large, not a photo, a checksum that differs), is
// marked failed with the server's problem and the next photo goes on: one bad photo never blocks
// the queue.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"time"

	vsync "github.com/vetfield/vetfield/sync"
)

const photoSchema = `
CREATE TABLE IF NOT EXISTS photos (n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, inspection_id TEXT NOT NULL,
	after TEXT NOT NULL DEFAULT '', item TEXT NOT NULL DEFAULT '', content_type TEXT NOT NULL, path TEXT NOT NULL DEFAULT '', data BLOB,
	size INTEGER NOT NULL, sha256 TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued', created INTEGER NOT NULL DEFAULT 0,
	offset INTEGER NOT NULL DEFAULT 0, resumes INTEGER NOT NULL DEFAULT 0, problem BLOB);
`

// Photo states.
const (
	PhotoQueued   = "queued"
	PhotoUploaded = "uploaded"
	PhotoFailed   = "failed"
)

// Photo is a photo to upload: its bytes (Data, or the file at Path, read when it is sent) and what
// the server files it under.
type Photo struct {
	// ID is the upload's id, a UUID made by the tablet: the inspection's act may name the photo by
	// it before its bytes arrive, and a repeated declaration answers the same upload.
	ID           string
	InspectionID string
	// After, if set, is the id of a queued mutation the photo waits for.
	After       string
	Item        string // the checklist requirement the photo shows, if any
	ContentType string // image/jpeg, image/png, image/heic or image/heif
	Path        string
	Data        []byte
}

// PhotoStatus is a queued photo as it stands.
type PhotoStatus struct {
	ID, InspectionID, State string
	Size                    int64
	SHA256                  string
	// Offset is the bytes the server last said it had.
	Offset int64
	// Resumes counts the requests that continued the photo from a non-zero offset after an earlier
	// one broke off.
	Resumes int
	// Problem is the server's RFC 9457 problem (or the client's own reason) for a failed photo.
	Problem json.RawMessage
}

// EnqueuePhoto keeps a photo to upload later. Its size and SHA-256 are taken now, so a file that
// changes before it is sent is caught rather than sent as another photo. A photo id enqueued twice
// is kept once.
func (c *Client) EnqueuePhoto(ctx context.Context, p Photo) error {
	if p.ID == "" || p.InspectionID == "" || p.ContentType == "" {
		return errors.New("client: a photo needs its id, inspection and content type")
	}
	data := p.Data
	if p.Path != "" {
		var err error
		if data, err = os.ReadFile(p.Path); err != nil {
			return fmt.Errorf("client: photo: %w", err)
		}
		p.Data = nil // kept as a path: read again when it is sent
	}
	if len(data) == 0 {
		return errors.New("client: a photo has bytes")
	}
	sum := sha256.Sum256(data)
	_, err := c.db.ExecContext(ctx, `INSERT INTO photos (id, inspection_id, after, item, content_type, path, data, size, sha256)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		p.ID, p.InspectionID, p.After, p.Item, p.ContentType, p.Path, p.Data, len(data), hex.EncodeToString(sum[:]))
	return err
}

// Photos lists the queued and finished photos in the order they were taken.
func (c *Client) Photos(ctx context.Context) ([]PhotoStatus, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT id, inspection_id, state, size, sha256, offset, resumes, COALESCE(problem, '')
		FROM photos ORDER BY n`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PhotoStatus
	for rows.Next() {
		var p PhotoStatus
		var problem []byte
		if err := rows.Scan(&p.ID, &p.InspectionID, &p.State, &p.Size, &p.SHA256, &p.Offset, &p.Resumes, &problem); err != nil {
			return nil, err
		}
		if len(problem) > 0 {
			p.Problem = problem
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PhotoReport is what one UploadPhotos did.
type PhotoReport struct {
	Uploaded, Failed, Waiting int
	// Resumes counts requests that continued a photo from a non-zero offset.
	Resumes int
	// Stored is the size of the photos uploaded.
	Stored int64
}

// queuedPhoto is a photos row being uploaded.
type queuedPhoto struct {
	id, inspection, after, item, contentType, path, sum string
	data                                                []byte
	size                                                int64
	created                                             bool
}

// UploadPhotos uploads the queued photos in order, each resumed where the server has it. A photo
// whose mutation is not answered yet waits for a later call; one the server refuses is marked
// failed and the rest go on. It stops with an error only when the link fails Attempts times in a
// row on one photo; what arrived is kept, and the next call resumes it.
func (c *Client) UploadPhotos(ctx context.Context) (PhotoReport, error) {
	var rep PhotoReport
	last := int64(0)
	for {
		var p queuedPhoto
		var n int64
		var created int
		err := c.db.QueryRowContext(ctx, `SELECT n, id, inspection_id, after, item, content_type, path, COALESCE(data, x''), size, sha256, created
			FROM photos WHERE state = 'queued' AND n > ? ORDER BY n LIMIT 1`, last).
			Scan(&n, &p.id, &p.inspection, &p.after, &p.item, &p.contentType, &p.path, &p.data, &p.size, &p.sum, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return rep, nil
		}
		if err != nil {
			return rep, err
		}
		last, p.created = n, created != 0
		if p.after != "" {
			var state string
			err := c.db.QueryRowContext(ctx, `SELECT state FROM queue WHERE id = ?`, p.after).Scan(&state)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				// The mutation is not in this queue: it was never the tablet's to wait for.
			case err != nil:
				return rep, err
			case state == "queued":
				rep.Waiting++
				continue
			case state == vsync.Rejected:
				if err := c.failPhoto(ctx, p.id, clientProblem("the mutation this photo waits for ("+p.after+") was rejected")); err != nil {
					return rep, err
				}
				rep.Failed++
				continue
			}
		}
		if err := c.uploadPhoto(ctx, &p, &rep); err != nil {
			return rep, err
		}
	}
}

// errPhotoRefused is a photo the server will not take as it is: marked failed, not retried.
type errPhotoRefused struct{ problem json.RawMessage }

func (e errPhotoRefused) Error() string { return "photo refused: " + string(e.problem) }

// uploadPhoto sends one photo, resuming after every failure from the offset the server reports.
func (c *Client) uploadPhoto(ctx context.Context, p *queuedPhoto, rep *PhotoReport) error {
	data := p.data
	if p.path != "" {
		var err error
		if data, err = os.ReadFile(p.path); err != nil {
			rep.Failed++
			return c.failPhoto(ctx, p.id, clientProblem("the photo's file cannot be read: "+err.Error()))
		}
	}
	if sum := sha256.Sum256(data); int64(len(data)) != p.size || hex.EncodeToString(sum[:]) != p.sum {
		rep.Failed++
		return c.failPhoto(ctx, p.id, clientProblem("the photo's file changed after it was queued"))
	}
	// failures counts failed requests in a row without progress; conflicts the answers that the
	// upload is not where the client thought, which a second look settles (both bounded by Attempts).
	failures, conflicts := 0, 0
	known := int64(-1) // the offset the server last reported; -1 until it has
	best := int64(0)   // the furthest offset reported: failures count in a row only without progress
	// fail handles a failed request: a refusal marks the photo failed (done is true), a failure of
	// the link waits and tries again, anything else stops the upload with its error.
	fail := func(err error) (done bool, _ error) {
		var refused errPhotoRefused
		if errors.As(err, &refused) {
			rep.Failed++
			return true, c.failPhoto(ctx, p.id, refused.problem)
		}
		if !errors.Is(err, errRetry) {
			return true, err
		}
		failures++
		c.logf("photo %s at offset %d failed (%d in a row): %v", p.id, max(known, 0), failures, err)
		if failures >= c.Attempts {
			return true, fmt.Errorf("client: photo %s: %w", p.id, err)
		}
		return false, backoff(ctx, failures)
	}
	for {
		var view *uploadView
		var err error
		switch {
		case !p.created:
			view, err = c.declarePhoto(ctx, p)
			if err == nil {
				p.created = true
				if _, err := c.db.ExecContext(ctx, `UPDATE photos SET created = 1 WHERE id = ?`, p.id); err != nil {
					return err
				}
			}
		case known < 0:
			// After a failure: ask where the server stands before sending a byte.
			var off int64
			if off, err = c.photoOffset(ctx, p.id); err == nil {
				view = &uploadView{Offset: off, State: "open"}
				if off == p.size {
					view, err = c.photoState(ctx, p.id)
				}
			}
		}
		if err != nil {
			if errors.Is(err, errUploadUnknown) && conflicts < c.Attempts {
				conflicts++
				p.created = false // the declaration never arrived: declare again
				continue
			}
			if done, ferr := fail(err); done || ferr != nil {
				return ferr
			}
			continue
		}
		if view != nil {
			known = view.Offset
			if known > best {
				best, failures = known, 0
			}
			if view.State == "complete" {
				return c.photoDone(ctx, p, view, rep)
			}
		}
		if known > 0 {
			rep.Resumes++
			if _, err := c.db.ExecContext(ctx, `UPDATE photos SET resumes = resumes + 1, offset = ? WHERE id = ?`, known, p.id); err != nil {
				return err
			}
		}
		view, err = c.patchPhoto(ctx, p.id, known, data[known:])
		switch {
		case errors.Is(err, errWrongOffset) && conflicts < c.Attempts:
			conflicts++ // the server was still saving a cut request's bytes: ask again
			known = -1
			continue
		case errors.Is(err, errUploadUnknown) && conflicts < c.Attempts:
			conflicts++
			known, p.created = -1, false
			continue
		}
		if err != nil {
			known = -1
			if done, ferr := fail(err); done || ferr != nil {
				return ferr
			}
			continue
		}
		failures = 0
		if view.State == "complete" {
			return c.photoDone(ctx, p, view, rep)
		}
		known = view.Offset // a short PATCH (cannot happen with one body) still moves on
	}
}

// photoDone checks the photo the server stored against the one queued and marks it uploaded.
func (c *Client) photoDone(ctx context.Context, p *queuedPhoto, v *uploadView, rep *PhotoReport) error {
	if v.Photo == nil || v.Photo.SHA256 != p.sum || v.Size != p.size {
		got := ""
		if v.Photo != nil {
			got = v.Photo.SHA256
		}
		rep.Failed++
		return c.failPhoto(ctx, p.id, clientProblem("the server stored a photo with SHA-256 "+got+", not "+p.sum))
	}
	rep.Uploaded++
	rep.Stored += p.size
	_, err := c.db.ExecContext(ctx, `UPDATE photos SET state = 'uploaded', offset = size, data = NULL WHERE id = ?`, p.id)
	return err
}

func (c *Client) failPhoto(ctx context.Context, id string, problem json.RawMessage) error {
	c.logf("photo %s failed: %s", id, problem)
	_, err := c.db.ExecContext(ctx, `UPDATE photos SET state = 'failed', problem = ? WHERE id = ?`, []byte(problem), id)
	return err
}

// clientProblem is a reason of the tablet's own, shaped as a problem beside the server's.
func clientProblem(detail string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"title": "Not uploaded", "detail": detail})
	return b
}

// uploadView is the part of the server's UploadView the client reads.
type uploadView struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	Photo  *struct {
		SHA256 string `json:"sha256"`
	} `json:"photo"`
}

var (
	errUploadUnknown = errors.New("the server has no such upload")
	errWrongOffset   = errors.New("the server's offset is not the one sent")
)

// declarePhoto declares the photo; a repeat (the first answer was lost) answers the same upload.
func (c *Client) declarePhoto(ctx context.Context, p *queuedPhoto) (*uploadView, error) {
	body, _ := json.Marshal(map[string]any{"id": p.id, "size": p.size, "sha256": p.sum, "content_type": p.contentType, "item": p.item})
	status, _, data, err := c.photoRequest(ctx, http.MethodPost, "/v1/inspections/"+p.inspection+"/photos", "application/json", bytes.NewReader(body), nil)
	if status == http.StatusNotFound {
		return nil, errPhotoRefused{problem: data} // no such inspection, for this user
	}
	return decodeUpload(status, data, err)
}

// photoState reads an upload whole, for the photo of one the server completed.
func (c *Client) photoState(ctx context.Context, id string) (*uploadView, error) {
	status, _, data, err := c.photoRequest(ctx, http.MethodGet, "/v1/uploads/"+id, "", nil, nil)
	return decodeUpload(status, data, err)
}

// photoOffset asks HEAD how many bytes of the upload the server has.
func (c *Client) photoOffset(ctx context.Context, id string) (int64, error) {
	status, hdr, data, err := c.photoRequest(ctx, http.MethodHead, "/v1/uploads/"+id, "", nil, nil)
	if _, err := decodeUpload(status, data, err); err != nil && !errors.Is(err, errNoBody) {
		return 0, err
	}
	off, perr := strconv.ParseInt(hdr.Get("Upload-Offset"), 10, 64)
	if perr != nil {
		return 0, fmt.Errorf("HEAD answered Upload-Offset %q", hdr.Get("Upload-Offset"))
	}
	return off, nil
}

// patchPhoto sends rest, the photo's bytes from offset on, in one request: if it breaks off, the
// server keeps what arrived.
func (c *Client) patchPhoto(ctx context.Context, id string, offset int64, rest []byte) (*uploadView, error) {
	status, _, data, err := c.photoRequest(ctx, http.MethodPatch, "/v1/uploads/"+id, "application/offset+octet-stream",
		bytes.NewReader(rest), map[string]string{"Upload-Offset": strconv.FormatInt(offset, 10)})
	return decodeUpload(status, data, err)
}

var errNoBody = errors.New("no body")

// decodeUpload sorts an answer into an upload, a failure worth retrying (wrapping errRetry), a
// wrong offset, an unknown upload, or a refusal of the photo.
func decodeUpload(status int, data []byte, err error) (*uploadView, error) {
	switch {
	case err != nil:
		return nil, err
	case status == http.StatusTooManyRequests || status >= 500 || status == http.StatusUnauthorized:
		return nil, fmt.Errorf("%w: %d", errRetry, status)
	case status == http.StatusConflict && bytes.Contains(data, []byte("offset")):
		return nil, errWrongOffset
	case status == http.StatusNotFound:
		return nil, errUploadUnknown
	case status >= 300:
		if len(data) == 0 {
			data = clientProblem(fmt.Sprintf("the server answered %d", status))
		}
		return nil, errPhotoRefused{problem: data}
	case len(data) == 0:
		return nil, errNoBody
	}
	var v uploadView
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%w: answer cut short: %v", errRetry, err) // the link dropped mid-answer
	}
	return &v, nil
}

// photoRequest sends one request of the upload protocol, logging in first if needed. A failure of
// the link wraps errRetry, and so does an expired token (401), after which the next request logs
// in again. The body is sent once: an upload's next request depends on what the server kept.
func (c *Client) photoRequest(ctx context.Context, method, path, contentType string, body io.Reader, headers map[string]string) (int, http.Header, []byte, error) {
	if c.access == "" {
		if err := c.login(ctx); err != nil {
			return 0, nil, nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Server+path, body)
	if err != nil {
		return 0, nil, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Authorization", "Bearer "+c.access)
	if c.Device != "" {
		req.Header.Set("X-Device-ID", c.Device)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%w: %v", errRetry, err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%w: answer cut short: %v", errRetry, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		c.access = ""
	}
	return resp.StatusCode, resp.Header, data, nil
}

// backoff waits a little longer after each failure in a row, with jitter, up to about 2 s.
func backoff(ctx context.Context, failures int) error {
	wait := time.Duration(20<<min(failures, 7)) * time.Millisecond
	wait = wait/2 + time.Duration(rand.Int64N(int64(wait/2)+1))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(wait):
		return nil
	}
}
