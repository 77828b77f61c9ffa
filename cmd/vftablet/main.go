// Command vftablet is a tablet in a terminal: it keeps a replica of a user's records in a
// directory, queues changes made offline and syncs them with a vetfield server, using the
// reference client in sync/client. Field engineers use it to reproduce a tablet's behaviour;
// load tests use it as a fleet of tablets.
//
//	vftablet -server http://127.0.0.1:8080 -user vet.bayzak sync
//	vftablet revoke <document id> "reason"   # queued; sent by the next sync
//	vftablet photo <inspection id> photo.jpg  # queued; uploaded by the next sync, resumed after drops
//	vftablet status
package main

import (
	"context"
	"flag"
	"fmt"
	"mime"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain/documents"
	vsync "github.com/vetfield/vetfield/sync"
	"github.com/vetfield/vetfield/sync/client"
)

func main() {
	server := flag.String("server", envOr("VFTABLET_SERVER", "http://127.0.0.1:8080"), "vetfield server URL (VFTABLET_SERVER)")
	dir := flag.String("dir", envOr("VFTABLET_DIR", "./tablet"), "directory of the replica (VFTABLET_DIR)")
	device := flag.String("device", envOr("VFTABLET_DEVICE", hostname()), "this tablet's id (VFTABLET_DEVICE)")
	user := flag.String("user", os.Getenv("VFTABLET_USER"), "username (VFTABLET_USER)")
	password := flag.String("password", "", "password (better: VFTABLET_PASSWORD)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: vftablet [flags] sync|pull|push|status|revoke <document id> <reason>|photo <inspection id> <file>\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *password == "" {
		*password = os.Getenv("VFTABLET_PASSWORD")
	}
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *server, *dir, *device, *user, *password, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "vftablet:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, server, dir, device, user, password string, args []string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	c, err := client.Open(dir, server, device, user, password)
	if err != nil {
		return err
	}
	defer c.Close()
	start := time.Now()
	switch args[0] {
	case "sync":
		if err := c.Push(ctx); err != nil {
			return err
		}
		photos, err := c.UploadPhotos(ctx)
		if err != nil {
			return err
		}
		n, err := c.Pull(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("pushed the queue, uploaded %d photos (%d resumed, %d failed), pulled %d changes in %v\n",
			photos.Uploaded, photos.Resumes, photos.Failed, n, time.Since(start).Round(time.Millisecond))
	case "pull":
		n, err := c.Pull(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("pulled %d changes in %v\n", n, time.Since(start).Round(time.Millisecond))
	case "push":
		if err := c.Push(ctx); err != nil {
			return err
		}
		fmt.Println("pushed the queue")
	case "status":
		return status(ctx, c)
	case "revoke":
		if len(args) != 3 {
			return fmt.Errorf("revoke takes a document id and a reason")
		}
		docs, err := c.Records(ctx, documents.DocumentsSpec.Name)
		if err != nil {
			return err
		}
		d, ok := docs[args[1]]
		if !ok {
			return fmt.Errorf("document %s is not in the replica: sync first", args[1])
		}
		data := fmt.Appendf(nil, `{"reason":%q}`, args[2])
		m := vsync.Mutation{ID: client.NewID(), Kind: "document.revoke", RecordID: args[1], BaseVersion: d.Version, Data: data}
		if err := c.Enqueue(ctx, m); err != nil {
			return err
		}
		fmt.Println("queued", m.ID)
	case "photo":
		if len(args) != 3 {
			return fmt.Errorf("photo takes an inspection id and a file")
		}
		ct := mime.TypeByExtension(strings.ToLower(filepath.Ext(args[2])))
		p := client.Photo{ID: client.NewID(), InspectionID: args[1], ContentType: ct, Path: args[2]}
		if err := c.EnqueuePhoto(ctx, p); err != nil {
			return err
		}
		fmt.Println("queued photo", p.ID)
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
	return nil
}

func status(ctx context.Context, c *client.Client) error {
	q, err := c.Queue(ctx)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for _, r := range q {
		counts[r.State]++
	}
	docs, err := c.Records(ctx, documents.DocumentsSpec.Name)
	if err != nil {
		return err
	}
	photos, err := c.Photos(ctx)
	if err != nil {
		return err
	}
	pc := map[string]int{}
	for _, p := range photos {
		pc[p.State]++
	}
	fmt.Printf("replica: %d documents\nqueue: %d queued, %d applied, %d conflict, %d rejected\nphotos: %d queued, %d uploaded, %d failed\n",
		len(docs), counts["queued"], counts[vsync.Applied], counts[vsync.Conflict], counts[vsync.Rejected],
		pc[client.PhotoQueued], pc[client.PhotoUploaded], pc[client.PhotoFailed])
	for _, r := range q {
		if r.State == vsync.Conflict || r.State == vsync.Rejected {
			fmt.Printf("  %s %s %s: %s\n", r.State, r.Mutation.Kind, r.Mutation.RecordID, r.Answer)
		}
	}
	for _, p := range photos {
		if p.State == client.PhotoFailed {
			fmt.Printf("  failed photo %s of inspection %s: %s\n", p.ID, p.InspectionID, p.Problem)
		}
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "vftablet"
	}
	return h
}
