package sync

import (
	"context"
	"encoding/json"
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
	// FormatCollections (2) groups a page by collection, so that a collection's name is written
	// once per page and an item is [id, version, data]; documents leave out what a tablet derives
	// (CompactViews); and a first pull of a territory reads the snapshot index, reference data
	// first. It is the layout the reference client uses.
	FormatCollections Format = 2
)

// Page is a pull page in format 2.
type Page struct {
	Collections []Group `json:"collections"`
	Checkpoint  string  `json:"checkpoint"`
	More        bool    `json:"more"`
	Resync      bool    `json:"resync,omitempty"`
}

// Group is a page's records of one collection: Items are [id, version, data], the current state
// to keep unless yours is newer; Removed are [id, version], records that left the caller's scope.
type Group struct {
	Name    string            `json:"name"`
	Items   []json.RawMessage `json:"items,omitempty"`
	Removed []json.RawMessage `json:"removed,omitempty"`
}

// Len is the number of records the page carries.
func (p *Page) Len() int {
	n := 0
	for _, g := range p.Collections {
		n += len(g.Items) + len(g.Removed)
	}
	return n
}

// PullPage answers the changes in the scope of user u since cp, at most limit records, in format
// 2, laid out for the wire (see AppendPage).
func (s *Service) PullPage(ctx context.Context, u *accounts.User, device, cp string, limit int) ([]byte, error) {
	pg, err := s.pull(ctx, u, device, cp, limit, FormatCollections)
	if err != nil {
		return nil, err
	}
	return pg.appendFormat2(make([]byte, 0, 64+len(pg.items)*400)), nil
}

// appendFormat2 lays the page out in format 2. It writes the JSON itself rather than through
// encoding/json, which would check and compact every record's already rendered view again: on a
// first sync of a district that is most of the server's work. Collections appear in the order of
// their first record on the page, so reference data read first stays first.
func (pg *page) appendFormat2(b []byte) []byte {
	var names []string
	byName := map[string][]int{}
	for i, it := range pg.items {
		if _, ok := byName[it.Collection]; !ok {
			names = append(names, it.Collection)
		}
		byName[it.Collection] = append(byName[it.Collection], i)
	}
	b = append(b, `{"format":2,"collections":[`...)
	for gi, name := range names {
		if gi > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, name)
		idx := byName[name]
		for _, removed := range []bool{false, true} {
			first := true
			for _, i := range idx {
				it := &pg.items[i]
				if it.Deleted != removed {
					continue
				}
				switch {
				case first && removed:
					b = append(b, `,"removed":[`...)
				case first:
					b = append(b, `,"items":[`...)
				default:
					b = append(b, ',')
				}
				first = false
				b = append(b, '[')
				b = appendJSONString(b, it.ID)
				b = append(b, ',')
				b = strconv.AppendInt(b, it.Version, 10)
				if !removed {
					b = append(b, ',')
					b = append(b, it.Data...)
				}
				b = append(b, ']')
			}
			if !first {
				b = append(b, ']')
			}
		}
		b = append(b, '}')
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
