// Package client is vetfield's reference sync client: it keeps a local replica on disk, queues
// changes made offline, and syncs them the way a tablet should — push the queue (the same mutation
// ids on every retry), then upload the queued photos (resumed where the server has them, see
// photos.go), then pull pages until none remain, saving the checkpoint with each page.
// cmd/vftablet wraps it; the sync tests drive it through faulty links.
package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/zstd"
	_ "modernc.org/sqlite" // the replica is a SQLite file

	vsync "github.com/vetfield/vetfield/sync"
)

// Client is one tablet.
type Client struct {
	Server   string
	Device   string
	Username string
	Password string
	HTTP     *http.Client
	// PageSize is the limit of each pull, and BatchSize the most mutations one push sends. Over a
	// link that keeps dropping, both are halved after each failed try and grow back after each
	// success, so some progress is made even when only small requests get through.
	PageSize  int
	BatchSize int
	// Attempts bounds the failed tries in a row before Push or Pull gives up.
	Attempts int
	// Log, if set, hears of every failed try, for a person watching a sync over a bad link.
	Log func(format string, args ...any)

	db      *sql.DB
	access  string
	refresh string
}

const schema = `
CREATE TABLE IF NOT EXISTS records (coll TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (coll, id));
CREATE TABLE IF NOT EXISTS queue (n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, mutation BLOB NOT NULL,
	state TEXT NOT NULL DEFAULT 'queued', result BLOB);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`

// Open opens (or creates) the replica in dir.
func Open(dir, server, device, username, password string) (*Client, error) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "replica.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("client: open replica: %w", err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema + photoSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("client: replica schema: %w", err)
	}
	return &Client{Server: strings.TrimRight(server, "/"), Device: device, Username: username, Password: password,
		HTTP: &http.Client{Timeout: 60 * time.Second}, PageSize: 1000, BatchSize: 500, Attempts: 50, db: db}, nil
}

// Close closes the replica.
func (c *Client) Close() error { return c.db.Close() }

// NewID returns an id for a record or a mutation the tablet makes: a UUID v7, whose first 48 bits
// are the time it was made. The server takes any UUID, but records made one after another then
// have ids that sort together, and since a district's first sync reads its records in id order
// (README, "Ids and times"), an animal is sent beside the animals identified with it: the same
// holding, neighbouring tags, the same minute. Compressed, that saves about a quarter of a first
// sync against random (v4) ids, which scatter them.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// Enqueue keeps a mutation to push later. A mutation id enqueued twice is kept once.
func (c *Client) Enqueue(ctx context.Context, m vsync.Mutation) error {
	if m.At.IsZero() {
		m.At = time.Now().UTC()
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = c.db.ExecContext(ctx, `INSERT INTO queue (id, mutation) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, m.ID, data)
	return err
}

// Result is what the server answered for a queued mutation, once it did.
type Result struct {
	Mutation vsync.Mutation
	State    string // queued, applied, conflict or rejected
	Answer   json.RawMessage
}

// Queue lists the queued and answered mutations in the order they were made.
func (c *Client) Queue(ctx context.Context) ([]Result, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT mutation, state, COALESCE(result, '') FROM queue ORDER BY n`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Result
	for rows.Next() {
		var m, state, res []byte
		if err := rows.Scan(&m, &state, &res); err != nil {
			return nil, err
		}
		r := Result{State: string(state), Answer: res}
		if err := json.Unmarshal(m, &r.Mutation); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Sync pushes the queue, uploads the photos whose mutations were answered, and then pulls until
// the replica is up to date.
func (c *Client) Sync(ctx context.Context) error {
	if err := c.Push(ctx); err != nil {
		return err
	}
	if _, err := c.UploadPhotos(ctx); err != nil {
		return err
	}
	_, err := c.Pull(ctx)
	return err
}

// pushAnswer is the server's answer to a push.
type pushAnswer struct {
	Results []struct {
		MutationID string          `json:"mutation_id"`
		Status     string          `json:"status"`
		Record     *vsync.Item     `json:"record"`
		Problem    json.RawMessage `json:"problem"`
	} `json:"results"`
}

// maxBatchBytes keeps a push body under the server's 1 MiB limit with room for the envelope.
const maxBatchBytes = 900 << 10

// Push sends queued mutations in batches until none is queued. A batch whose answer is lost is
// sent again as it was: the server answers repeats from its record of mutation ids.
func (c *Client) Push(ctx context.Context) error {
	count, failures := min(c.BatchSize, vsync.MaxPushMutations), 0
	for {
		rows, err := c.db.QueryContext(ctx, `SELECT id, mutation FROM queue WHERE state = 'queued' ORDER BY n LIMIT ?`, count)
		if err != nil {
			return err
		}
		var batch []json.RawMessage
		size := 0
		for rows.Next() {
			var id string
			var m []byte
			if err := rows.Scan(&id, &m); err != nil {
				rows.Close()
				return err
			}
			if size+len(m) > maxBatchBytes && len(batch) > 0 {
				break
			}
			batch, size = append(batch, m), size+len(m)+1
		}
		rows.Close()
		if len(batch) == 0 {
			return nil
		}
		body, _ := json.Marshal(map[string]any{"mutations": batch})
		var ans pushAnswer
		if err := c.callOnce(ctx, http.MethodPost, "/v1/sync/push", body, &ans); err != nil {
			c.logf("push of %d mutations failed (%d in a row): %v", len(batch), failures+1, err)
			if failures++; !errors.Is(err, errRetry) || failures >= c.Attempts {
				return err
			}
			count = max(1, count/2)
			continue
		}
		count, failures = min(count*2, c.BatchSize, vsync.MaxPushMutations), 0
		tx, err := c.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, r := range ans.Results {
			res, _ := json.Marshal(r)
			if _, err := tx.ExecContext(ctx, `UPDATE queue SET state = ?, result = ? WHERE id = ?`, r.Status, res, r.MutationID); err != nil {
				tx.Rollback()
				return err
			}
			if r.Record != nil {
				if err := applyItem(ctx, tx, *r.Record); err != nil {
					tx.Rollback()
					return err
				}
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
}

// Pull fetches pages of changes until the server has no more, and returns how many items came.
// Each page and its checkpoint are saved in one transaction, so an interruption only repeats the
// page that was lost.
func (c *Client) Pull(ctx context.Context) (int, error) {
	total, limit, failures := 0, c.PageSize, 0
	for {
		var cp string
		err := c.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'checkpoint'`).Scan(&cp)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return total, err
		}
		q := url.Values{"limit": {fmt.Sprint(limit)}, "format": {"2"}}
		if cp != "" {
			q.Set("checkpoint", cp)
		}
		var page vsync.Page
		if err := c.callOnce(ctx, http.MethodGet, "/v1/sync/pull?"+q.Encode(), nil, &page); err != nil {
			c.logf("pull of %d failed (%d in a row): %v", limit, failures+1, err)
			if failures++; !errors.Is(err, errRetry) || failures >= c.Attempts {
				return total, err
			}
			limit = max(1, limit/2)
			continue
		}
		limit, failures = min(limit*2, c.PageSize), 0
		n, err := c.applyPage(ctx, &page)
		if err != nil {
			return total, err
		}
		total += n
		if !page.More && !page.Resync {
			return total, nil
		}
	}
}

// applyPage applies a page of format 2 and stores its checkpoint in one local transaction, so an
// interruption only repeats the page that was lost; a resync empties the replica first.
func (c *Client) applyPage(ctx context.Context, page *vsync.Page) (int, error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if page.Resync {
		// The user's scope changed: start over from an empty replica.
		if _, err := tx.ExecContext(ctx, `DELETE FROM records; DELETE FROM meta WHERE key = 'checkpoint'`); err != nil {
			return 0, err
		}
		return 0, tx.Commit()
	}
	upsert, err := tx.PrepareContext(ctx, upsertSQL)
	if err != nil {
		return 0, err
	}
	defer upsert.Close()
	remove, err := tx.PrepareContext(ctx, removeSQL)
	if err != nil {
		return 0, err
	}
	defer remove.Close()
	err = page.Each(func(r vsync.Record) error {
		if r.Data == nil {
			_, err := remove.ExecContext(ctx, r.Collection, r.ID)
			return err
		}
		_, err := upsert.ExecContext(ctx, r.Collection, r.ID, r.Version, []byte(r.Data))
		return err
	})
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('checkpoint', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, page.Checkpoint); err != nil {
		return 0, err
	}
	return page.Len(), tx.Commit()
}

// The replica's writes: only a newer version replaces what the replica has. The same version again
// (a page repeated after a lost answer, or the pull of a paper the tablet issued) changes nothing,
// so a paper keeps the full view its push answer brought, QR code included, which format 2 leaves
// out of a staff tablet's pages.
const (
	upsertSQL = `INSERT INTO records (coll, id, version, data) VALUES (?, ?, ?, ?)
		ON CONFLICT (coll, id) DO UPDATE SET version = excluded.version, data = excluded.data WHERE excluded.version > records.version`
	removeSQL = `DELETE FROM records WHERE coll = ? AND id = ?`
)

// applyItem writes one item of a push answer into the replica.
func applyItem(ctx context.Context, tx *sql.Tx, it vsync.Item) error {
	if it.Deleted {
		_, err := tx.ExecContext(ctx, removeSQL, it.Collection, it.ID)
		return err
	}
	_, err := tx.ExecContext(ctx, upsertSQL, it.Collection, it.ID, it.Version, []byte(it.Data))
	return err
}

// Record is one record of the replica.
type Record struct {
	Version int64
	Data    json.RawMessage
}

// Records returns the replica's records of coll by id.
func (c *Client) Records(ctx context.Context, coll string) (map[string]Record, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT id, version, data FROM records WHERE coll = ?`, coll)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Record{}
	for rows.Next() {
		var id string
		var r Record
		var data []byte
		if err := rows.Scan(&id, &r.Version, &data); err != nil {
			return nil, err
		}
		r.Data = data
		out[id] = r
	}
	return out, rows.Err()
}

// errRetry marks a failure worth trying again: the link dropped, or the server was busy.
var errRetry = errors.New("retry")

func (c *Client) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log(format, args...)
	}
}

// tries is how often callOnce repeats a request unchanged before the caller shrinks it.
const tries = 3

// callOnce sends one request, repeating it a few times with backoff over a bad link and logging in
// again when the access token expires, and decodes the JSON answer into out. A failure worth
// retrying (the link dropped, the server was busy) wraps errRetry.
func (c *Client) callOnce(ctx context.Context, method, path string, body []byte, out any) error {
	var last error
	for attempt := range tries {
		if attempt > 0 {
			wait := time.Duration(10<<attempt) * time.Millisecond
			wait = wait/2 + time.Duration(rand.Int64N(int64(wait/2)+1))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		if c.access == "" {
			if err := c.login(ctx); err != nil {
				if errors.Is(err, errRetry) {
					last = err
					continue
				}
				return err
			}
		}
		status, data, err := c.send(ctx, method, path, body, c.access)
		switch {
		case err != nil:
			last = err
			continue
		case status == http.StatusUnauthorized:
			c.access = ""
			last = fmt.Errorf("%s %s: 401", method, path)
			continue
		case status == http.StatusTooManyRequests || status >= 500:
			last = fmt.Errorf("%s %s: %d", method, path, status)
			continue
		case status >= 300:
			return fmt.Errorf("client: %s %s: %d %s", method, path, status, data)
		}
		if err := json.Unmarshal(data, out); err != nil {
			// A body cut short by the link: the request is safe to repeat.
			last = fmt.Errorf("%s %s: %w", method, path, err)
			continue
		}
		return nil
	}
	return fmt.Errorf("client: %w: %v", errRetry, last)
}

func (c *Client) login(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"username": c.Username, "password": c.Password})
	status, data, err := c.send(ctx, http.MethodPost, "/v1/auth/login", body, "")
	if err != nil || status == http.StatusTooManyRequests || status >= 500 {
		return fmt.Errorf("%w: login: %v %d", errRetry, err, status)
	}
	if status != http.StatusOK {
		return fmt.Errorf("client: login: %d %s", status, data)
	}
	var pair struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(data, &pair); err != nil {
		return fmt.Errorf("%w: login answer cut short", errRetry)
	}
	c.access, c.refresh = pair.AccessToken, pair.RefreshToken
	return nil
}

func (c *Client) send(ctx context.Context, method, path string, body []byte, token string) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Server+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if c.Device != "" {
		req.Header.Set("X-Device-ID", c.Device)
	}
	req.Header.Set("Accept-Encoding", "zstd, gzip")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if data, err = decode(resp.Header.Get("Content-Encoding"), data); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, data, nil
}

// zstdPages decodes zstd answers; DecodeAll is safe for concurrent use.
var zstdPages, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(256<<20))

// decode undoes an answer's Content-Encoding. A body the link cut short fails here, and the
// request is repeated.
func decode(encoding string, data []byte) ([]byte, error) {
	switch strings.ToLower(encoding) {
	case "":
		return data, nil
	case "zstd":
		return zstdPages.DecodeAll(data, nil)
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	}
	return nil, fmt.Errorf("client: an answer in an encoding not asked for: %q", encoding)
}
