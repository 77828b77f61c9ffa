package client_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/health"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/lifecycle"
	vsync "github.com/vetfield/vetfield/sync"
	"github.com/vetfield/vetfield/sync/client"
	"github.com/vetfield/vetfield/sync/internal/faultproxy"
)

// The week offline is slow (twelve to fifteen minutes at 64 kbit/s), so it runs only when asked:
//
//	go test ./sync/client -run TestWeekOffline -v -timeout 40m -args -week
var (
	week          = flag.Bool("week", false, "run TestWeekOffline: a week offline synced over a 64 kbit/s link with resets (slow)")
	weekPhotoSize = flag.Int("week.photo", 6<<10, "TestWeekOffline: the size of most of its 200 photos, in bytes")
	weekLargeSize = flag.Int("week.large", 64<<10, "TestWeekOffline: the size of every tenth photo, in bytes")
	weekBPS       = flag.Int("week.bps", 8000, "TestWeekOffline: the link's bytes per second each way (0: no cap)")
	weekReset     = flag.Int("week.reset", 256<<10, "TestWeekOffline: the mean bytes a connection carries before it is reset (0: never)")
)

// plannedMutation is a mutation of the week with the answer it must get.
type plannedMutation struct {
	m    vsync.Mutation
	want string
}

// weekPlan is what a vet of Bayzak did in seven days offline, in order: holdings registered,
// animals identified with tags of the district's stock, vaccinations of groups, references for
// sales, the dispatches under them and their receipts at the buying holding, and ten mistakes
// scattered in (the tablet let them through; the server refuses each, and the next one is applied
// regardless).
type weekPlan struct {
	muts []plannedMutation
	// counts of the records the server must hold after the push
	holdings, animals, vaccinations, references, movements int
	vaccinated                                             int // animal-vaccinations: one history entry each
	moved                                                  int // animals dispatched and received
}

const (
	weekHoldings   = 6
	weekCycles     = 200 // each: 4 identifications, 3 vaccinations (16 cycles have 2), a reference, a dispatch, a receipt
	weekShortVacc  = 16
	weekBad        = 10
	weekFirstTag   = int64(398_000_000_000_001)
	weekGroup      = 4 // animals a vaccination covers
	weekRefAnimals = 2 // animals a reference and its dispatch cover
	weekLag        = 3 // a dispatch is received this many cycles later
	weekTotal      = weekHoldings + weekCycles*10 - weekShortVacc + weekBad
	weekInspection = 10 // visits the photos are of
	weekPhotos     = 200
)

// planWeek makes the week's 2 000 mutations, their times spread evenly over the seven days before
// end.
func planWeek(end time.Time) *weekPlan {
	p := &weekPlan{}
	start := end.Add(-7 * 24 * time.Hour)
	step := 7 * 24 * time.Hour / weekTotal
	at := func() time.Time { return start.Add(time.Duration(len(p.muts)) * step).UTC().Truncate(time.Second) }
	add := func(kind, record string, data any, want string) string {
		raw, _ := json.Marshal(data)
		m := vsync.Mutation{ID: client.NewID(), Kind: kind, RecordID: record, At: at(), Data: raw}
		p.muts = append(p.muts, plannedMutation{m: m, want: want})
		return m.ID
	}
	owners := []string{"880101300123", "900502401237", "781214200010"}
	holdings := make([]string, weekHoldings)
	for i := range holdings {
		holdings[i] = client.NewID()
		add("holding.create", holdings[i], map[string]any{"kind": "yard", "name": fmt.Sprintf("Ақжол %d", i+1),
			"owner_iin": owners[i%len(owners)], "owner_name": "Серік Ахметов", "address": fmt.Sprintf("Сарыкемер, Абай к-сі %d", i+1),
			"territory": string(bayzak)}, vsync.Applied)
		p.holdings++
	}
	type animal struct {
		id      string
		tag     string
		holding int
		moving  bool
		moved   bool
	}
	var herd []*animal
	resident := func(h int) []*animal {
		var out []*animal
		for _, a := range herd {
			if a.holding == h && !a.moving {
				out = append(out, a)
			}
		}
		return out
	}
	forSale := func(h int) []*animal { // each animal is sold once at most
		var out []*animal
		for _, a := range resident(h) {
			if !a.moved {
				out = append(out, a)
			}
		}
		return out
	}
	nextTag := weekFirstTag
	badAt := map[int]int{} // cycle → which mistake
	for i := range weekBad {
		badAt[10+i*weekCycles/weekBad] = i
	}
	type dispatch struct {
		id string
		to int
		an []*animal
	}
	var pending []dispatch
	receive := func(d dispatch) {
		add("movement.receive", d.id, map[string]any{"id": client.NewID()}, vsync.Applied)
		for _, a := range d.an {
			a.holding, a.moving = d.to, false
		}
		p.moved += len(d.an)
	}
	for cycle := range weekCycles {
		h := cycle % weekHoldings
		for range 4 {
			a := &animal{id: client.NewID(), tag: fmt.Sprint(nextTag), holding: h}
			nextTag++
			add("animal.identify", a.id, map[string]any{"holding_id": holdings[h], "species": "cattle", "sex": []string{"female", "male"}[cycle%2],
				"birth_date": "2025-04-02", "breed": "Әулиеата", "colour": "қызыл",
				"identifiers": []map[string]any{{"means": "ear_tag", "number": a.tag}}}, vsync.Applied)
			herd = append(herd, a)
			p.animals++
		}
		if bad, ok := badAt[cycle]; ok {
			p.addMistake(bad, add, holdings[h])
		}
		vaccinations := 3
		if cycle%(weekCycles/weekShortVacc) == 1 && cycle/(weekCycles/weekShortVacc) < weekShortVacc {
			vaccinations = 2
		}
		for v := range vaccinations {
			vh := (h + v) % weekHoldings
			group := resident(vh)
			if len(group) < weekGroup {
				vh, group = h, resident(h)
			}
			var ids []map[string]any
			for k := range weekGroup {
				ids = append(ids, map[string]any{"id": group[(cycle*7+v*3+k)%len(group)].id})
			}
			ids = dedupe(ids)
			vid := client.NewID()
			add("vaccination.record", vid, map[string]any{"holding_id": holdings[vh], "disease": []string{"anthrax", "rabies", "fmd"}[v],
				"vaccine": "Сибирея жараға қарсы вакцина «55-ВНИИВВиМ»", "series": fmt.Sprintf("С-%d-2026", cycle), "dose": "1 мл",
				"date": domain.CivilDateOf(at()).String(), "animals": ids}, vsync.Applied)
			p.vaccinations++
			p.vaccinated += len(ids)
		}
		// A sale: the two oldest animals of the holding that are home, with a reference, sent to
		// the next holding, received a few cycles later.
		sold := forSale(h)[:weekRefAnimals]
		var tags, byID []map[string]any
		for _, a := range sold {
			tags = append(tags, map[string]any{"tag": a.tag})
			byID = append(byID, map[string]any{"id": a.id})
		}
		ref := client.NewID()
		add("reference.issue", ref, map[string]any{"holding_id": holdings[h], "animals": tags, "purpose": "sale",
			"destination": "Сарыкемер ауылы", "exam_result": "healthy"}, vsync.Applied)
		p.references++
		to := (h + 1) % weekHoldings
		mv := client.NewID()
		add("movement.dispatch", mv, map[string]any{"animals": byID, "from_holding_id": holdings[h], "to_holding_id": holdings[to],
			"reference_id": ref}, vsync.Applied)
		p.movements++
		for _, a := range sold {
			a.moving, a.moved = true, true
		}
		pending = append(pending, dispatch{id: mv, to: to, an: sold})
		if len(pending) > weekLag {
			receive(pending[0])
			pending = pending[1:]
		}
	}
	for _, d := range pending {
		receive(d)
	}
	return p
}

// addMistake queues the i-th of the week's mistakes.
func (p *weekPlan) addMistake(i int, add func(kind, record string, data any, want string) string, holding string) {
	cow := func(species, tag string) map[string]any {
		return map[string]any{"holding_id": holding, "species": species, "sex": "female", "birth_date": "2025-04-02", "breed": "Әулиеата",
			"colour": "қызыл", "identifiers": []map[string]any{{"means": "ear_tag", "number": tag}}}
	}
	switch i {
	case 0:
		add("animal.identify", client.NewID(), cow("unicorn", "398000000009001"), vsync.Rejected)
	case 1:
		add("animal.identify", client.NewID(), cow("cattle", "398999999999999"), vsync.Rejected) // not the district's stock
	case 2:
		add("vaccination.record", client.NewID(), map[string]any{"holding_id": holding, "disease": "plague", "vaccine": "x", "series": "y",
			"dose": "1 мл", "date": "2026-03-19", "species": "cattle"}, vsync.Rejected)
	case 3:
		add("movement.receive", client.NewID(), map[string]any{"id": client.NewID()}, vsync.Rejected) // no such movement
	case 4:
		add("reference.issue", client.NewID(), map[string]any{"holding_id": client.NewID(), "animals": []map[string]any{{"tag": "398000000000001"}},
			"purpose": "sale", "destination": "Тараз", "exam_result": "healthy"}, vsync.Rejected)
	case 5:
		add("animal.teleport", client.NewID(), map[string]any{}, vsync.Rejected)
	case 6:
		add("document.revoke", client.NewID(), map[string]any{"reason": "жоғалды"}, vsync.Rejected)
	case 7:
		add("animal.identify", client.NewID(), []int{1, 2}, vsync.Rejected)
	case 8:
		add("holding.create", client.NewID(), map[string]any{"kind": "yard", "name": "Қате", "owner_iin": "123", "owner_name": "x",
			"address": "y", "territory": string(bayzak)}, vsync.Rejected)
	case 9:
		add("vaccination.record", client.NewID(), map[string]any{"holding_id": holding, "disease": "anthrax", "vaccine": "x", "series": "y",
			"dose": "1 мл", "date": "2026-03-19", "animals": []map[string]any{{"id": client.NewID()}}}, vsync.Rejected)
	}
}

func dedupe(xs []map[string]any) []map[string]any {
	seen := map[any]bool{}
	var out []map[string]any
	for _, x := range xs {
		if !seen[x["id"]] {
			seen[x["id"]] = true
			out = append(out, x)
		}
	}
	return out
}

// TestWeekOffline: a tablet that worked offline for seven days — 2 000 queued mutations and 200
// photos — syncs once over a 64 kbit/s link that resets every few hundred kilobytes. Every
// mutation is answered once as it should be, one bad mutation never holds up the next, the server
// holds each record once, every photo is stored once with its SHA-256 (some resumed mid-way), and
// the replica then equals the server.
func TestWeekOffline(t *testing.T) {
	if !*week {
		t.Skip("slow (twelve to fifteen minutes): run with go test ./sync/client -run TestWeekOffline -v -timeout 40m -args -week")
	}
	ctx := t.Context()
	f := startField(t)
	vet := f.vet(t, "vet.bayzak")
	// Before the week: the district got its tags, and the visits the photos are of were noticed
	// eight days ago and started at the week's beginning.
	f.back.Store(int64(8 * 24 * time.Hour))
	if _, err := f.app.Identification.Stock.Allocate(ctx, f.admin, identification.NewTagRange{Unit: string(bayzak),
		First: fmt.Sprint(weekFirstTag), Count: 2000}); err != nil {
		t.Fatal(err)
	}
	visits := f.visits(t, vet, weekInspection, 8*24*time.Hour, 7*24*time.Hour)

	plan := planWeek(time.Now())
	if len(plan.muts) != weekTotal || weekTotal != 2000 {
		t.Fatalf("the plan has %d mutations (constant %d), want 2000", len(plan.muts), weekTotal)
	}
	proxy, err := faultproxy.Start(f.base[len("http://"):], faultproxy.Faults{Latency: 50 * time.Millisecond,
		BytesPerSecond: *weekBPS, ResetMeanBytes: *weekReset})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	c := newClient(t, "http://"+proxy.Addr(), "tablet-week", "vet.bayzak")
	// A tablet on 2G: small batches and pages, patient with a link that keeps dropping.
	c.BatchSize, c.PageSize, c.Attempts = 100, 200, 500
	var trail []string
	c.Log = func(format string, args ...any) { trail = append(trail, fmt.Sprintf(format, args...)) }
	defer func() {
		if t.Failed() && len(trail) > 0 {
			t.Logf("last failed tries:\n%s", strings.Join(trail[max(0, len(trail)-15):], "\n"))
		}
	}()
	for _, pm := range plan.muts {
		if err := c.Enqueue(ctx, pm.m); err != nil {
			t.Fatal(err)
		}
	}
	photos := map[string][]byte{}
	photoBytes := 0
	// Most photos are small, to keep the run under a quarter of an hour; every tenth is large enough that
	// resets land inside its PATCH past the first 8 KiB, which the server's HTTP layer reads whole
	// before the upload handler runs (a cut inside them keeps nothing, so there is nothing to
	// resume from).
	for i := range weekPhotos {
		size := *weekPhotoSize
		if i%10 == 9 {
			size = *weekLargeSize
		}
		data := photoOfAbout(t, size, int64(i))
		id := client.NewID()
		photos[id] = data
		photoBytes += len(data)
		if err := c.EnqueuePhoto(ctx, client.Photo{ID: id, InspectionID: visits[i%len(visits)], ContentType: "image/jpeg", Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("queued %d mutations over 7 days and %d photos (%d KiB) of %d visits; link %d B/s, resets every %d KiB on average",
		len(plan.muts), len(photos), photoBytes>>10, len(visits), *weekBPS, *weekReset>>10)

	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- c.Sync(ctx) }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	var pushed, uploaded time.Duration
	progress := func() {
		q, _ := c.Queue(ctx)
		answered := 0
		for _, r := range q {
			if r.State != "queued" {
				answered++
			}
		}
		ps, _ := c.Photos(ctx)
		up := 0
		for _, p := range ps {
			if p.State != client.PhotoQueued {
				up++
			}
		}
		el := time.Since(start)
		if answered == len(q) && pushed == 0 {
			pushed = el
		}
		if up == len(ps) && uploaded == 0 {
			uploaded = el
		}
		t.Logf("%v: %d/%d mutations answered, %d/%d photos done, %d resets, %d KiB up, %d KiB down",
			el.Round(time.Second), answered, len(q), up, len(ps), proxy.Resets.Load(), proxy.Up.Load()>>10, proxy.Down.Load()>>10)
	}
wait:
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("sync: %v", err)
			}
			break wait
		case <-tick.C:
			progress()
		}
	}
	took := time.Since(start)
	progress()
	t.Logf("the week synced in %v (mutations answered by ~%v, photos by ~%v, at 30 s resolution); %d resets",
		took.Round(time.Second), pushed.Round(time.Second), uploaded.Round(time.Second), proxy.Resets.Load())

	checkWeekAnswers(t, c, f, plan, vet.ID)
	checkWeekRecords(t, f, plan)
	checkWeekPhotos(t, c, f, vet, visits, photos)
	proxy.SetFaults(faultproxy.Faults{})
	checkWeekReplica(t, c, f)
	t.Logf("TestWeekOffline: %v for the sync over the faulty link", took.Round(time.Second))
}

// checkWeekAnswers: every mutation was answered once, as planned; the rejected ones carry a
// problem and the mutation after each was applied.
func checkWeekAnswers(t *testing.T, c *client.Client, f *field, plan *weekPlan, userID string) {
	q, err := c.Queue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != len(plan.muts) {
		t.Fatalf("the queue holds %d mutations, %d were queued", len(q), len(plan.muts))
	}
	states := map[string]int{}
	for i, r := range q {
		pm := plan.muts[i]
		states[r.State]++
		if r.Mutation.ID != pm.m.ID {
			t.Fatalf("queue order: %d is %s, want %s", i, r.Mutation.ID, pm.m.ID)
		}
		var ans struct {
			Status  string          `json:"status"`
			Record  *vsync.Item     `json:"record"`
			Problem json.RawMessage `json:"problem"`
		}
		if err := json.Unmarshal(r.Answer, &ans); err != nil {
			t.Errorf("mutation %d (%s): answer %q", i, pm.m.Kind, r.Answer)
			continue
		}
		switch {
		case r.State != pm.want:
			t.Errorf("mutation %d (%s) %s: %s", i, pm.m.Kind, r.State, r.Answer)
		case r.State == vsync.Applied && ans.Record == nil:
			t.Errorf("mutation %d (%s) applied without its record", i, pm.m.Kind)
		case r.State == vsync.Rejected && len(ans.Problem) == 0:
			t.Errorf("mutation %d (%s) rejected without a problem", i, pm.m.Kind)
		case r.State == vsync.Rejected:
			t.Logf("rejected as planned: %d %s: %.160s", i, pm.m.Kind, ans.Problem)
			if i+1 < len(q) && q[i+1].State != vsync.Applied {
				t.Errorf("the mutation after a rejected one ended %s", q[i+1].State)
			}
		}
	}
	// The server recorded a result for each, which answers every repeat of it.
	for _, pm := range plan.muts {
		if _, err := f.store.Get(t.Context(), vsync.MutationsSpec.Name, userID+":"+pm.m.ID); err != nil {
			t.Errorf("mutation %s has no recorded result: %v", pm.m.ID, err)
		}
	}
	t.Logf("answers: %v", states)
}

// checkWeekRecords: the server holds each record once — the counts per collection are those
// queued minus the rejected, no tag is on two animals, no event or paper is doubled.
func checkWeekRecords(t *testing.T, f *field, plan *weekPlan) {
	for _, c := range []struct {
		spec domain.CollectionSpec
		want int
	}{
		{identification.HoldingsSpec, plan.holdings}, {identification.AnimalsSpec, plan.animals},
		{health.VaccinationsSpec, plan.vaccinations}, {epizootic.ReferencesSpec, plan.references},
		{lifecycle.MovementsSpec, plan.movements},
	} {
		if got := countAll(t, f.store, c.spec); got != c.want {
			t.Errorf("%s: the server holds %d, want %d", c.spec.Name, got, c.want)
		}
	}
	tags := map[string]int{}
	eachRecord(t, f.store, identification.AnimalsSpec, func(r domain.Record) {
		a, err := domain.DecodeEntity[identification.Animal](r)
		if err != nil {
			t.Fatal(err)
		}
		tags[string(a.Tag)]++
	})
	for tag, n := range tags {
		if n != 1 {
			t.Errorf("tag %s is on %d animals", tag, n)
		}
	}
	kinds := map[string]int{}
	perAnimal := map[string]int{}
	eachRecord(t, f.store, identification.AnimalEventsSpec, func(r domain.Record) {
		e, err := domain.DecodeEntity[identification.AnimalEvent](r)
		if err != nil {
			t.Fatal(err)
		}
		kinds[string(e.Kind)]++
		perAnimal[e.AnimalID+"/"+string(e.Kind)]++
	})
	t.Logf("animal history entries by kind: %v", kinds)
	if kinds["identified"] != plan.animals {
		t.Errorf("%d identification entries for %d animals", kinds["identified"], plan.animals)
	}
	if kinds["vaccinated"] != plan.vaccinated {
		t.Errorf("%d vaccination entries for %d animal-vaccinations", kinds["vaccinated"], plan.vaccinated)
	}
	if kinds["dispatched"] != plan.moved || kinds["received"] != plan.moved {
		t.Errorf("%d dispatch and %d receipt entries for %d animals moved", kinds["dispatched"], kinds["received"], plan.moved)
	}
	for k, n := range perAnimal {
		if (strings.HasSuffix(k, "/identified") || strings.HasSuffix(k, "/dispatched") || strings.HasSuffix(k, "/received")) && n != 1 {
			t.Errorf("animal %s: %d entries", k, n) // each animal is identified once and moved at most once
		}
	}
	papers := map[documents.DocType]int{}
	eachRecord(t, f.store, documents.DocumentsSpec, func(r domain.Record) {
		d, err := domain.DecodeEntity[documents.Document](r)
		if err != nil {
			t.Fatal(err)
		}
		papers[d.Type]++
	})
	t.Logf("papers by type: %v", papers)
	if papers[documents.DocPassport] != plan.animals {
		t.Errorf("%d passports for %d animals", papers[documents.DocPassport], plan.animals)
	}
	if papers["vet_reference"] != plan.references {
		t.Errorf("%d reference papers for %d references", papers["vet_reference"], plan.references)
	}
	received := 0
	eachRecord(t, f.store, lifecycle.MovementsSpec, func(r domain.Record) {
		m, err := domain.DecodeEntity[lifecycle.Movement](r)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status == lifecycle.MovementReceived {
			received++
		}
	})
	if received != plan.movements {
		t.Errorf("%d of %d movements received", received, plan.movements)
	}
}

// checkWeekPhotos: every photo uploaded and stored once with its SHA-256, some resumed mid-way.
func checkWeekPhotos(t *testing.T, c *client.Client, f *field, vet interface{ Principal() domain.Principal }, visits []string, photos map[string][]byte) {
	ps, err := c.Photos(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	resumes, resumed := 0, 0
	for _, p := range ps {
		if p.State != client.PhotoUploaded {
			t.Errorf("photo %s ended %s: %s", p.ID, p.State, p.Problem)
		}
		resumes += p.Resumes
		if p.Resumes > 0 {
			resumed++
		}
	}
	stored := f.storedPhotos(t, visits)
	if len(stored) != len(photos) {
		t.Errorf("the server holds %d photos, %d were queued", len(stored), len(photos))
	}
	for id, data := range photos {
		if stored[id] != hexSHA(data) {
			t.Errorf("photo %s stored with SHA-256 %q, want %s", id, stored[id], hexSHA(data))
		}
	}
	t.Logf("photos: %d stored, %d resumed from a non-zero offset (%d resumes in all)", len(stored), resumed, resumes)
	if resumed == 0 {
		t.Error("no photo was resumed: the link did not cut any upload, so resuming was not tested")
	}
}

// checkWeekReplica: after the pull the replica holds the server's records of what the week made,
// at the server's versions (everything here is in the vet's district, so all of it is in scope).
func checkWeekReplica(t *testing.T, c *client.Client, f *field) {
	for _, spec := range []domain.CollectionSpec{identification.HoldingsSpec, identification.AnimalsSpec, identification.AnimalEventsSpec,
		documents.DocumentsSpec, epizootic.ReferencesSpec, health.VaccinationsSpec, lifecycle.MovementsSpec} {
		want := map[string]int64{}
		eachRecord(t, f.store, spec, func(r domain.Record) { want[r.ID] = r.Version })
		got, err := c.Records(t.Context(), spec.Name)
		if err != nil {
			t.Fatal(err)
		}
		if missing, stale, extra := replicaDiff(want, got); missing+stale+extra > 0 {
			t.Errorf("replica of %s: %d on the server, %d missing, %d stale, %d extra", spec.Name, len(want), missing, stale, extra)
		}
	}
	names := []string{}
	for _, spec := range []domain.CollectionSpec{identification.AnimalsSpec, documents.DocumentsSpec} {
		got, _ := c.Records(t.Context(), spec.Name)
		names = append(names, fmt.Sprintf("%s %d", spec.Name, len(got)))
	}
	sort.Strings(names)
	t.Logf("replica = server (%s, ...)", strings.Join(names, ", "))
}

// eachRecord calls fn for every record of a collection, in the order of its first index.
func eachRecord(t testing.TB, store domain.Store, spec domain.CollectionSpec, fn func(domain.Record)) {
	t.Helper()
	after := ""
	for {
		page, err := store.List(context.Background(), spec.Name, domain.Query{Index: spec.Indexes[0].Name, After: after, Limit: domain.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			fn(r)
		}
		if page.Next == "" {
			return
		}
		after = page.Next
	}
}

func countAll(t testing.TB, store domain.Store, spec domain.CollectionSpec) int {
	n := 0
	eachRecord(t, store, spec, func(domain.Record) { n++ })
	return n
}
