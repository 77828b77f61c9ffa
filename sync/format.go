package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/vetfield/vetfield/domain/accounts"
)

// Format is the layout of a pull page on the wire.
type Format int

const (
	// FormatItems (1, the default) is a list of items, each naming its collection, id and
	// version beside the record's API view; a first pull replays the change log.
	FormatItems Format = 1
	// FormatCollections (2) names a page's collections once and each record by their index, as
	// [collection, id, version, data], or [collection, id, version] for a removal; a staff
	// tablet's documents come without their QR code and hash (CompactViews); and a first pull of a
	// territory reads the snapshot index: reference data first, then each animal with its passport
	// and history side by side. It is the layout the reference client uses.
	FormatCollections Format = 2
)

// Page is a pull page in format 2.
type Page struct {
	Format      int      `json:"format" enum:"2"`
	Collections []string `json:"collections" doc:"The collections the records name, by index."`
	// Records are [collection index, id, version, data], the current state to keep unless yours
	// is newer, or [collection index, id, version], a record that left your scope: remove it.
	Records    []json.RawMessage `json:"records"`
	Checkpoint string            `json:"checkpoint"`
	More       bool              `json:"more"`
	Resync     bool              `json:"resync,omitempty"`
}

// Len is the number of records the page carries.
func (p *Page) Len() int { return len(p.Records) }

// Record is one record of a format 2 page, decoded.
type Record struct {
	Collection string
	ID         string
	Version    int64
	// Data is the record's view; nil for a removal.
	Data json.RawMessage
}

// Each decodes the page's records in order and calls fn with each; a malformed record is an
// error, and so is an error of fn, which stops the walk.
func (p *Page) Each(fn func(Record) error) error {
	for i, raw := range p.Records {
		var parts [4]json.RawMessage
		var r Record
		var coll int
		if err := json.Unmarshal(raw, &parts); err != nil || json.Unmarshal(parts[0], &coll) != nil || coll < 0 ||
			coll >= len(p.Collections) || json.Unmarshal(parts[1], &r.ID) != nil || json.Unmarshal(parts[2], &r.Version) != nil {
			return fmt.Errorf("sync: record %d of the page is not [collection, id, version, data]", i)
		}
		r.Collection = p.Collections[coll]
		if len(parts[3]) > 0 {
			r.Data = parts[3]
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// PullPage answers the changes in the scope of user u since cp, at most limit records, in format
// 2, laid out for the wire.
func (s *Service) PullPage(ctx context.Context, u *accounts.User, device, cp string, limit int) ([]byte, error) {
	pg, err := s.pull(ctx, u, device, cp, limit, FormatCollections)
	if err != nil {
		return nil, err
	}
	return pg.appendFormat2(make([]byte, 0, 64+len(pg.items)*400)), nil
}

// appendFormat2 lays the page out in format 2, its records in the order they were read. It writes
// the JSON itself rather than through encoding/json, which would check and compact every record's
// already rendered view again: on a first sync of a district that is most of the server's work.
func (pg *page) appendFormat2(b []byte) []byte {
	var names []string
	index := map[string]int{}
	for _, it := range pg.items {
		if _, ok := index[it.Collection]; !ok {
			index[it.Collection] = len(names)
			names = append(names, it.Collection)
		}
	}
	b = append(b, `{"format":2,"collections":[`...)
	for i, name := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, name)
	}
	b = append(b, `],"records":[`...)
	for i := range pg.items {
		it := &pg.items[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(index[it.Collection]), 10)
		b = append(b, ',')
		b = appendJSONString(b, it.ID)
		b = append(b, ',')
		b = strconv.AppendInt(b, it.Version, 10)
		if !it.Deleted {
			b = append(b, ',')
			b = append(b, it.Data...)
		}
		b = append(b, ']')
	}
	b = append(b, `],"checkpoint":`...)
	b = appendJSONString(b, pg.checkpoint)
	b = append(b, `,"more":`...)
	b = strconv.AppendBool(b, pg.more)
	if pg.resync {
		b = append(b, `,"resync":true`...)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string. Ids and checkpoints are plain ASCII and take the
// fast path; anything else goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	plain := !slices.ContainsFunc([]byte(s), func(c byte) bool {
		return c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&'
	})
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s)
	return append(b, q...)
}
