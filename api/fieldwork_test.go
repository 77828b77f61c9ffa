package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/media"
	"github.com/vetfield/vetfield/media/miniotest"
)

// testSegment is the photo store's buffer in tests: small, so that a photo of a few hundred
// kilobytes takes the path of a large one (segments written out, then assembled).
const testSegment = 256 << 10

// envOption chooses where a test server keeps photos, and lets the test list what was stored.
type envOption = *backend

// backend is an object store for photo tests: the local disk or a real MinIO bucket.
type backend struct {
	name string
	open func(t *testing.T) (media.Objects, func(t *testing.T) []string)
	// list returns every key stored, once the server is built.
	list func(t *testing.T) []string
}

// backends returns fresh Disk and MinIO backends: photo tests run against both.
func backends() []*backend {
	return []*backend{
		{name: "Disk", open: func(t *testing.T) (media.Objects, func(*testing.T) []string) {
			dir := t.TempDir()
			d, err := media.NewDisk(dir)
			if err != nil {
				t.Fatal(err)
			}
			return d, func(t *testing.T) []string {
				var keys []string
				err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
					if err == nil && !de.IsDir() {
						rel, _ := filepath.Rel(dir, p)
						keys = append(keys, filepath.ToSlash(rel))
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				sort.Strings(keys)
				return keys
			}
		}},
		{name: "MinIO", open: func(t *testing.T) (media.Objects, func(*testing.T) []string) {
			cfg := miniotest.Config(t)
			s, err := media.NewS3(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			client := miniotest.Client(t, cfg)
			return s, func(t *testing.T) []string {
				var keys []string
				for o := range client.ListObjects(t.Context(), cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
					if o.Err != nil {
						t.Fatal(o.Err)
					}
					keys = append(keys, o.Key)
				}
				sort.Strings(keys)
				return keys
			}
		}},
	}
}

// envObjects is the object store newEnv gives the photo store: the default disk, or the one an
// option opens.
func envObjects(t *testing.T, def media.Objects, opts []envOption) media.Objects {
	for _, b := range opts {
		o, list := b.open(t)
		b.list = list
		return o
	}
	return def
}

// Territories and people of the tests: Bayzak district of Zhambyl oblast, and Shu district next to it.
const (
	bayzak  = "313200000"
	bayzakV = "313230100" // a village in Bayzak district
	shu     = "315800000"
	ownerA  = "880101300123"
	ownerB  = "900502401237"
	farmBIN = "070540000129"
)

// staff creates an account of role in territory (for a farmer: with that IIN) and returns its
// access token and id.
func (e *env) staff(name string, role domain.Role, territory string) (token, id string) {
	e.t.Helper()
	body := map[string]any{"username": name, "password": "password-" + name, "role": role, "full_name": strings.ToUpper(name)}
	switch {
	case role == domain.RoleFarmer:
		body["iin"] = territory // a farmer is known by the IIN given in its place
	case territory != "":
		body["territory"] = territory
	}
	u := e.createUser(body)
	return e.login(name, "password-"+name).AccessToken, u.ID
}

// object registers a farm in territory for owner and returns it.
func (e *env) object(token, territory, owner string) api.ObjectView {
	e.t.Helper()
	var o api.ObjectView
	e.do("POST", "/v1/objects", token, map[string]any{"kind": "farm", "name": "Ферма " + owner, "owner_iin": owner,
		"address": "Сарыкемер ауылы", "territory": territory, "location": map[string]any{"lat": 42.99, "lon": 71.38},
		"reg_number": fmt.Sprintf("31-32-%x", domain.RandomToken(3))}).expect(e.t, 201).JSON(e.t, &o)
	return o
}

// inspection is an application moved to a given point of the path, with who works on it.
type inspCase struct {
	ID        string
	Object    api.ObjectView
	Inspector string // the executor's token
	Other     string // a token of another inspector of the same district
	names     [2]string
}

// later moves the test clock on and logs everyone in again, since access tokens last 15 minutes.
func (e *env) later(in *inspCase, d time.Duration) {
	e.t.Helper()
	e.clock.Advance(d)
	e.admin = e.login("admin", adminPassword).AccessToken
	in.Inspector = e.login(in.names[0], "password-"+in.names[0]).AccessToken
	in.Other = e.login(in.names[1], "password-"+in.names[1]).AccessToken
}

// onSite registers an application for a new farm in Bayzak, assigns an inspector, accepts the
// documents, records the notice on Friday 20 March 2026 for Thursday 26 March (after Nauryz) and
// starts the visit on the 26th at 10:00 in Almaty. The test clock is left there.
func (e *env) onSite() inspCase {
	e.t.Helper()
	in := e.accepted()
	e.do("POST", "/v1/inspections/"+in.ID+"/notice", in.Inspector, map[string]any{"addressee": "ҚСжАЕАК Жамбыл облысы бойынша басқармасы",
		"reference": "N-17", "planned_for": "2026-03-26"}).expect(e.t, 200)
	e.later(&in, 6*24*time.Hour-4*time.Hour) // Thursday 26 March, 10:00 Asia/Almaty
	e.do("POST", "/v1/inspections/"+in.ID+"/start", in.Inspector, map[string]any{"gps": map[string]any{"lat": 42.9901, "lon": 71.3802, "accuracy_m": 6}}).
		expect(e.t, 200)
	return in
}

// accepted registers, assigns and accepts an application, all on Friday 20 March 2026.
func (e *env) accepted() inspCase {
	e.t.Helper()
	in := e.assigned()
	e.do("POST", "/v1/inspections/"+in.ID+"/completeness", in.Inspector, map[string]any{"complete": true}).expect(e.t, 200)
	return in
}

// assigned registers an application and has the head (admin) assign an inspector of Bayzak.
func (e *env) assigned() inspCase {
	e.t.Helper()
	names := [2]string{uniqueName("insp"), uniqueName("insp")}
	insp, inspID := e.staff(names[0], domain.RoleInspector, bayzak)
	other, _ := e.staff(names[1], domain.RoleInspector, bayzak)
	obj := e.object(e.admin, bayzakV, ownerA)
	var v api.InspectionView
	e.do("POST", "/v1/inspections", insp, map[string]any{"object_id": obj.ID, "documents": []string{"өтініш", "құқық белгілейтін құжат"}}).
		expect(e.t, 201).JSON(e.t, &v)
	e.do("POST", "/v1/inspections/"+v.ID+"/assign", e.admin, map[string]any{"executor_id": inspID}).expect(e.t, 200)
	return inspCase{ID: v.ID, Object: obj, Inspector: insp, Other: other, names: names}
}

// uniqueName returns a username no other call returns.
func uniqueName(prefix string) string { return fmt.Sprintf("%s-%x", prefix, domain.RandomToken(4)) }

// inspectionView reads an application.
func (e *env) inspectionView(token, id string) api.InspectionView {
	e.t.Helper()
	var v api.InspectionView
	e.do("GET", "/v1/inspections/"+id, token, nil).expect(e.t, 200).JSON(e.t, &v)
	return v
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
