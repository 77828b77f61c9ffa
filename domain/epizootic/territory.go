package epizootic

import (
	"context"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// Territory is one administrative-territorial unit of the KATO hierarchy (oblast → district or city
// → rural district → settlement) with its names in Kazakh and Russian. Its id is its nine-digit
// code. Papers print these names (the territory a quarantine covers, the unit that issued a
// reference), so every unit an epizootic decision names must be here.
type Territory struct {
	domain.Meta
	Code domain.Kato `json:"code"`
	// Parent is the nearest unit above that is in the catalogue ("" for an oblast). KATO skips
	// levels (a town of district significance sits straight under its district), so it is not
	// always Code.Parent().
	Parent    domain.Kato `json:"parent"`
	Level     int         `json:"level"`
	NameKK    string      `json:"name_kk"`
	NameRU    string      `json:"name_ru"`
	UpdatedAt time.Time   `json:"updated_at"`
	// UpdatedBy is the username of the administrator who last added or renamed the unit; "seed"
	// for the units vetfield starts with.
	UpdatedBy string `json:"updated_by"`
}

// Name returns the unit's name in lang ("kk" or "ru").
func (t *Territory) Name(lang string) string {
	if lang == "kk" {
		return t.NameKK
	}
	return t.NameRU
}

// TerritoriesSpec declares the catalogue. Synced with the scope "all": every tablet prints names
// of units and must show an epizootic decision offline.
var TerritoriesSpec = domain.CollectionSpec{
	Name:    "territories",
	Synced:  true,
	Indexes: []domain.Index{{Name: "territories_parent", Fields: []string{"parent", "code"}}},
}

// ScopeAll is the sync scope key of reference data every user receives.
const ScopeAll = "all"

var allScope = []string{ScopeAll}

// MaxTerritoryName bounds a unit's name.
const MaxTerritoryName = 200

// Territories keeps the catalogue of administrative-territorial units.
type Territories struct {
	Store domain.Store
	Now   domain.Clock
}

// NewTerritory is what an admin gives to add a unit.
type NewTerritory struct {
	Code   string
	NameKK string
	NameRU string
}

// TerritoryChange renames a unit; nil names stay. Version, when not 0, must be the version the
// change was made on.
type TerritoryChange struct {
	Version int64
	NameKK  *string
	NameRU  *string
}

func mustBeAdmin(p domain.Principal, what string) error {
	if p.Role != domain.RoleAdmin {
		return domain.Errorf(domain.EFORBIDDEN, "only administrators %s", what)
	}
	return nil
}

// Get returns the unit with code; reference data, readable by everyone.
func (ts *Territories) Get(ctx context.Context, code string) (*Territory, error) {
	k, err := domain.ParseKato(code)
	if err != nil {
		return nil, domain.AtField("code", err)
	}
	t, err := domain.GetEntity[Territory](ctx, ts.Store, TerritoriesSpec.Name, string(k))
	if domain.IsCode(err, domain.ENOTFOUND) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no unit %s in the catalogue", k)
	}
	return t, err
}

// Children pages through the units directly beneath parent, by code; parent "" lists the oblasts.
func (ts *Territories) Children(ctx context.Context, parent, after string, limit int) ([]*Territory, string, error) {
	if parent != "" {
		k, err := domain.ParseKato(parent)
		if err != nil {
			return nil, "", domain.AtField("parent", err)
		}
		parent = string(k)
	}
	return domain.ListEntities[Territory](ctx, ts.Store, TerritoriesSpec.Name,
		domain.Query{Index: "territories_parent", Eq: []any{parent}, After: after, Limit: limit})
}

// nearest returns the unit k or the nearest unit above it that is in the catalogue, or ENOTFOUND.
func (ts *Territories) nearest(ctx context.Context, k domain.Kato) (*Territory, error) {
	for c := k; c != ""; c = c.Parent() {
		t, err := domain.GetEntity[Territory](ctx, ts.Store, TerritoriesSpec.Name, string(c))
		if err == nil {
			return t, nil
		}
		if !domain.IsCode(err, domain.ENOTFOUND) {
			return nil, err
		}
	}
	return nil, domain.Errorf(domain.ENOTFOUND, "no unit of %s in the catalogue", k)
}

// Names returns the Kazakh and Russian names of k, taken from the nearest catalogued unit at or
// above it; the code itself when nothing above it is catalogued, so a paper always names something.
func (ts *Territories) Names(ctx context.Context, k domain.Kato) (kk, ru string, err error) {
	t, err := ts.nearest(ctx, k)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return string(k), string(k), nil
	}
	if err != nil {
		return "", "", err
	}
	return t.NameKK, t.NameRU, nil
}

// UnitName is the issuing unit's name as papers print it, in both languages.
func (ts *Territories) UnitName(ctx context.Context, k domain.Kato) string {
	if k == "" {
		return ""
	}
	kk, ru, err := ts.Names(ctx, k)
	if err != nil || kk == ru {
		return ru
	}
	return kk + " / " + ru
}

// Create adds a unit. Its parent (the nearest unit above it) must already be catalogued, except for
// an oblast; a taken code is ECONFLICT.
func (ts *Territories) Create(ctx context.Context, by domain.Principal, in NewTerritory) (*Territory, error) {
	if err := mustBeAdmin(by, "add territorial units"); err != nil {
		return nil, err
	}
	k, err := domain.ParseKato(in.Code)
	if err != nil {
		return nil, domain.AtField("code", err)
	}
	t := &Territory{Meta: domain.Meta{ID: string(k)}, Code: k, Level: k.Level(), UpdatedAt: ts.Now().UTC(), UpdatedBy: by.Username}
	if t.NameKK, err = domain.TrimmedText(in.NameKK, "name_kk", MaxTerritoryName, false); err != nil {
		return nil, err
	}
	if t.NameRU, err = domain.TrimmedText(in.NameRU, "name_ru", MaxTerritoryName, false); err != nil {
		return nil, err
	}
	if p := k.Parent(); p != "" {
		parent, err := ts.nearest(ctx, p)
		if domain.IsCode(err, domain.ENOTFOUND) {
			return nil, domain.Invalid("code", "no unit above %s is in the catalogue: add its oblast and district first", k)
		} else if err != nil {
			return nil, err
		}
		t.Parent = parent.Code
	}
	if err := domain.InsertEntity(ctx, ts.Store, TerritoriesSpec.Name, t, allScope); domain.IsCode(err, domain.ECONFLICT) {
		return nil, &domain.Error{Code: domain.ECONFLICT, Field: "code", Message: "unit " + string(k) + " is already in the catalogue; rename it instead"}
	} else if err != nil {
		return nil, err
	}
	return t, nil
}

// Rename changes a unit's names. The code never changes: it is the key every record refers to.
func (ts *Territories) Rename(ctx context.Context, by domain.Principal, code string, ch TerritoryChange) (*Territory, error) {
	if err := mustBeAdmin(by, "rename territorial units"); err != nil {
		return nil, err
	}
	var t *Territory
	err := domain.RetryCAS(ctx, func() error {
		var err error
		if t, err = ts.Get(ctx, code); err != nil {
			return err
		}
		if ch.Version != 0 && ch.Version != t.Version {
			return domain.Errorf(domain.ECONFLICT, "unit %s changed since version %d; it is at version %d", t.Code, ch.Version, t.Version)
		}
		if ch.NameKK != nil {
			if t.NameKK, err = domain.TrimmedText(*ch.NameKK, "name_kk", MaxTerritoryName, false); err != nil {
				return err
			}
		}
		if ch.NameRU != nil {
			if t.NameRU, err = domain.TrimmedText(*ch.NameRU, "name_ru", MaxTerritoryName, false); err != nil {
				return err
			}
		}
		t.UpdatedAt, t.UpdatedBy = ts.Now().UTC(), by.Username
		return domain.UpdateEntity(ctx, ts.Store, TerritoriesSpec.Name, t, allScope)
	}, "the unit is changing concurrently; try again")
	if err != nil {
		return nil, err
	}
	return t, nil
}

// seedUnit is a unit vetfield starts with.
type seedUnit struct {
	code           domain.Kato
	nameKK, nameRU string
}

// zhambylSeed is Zhambyl oblast, the city of Taraz and the oblast's ten districts. The oblast's
// code (31), Taraz (311010000 under the city administration 311000000), Bayzak (313200000) and
// Korday (314800000) are the codes the rest of vetfield already uses; the other district codes
// follow KATO's layout (districts in Russian alphabetical order, even steps) but could not be
// confirmed against the published classifier: an administrator adds a corrected unit if one is
// wrong. Seeding never overwrites a unit that exists, so renames survive restarts.
var zhambylSeed = []seedUnit{
	{"310000000", "Жамбыл облысы", "Жамбылская область"},
	{"311000000", "Тараз қаласының әкімдігі", "Тараз Г.А."},
	{"311010000", "Тараз қаласы", "город Тараз"},
	{"313200000", "Байзақ ауданы", "Байзакский район"},
	{"313600000", "Жамбыл ауданы", "Жамбылский район"},
	{"314000000", "Жуалы ауданы", "Жуалынский район"},
	{"314800000", "Қордай ауданы", "Кордайский район"},
	{"315000000", "Меркі ауданы", "Меркенский район"},
	{"315200000", "Мойынқұм ауданы", "Мойынкумский район"},
	{"315600000", "Сарысу ауданы", "Сарысуский район"},
	{"316000000", "Талас ауданы", "Таласский район"},
	{"316200000", "Т. Рысқұлов ауданы", "район Турара Рыскулова"},
	{"316600000", "Шу ауданы", "Шуский район"},
}

// Seed adds the units vetfield starts with if they are missing. It is idempotent and safe to run
// from several processes at once: each unit is an insert-if-absent.
func (ts *Territories) Seed(ctx context.Context) error {
	now := ts.Now().UTC()
	for _, u := range zhambylSeed {
		t := &Territory{Meta: domain.Meta{ID: string(u.code)}, Code: u.code, Parent: u.code.Parent(), Level: u.code.Level(),
			NameKK: u.nameKK, NameRU: u.nameRU, UpdatedAt: now, UpdatedBy: "seed"}
		if err := domain.InsertEntity(ctx, ts.Store, TerritoriesSpec.Name, t, allScope); err != nil && !domain.IsCode(err, domain.ECONFLICT) {
			return err
		}
	}
	return nil
}
