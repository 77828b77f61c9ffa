package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vetfield/vetfield"
	"github.com/vetfield/vetfield/api"
	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/domain/mongo"
	"github.com/vetfield/vetfield/domain/sqlite"
	"github.com/vetfield/vetfield/media"
	vsync "github.com/vetfield/vetfield/sync"
)

// Main wires vetfield together and runs it until its context ends. Tests start it on port 0 with a
// temporary data directory.
type Main struct {
	Config    Config
	LogOutput io.Writer
	// Listening, if set, receives the bound address once the server accepts connections;
	// MetricsListening the address of /metrics.
	Listening        chan<- string
	MetricsListening chan<- string
}

// Run starts the server and blocks until ctx is done, then shuts down gracefully: /readyz turns
// 503 at once, in-flight requests get Config.ShutdownTimeout to finish, connections close.
func (m *Main) Run(ctx context.Context) error {
	cfg := m.Config
	log := newLogger(m.LogOutput, cfg.LogLevel)

	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	objects, err := openObjects(ctx, cfg)
	if err != nil {
		return err
	}
	keys, err := keyring.LoadDir(cfg.KeysDir)
	if err != nil {
		return err
	}
	refreshKey, err := keyring.Secret(cfg.KeysDir, "refresh.secret", 32)
	if err != nil {
		return err
	}

	app, err := vetfield.Open(ctx, vetfield.Config{Store: store, Keys: keys, RefreshKey: refreshKey,
		RefreshTTL: cfg.RefreshTTL, Objects: objects, MaxPhotoSize: int64(cfg.MaxPhotoMiB) << 20, Log: log,
		MovementWindow: cfg.MovementWindow, ReferenceValidity: cfg.ReferenceValidity})
	if err != nil {
		return err
	}
	password, created, err := app.Accounts.EnsureAdmin(ctx, cfg.AdminPassword)
	if err != nil {
		return fmt.Errorf("create the admin account: %w", err)
	}
	if created && cfg.AdminPassword == "" {
		log.Warn("created the account 'admin' with a generated password; it is shown only this once",
			"username", "admin", "password", password)
	} else if created {
		log.Info("created the account 'admin' with VETFIELD_ADMIN_PASSWORD")
	}

	srv := api.New(api.Deps{App: app, Keys: keys, Log: log,
		PublicURL: cfg.PublicURL, Issuer: cfg.Issuer, Audience: cfg.Audience, AccessTTL: cfg.AccessTTL,
		PublicRate: cfg.PublicRate,
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("vetfield is listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL,
		"database", describeStore(cfg), "objects", describeObjects(cfg))
	if m.Listening != nil {
		m.Listening <- ln.Addr().String()
	}

	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen for metrics: %w", err)
		}
		log.Info("metrics are served apart from the API", "addr", mln.Addr().String())
		if m.MetricsListening != nil {
			m.MetricsListening <- mln.Addr().String()
		}
		ms := &http.Server{Handler: metricsMux(srv), ReadHeaderTimeout: 10 * time.Second}
		go ms.Serve(mln)
		defer ms.Close()
	}
	go sweep(ctx, store, log)
	go project(ctx, app.Sync, log)
	go sweepUploads(ctx, app.PhotoStore, log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown did not finish cleanly", "err", err)
	}
	<-served
	log.Info("stopped")
	return nil
}

func openStore(ctx context.Context, cfg Config) (domain.Store, error) {
	if cfg.MongoURI != "" {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := mongo.Open(cctx, cfg.MongoURI, cfg.MongoDB)
		if err != nil {
			return nil, fmt.Errorf("open MongoDB: %w", err)
		}
		return s, nil
	}
	dir := filepath.Join(cfg.DataDir, "db")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	durability, err := sqlite.ParseDurability(cfg.SQLiteDurability)
	if err != nil {
		return nil, err
	}
	s, err := sqlite.Open(filepath.Join(dir, "vetfield.db"), sqlite.WithDurability(durability))
	if err != nil {
		return nil, fmt.Errorf("open the embedded database: %w", err)
	}
	return s, nil
}

func openObjects(ctx context.Context, cfg Config) (media.Objects, error) {
	if cfg.S3Endpoint != "" {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		o, err := media.NewS3(cctx, media.S3Config{Endpoint: cfg.S3Endpoint, AccessKey: cfg.S3AccessKey,
			SecretKey: cfg.S3SecretKey, Bucket: cfg.S3Bucket, UseSSL: cfg.S3UseSSL, Region: cfg.S3Region})
		if err != nil {
			return nil, fmt.Errorf("object store: %w", err)
		}
		return o, nil
	}
	o, err := media.NewDisk(filepath.Join(cfg.DataDir, "media"))
	if err != nil {
		return nil, fmt.Errorf("media dir: %w", err)
	}
	return o, nil
}

func describeStore(cfg Config) string {
	if cfg.MongoURI != "" {
		return "mongodb/" + cfg.MongoDB
	}
	return "sqlite:" + filepath.Join(cfg.DataDir, "db", "vetfield.db")
}

func describeObjects(cfg Config) string {
	if cfg.S3Endpoint != "" {
		return "s3://" + cfg.S3Endpoint + "/" + cfg.S3Bucket
	}
	return "disk:" + filepath.Join(cfg.DataDir, "media")
}

// sweep removes expired counters and the like, and compacts the change log, every few minutes;
// several processes may sweep at once harmlessly.
func sweep(ctx context.Context, store domain.Store, log *slog.Logger) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := store.Sweep(ctx, now); err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("sweep failed", "err", err)
			}
			compactChanges(ctx, store, log)
		}
	}
}

// projectEvery is how often the snapshot index catches up with the change log. A first sync is
// right whatever the index's lag (it reads the log from where the index stops); the lag only
// moves work from the index to the log.
const projectEvery = 5 * time.Second

// project keeps the snapshot index that first syncs read up to date with the change log
// (sync.Service.Project), until ctx is done. Several processes may project at once.
func project(ctx context.Context, svc *vsync.Service, log *slog.Logger) {
	t := time.NewTicker(projectEvery)
	defer t.Stop()
	for {
		filed, started := 0, time.Now()
		for {
			n, done, err := svc.Project(ctx, 100)
			filed += n
			if err != nil {
				if !errors.Is(err, context.Canceled) {
					log.Warn("filing records in the snapshot index failed", "err", err)
				}
				break
			}
			if done || ctx.Err() != nil {
				break
			}
			log.Info("filing records in the snapshot index", "filed", filed, "for", time.Since(started).Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	if w == nil {
		w = os.Stderr
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// metricsMux serves /metrics and nothing else.
func metricsMux(srv *api.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", srv.MetricsHandler())
	return mux
}
