package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of the server. Each has an environment variable and a flag twin; a flag
// wins over the variable, which wins over the default.
type Config struct {
	Addr          string
	DataDir       string
	PublicURL     string
	AdminPassword string
	KeysDir       string
	LogLevel      string

	MongoURI string
	MongoDB  string

	S3Endpoint  string
	S3AccessKey string
	S3SecretKey string
	S3Bucket    string
	S3UseSSL    bool
	S3Region    string

	// MaxPhotoMiB limits one photo's size.
	MaxPhotoMiB int
	// PublicRate limits requests per minute per address to the public verification routes.
	PublicRate int
	// MetricsAddr is where /metrics is served, apart from the API; empty serves none.
	MetricsAddr string
	// SQLiteDurability is when the embedded database syncs a commit: full (at every commit) or
	// normal (at checkpoints).
	SQLiteDurability string

	Issuer          string
	Audience        string
	AccessTTL       time.Duration
	RefreshTTL      time.Duration
	ShutdownTimeout time.Duration
	// MovementWindow is how long the destination has to confirm a movement's receipt;
	// ReferenceValidity how long after its issue a reference covers a dispatch.
	MovementWindow    time.Duration
	ReferenceValidity time.Duration
}

// setting describes one configuration entry for flags, the environment and -h.
type setting struct {
	flag, env, usage string
	secret           bool
	// bind declares the flag with def as its default; it fails when def (which may come from the
	// environment) does not parse.
	bind func(fs *flag.FlagSet, name, def, usage string) error
	def  string
}

func (c *Config) settings() []setting {
	type binder = func(*flag.FlagSet, string, string, string) error
	str := func(p *string) binder {
		return func(fs *flag.FlagSet, n, d, u string) error { fs.StringVar(p, n, d, u); return nil }
	}
	dur := func(p *time.Duration) binder {
		return func(fs *flag.FlagSet, n, d, u string) error {
			v, err := time.ParseDuration(d)
			if err != nil || v <= 0 {
				return fmt.Errorf("%q is not a positive duration like 15m or 8s", d)
			}
			fs.DurationVar(p, n, v, u)
			return nil
		}
	}
	integer := func(p *int, lo, hi int) binder {
		return func(fs *flag.FlagSet, n, d, u string) error {
			v, err := strconv.Atoi(d)
			if err != nil || v < lo || v > hi {
				return fmt.Errorf("%q is not a whole number from %d to %d", d, lo, hi)
			}
			fs.IntVar(p, n, v, u)
			return nil
		}
	}
	boolean := func(p *bool) binder {
		return func(fs *flag.FlagSet, n, d, u string) error {
			v, err := strconv.ParseBool(d)
			if err != nil {
				return fmt.Errorf("%q is not true or false", d)
			}
			fs.BoolVar(p, n, v, u)
			return nil
		}
	}
	return []setting{
		{flag: "addr", env: "VETFIELD_ADDR", def: "127.0.0.1:8080", usage: "address to listen on", bind: str(&c.Addr)},
		{flag: "data-dir", env: "VETFIELD_DATA_DIR", def: "./data", usage: "directory for the embedded database (db/), photos (media/) and keys (keys/)", bind: str(&c.DataDir)},
		{flag: "public-url", env: "VETFIELD_PUBLIC_URL", def: "", usage: "address people and QR codes reach this service at (default http://<addr>)", bind: str(&c.PublicURL)},
		{flag: "admin-password", env: "VETFIELD_ADMIN_PASSWORD", def: "", secret: true, usage: "password of the 'admin' account created on first start (default: generated and logged once)", bind: str(&c.AdminPassword)},
		{flag: "keys-dir", env: "VETFIELD_KEYS_DIR", def: "", usage: "directory of signing keys, shared by every process of a deployment (default <data-dir>/keys)", bind: str(&c.KeysDir)},
		{flag: "log-level", env: "VETFIELD_LOG_LEVEL", def: "info", usage: "debug, info, warn or error", bind: str(&c.LogLevel)},
		{flag: "sqlite-durability", env: "VETFIELD_SQLITE_DURABILITY", def: "full", usage: "full: every write answered applied is on disk; normal: faster, but a power loss can roll back the last writes answered", bind: str(&c.SQLiteDurability)},
		{flag: "mongo-uri", env: "VETFIELD_MONGO_URI", def: "", secret: true, usage: "MongoDB connection string; empty uses the embedded SQLite database", bind: str(&c.MongoURI)},
		{flag: "mongo-db", env: "VETFIELD_MONGO_DB", def: "vetfield", usage: "MongoDB database name", bind: str(&c.MongoDB)},
		{flag: "s3-endpoint", env: "VETFIELD_S3_ENDPOINT", def: "", usage: "MinIO/S3 host:port; empty keeps photos on local disk", bind: str(&c.S3Endpoint)},
		{flag: "s3-access-key", env: "VETFIELD_S3_ACCESS_KEY", def: "", usage: "MinIO/S3 access key", bind: str(&c.S3AccessKey)},
		{flag: "s3-secret-key", env: "VETFIELD_S3_SECRET_KEY", def: "", secret: true, usage: "MinIO/S3 secret key", bind: str(&c.S3SecretKey)},
		{flag: "s3-bucket", env: "VETFIELD_S3_BUCKET", def: "vetfield", usage: "bucket for photos; created if missing, never public", bind: str(&c.S3Bucket)},
		{flag: "s3-use-ssl", env: "VETFIELD_S3_USE_SSL", def: "false", usage: "reach MinIO/S3 over TLS", bind: boolean(&c.S3UseSSL)},
		{flag: "s3-region", env: "VETFIELD_S3_REGION", def: "", usage: "S3 region, if the service needs one", bind: str(&c.S3Region)},
		{flag: "max-photo-mib", env: "VETFIELD_MAX_PHOTO_MIB", def: "20", usage: "largest photo accepted, in MiB (1 to 200)", bind: integer(&c.MaxPhotoMiB, 1, 200)},
		{flag: "public-rate", env: "VETFIELD_PUBLIC_RATE", def: "120", usage: "requests per minute one address may make to the public verification routes", bind: integer(&c.PublicRate, 1, 100000)},
		{flag: "metrics-addr", env: "VETFIELD_METRICS_ADDR", def: "127.0.0.1:9464", usage: "address of /metrics, apart from the API (loopback: for a collector on this machine); empty serves no metrics", bind: str(&c.MetricsAddr)},
		{flag: "issuer", env: "VETFIELD_ISSUER", def: "vetfield", usage: "the 'iss' of access tokens", bind: str(&c.Issuer)},
		{flag: "audience", env: "VETFIELD_AUDIENCE", def: "vetfield-api", usage: "the 'aud' of access tokens", bind: str(&c.Audience)},
		{flag: "access-ttl", env: "VETFIELD_ACCESS_TTL", def: "15m", usage: "life of an access token", bind: dur(&c.AccessTTL)},
		{flag: "refresh-ttl", env: "VETFIELD_REFRESH_TTL", def: "720h", usage: "how long an unused session lives", bind: dur(&c.RefreshTTL)},
		{flag: "shutdown-timeout", env: "VETFIELD_SHUTDOWN_TIMEOUT", def: "8s", usage: "how long in-flight requests may take to finish on SIGTERM", bind: dur(&c.ShutdownTimeout)},
		{flag: "movement-window", env: "VETFIELD_MOVEMENT_WINDOW", def: "48h", usage: "how long the destination has to confirm a movement's receipt before it is overdue", bind: dur(&c.MovementWindow)},
		{flag: "reference-validity", env: "VETFIELD_REFERENCE_VALIDITY", def: "72h", usage: "how long after its issue a veterinary reference covers a dispatch", bind: dur(&c.ReferenceValidity)},
	}
}

// ParseConfig reads the environment (through getenv) and then args.
func ParseConfig(args []string, getenv func(string) string, out io.Writer) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("vetfield", flag.ContinueOnError)
	fs.SetOutput(out)
	settings := c.settings()
	for _, s := range settings {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		if err := s.bind(fs, s.flag, def, s.usage); err != nil {
			return nil, fmt.Errorf("%s: %w", s.env, err)
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "vetfield — the API behind veterinary field work.\n\nUsage: vetfield [flags]\n\n"+
			"Every setting can be given as a flag or as an environment variable:\n\n")
		for _, s := range settings {
			def := s.def
			if s.secret && def != "" {
				def = "(hidden)"
			}
			if def == "" {
				def = `""`
			}
			fmt.Fprintf(out, "  -%-18s %-26s default %s\n      %s\n", s.flag, s.env, def, s.usage)
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.KeysDir == "" {
		c.KeysDir = c.DataDir + "/keys"
	}
	if c.S3Endpoint != "" && (c.S3AccessKey == "" || c.S3SecretKey == "") {
		return nil, fmt.Errorf("VETFIELD_S3_ENDPOINT is set: VETFIELD_S3_ACCESS_KEY and VETFIELD_S3_SECRET_KEY are needed too")
	}
	return c, nil
}
