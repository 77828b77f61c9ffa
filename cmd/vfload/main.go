// Command vfload drives a running vetfield with a steady, mixed field workload — identifications,
// lookups by number, references, pulls, pushes, public verifications and photo uploads — for a
// bounded time, and reports per route the requests, the failures and the latency percentiles, and
// the server's resident memory at the start and the end (from its /metrics address). It sends
// traffic only to the address it is given; use it against a server on this machine.
//
//	go run ./cmd/vfload -base http://127.0.0.1:8080 -metrics http://127.0.0.1:9464 \
//	    -admin-password … -duration 3m -rate 40 \
//	    -inspector insp1 -inspector-password … -inspections <id>,<id>
//
// Photos are uploaded to inspections whose visit has started, by their executor: a visit starts
// the day after the notice to the legal-statistics body at the earliest, so they are prepared
// beforehand (TestLoad does it in the database before it starts the server). Without
// -inspections the mix has no photos.
//
// It exits 1 if any answer was a 5xx or a request failed outright.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	cfg := Config{}
	flag.StringVar(&cfg.Base, "base", "http://127.0.0.1:8080", "the server's address")
	flag.StringVar(&cfg.Metrics, "metrics", "http://127.0.0.1:9464", "the server's metrics address, for its memory; empty skips")
	flag.StringVar(&cfg.AdminPassword, "admin-password", os.Getenv("VETFIELD_ADMIN_PASSWORD"), "password of admin")
	flag.DurationVar(&cfg.Duration, "duration", 3*time.Minute, "how long to run (at most 30m)")
	flag.IntVar(&cfg.Rate, "rate", 40, "requests per second (at most 500)")
	flag.StringVar(&cfg.Inspector, "inspector", "", "username of the executor of -inspections, for photo uploads")
	flag.StringVar(&cfg.InspectorPassword, "inspector-password", os.Getenv("VFLOAD_INSPECTOR_PASSWORD"), "the executor's password")
	inspections := flag.String("inspections", "", "comma-separated ids of inspections on site, for photo uploads; empty: none")
	flag.Parse()
	if *inspections != "" {
		cfg.Inspections = strings.Split(*inspections, ",")
	}
	if cfg.Duration > 30*time.Minute || cfg.Rate < 1 || cfg.Rate > 500 {
		fmt.Fprintln(os.Stderr, "vfload: duration at most 30m, rate 1 to 500")
		os.Exit(2)
	}
	rep, err := Run(context.Background(), cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vfload:", err)
		os.Exit(1)
	}
	rep.Print(os.Stdout)
	if rep.Failed() {
		os.Exit(1)
	}
}
