package client_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/sync/client"
)

// The district the replica benchmarks pull is built once per size and format and kept, since
// loading 100 000 animals through the API takes minutes: -animals picks the size, -district-cache
// the directory (os.TempDir()/vetfield-district by default). Delete the file to load it again.
var (
	districtAnimals = flag.Int("animals", 10_000, "animals of the benchmarks' district (100000 for the full one)")
	districtCache   = flag.String("district-cache", "", "directory keeping loaded districts (default os.TempDir()/vetfield-district)")
)

// districtFormat names the loader's output: raise it whenever the loader or the stored shapes
// change, so that a cached district of an older build is not measured as if it were current.
const districtFormat = 6

// The district's vet, who identified every animal and whose tablet builds the replica.
const (
	districtUnit     = "313200000" // Bayzak
	districtVet      = "vet.bayzak"
	districtPassword = "district-password-1"
	districtAdminPwd = "district-admin-password-1"
	firstDistrictTag = 398_000_200_000_001
)

// districtDB returns the path of a cached district of n animals, loading it first if no cache
// holds it. The file is the cache itself: copy it before serving it, since a server writes.
func districtDB(tb testing.TB, n int) string {
	tb.Helper()
	dir := *districtCache
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "vetfield-district")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("district-v%d-%d.db", districtFormat, n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	start := time.Now()
	loading := filepath.Join(tb.TempDir(), "loading.db")
	loadDistrictOverHTTP(tb, loading, n)
	// VACUUM INTO writes one self-contained file (no write-ahead log beside it), renamed into
	// place only when complete, so an interrupted load never leaves a half district cached.
	db, err := sql.Open("sqlite", "file:"+loading+"?_pragma=busy_timeout(5000)")
	if err != nil {
		tb.Fatal(err)
	}
	tmp := path + ".tmp"
	os.Remove(tmp)
	if _, err := db.Exec(`VACUUM INTO ?`, tmp); err != nil {
		tb.Fatal(err)
	}
	db.Close()
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("loaded a district of %d animals through the API in %s into %s", n, time.Since(start).Round(time.Second), path)
	return path
}

// loadDistrictOverHTTP builds the district the way it is built in the field, through the API of
// a real server over loopback: an admin allocates the district's tags in packs, its vet registers
// the holdings of a few hundred owners in the villages and identifies every animal in groups of at
// most 500 per holding, so that each animal has its passport (a signed document) and its history
// event exactly as production writes them.
func loadDistrictOverHTTP(tb testing.TB, path string, n int) {
	tb.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(path, sqlite.WithDurability(sqlite.Fast)) // a load, not a measurement
	if err != nil {
		tb.Fatal(err)
	}
	defer store.Close()
	key, err := keyring.Generate()
	if err != nil {
		tb.Fatal(err)
	}
	keys := keyring.New(key)
	app, err := vetfield.Open(ctx, vetfield.Config{Store: store, Keys: keys, RefreshKey: domain.RandomToken(32), Passwords: fastPasswords})
	if err != nil {
		tb.Fatal(err)
	}
	if _, _, err := app.Accounts.EnsureAdmin(ctx, districtAdminPwd); err != nil {
		tb.Fatal(err)
	}
	srv := api.New(api.Deps{App: app, Keys: keys, Log: slog.New(slog.DiscardHandler), AccessTTL: 24 * time.Hour,
		Issuer: "vetfield", Audience: "vetfield-api", PublicURL: "https://vet.example.kz"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Serve(ln)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	// The server files every write in the snapshot index as it goes, as a running vetfield does
	// (cmd/vetfield), so that a first sync reads the district from it.
	defer func() {
		if err := app.Sync.ProjectAll(ctx); err != nil {
			tb.Fatal(err)
		}
	}()
	l := &loader{tb: tb, base: "http://" + ln.Addr().String(), http: &http.Client{Timeout: 5 * time.Minute}}
	admin := l.login("admin", districtAdminPwd)
	l.call("POST", "/v1/users", admin, map[string]any{"username": districtVet, "password": districtPassword, "role": "vet",
		"territory": districtUnit, "full_name": "Айгүл Серікқызы Жақсыбекова"}, nil, 201)
	vet := l.login(districtVet, districtPassword)

	rng := rand.New(rand.NewPCG(uint64(n), districtFormat))
	// Tags come in packs of a tenth of the district, as an oblast's deliveries arrive.
	packs := 10
	for i := range packs {
		first := firstDistrictTag + i*(n/packs)
		count := n / packs
		if i == packs-1 {
			count = n - i*(n/packs)
		}
		l.call("POST", "/v1/tag-ranges", admin, map[string]any{"unit": districtUnit, "first": strconv.Itoa(first), "count": count,
			"note": fmt.Sprintf("поставка №%d", i+1)}, nil, 201)
	}
	holdings := plan(rng, n)
	next := firstDistrictTag
	for hi, h := range holdings {
		var made struct {
			ID string `json:"id"`
		}
		l.call("POST", "/v1/holdings", vet, map[string]any{"id": client.NewID(), "kind": h.kind, "name": h.name,
			"owner_iin": h.owner.iin, "owner_name": h.owner.name, "address": h.address, "territory": h.territory,
			"gps": map[string]any{"lat": 42.85 + rng.Float64()*0.4, "lon": 71.1 + rng.Float64()*0.6}}, &made, 201)
		for left := h.animals; left > 0; {
			size := min(left, 500)
			animals := make([]map[string]any, 0, size)
			for range size {
				animals = append(animals, h.animal(rng))
			}
			var g struct {
				Applied  int `json:"applied"`
				Rejected int `json:"rejected"`
			}
			l.call("POST", "/v1/animal-groups", vet, map[string]any{"id": client.NewID(), "holding_id": made.ID,
				"first": strconv.Itoa(next), "animals": animals}, &g, 201)
			if g.Applied != size || g.Rejected != 0 {
				tb.Fatalf("holding %d: a group of %d answered %d applied, %d rejected", hi, size, g.Applied, g.Rejected)
			}
			next += size
			left -= size
		}
	}
	if next-firstDistrictTag != n {
		tb.Fatalf("identified %d animals, meant %d", next-firstDistrictTag, n)
	}
}

// loader sends the load's requests.
type loader struct {
	tb   testing.TB
	base string
	http *http.Client
}

func (l *loader) login(username, password string) string {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	l.call("POST", "/v1/auth/login", "", map[string]string{"username": username, "password": password}, &tok, 200)
	return tok.AccessToken
}

// call sends one request and fails the load on any answer but want.
func (l *loader) call(method, path, token string, body, out any, want int) {
	l.tb.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		l.tb.Fatal(err)
	}
	req, err := http.NewRequest(method, l.base+path, bytes.NewReader(data))
	if err != nil {
		l.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := l.http.Do(req)
	if err != nil {
		l.tb.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		l.tb.Fatal(err)
	}
	if resp.StatusCode != want {
		l.tb.Fatalf("%s %s answered %d: %s", method, path, resp.StatusCode, answer)
	}
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			l.tb.Fatal(err)
		}
	}
}

// owner is a person keeping animals in the district.
type owner struct{ iin, name string }

// holdingPlan is one holding of the district and how many animals it keeps.
type holdingPlan struct {
	kind, name, address, territory string
	owner                          owner
	species                        []string // what it keeps, the first most
	animals                        int
}

var (
	givenNames = []string{"Серік", "Айгүл", "Ерлан", "Әсел", "Марат", "Гүлнар", "Нұрлан", "Жанар", "Бауыржан", "Сәуле",
		"Талғат", "Динара", "Қайрат", "Ботагөз", "Асқар", "Мөлдір", "Дәулет", "Ақмарал", "Ержан", "Күләш"}
	familyNames = []string{"Ахметов", "Оспанов", "Жақсылықов", "Сейітов", "Тұрсынов", "Бекенов", "Әбдірахманов", "Құдайбергенов",
		"Нұрланов", "Сәрсенбаев", "Омаров", "Қасымов", "Жұмабаев", "Есенов", "Мұратов"}
	villages = []string{"Сарыкемер", "Көктал", "Жалғызтөбе", "Бурыл", "Ботамойнақ", "Тегістік", "Үлгілі", "Дихан", "Талас",
		"Жетібай", "Бәйтерек", "Қостөбе", "Жаңатұрмыс", "Мырзатай", "Шахан"}
	streets   = []string{"Абай к-сі", "Төле би к-сі", "Жамбыл к-сі", "Бейбітшілік к-сі", "Мектеп к-сі", "Достық к-сі"}
	farmNames = []string{"Береке", "Ақжол", "Алтын дән", "Қайнар", "Самұрық", "Бірлік", "Жеңіс", "Нұр", "Атамекен", "Ынтымақ"}
	breeds    = map[string][]string{"cattle": {"Әулиеата", "Қазақтың ақбас сиыры", "Алатау", "Қара-ала", "Симментал"},
		"sheep": {"Қазақтың құйрықты қойы", "Еділбай", "Қазақтың биязы жүнді қойы", "Дегерес"}, "goat": {"Қазақтың ешкісі", "Зааненская"},
		"horse": {"Жабы", "Көшім", "Адай"}}
	colours   = []string{"қызыл", "қара", "ақ", "ала", "сұр", "торы", "жирен", "боз", "қоңыр", "қызыл-ала"}
	nicknames = []string{"Ақтаңдай", "Жұлдыз", "Тарлан", "Құлагер", "Бурыл", "Ақбоз", "Сары", "Қарагер"}
)

// plan lays out the district: one holding per 50 animals (at most 2 000), most of them household
// yards of a few head, some farms and a few feedlots keeping most of the stock, owned by one person
// per five holdings (a few hundred in a full district), in fifteen villages of three rural districts.
func plan(rng *rand.Rand, n int) []holdingPlan {
	count := min(max(n/50, 1), 2000)
	owners := make([]owner, max(count/5, 1))
	for i := range owners {
		owners[i] = owner{iin: validIIN(rng), name: familyNames[rng.IntN(len(familyNames))] + " " + givenNames[rng.IntN(len(givenNames))]}
	}
	hs := make([]holdingPlan, count)
	weights, total := make([]int, count), 0
	for i := range hs {
		v := rng.IntN(len(villages))
		h := holdingPlan{owner: owners[rng.IntN(len(owners))], territory: fmt.Sprintf("3132%02d%03d", 30+2*(v/5), 100+2*(v%5)),
			address: fmt.Sprintf("%s, %s %d", villages[v], streets[rng.IntN(len(streets))], 1+rng.IntN(120))}
		switch r := rng.IntN(100); {
		case r < 80:
			h.kind, h.name, weights[i] = "yard", h.owner.name+" ауласы", 1+rng.IntN(6)
			h.species = []string{"sheep", "cattle", "goat"}
		case r < 97:
			h.kind, h.name, weights[i] = "farm", fmt.Sprintf("«%s» шаруа қожалығы", farmNames[rng.IntN(len(farmNames))]), 15+rng.IntN(60)
			h.species = []string{[]string{"cattle", "sheep", "horse"}[rng.IntN(3)], "horse"}
		default:
			h.kind, h.name, weights[i] = "feedlot", fmt.Sprintf("«%s» бордақылау алаңы", farmNames[rng.IntN(len(farmNames))]), 80+rng.IntN(120)
			h.species = []string{"cattle"}
		}
		total += weights[i]
		hs[i] = h
	}
	given := 0
	for i := range hs {
		hs[i].animals = n * weights[i] / total
		given += hs[i].animals
	}
	for i := 0; given < n; i = (i + 1) % count {
		hs[i].animals++
		given++
	}
	return hs
}

// animal is the body of one animal of a group on h.
func (h *holdingPlan) animal(rng *rand.Rand) map[string]any {
	species := h.species[0]
	if len(h.species) > 1 && rng.IntN(4) == 0 {
		species = h.species[1+rng.IntN(len(h.species)-1)]
	}
	sex := "female"
	if rng.IntN(4) == 0 {
		sex = "male"
	}
	born := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -30-rng.IntN(8*365))
	a := map[string]any{"id": client.NewID(), "species": species, "sex": sex, "birth_date": born.Format(time.DateOnly),
		"breed": breeds[species][rng.IntN(len(breeds[species]))], "colour": colours[rng.IntN(len(colours))]}
	if species == "horse" || (species == "cattle" && rng.IntN(10) == 0) {
		a["nickname"] = nicknames[rng.IntN(len(nicknames))]
	}
	return a
}

// validIIN is a random person's IIN: born 1950-2005, with its check digit (domain.ParseIIN's).
func validIIN(rng *rand.Rand) string {
	for {
		born := time.Date(1950+rng.IntN(56), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		century := 3 + rng.IntN(2) // 3, 4: born in the 1900s; 5, 6: in the 2000s
		if born.Year() >= 2000 {
			century += 2
		}
		stem := fmt.Sprintf("%s%d%04d", born.Format("060102"), century, rng.IntN(10000))
		for d := range 10 {
			if iin, err := domain.ParseIIN(stem + strconv.Itoa(d)); err == nil {
				return string(iin)
			}
		}
	}
}

// TestDistrictServer is not a test: it is the server process the replica benchmark starts, so
// that the benchmark's own heap and CPU are the tablet's alone. It serves the database named by
// VETFIELD_DISTRICT_DB on a loopback port, prints the address, and stops when stdin closes.
func TestDistrictServer(t *testing.T) {
	path := os.Getenv("VETFIELD_DISTRICT_DB")
	if path == "" {
		t.Skip("the replica benchmark's server process")
	}
	store, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	key, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	keys := keyring.New(key)
	app, err := vetfield.Open(t.Context(), vetfield.Config{Store: store, Keys: keys, RefreshKey: domain.RandomToken(32), Passwords: fastPasswords})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Deps{App: app, Keys: keys, Log: slog.New(slog.DiscardHandler),
		Issuer: "vetfield", Audience: "vetfield-api", PublicURL: "https://vet.example.kz"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	fmt.Printf("listening http://%s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}

// districtServer is the server process of a benchmark.
type districtServer struct {
	base string
	live string // the database file it serves, a copy of the cached district
	cmd  *exec.Cmd
}

// startDistrictServer serves a copy of the cached district at path in a process of its own.
func startDistrictServer(tb testing.TB, path string) *districtServer {
	tb.Helper()
	live := filepath.Join(tb.TempDir(), "server.db")
	copyFile(tb, path, live)
	cmd := exec.Command(os.Args[0], "-test.run=^TestDistrictServer$", "-test.v")
	cmd.Env = append(os.Environ(), "VETFIELD_DISTRICT_DB="+live)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if base, ok := strings.CutPrefix(lines.Text(), "listening "); ok {
			go io.Copy(io.Discard, stdout)
			return &districtServer{base: base, live: live, cmd: cmd}
		}
	}
	tb.Fatal("the district's server process did not start")
	return nil
}

// cpu is the CPU time the server process has used so far, from /proc (Linux).
func (s *districtServer) cpu(tb testing.TB) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	// The fields after the command's name, which may hold spaces, in parentheses.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	src, err := os.Open(from)
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		tb.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		tb.Fatal(err)
	}
}
