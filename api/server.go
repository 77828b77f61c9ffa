// Package api is vetfield's HTTP face: the Fiber app, one file of operations per noun, the
// authentication of callers, the mapping of domain errors to RFC 9457 problems, and the
// operational routes. Operations are declared through huma, so the OpenAPI description at
// /openapi.json is generated from the very types the handlers use and cannot drift from them.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humafiber"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/keyring"
)

// Version is reported in the OpenAPI description.
const Version = "0.1.0"

// MaxJSONBody is the default limit of a JSON request body.
const MaxJSONBody = 1 << 20

// Deps are what the server is built from: the service graph, which vetfield.New builds for the
// server and for every test, and the settings of the HTTP face.
type Deps struct {
	*vetfield.App
	// Keys sign access tokens and are published at /.well-known/vetfield-keys.json.
	Keys *keyring.Ring
	Log  *slog.Logger

	// PublicURL is the address people and QR codes reach this service at.
	PublicURL string
	// Issuer and Audience go into and are required of every access token.
	Issuer   string
	Audience string
	// AccessTTL is the life of an access token.
	AccessTTL time.Duration
	// PublicRate limits requests per minute per client address to the public verification
	// routes; 0 means DefaultPublicRate.
	PublicRate int
}

// Server is the HTTP server.
type Server struct {
	Deps
	app *fiber.App
	api huma.API
	// kinds are the mutation kinds sync/push accepts (api/mutations.go).
	kinds map[string]mutationKind
	// table lists every route as it is registered, for Routes.
	table   []Route
	metrics *metrics
	// publicRate is the limit in force (Deps.PublicRate, or what SetPublicRate set since).
	publicRate atomic.Int64
	// draining is set when shutdown starts, so /readyz turns 503 at once and load balancers stop
	// sending new work while in-flight requests finish.
	draining atomic.Bool
}

// New builds the server with every route.
func New(d Deps) *Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.AccessTTL == 0 {
		d.AccessTTL = 15 * time.Minute
	}
	s := &Server{Deps: d, metrics: newMetrics()}
	s.SetPublicRate(d.PublicRate)
	s.app = fiber.New(fiber.Config{
		AppName:               "vetfield",
		DisableStartupMessage: true,
		ErrorHandler:          s.fiberErrors,
		// Bodies are streamed (below), so Fiber's limit no longer refuses one: huma enforces each
		// operation's own limit (1 MiB for JSON) with a 413 problem, and drainBody keeps a
		// connection clean after a body left unread.
		BodyLimit:    MaxJSONBody + 64<<10,
		ReadTimeout:  60 * time.Second,
		WriteTimeout: 60 * time.Second,
		IdleTimeout:  120 * time.Second,

		// A photo upload keeps the bytes of a PATCH whose connection drops half-way (api/upload.go).
		StreamRequestBody: true,
		// Strings from a request (path and query values, headers) are copies, not views into
		// memory the next request reuses: handlers pass them on to goroutines, caches and
		// metrics, which outlive the request.
		Immutable: true,
	})
	s.app.Use(s.observe)
	s.app.Use(securityHeaders)
	// A panic in a handler answers 500 through fiberErrors (logged with the request id) instead of
	// ending the process for every district.
	s.app.Use(recover.New())
	s.app.Use(s.drainBody)
	s.app.Use(compress.New(compress.Config{Level: compress.LevelBestSpeed}))

	cfg := huma.DefaultConfig("vetfield API", Version)
	cfg.CreateHooks = nil // no $schema links in every response
	cfg.DocsPath = ""     // /docs is our own page, readable without internet (docs.go)
	cfg.Info.Description = "The JSON API behind the tablets of district veterinarians and inspectors in Kazakhstan."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", BearerFormat: "JWT"},
	}
	s.api = humafiber.New(s.app, cfg)
	s.api.UseMiddleware(s.authenticate)

	// The wire of sync is the API's: tablets receive the API's views, never stored JSON, and push
	// the API's request types.
	s.kinds = s.mutationKinds()
	if s.Sync != nil {
		s.Sync.Views, s.Sync.CompactViews, s.Sync.ClusterBy = s.syncViews(), s.compactSyncViews(), syncClusters
		s.Sync.ViewsVersion = syncViewsVersion
		s.Sync.Handlers = s.handlers()
	}
	s.routes()
	return s
}

// routes registers every route, in one readable block.
func (s *Server) routes() {
	s.plain("GET", "/livez", "the process runs", s.livez)
	s.plain("GET", "/readyz", "database and object store answer; 503 while shutting down", s.readyz)
	s.plain("GET", "/docs", "the API description as a page", s.docsPage)
	s.table = append(s.table, Route{Method: "GET", Path: "/openapi.json", Access: "public (operations)",
		Handler: "huma", Summary: "the OpenAPI 3.1 description, generated from the handlers' types"})

	s.registerAuth()
	s.registerUsers()
	s.registerDocuments()
	s.registerSync()
	s.registerCalendar()
	s.registerIdentification()
	s.registerObjects()
	s.registerInspections()
	s.registerUploads()
	s.registerPhotos()
	s.registerEpizootic()
	s.registerMovements()
	s.registerDisposals()
	s.registerAnimalGroups()
	s.registerHealth()
	s.registerCases()
	s.registerRegisters()
}

// App returns the Fiber app, for tests that call it without a network.
func (s *Server) App() *fiber.App { return s.app }

// OpenAPI returns the generated description.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// MetricsHandler answers GET /metrics in Prometheus's text format. It is served on an address of
// its own (VETFIELD_METRICS_ADDR, loopback by default), never beside the API: the counts of every
// route by status tell an outsider how the service is used and where it fails.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})
}

// Shutdown turns /readyz to 503, lets in-flight requests finish within ctx's deadline and closes
// every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	return s.app.ShutdownWithContext(ctx)
}

// register declares an operation with its access rule. Every handler's error goes through
// s.problem, so no handler chooses a status or leaks an internal error.
func register[I, O any](s *Server, op huma.Operation, rule access, h func(context.Context, *I) (*O, error)) {
	if op.Metadata == nil {
		op.Metadata = map[string]any{}
	}
	op.Metadata[accessKey] = rule
	s.table = append(s.table, Route{Method: op.Method, Path: op.Path, Access: rule.String(), Handler: handlerName(h),
		Summary: op.Summary})
	if !rule.public {
		op.Security = []map[string][]string{{"bearer": {}}}
		op.Errors = append(op.Errors, 401, 403)
	}
	op.Errors = append(op.Errors, 422)
	if op.MaxBodyBytes == 0 {
		op.MaxBodyBytes = MaxJSONBody
	}
	locate := inputLocations[I]()
	huma.Register(s.api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, s.problem(ctx, locate(err))
		}
		return out, nil
	})
}

// inputLocations returns what places a service's error in the request of an operation with input
// I: the services name a field of their own input ("holding_id", "territory"), and the request
// carries it in a query parameter, a path parameter, a header or the body. Field paths the
// handler already placed ("body.version") pass unchanged.
func inputLocations[I any]() func(error) error {
	where := map[string]string{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			for _, loc := range []string{"path", "query", "header"} {
				if name := f.Tag.Get(loc); name != "" {
					where[name] = loc
				}
			}
		}
	}
	if t := reflect.TypeFor[I](); t.Kind() == reflect.Struct {
		walk(t)
	}
	return func(err error) error {
		var de *domain.Error
		if !errors.As(err, &de) || de.Field == "" {
			return err
		}
		name, _, _ := strings.Cut(de.Field, ".")
		name, _, _ = strings.Cut(name, "[")
		switch name {
		case "body", "query", "path", "header":
			return err
		}
		loc, ok := where[name]
		if !ok {
			loc = "body"
		}
		placed := *de
		placed.Field = loc + "." + de.Field
		return &placed
	}
}

// Page is one page of any list: at most the limit asked for, and next_cursor, absent on the last
// page, to ask for the next. A page may hold fewer items than the limit when some are not the
// caller's to see; next_cursor still leads on. Every list answers this one shape.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Route is one operation of the server as a newcomer looks for it: method, path, who may call it,
// and the handler that answers it. api/ROUTES.md is this list, kept true by a test.
type Route struct {
	Method, Path, Access, Handler, Summary string
}

// Routes lists every operation in the order it was registered.
func (s *Server) Routes() []Route { return s.table }

// plain registers an operational route that is not part of the API description.
func (s *Server) plain(method, path, summary string, h fiber.Handler) {
	s.app.Add(method, path, h)
	s.table = append(s.table, Route{Method: method, Path: path, Access: "public (operations)", Handler: handlerName(h),
		Summary: summary})
}

// handlerName is a handler's method name, such as identifyAnimal.
func handlerName(h any) string {
	name := runtime.FuncForPC(reflect.ValueOf(h).Pointer()).Name()
	name = strings.TrimSuffix(name, "-fm")
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[i+1:]
	}
	return name
}

// describeEnum lists the values a GET operation's query parameter takes in the API description,
// from the domain's own list, where a struct tag would be a second copy of it. The domain refuses
// any other value.
func (s *Server) describeEnum(path, param string, values []any) {
	item := s.api.OpenAPI().Paths[path]
	if item == nil || item.Get == nil {
		panic("api: describeEnum of an unregistered operation GET " + path)
	}
	for _, p := range item.Get.Parameters {
		if p.Name == param && p.Schema != nil {
			p.Schema.Enum = values
			return
		}
	}
	panic("api: GET " + path + " has no parameter " + param)
}

// pagePolicy is the Content-Security-Policy of every HTML page vetfield serves (the verify page,
// the print view, /docs): no script at all, styles and images only from the page itself (the QR
// code is a data: image), and no framing — a verify page inside another site's frame could dress a
// forged paper in a genuine banner.
const pagePolicy = "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// securityHeaders marks every answer as the type it says it is and sends no referrer; HTML pages
// also get pagePolicy and refuse framing.
func securityHeaders(c *fiber.Ctx) error {
	err := c.Next()
	h := &c.Response().Header
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if strings.HasPrefix(string(h.ContentType()), "text/html") {
		h.Set("Content-Security-Policy", pagePolicy)
		h.Set("X-Frame-Options", "DENY")
	}
	return err
}
