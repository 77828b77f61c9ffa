// Command vetfield is the server: with no configuration it keeps everything under ./data (an
// embedded SQLite database, photos on disk, a generated signing key) and listens on
// 127.0.0.1:8080. Run `vetfield -h` for every setting.
//
//	vetfield backup DIR [settings]    a consistent copy of the database, photos and keys, online
//	vetfield restore DIR [settings]   put a backup back into an empty data directory
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "backup" || os.Args[1] == "restore") {
		os.Exit(maintain(os.Args[1], os.Args[2:]))
	}
	cfg, err := ParseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vetfield:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &Main{Config: *cfg, LogOutput: os.Stderr}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "vetfield:", err)
		os.Exit(1)
	}
}

// maintain runs backup or restore: vetfield backup|restore DIR [settings].
func maintain(cmd string, args []string) int {
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		fmt.Fprintf(os.Stderr, "usage: vetfield %s DIR [settings]\n", cmd)
		return 2
	}
	cfg, err := ParseConfig(args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vetfield:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cmd == "backup" {
		err = backup(ctx, *cfg, args[0], os.Stderr)
	} else {
		err = restore(*cfg, args[0], os.Stderr)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "vetfield %s: %v\n", cmd, err)
		return 1
	}
	return 0
}
