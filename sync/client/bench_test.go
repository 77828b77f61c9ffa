package client_test

import (
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vetfield/vetfield/sync/client"
)

// BenchmarkReplicaBuild measures what a tablet pays for its first sync: a fresh client (an empty
// replica, no checkpoint) pulls the whole district of -animals animals from a vetfield server in
// another process over loopback HTTP, as client.Pull does it, with the encoding Go's transport
// negotiates. The district is built through the API (see districtDB) and cached between runs.
//
//	go test ./sync/client -run x -bench ReplicaBuild -benchtime 1x                        # 10 000 animals
//	go test ./sync/client -run x -bench ReplicaBuild -benchtime 1x -args -animals 100000  # the full district
//
// It reports the bytes on the wire per animal counted on the TCP connection both ways (what a 2G
// link carries), the client's peak Go heap (which must not grow with the district: it is bounded
// by the page), its CPU and the server's, the replica's size, and as baselines in the same run a
// bare SQL read of the animals, passports and events on the server's file and a bare copy of them
// into a fresh SQLite file in one transaction. After the timed builds it logs the page's weight by
// collection and by field (see logPageWeight).
func BenchmarkReplicaBuild(b *testing.B) {
	if testing.Short() {
		b.Skip("loads a district through the API")
	}
	n := *districtAnimals
	cached := districtDB(b, n)
	srv := startDistrictServer(b, cached)
	var wire wireCounter
	var heapBefore, peakHeap, items, replicaBytes, clientCPU, serverCPU, elapsed float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		c, err := client.Open(dir, srv.base, "tablet-bench", districtVet, districtPassword)
		if err != nil {
			b.Fatal(err)
		}
		c.HTTP = wire.client()
		runtime.GC()
		heapBefore = max(heapBefore, float64(heapInUse()))
		stop := sampleHeap()
		cpu0, scpu0 := processCPU(), srv.cpu(b)
		start := time.Now()
		b.StartTimer()
		got, err := c.Pull(context.Background())
		b.StopTimer()
		elapsed += time.Since(start).Seconds()
		clientCPU += (processCPU() - cpu0).Seconds()
		serverCPU += (srv.cpu(b) - scpu0).Seconds()
		peakHeap = max(peakHeap, float64(stop()))
		if err != nil {
			b.Fatal(err)
		}
		items += float64(got)
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		replicaBytes = float64(filesSize(b, filepath.Join(dir, "replica.db*")))
		b.StartTimer()
	}
	b.StopTimer()
	runs := float64(b.N)
	b.ReportMetric(elapsed/runs, "s/build")
	b.ReportMetric(float64(n)*runs/elapsed, "animals/s")
	b.ReportMetric(items/elapsed, "records/s")
	b.ReportMetric(items/runs/float64(n), "records/animal")
	b.ReportMetric(float64(wire.read.Load()+wire.written.Load())/runs/float64(n), "wire-B/animal")
	b.ReportMetric(peakHeap/(1<<20), "peak-heap-MiB")
	b.ReportMetric(heapBefore/(1<<20), "start-heap-MiB")
	b.ReportMetric(clientCPU/runs, "client-cpu-s")
	b.ReportMetric(serverCPU/runs, "server-cpu-s")
	b.ReportMetric(replicaBytes/float64(n), "replica-B/animal")
	if enc := wire.encodings(); enc != "zstd" {
		b.Errorf("the server answered pulls with the encodings %q, not zstd alone", enc)
	}
	b.Logf("%d animals: %.0f records in %.1f s; on the wire %.1f MB down, %.1f MB up; pages encoded %s; replica %.1f MB",
		n, items/runs, elapsed/runs, float64(wire.read.Load())/runs/1e6, float64(wire.written.Load())/runs/1e6, wire.encodings(), replicaBytes/1e6)

	read, copied, rows := bareSQL(b, srv.live)
	b.ReportMetric(read, "sqlread-s")
	b.ReportMetric(copied, "sqlcopy-s")
	b.Logf("baseline: %d rows of animals, documents and animal_events: read in %.2f s, read and inserted into a fresh file in one transaction in %.2f s",
		rows, read, copied)
	logPageWeight(b, srv.base, n)
}

// wireCounter counts the bytes a client's TCP connections carry, both ways, and which encodings
// the answers came in.
type wireCounter struct {
	read, written atomic.Int64
	mu            gosync.Mutex
	byEncoding    map[string]int
}

// client is an http.Client like client.Open's whose connections are counted. The reference client
// asks for zstd or gzip itself and decodes the answers, so the bodies are counted compressed.
func (w *wireCounter) client() *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countedConn{Conn: c, w: w}, nil
		}}
	return &http.Client{Timeout: 60 * time.Second, Transport: encodingWatch{tr, w}}
}

// encodings names the encodings pull answers came in, "+" between them, with "identity" for none.
func (w *wireCounter) encodings() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for enc := range w.byEncoding {
		out = append(out, enc)
	}
	sort.Strings(out)
	return strings.Join(out, "+")
}

type countedConn struct {
	net.Conn
	w *wireCounter
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.read.Add(int64(n))
	return n, err
}

func (c *countedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.w.written.Add(int64(n))
	return n, err
}

// encodingWatch notes whether each pull was answered compressed.
type encodingWatch struct {
	next http.RoundTripper
	w    *wireCounter
}

func (e encodingWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := e.next.RoundTrip(req)
	if err == nil && strings.HasPrefix(req.URL.Path, "/v1/sync/pull") {
		enc := resp.Header.Get("Content-Encoding")
		if enc == "" {
			enc = "identity"
		}
		e.w.mu.Lock()
		if e.w.byEncoding == nil {
			e.w.byEncoding = map[string]int{}
		}
		e.w.byEncoding[enc]++
		e.w.mu.Unlock()
	}
	return resp, err
}

// sampleHeap samples the Go heap in use (heapInUse, which does not stop the world as
// runtime.ReadMemStats does) every millisecond until the returned
// function is called, which answers the peak.
func sampleHeap() func() uint64 {
	done, peak := make(chan struct{}), make(chan uint64)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		var top uint64
		for {
			top = max(top, heapInUse())
			select {
			case <-done:
				peak <- top
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		return <-peak
	}
}

// heapInUse reads what MemStats calls HeapInuse from runtime/metrics: live and dead objects and
// the unused room of the spans that hold them.
func heapInUse() uint64 {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(samples)
	return samples[0].Value.Uint64() + samples[1].Value.Uint64()
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func filesSize(tb testing.TB, pattern string) int64 {
	names, err := filepath.Glob(pattern)
	if err != nil {
		tb.Fatal(err)
	}
	var total int64
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil {
			tb.Fatal(err)
		}
		total += fi.Size()
	}
	return total
}

// bareSQL is the floor under a replica build: the seconds to read the district's animals,
// passports and history events straight from the server's file, and to read them and insert them
// into a fresh SQLite file like the replica (one transaction), with how many rows that is.
func bareSQL(tb testing.TB, serverDB string) (read, copied float64, rows int) {
	tb.Helper()
	src, err := sql.Open("sqlite", "file:"+serverDB+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	tables := []string{"c_animals", "c_documents", "c_animal_events"}
	each := func(fn func(coll, id string, version int64, data []byte)) {
		for _, table := range tables {
			rs, err := src.Query(`SELECT id, version, data FROM ` + table)
			if err != nil {
				tb.Fatal(err)
			}
			for rs.Next() {
				var id string
				var version int64
				var data []byte
				if err := rs.Scan(&id, &version, &data); err != nil {
					tb.Fatal(err)
				}
				fn(table, id, version, data)
			}
			if err := rs.Close(); err != nil {
				tb.Fatal(err)
			}
		}
	}
	start := time.Now()
	each(func(string, string, int64, []byte) { rows++ })
	read = time.Since(start).Seconds()

	dst, err := sql.Open("sqlite", "file:"+filepath.Join(tb.TempDir(), "bare.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		tb.Fatal(err)
	}
	defer dst.Close()
	dst.SetMaxOpenConns(1)
	if _, err := dst.Exec(`CREATE TABLE records (coll TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (coll, id))`); err != nil {
		tb.Fatal(err)
	}
	start = time.Now()
	tx, err := dst.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	ins, err := tx.Prepare(`INSERT INTO records (coll, id, version, data) VALUES (?, ?, ?, ?)`)
	if err != nil {
		tb.Fatal(err)
	}
	each(func(coll, id string, version int64, data []byte) {
		if _, err := ins.Exec(coll, id, version, data); err != nil {
			tb.Fatal(err)
		}
	})
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	return read, time.Since(start).Seconds(), rows
}

// logPageWeight pulls the district again page by page (500 items) with its own client, asking for
// gzip itself so that it sees the compressed bodies, and logs what the bytes are spent on: by
// collection, the items' JSON and its gzip (the items of one collection compressed alone in each
// page, at the server's level), and, for a page from the middle of the pull (written to
// vetfield-pull-page.json in the cache directory), how much smaller the page and its gzip get with
// each field removed in turn.
func logPageWeight(tb testing.TB, base string, n int) {
	tb.Helper()
	l := &loader{tb: tb, base: base, http: &http.Client{Timeout: time.Minute}}
	token := l.login(districtVet, districtPassword)
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableCompression: true}}
	type weight struct{ items, raw, gz int }
	byColl := map[string]*weight{}
	var pageRaw, pageGz int
	var middle []byte
	checkpoint, page := "", 0
	for {
		q := url.Values{"limit": {"500"}}
		if checkpoint != "" {
			q.Set("checkpoint", checkpoint)
		}
		req, _ := http.NewRequest("GET", base+"/v1/sync/pull?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := hc.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		compressed, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
			tb.Fatalf("a pull answered %d, Content-Encoding %q: %v", resp.StatusCode, resp.Header.Get("Content-Encoding"), err)
		}
		zr, err := gzip.NewReader(strings.NewReader(string(compressed)))
		if err != nil {
			tb.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			tb.Fatal(err)
		}
		pageRaw, pageGz = pageRaw+len(body), pageGz+len(compressed)
		var p struct {
			Items      []json.RawMessage `json:"items"`
			Checkpoint string            `json:"checkpoint"`
			More       bool              `json:"more"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			tb.Fatal(err)
		}
		colls := map[string][]byte{}
		for _, raw := range p.Items {
			var it struct {
				Collection string `json:"collection"`
			}
			json.Unmarshal(raw, &it)
			w := byColl[it.Collection]
			if w == nil {
				w = &weight{}
				byColl[it.Collection] = w
			}
			w.items++
			w.raw += len(raw)
			colls[it.Collection] = append(append(colls[it.Collection], raw...), ',')
		}
		for coll, joined := range colls {
			byColl[coll].gz += gzipSize(joined)
		}
		if page == n*3/500/2 {
			middle = body
		}
		page++
		if !p.More {
			break
		}
		checkpoint = p.Checkpoint
	}
	var names []string
	for coll := range byColl {
		names = append(names, coll)
	}
	sort.Slice(names, func(i, j int) bool { return byColl[names[i]].gz > byColl[names[j]].gz })
	var out strings.Builder
	fmt.Fprintf(&out, "the pull of %d animals: %d pages, %.1f B/animal of JSON, %.1f B/animal gzipped (bodies only)\n",
		n, page, float64(pageRaw)/float64(n), float64(pageGz)/float64(n))
	fmt.Fprintf(&out, "%-22s %8s %12s %12s %10s %10s\n", "collection", "items", "JSON B/item", "gzip B/item", "JSON B/an.", "gzip B/an.")
	for _, coll := range names {
		w := byColl[coll]
		fmt.Fprintf(&out, "%-22s %8d %12.0f %12.1f %10.1f %10.1f\n", coll, w.items, float64(w.raw)/float64(w.items),
			float64(w.gz)/float64(w.items), float64(w.raw)/float64(n), float64(w.gz)/float64(n))
	}
	if middle != nil {
		dir := filepath.Dir(districtDB(tb, n))
		dump := filepath.Join(dir, "vetfield-pull-page.json")
		if err := os.WriteFile(dump, middle, 0o644); err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(&out, "page %d (%s): what removing each field saves\n%s", n*3/500/2, dump, fieldWeights(tb, middle))
	}
	tb.Log("\n" + out.String())
}

// fieldWeights removes each field of the page's items in turn (the envelope's, data's, and one
// level into data's objects and arrays of objects), in every item of its collection, and tables
// what that saves of the page's JSON and of its gzip, the largest savings first. The page is
// re-encoded with sorted keys both times, so only the field's removal differs.
func fieldWeights(tb testing.TB, page []byte) string {
	decode := func() map[string]any {
		var p map[string]any
		if err := json.Unmarshal(page, &p); err != nil {
			tb.Fatal(err)
		}
		return p
	}
	size := func(p map[string]any) (int, int) {
		data, err := json.Marshal(p)
		if err != nil {
			tb.Fatal(err)
		}
		return len(data), gzipSize(data)
	}
	baseRaw, baseGz := size(decode())
	// The paths: collection, then keys down from the item.
	type path struct{ coll, key, sub string }
	seen := map[path]bool{}
	var paths []path
	add := func(p path) {
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	for _, raw := range decode()["items"].([]any) {
		it := raw.(map[string]any)
		coll := it["collection"].(string)
		for k := range it {
			if k != "data" {
				add(path{coll, k, ""})
			}
		}
		data, _ := it["data"].(map[string]any)
		for k, v := range data {
			add(path{coll, "data." + k, ""})
			for _, sub := range subKeys(v) {
				add(path{coll, "data." + k, sub})
			}
		}
	}
	type saving struct {
		p       path
		raw, gz int
	}
	remove := func(page map[string]any, p path) {
		for _, raw := range page["items"].([]any) {
			it := raw.(map[string]any)
			if it["collection"] != p.coll {
				continue
			}
			holder, key := it, p.key
			if data, ok := strings.CutPrefix(p.key, "data."); ok {
				holder, _ = it["data"].(map[string]any)
				key = data
			}
			if p.sub == "" {
				delete(holder, key)
				continue
			}
			switch v := holder[key].(type) {
			case map[string]any:
				delete(v, p.sub)
			case []any:
				for _, e := range v {
					if m, ok := e.(map[string]any); ok {
						delete(m, p.sub)
					}
				}
			}
		}
	}
	var savings []saving
	for _, p := range paths {
		page := decode()
		remove(page, p)
		raw, gz := size(page)
		savings = append(savings, saving{p, baseRaw - raw, baseGz - gz})
	}
	sort.Slice(savings, func(i, j int) bool { return savings[i].gz > savings[j].gz })
	var out strings.Builder
	fmt.Fprintf(&out, "  the page: %d B of JSON, %d B gzipped (keys sorted)\n", baseRaw, baseGz)
	fmt.Fprintf(&out, "  %-48s %10s %10s\n", "field removed", "JSON −B", "gzip −B")
	for _, s := range savings {
		if s.gz < baseGz/500 && s.raw < baseRaw/200 {
			continue // under 0.2 % of the gzip and 0.5 % of the JSON: noise
		}
		name := s.p.coll + ": " + s.p.key
		if s.p.sub != "" {
			name += "." + s.p.sub
		}
		fmt.Fprintf(&out, "  %-48s %10d %10d\n", name, s.raw, s.gz)
	}
	// The savings overlap (the token and the verify_url that encodes it): removing the largest
	// one after another says what a page would weigh without each prefix of the list.
	animals := 0
	for _, raw := range decode()["items"].([]any) {
		if raw.(map[string]any)["collection"] == "animals" {
			animals++
		}
	}
	if animals == 0 {
		return out.String()
	}
	fmt.Fprintf(&out, "  the page's %d animals, removing the fields above one after another: B/animal of JSON, of gzip\n", animals)
	fmt.Fprintf(&out, "  %-48s %10.0f %10.0f\n", "(nothing removed)", float64(baseRaw)/float64(animals), float64(baseGz)/float64(animals))
	cut := decode()
	for _, s := range savings[:min(len(savings), 24)] {
		remove(cut, s.p)
		raw, gz := size(cut)
		name := s.p.coll + ": " + s.p.key
		if s.p.sub != "" {
			name += "." + s.p.sub
		}
		fmt.Fprintf(&out, "  %-48s %10.0f %10.0f\n", "+ "+name, float64(raw)/float64(animals), float64(gz)/float64(animals))
	}
	return out.String()
}

// subKeys are the keys of v if it is an object, or of the objects of v if it is an array.
func subKeys(v any) []string {
	var keys []string
	switch v := v.(type) {
	case map[string]any:
		for k := range v {
			keys = append(keys, k)
		}
	case []any:
		seen := map[string]bool{}
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				for k := range m {
					if !seen[k] {
						seen[k] = true
						keys = append(keys, k)
					}
				}
			}
		}
	}
	return keys
}

// gzipSize is the size of data gzipped at the server's level (fiber's LevelBestSpeed).
func gzipSize(data []byte) int {
	var n countWriter
	zw, _ := gzip.NewWriterLevel(&n, gzip.BestSpeed)
	zw.Write(data)
	zw.Close()
	return int(n)
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
