// Package vetfield is the one wiring of the whole product: it declares every collection and builds
// the graph of services — the domain services of each state service, the sync handlers that apply
// tablets' mutations, and the photo store over object storage — from a store, a clock, keys and
// object storage. The server (cmd/vetfield), the API tests, the domain tests and the benchmarks all
// build vetfield through New, so a new service is wired once, here.
//
// The map of the product is `go doc ./domain/...`: domain holds what every service shares; each
// service is a package beneath it.
package vetfield

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/accounts"
	"github.com/vetfield/vetfield/domain/attestation"
	"github.com/vetfield/vetfield/domain/cases"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/health"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/domain/licence"
	"github.com/vetfield/vetfield/domain/lifecycle"
	"github.com/vetfield/vetfield/domain/registration"
	"github.com/vetfield/vetfield/domain/regnumber"
	"github.com/vetfield/vetfield/domain/vetcert"
	"github.com/vetfield/vetfield/media"
	vsync "github.com/vetfield/vetfield/sync"
)

// Collections is every collection vetfield keeps, for Store.Declare: one declaration, used by the
// server and by every test.
var Collections = collections()

func collections() []domain.CollectionSpec {
	var c []domain.CollectionSpec
	c = append(c, accounts.Specs...)
	c = append(c, documents.DocumentsSpec, domain.CalendarSpec)
	c = append(c, identification.Specs...)
	c = append(c, epizootic.Specs...)
	c = append(c, inspection.Specs...)
	c = append(c, lifecycle.Specs...)
	c = append(c, health.Specs...)
	c = append(c, domain.OfficeHoursSpec, cases.CasesSpec)
	c = append(c, regnumber.Specs...)
	c = append(c, vetcert.Specs...)
	c = append(c, registration.Specs...)
	c = append(c, licence.Specs...)
	c = append(c, attestation.Specs...)
	c = append(c, vsync.Specs...)
	return c
}

// Config is what the graph is built from.
type Config struct {
	Store domain.Store
	// Now is the clock of every deadline and timestamp; time.Now when nil. Its readings are kept
	// to the millisecond (see domain.Milliseconds).
	Now domain.Clock
	// Keys sign and verify documents.
	Keys documents.Keys
	// RefreshKey signs refresh tokens; every process of a deployment must share it. RefreshTTL is
	// the life of an unused session (accounts.DefaultRefreshTTL when zero).
	RefreshKey []byte
	RefreshTTL time.Duration
	// Passwords are the argon2id parameters of new password hashes
	// (accounts.DefaultPasswordParams when zero).
	Passwords accounts.PasswordParams
	// Objects keeps photos; without it there is no photo store (a test of another service).
	Objects media.Objects
	// MaxPhotoSize is the largest photo accepted, in bytes (inspection's default when zero).
	MaxPhotoSize int64
	// Photo tunes the photo store (segment sizes, concurrent bodies); zero values are defaults.
	Photo media.PhotoConfig
	// MovementWindow is how long a movement's destination has to confirm its receipt, and
	// ReferenceValidity how long after its issue a reference covers a dispatch (lifecycle's
	// defaults when zero).
	MovementWindow    time.Duration
	ReferenceValidity time.Duration
	Log               *slog.Logger
}

// App is the whole graph of services.
type App struct {
	Store    domain.Store
	Now      domain.Clock
	Accounts *accounts.Accounts
	Sessions *accounts.Sessions
	// Documents issues and verifies every paper; the services issue through it.
	Documents *documents.Documents
	// Calendar counts working days for every deadline; one cache, so a year set through the API
	// counts at once everywhere.
	Calendar *domain.Calendar
	// Identification runs service 4: holdings, tag stock, animals with passports, reissues.
	Identification *identification.Service
	// Epizootic runs service 2: territories, restrictions, references and farmers' applications.
	Epizootic *epizootic.Service
	// Inspection runs service 1: production objects, inspections on site with their photos, and
	// veterinary-sanitary conclusions.
	Inspection *inspection.Service
	// Lifecycle moves animals between holdings and owners and records how they leave the register.
	Lifecycle *lifecycle.Service
	// Health records vaccinations and diagnostic tests, and the plan of veterinary measures.
	Health *health.Service
	// Office counts office time (the calendar and the office hours) for steps in minutes and hours.
	Office *domain.Office
	// Cases is the case engine every state service declared as data runs on.
	Cases *cases.Cases
	// RegNumber runs service 3: registration numbers of production objects, on the engine.
	RegNumber *regnumber.Service
	// FeedReg and DrugReg run the registration certificates of feed and feed additives and of
	// veterinary drugs (seed 004), with their re-registration and state registers, on the engine.
	FeedReg, DrugReg *registration.Service
	// Licence runs the licences for veterinary activity (service 6) and their register, on the engine.
	Licence *licence.Service
	// Attestation runs the attestation of persons doing veterinary business (service 5), on the engine.
	Attestation *attestation.Service
	// VetCert runs the veterinary certificates for moved objects (seed 004), on the engine.
	VetCert *vetcert.Service
	// Objects is the object storage of photos (nil in a test of another service).
	Objects media.Objects
	// PhotoStore keeps the photos' bytes; nil when Config.Objects is nil.
	PhotoStore *media.PhotoStore
	// Sync answers tablets' pulls and pushes.
	Sync *vsync.Service
}

// New builds the graph over cfg.Store without touching it; Open also declares the collections and
// seeds the reference data.
func New(cfg Config) *App {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	now = domain.Milliseconds(now)
	params := cfg.Passwords
	if params == (accounts.PasswordParams{}) {
		params = accounts.DefaultPasswordParams
	}
	ttl := cfg.RefreshTTL
	if ttl == 0 {
		ttl = accounts.DefaultRefreshTTL
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	store := cfg.Store
	a := &App{Store: store, Now: now, Objects: cfg.Objects}
	a.Accounts = accounts.NewAccounts(store, now, params)
	a.Sessions = &accounts.Sessions{Store: store, Now: now, Key: cfg.RefreshKey, TTL: ttl}
	a.Documents = &documents.Documents{Store: store, Now: now, Keys: cfg.Keys}
	a.Calendar = domain.NewCalendar(store, now)
	a.Identification = identification.New(store, a.Documents, a.Calendar, now)
	a.Epizootic = epizootic.New(store, a.Documents, a.Identification, now)
	a.Documents.UnitNames = a.Epizootic.Territories.UnitName // papers name their issuing unit
	a.Inspection = inspection.New(store, a.Documents, a.Calendar, a.Accounts, now, cfg.MaxPhotoSize)
	a.Lifecycle = lifecycle.New(lifecycle.Deps{Store: store, Now: now, Documents: a.Documents,
		Identification: a.Identification, Epizootic: a.Epizootic, Inspection: a.Inspection})
	a.Lifecycle.Movements.ConfirmWindow, a.Lifecycle.Movements.ReferenceValidity = cfg.MovementWindow, cfg.ReferenceValidity
	a.Health = health.New(store, a.Documents, a.Identification, a.Epizootic, now)
	a.Office = &domain.Office{Store: store, Now: now, Calendar: a.Calendar}
	a.Cases = &cases.Cases{Store: store, Now: now, Calendar: a.Calendar, Office: a.Office, Documents: a.Documents, Users: a.Accounts}
	a.RegNumber = regnumber.New(store, now, a.Documents, a.Inspection, a.Cases)
	a.VetCert = vetcert.New(vetcert.Deps{Store: store, Documents: a.Documents, Epizootic: a.Epizootic, Insp: a.Inspection,
		Lifecycle: a.Lifecycle, Cases: a.Cases})
	a.VetCert.ReferenceValidity = cfg.ReferenceValidity
	a.FeedReg = registration.New(registration.Feed, store, now, a.Documents, a.Accounts, a.Cases)
	a.DrugReg = registration.New(registration.Drug, store, now, a.Documents, a.Accounts, a.Cases)
	a.Licence = licence.New(store, a.Documents, a.Cases)
	a.Attestation = attestation.New(store, now, a.Documents, a.Cases)
	if cfg.Objects != nil {
		a.PhotoStore = media.NewPhotoStore(a.Inspection.Photos, a.Inspection.Inspections, cfg.Objects, log, cfg.Photo)
		a.Inspection.Inspections.Evidence = a.PhotoStore
	}
	// The mutation kinds a tablet pushes and the views it pulls are the API's request types and
	// views: api.New installs them (api/mutations.go, api/syncviews.go).
	a.Sync = &vsync.Service{Store: store, Accounts: a.Accounts, Now: now}
	return a
}

// Open builds the graph, declares every collection and seeds the reference data vetfield starts
// with (the territories), as the server does at start-up.
func Open(ctx context.Context, cfg Config) (*App, error) {
	if err := cfg.Store.Declare(ctx, Collections...); err != nil {
		return nil, fmt.Errorf("declare collections: %w", err)
	}
	a := New(cfg)
	if err := a.Epizootic.Seed(ctx); err != nil {
		return nil, fmt.Errorf("seed the territories: %w", err)
	}
	return a, nil
}
