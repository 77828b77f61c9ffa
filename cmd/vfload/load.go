package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// Config is one load run.
type Config struct {
	Base, Metrics, AdminPassword string
	Duration                     time.Duration
	Rate                         int
	// Inspections are applications already on site (the visit started) whose executor is
	// Inspector, for the photo uploads of the mix; without them the mix has none. A visit starts
	// at the earliest the day after the notice to the legal-statistics body, so a run cannot
	// bring a fresh application there itself: TestLoad prepares them in the database before the
	// server starts. Each holds at most 500 photos; the run moves on to the next when one is full.
	Inspections                  []string
	Inspector, InspectorPassword string
}

// Report is what a run measured.
type Report struct {
	Routes             map[string]*RouteStats
	RSSStart, RSSEnd   float64 // bytes; 0 when unknown
	Elapsed            time.Duration
	TransportFailures  int
	ServerErrors       int // answers of 500 and above
	UnexpectedStatuses map[string]int
}

// RouteStats are one route's numbers.
type RouteStats struct {
	Count     int
	Latencies []time.Duration
	Statuses  map[int]int
}

// Failed reports whether the server failed anyone.
func (r *Report) Failed() bool {
	return r.ServerErrors > 0 || r.TransportFailures > 0 || len(r.UnexpectedStatuses) > 0
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	names := make([]string, 0, len(r.Routes))
	for n := range r.Routes {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "%-24s %7s %9s %9s %9s  statuses\n", "route", "count", "p50", "p99", "max")
	for _, n := range names {
		s := r.Routes[n]
		sort.Slice(s.Latencies, func(i, j int) bool { return s.Latencies[i] < s.Latencies[j] })
		q := func(p float64) time.Duration {
			if len(s.Latencies) == 0 {
				return 0
			}
			return s.Latencies[min(len(s.Latencies)-1, int(p*float64(len(s.Latencies))))]
		}
		fmt.Fprintf(w, "%-24s %7d %9s %9s %9s  %v\n", n, s.Count, q(0.5).Round(time.Microsecond*100), q(0.99).Round(time.Microsecond*100),
			q(1).Round(time.Microsecond*100), s.Statuses)
	}
	fmt.Fprintf(w, "elapsed %s, 5xx %d, failed requests %d, RSS %.1f MiB at start, %.1f MiB at end\n",
		r.Elapsed.Round(time.Second), r.ServerErrors, r.TransportFailures, r.RSSStart/(1<<20), r.RSSEnd/(1<<20))
	for what, n := range r.UnexpectedStatuses {
		fmt.Fprintf(w, "unexpected: %s ×%d\n", what, n)
	}
}

// load is one run's state: the accounts it made and the records it can use.
type load struct {
	cfg    Config
	client *http.Client
	admin  string
	// vet and inspector are access tokens, logged in again every few minutes (tokens live 15).
	vet, inspector atomic.Value // string
	vetUser        string

	mu       sync.Mutex
	rep      *Report
	holding  string
	next     int64    // the next ear-tag number to fit
	animals  []animal // identified so far
	passport []string // passport tokens, for the public check
	cp       string   // the vet's tablet checkpoint

	photos []jpegPic // the photos the uploads send, made once
	insp   int       // the inspection photos go to now, in cfg.Inspections
	inInsp int       // photos started on it
}

// jpegPic is a photo and its SHA-256.
type jpegPic struct {
	data []byte
	sum  string
}

// photosPerInspection stays under the server's 500 photos of one inspection.
const photosPerInspection = 490

type animal struct{ ID, Tag string }

// Run sets up a vet with a holding and a tag range on the server, then sends cfg.Rate requests a
// second for cfg.Duration, spread over the workload, and returns what it measured.
func Run(ctx context.Context, cfg Config, log io.Writer) (*Report, error) {
	l := &load{cfg: cfg, client: &http.Client{Timeout: 30 * time.Second},
		rep: &Report{Routes: map[string]*RouteStats{}, UnexpectedStatuses: map[string]int{}}}
	if err := l.setUp(ctx); err != nil {
		return nil, err
	}
	l.rep.RSSStart = l.rss()
	fmt.Fprintf(log, "vfload: %d requests a second for %s\n", cfg.Rate, cfg.Duration)
	start := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(cfg.Rate))
	defer tick.Stop()
	stop := time.After(cfg.Duration)
	refresh := time.NewTicker(10 * time.Minute)
	defer refresh.Stop()
	var wg sync.WaitGroup
	limit := make(chan struct{}, 64) // requests in flight at most
loop:
	for {
		select {
		case <-stop:
			break loop
		case <-ctx.Done():
			break loop
		case <-refresh.C:
			if err := l.relogin(ctx); err != nil {
				fmt.Fprintln(log, "vfload:", err)
			}
		case <-tick.C:
			select {
			case limit <- struct{}{}:
			default:
				continue // the server is behind: skip a tick rather than pile up
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-limit }()
				l.one(ctx)
			}()
		}
	}
	wg.Wait()
	l.rep.Elapsed = time.Since(start)
	l.rep.RSSEnd = l.rss()
	return l.rep, nil
}

// token reads an access token, "" when none was taken.
func (l *load) token(v *atomic.Value) string {
	s, _ := v.Load().(string)
	return s
}

// relogin logs the vet in, and the inspector when photos are uploaded.
func (l *load) relogin(ctx context.Context) error {
	for _, a := range []struct {
		user, password string
		into           *atomic.Value
	}{{l.vetUser, "load-password-1", &l.vet}, {l.cfg.Inspector, l.cfg.InspectorPassword, &l.inspector}} {
		if a.user == "" || (a.into == &l.inspector && len(l.cfg.Inspections) == 0) {
			continue
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if code := l.call(ctx, "", "POST", "/v1/auth/login", "", map[string]string{"username": a.user, "password": a.password}, &tok); code != 200 {
			return fmt.Errorf("%s's login answered %d", a.user, code)
		}
		a.into.Store(tok.AccessToken)
	}
	return nil
}

// one sends one request of the workload, chosen by weight (a photo is four: declare, the first
// half, the offset after it, the rest — the resumable protocol as a tablet on a weak link uses it).
func (l *load) one(ctx context.Context) {
	switch n := rand.IntN(100); {
	case n < 28:
		l.identify(ctx)
	case n < 52:
		l.lookup(ctx)
	case n < 62:
		l.reference(ctx)
	case n < 76:
		l.pull(ctx)
	case n < 86:
		l.push(ctx)
	case n < 94 || l.token(&l.inspector) == "":
		l.verify(ctx)
	default:
		l.photo(ctx)
	}
}

func (l *load) setUp(ctx context.Context) error {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code := l.call(ctx, "", "POST", "/v1/auth/login", "", map[string]string{"username": "admin", "password": l.cfg.AdminPassword}, &tok); code != 200 {
		return fmt.Errorf("admin login answered %d", code)
	}
	l.admin = tok.AccessToken
	name := fmt.Sprintf("load-vet-%x", rand.Uint32())
	if code := l.call(ctx, "", "POST", "/v1/users", l.admin, map[string]any{"username": name, "password": "load-password-1",
		"role": "vet", "territory": "313200000", "full_name": "Load Vet"}, nil); code != 201 {
		return fmt.Errorf("creating the vet answered %d", code)
	}
	l.vetUser = name
	if err := l.relogin(ctx); err != nil {
		return err
	}
	l.next = 398_000_000_000_000 + int64(rand.IntN(9_000))*100_000 + 1
	if code := l.call(ctx, "", "POST", "/v1/tag-ranges", l.admin, map[string]any{"unit": "313200000",
		"first": strconv.FormatInt(l.next, 10), "count": 100_000}, nil); code != 201 {
		return fmt.Errorf("the tag range answered %d (run again: the random range may be taken)", code)
	}
	var h struct {
		ID string `json:"id"`
	}
	if code := l.call(ctx, "", "POST", "/v1/holdings", l.token(&l.vet), map[string]any{"kind": "farm", "name": "Береке",
		"owner_iin": "880101300123", "owner_name": "Серік Ахметов", "address": "Сарыкемер", "territory": "313200000"}, &h); code != 201 {
		return fmt.Errorf("the holding answered %d", code)
	}
	l.holding = h.ID
	if len(l.cfg.Inspections) == 0 {
		return nil
	}
	for _, id := range l.cfg.Inspections {
		var v struct {
			State string `json:"state"`
		}
		if code := l.call(ctx, "", "GET", "/v1/inspections/"+id, l.token(&l.inspector), nil, &v); code != 200 || v.State != "on_site" {
			return fmt.Errorf("inspection %s answered %d, state %q: photos are taken during the visit", id, code, v.State)
		}
	}
	for i := range 4 {
		data, err := photoJPEG(1280, 960, uint64(i))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		l.photos = append(l.photos, jpegPic{data, hex.EncodeToString(sum[:])})
	}
	return nil
}

// photoJPEG is a noisy picture, which compresses about as badly as a photo of a farmyard.
func photoJPEG(w, h int, seed uint64) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, 1))
	for y := range h {
		for x := range w {
			n := uint8(rng.IntN(64))
			img.Set(x, y, color.RGBA{uint8(x*255/w) + n, uint8(y*255/h) + n, 90 + n, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// photo uploads one photo of the inspection on site: it declares it, sends half, asks the
// offset as after a dropped link, and sends the rest from there.
func (l *load) photo(ctx context.Context) {
	l.mu.Lock()
	if l.inInsp >= photosPerInspection {
		l.insp, l.inInsp = l.insp+1, 0
	}
	if l.insp >= len(l.cfg.Inspections) {
		l.mu.Unlock()
		l.verify(ctx) // every inspection is full
		return
	}
	insp := l.cfg.Inspections[l.insp]
	l.inInsp++
	l.mu.Unlock()
	pic := l.photos[rand.IntN(len(l.photos))]
	var u struct {
		ID string `json:"id"`
	}
	now := time.Now().UTC()
	if code, _ := l.send(ctx, "photo_create", "POST", "/v1/inspections/"+insp+"/photos", l.token(&l.inspector), map[string]any{
		"id": domain.NewID(), "size": len(pic.data), "sha256": pic.sum, "content_type": "image/jpeg", "item": "R1",
		"device": map[string]any{"gps": map[string]any{"lat": 42.9902, "lon": 71.3803, "accuracy_m": 4}, "device_time": now}},
		nil, &u); code != 201 {
		return
	}
	half := len(pic.data) / 2
	if code, _ := l.patch(ctx, u.ID, 0, pic.data[:half]); code != 200 {
		return
	}
	code, hdr := l.send(ctx, "photo_head", "HEAD", "/v1/uploads/"+u.ID, l.token(&l.inspector), nil, nil, nil)
	if code != 200 {
		return
	}
	off, err := strconv.Atoi(hdr.Get("Upload-Offset"))
	if err != nil || off < 0 || off > len(pic.data) {
		return
	}
	var done struct {
		State string `json:"state"`
		Photo *struct {
			SHA256 string `json:"sha256"`
		} `json:"photo"`
	}
	if code, _ := l.patch(ctx, u.ID, off, pic.data[off:], &done); code == 200 && (done.State != "complete" || done.Photo == nil || done.Photo.SHA256 != pic.sum) {
		l.mu.Lock()
		l.rep.UnexpectedStatuses["photo_not_complete_after_its_last_byte"]++
		l.mu.Unlock()
	}
}

// patch sends bytes of an upload from offset.
func (l *load) patch(ctx context.Context, id string, offset int, chunk []byte, out ...any) (int, http.Header) {
	var o any
	if len(out) > 0 {
		o = out[0]
	}
	return l.send(ctx, "photo_patch", "PATCH", "/v1/uploads/"+id, l.token(&l.inspector), chunk,
		map[string]string{"Content-Type": "application/offset+octet-stream", "Upload-Offset": strconv.Itoa(offset)}, o)
}

func (l *load) identify(ctx context.Context) {
	l.mu.Lock()
	tag := strconv.FormatInt(l.next, 10)
	l.next++
	l.mu.Unlock()
	var a struct {
		ID       string `json:"id"`
		Passport struct {
			Token string `json:"token"`
		} `json:"passport"`
	}
	if l.call(ctx, "identify", "POST", "/v1/animals", l.token(&l.vet), map[string]any{"id": domain.NewID(), "holding_id": l.holding,
		"species": "cattle", "sex": "female", "birth_date": "2025-04-02", "breed": "Әулиеата", "colour": "қызыл",
		"identifiers": []map[string]any{{"means": "ear_tag", "number": tag}}}, &a) == 201 {
		l.mu.Lock()
		l.animals = append(l.animals, animal{a.ID, tag})
		l.passport = append(l.passport, a.Passport.Token)
		l.mu.Unlock()
	}
}

// some returns a random identified animal, if there is one yet.
func (l *load) some() (animal, string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.animals) == 0 {
		return animal{}, "", false
	}
	i := rand.IntN(len(l.animals))
	return l.animals[i], l.passport[i], true
}

func (l *load) lookup(ctx context.Context) {
	if a, _, ok := l.some(); ok {
		l.call(ctx, "lookup_by_tag", "GET", "/v1/animals?tag="+a.Tag, l.token(&l.vet), nil, nil)
	}
}

func (l *load) reference(ctx context.Context) {
	if a, _, ok := l.some(); ok {
		l.call(ctx, "reference", "POST", "/v1/references", l.token(&l.vet), map[string]any{"id": domain.NewID(), "holding_id": l.holding,
			"animals": []map[string]any{{"id": a.ID}}, "purpose": "sale", "destination": "Тараз қаласы, мал базары",
			"exam_result": "healthy"}, nil)
	}
}

func (l *load) pull(ctx context.Context) {
	l.mu.Lock()
	cp := l.cp
	l.mu.Unlock()
	var page struct {
		Checkpoint string `json:"checkpoint"`
	}
	if l.call(ctx, "pull", "GET", "/v1/sync/pull?format=2&limit=500&checkpoint="+cp, l.token(&l.vet), nil, &page) == 200 {
		l.mu.Lock()
		l.cp = page.Checkpoint
		l.mu.Unlock()
	}
}

func (l *load) push(ctx context.Context) {
	if a, _, ok := l.some(); ok {
		// A correction pushed against version 1: applied the first time, a conflict after.
		l.call(ctx, "push", "POST", "/v1/sync/push", l.token(&l.vet), map[string]any{"mutations": []map[string]any{{"id": domain.NewID(),
			"kind": "animal.update", "record_id": a.ID, "base_version": 1, "data": map[string]any{"colour": "қара-ала"}}}}, nil)
	}
}

func (l *load) verify(ctx context.Context) {
	if _, token, ok := l.some(); ok {
		l.call(ctx, "public_verify", "GET", "/v1/verify/"+token, "", nil, nil)
	}
}

// call sends one request with a JSON body (or none) and, when route is set, records it; out
// receives the JSON answer.
func (l *load) call(ctx context.Context, route, method, path, token string, body, out any) int {
	status, _ := l.send(ctx, route, method, path, token, body, nil, out)
	return status
}

// send is call for any body: raw bytes are sent as they are, with the headers given; anything
// else is sent as JSON. It answers the status and the answer's headers.
func (l *load) send(ctx context.Context, route, method, path, token string, body any, headers map[string]string, out any) (int, http.Header) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		r = bytes.NewReader(data)
		headers = map[string]string{"Content-Type": "application/json"}
	}
	req, err := http.NewRequestWithContext(ctx, method, l.cfg.Base+path, r)
	if err != nil {
		return 0, nil
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("X-Device-ID", "vfload")
	start := time.Now()
	resp, err := l.client.Do(req)
	took := time.Since(start)
	status := 0
	var hdr http.Header
	if err == nil {
		status, hdr = resp.StatusCode, resp.Header
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if out != nil {
			_ = json.Unmarshal(data, out)
		}
	}
	if route == "" {
		return status, hdr
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.rep.Routes[route]
	if s == nil {
		s = &RouteStats{Statuses: map[int]int{}}
		l.rep.Routes[route] = s
	}
	s.Count++
	s.Latencies = append(s.Latencies, took)
	s.Statuses[status]++
	switch {
	case err != nil:
		l.rep.TransportFailures++
	case status >= 500:
		l.rep.ServerErrors++
	}
	return status, hdr
}

// rss reads the server's resident memory from its metrics, or 0.
func (l *load) rss() float64 {
	if l.cfg.Metrics == "" {
		return 0
	}
	resp, err := l.client.Get(l.cfg.Metrics + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_resident_memory_bytes "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}
