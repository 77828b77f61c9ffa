package identification

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// Tag stock. An admin allocates ranges of ISO 11784 numbers to a veterinary unit (a unit is a
// territory: a vet's unit is their territory, and a range of a unit serves every vet working
// within it). A number in a range is in stock until it is fitted to an animal; it is then fitted
// at most once, ever, and ends lost, damaged or retired, never in stock again.
//
// Ranges can hold many thousand numbers, so allocation writes one range record, not one record per
// number. A number gets its own record (TagRecord, id = the number) the first time something
// happens to it. Fitting inserts that record if absent: the store's insert-if-absent is the one
// atomic step that makes "fitted at most once" hold with many vets and many processes at once.

// TagStatus is the state of one number.
type TagStatus string

// Number states. InStock has no record unless a claim was undone (see TagStock.release).
const (
	TagInStock TagStatus = "in_stock"
	TagFitted  TagStatus = "fitted"
	TagLost    TagStatus = "lost"
	TagDamaged TagStatus = "damaged"
	TagRetired TagStatus = "retired"
)

// MaxRangeSize bounds one allocation.
const MaxRangeSize = 100_000

// TagRange is a range of numbers allocated to a unit, First to Last inclusive. Ranges never
// overlap.
type TagRange struct {
	domain.Meta
	Unit  domain.Kato    `json:"unit"`
	Means domain.IDMeans `json:"means"`
	// First and Last are the numbers as integers, so ranges can be found by an indexed bound.
	First       int64     `json:"first"`
	Last        int64     `json:"last"`
	Note        string    `json:"note,omitempty"`
	AllocatedAt time.Time `json:"allocated_at"`
	AllocatedBy string    `json:"allocated_by"`
}

// Size is how many numbers the range holds.
func (r *TagRange) Size() int64 { return r.Last - r.First + 1 }

// FirstTag and LastTag are the range's bounds as numbers.
func (r *TagRange) FirstTag() domain.EarTag { return domain.EarTagOf(r.First) }

// LastTag is the last number of the range.
func (r *TagRange) LastTag() domain.EarTag { return domain.EarTagOf(r.Last) }

// TagRangesSpec declares the ranges. Synced to the unit's tablets, so they can tell offline which
// numbers are theirs to fit.
var TagRangesSpec = domain.CollectionSpec{
	Name:   "tag_ranges",
	Synced: true,
	Indexes: []domain.Index{
		{Name: "tag_ranges_first", Fields: []string{"first"}, Unique: true},
		{Name: "tag_ranges_unit", Fields: []string{"unit", "first"}},
	},
}

// tagLedger is the one document every allocation passes through. Without transactions across
// documents, checking that a new range overlaps none and inserting it are two steps; the ledger
// makes them safe: an allocator first swaps its range in as Pending (compare-and-swap on the
// ledger's version, which any other allocation moves), then inserts it, then clears Pending. An
// allocator that finds a Pending range finishes it first, so a crash in between loses nothing.
type tagLedger struct {
	domain.Meta
	Pending *TagRange `json:"pending,omitempty"`
}

// TagLedgerSpec declares the allocation ledger.
var TagLedgerSpec = domain.CollectionSpec{Name: "tag_ledger"}

const tagLedgerID = "ranges"

// ledgerRetries bounds an allocation's turns at the ledger.
const ledgerRetries = 64

// TagStock allocates ranges and keeps each number's state.
type TagStock struct {
	Store domain.Store
	Now   domain.Clock
}

// NewTagRange is what an admin allocates.
type NewTagRange struct {
	// ID is client-generated (a UUID), so a retried allocation answers the first one's range.
	ID    string
	Unit  string
	Means domain.IDMeans
	First string
	// Last or Count gives the end; Count wins when both are set.
	Last  string
	Count int64
	Note  string
}

// Allocate gives a unit a range of numbers. A range overlapping any other is refused with 409,
// naming the other range; nothing is written.
func (ts *TagStock) Allocate(ctx context.Context, by domain.Principal, in NewTagRange) (*TagRange, error) {
	if by.Role != domain.RoleAdmin {
		return nil, domain.Errorf(domain.EFORBIDDEN, "only admins allocate tag stock")
	}
	r := &TagRange{Means: in.Means, AllocatedAt: ts.Now().UTC(), AllocatedBy: by.UserID}
	var err error
	if in.ID == "" {
		r.ID = domain.NewID()
	} else if r.ID, err = domain.ParseClientID(in.ID, "id"); err != nil {
		return nil, err
	}
	if r.Unit, err = domain.ParseKato(in.Unit); err != nil {
		return nil, domain.AtField("unit", err)
	}
	if r.Means == "" {
		r.Means = domain.MeansEarTag
	}
	if !r.Means.Stocked() {
		return nil, domain.Invalid("means", "stock holds ear tags, boluses or chips")
	}
	first, err := domain.ParseEarTag(in.First)
	if err != nil {
		return nil, domain.AtField("first", err)
	}
	r.First = first.Int()
	switch {
	case in.Count != 0:
		if in.Count < 1 || in.Count > MaxRangeSize {
			return nil, domain.Invalid("count", "a range holds 1 to %d numbers", MaxRangeSize)
		}
		r.Last = r.First + in.Count - 1
		if _, err := domain.ParseEarTag(string(domain.EarTagOf(r.Last))); err != nil {
			return nil, domain.Invalid("count", "the range would run past %s999999999999", domain.CountryKZ)
		}
	case in.Last != "":
		last, err := domain.ParseEarTag(in.Last)
		if err != nil {
			return nil, domain.AtField("last", err)
		}
		r.Last = last.Int()
		if r.Last < r.First || r.Size() > MaxRangeSize {
			return nil, domain.Invalid("last", "last is at or after first, and a range holds at most %d numbers", MaxRangeSize)
		}
	default:
		return nil, domain.Invalid("count", "give the last number or the count")
	}
	if r.Note, err = domain.TrimmedLines(in.Note, "note", 500, true); err != nil {
		return nil, err
	}
	return ts.allocate(ctx, r, in.ID != "")
}

// allocate runs the ledger protocol described at tagLedger.
func (ts *TagStock) allocate(ctx context.Context, r *TagRange, retryable bool) (*TagRange, error) {
	for attempt := range ledgerRetries {
		if attempt > 0 {
			// Allocations are rare and all pass through the ledger: back off a little, at random,
			// so that several at once take turns instead of colliding again.
			select {
			case <-ctx.Done():
				return nil, domain.Internal("allocate", ctx.Err())
			case <-time.After(time.Duration(rand.IntN(1000*min(attempt, 20))) * time.Microsecond):
			}
		}
		if retryable {
			if old, err := domain.GetEntity[TagRange](ctx, ts.Store, TagRangesSpec.Name, r.ID); err == nil {
				if old.First != r.First || old.Last != r.Last || old.Unit != r.Unit {
					return nil, &domain.Error{Code: domain.ECONFLICT, Field: "id", Message: "this id names another range; generate a new one"}
				}
				return old, nil
			} else if !domain.IsCode(err, domain.ENOTFOUND) {
				return nil, err
			}
		}
		l, err := ts.ledger(ctx)
		if err != nil {
			return nil, err
		}
		if l.Pending != nil {
			if err := ts.finishPending(ctx, l); err != nil && !domain.IsCode(err, domain.ECONFLICT) {
				return nil, err
			}
			continue
		}
		if other, err := ts.overlapping(ctx, r.First, r.Last); err != nil {
			return nil, err
		} else if other != nil {
			return nil, &domain.Error{Code: domain.ECONFLICT, Field: "first", Message: fmt.Sprintf(
				"the range overlaps range %s to %s of unit %s", other.FirstTag(), other.LastTag(), other.Unit)}
		}
		pending := *r
		l.Pending = &pending
		if err := ts.saveLedger(ctx, l); domain.IsCode(err, domain.ECONFLICT) {
			continue // another allocation moved the ledger: check again
		} else if err != nil {
			return nil, err
		}
		if err := ts.finishPending(ctx, l); err != nil && !domain.IsCode(err, domain.ECONFLICT) {
			return nil, err
		}
		return domain.GetEntity[TagRange](ctx, ts.Store, TagRangesSpec.Name, r.ID)
	}
	return nil, domain.Busy("tag stock is being allocated concurrently; try again")
}

func (ts *TagStock) ledger(ctx context.Context) (*tagLedger, error) {
	l, err := domain.GetEntity[tagLedger](ctx, ts.Store, TagLedgerSpec.Name, tagLedgerID)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return &tagLedger{Meta: domain.Meta{ID: tagLedgerID}}, nil
	}
	return l, err
}

func (ts *TagStock) saveLedger(ctx context.Context, l *tagLedger) error {
	if l.Version == 0 {
		return domain.InsertEntity(ctx, ts.Store, TagLedgerSpec.Name, l, nil)
	}
	return domain.UpdateEntity(ctx, ts.Store, TagLedgerSpec.Name, l, nil)
}

// finishPending inserts the ledger's pending range (if a crash left it out) and clears it.
func (ts *TagStock) finishPending(ctx context.Context, l *tagLedger) error {
	r := *l.Pending
	r.Version = 0
	if err := domain.InsertEntity(ctx, ts.Store, TagRangesSpec.Name, &r, []string{domain.ScopeTerritory(r.Unit)}); err != nil && !domain.IsCode(err, domain.ECONFLICT) {
		return err
	}
	l.Pending = nil
	return ts.saveLedger(ctx, l)
}

// overlapping returns a range sharing a number with [first, last], or nil. Ranges never overlap
// each other, so the one with the greatest First at or below last is the only candidate.
func (ts *TagStock) overlapping(ctx context.Context, first, last int64) (*TagRange, error) {
	rs, _, err := domain.ListEntities[TagRange](ctx, ts.Store, TagRangesSpec.Name,
		domain.Query{Index: "tag_ranges_first", To: last + 1, Desc: true, Limit: 1})
	if err != nil || len(rs) == 0 || rs[0].Last < first {
		return nil, err
	}
	return rs[0], nil
}

// rangeOf returns the range holding tag, or nil.
func (ts *TagStock) rangeOf(ctx context.Context, tag domain.EarTag) (*TagRange, error) {
	n := tag.Int()
	return ts.overlapping(ctx, n, n)
}

// TagRangeFilter selects ranges to list.
type TagRangeFilter struct {
	// Unit lists one unit's ranges; empty lists a staff member's own unit, or every range for an
	// admin.
	Unit  string
	After string
	Limit int
}

// Ranges pages through allocated ranges by their first number. Staff see the ranges of their own
// unit, of the units above it (whose stock they may fit) and of the units beneath it.
func (ts *TagStock) Ranges(ctx context.Context, by domain.Principal, f TagRangeFilter) ([]*TagRange, string, error) {
	q := domain.Query{Index: "tag_ranges_first", After: f.After, Limit: f.Limit}
	unit := domain.Kato("")
	if f.Unit != "" {
		k, err := domain.ParseKato(f.Unit)
		if err != nil {
			return nil, "", domain.AtField("unit", err)
		}
		unit = k
	} else if by.Role != domain.RoleAdmin {
		unit = by.Territory
	}
	if unit != "" {
		if by.Role != domain.RoleAdmin && !by.CanSeeTerritory(unit) && !unit.Covers(by.Territory) {
			return []*TagRange{}, "", nil
		}
		q = domain.Query{Index: "tag_ranges_unit", Eq: []any{string(unit)}, After: f.After, Limit: f.Limit}
	}
	return domain.ListEntities[TagRange](ctx, ts.Store, TagRangesSpec.Name, q)
}

// TagInfo is what a number's state looks like to a caller.
type TagInfo struct {
	Number domain.EarTag
	Range  *TagRange
	// Record is nil while the number is in stock and nothing has happened to it.
	Record *TagRecord
}

// Status returns the number's state.
func (i TagInfo) Status() TagStatus {
	if i.Record == nil {
		return TagInStock
	}
	return i.Record.Status
}

// Lookup tells staff of the unit (and admins) what became of a number. A number of no range, or of
// another unit's range, is ENOTFOUND.
func (ts *TagStock) Lookup(ctx context.Context, by domain.Principal, number string) (TagInfo, error) {
	tag, err := domain.ParseEarTag(number)
	if err != nil {
		return TagInfo{}, domain.AtField("number", err)
	}
	r, err := ts.rangeOf(ctx, tag)
	if err != nil {
		return TagInfo{}, err
	}
	if r == nil || (by.Role != domain.RoleAdmin && !by.CanSeeTerritory(r.Unit) && !r.Unit.Covers(by.Territory)) {
		return TagInfo{}, domain.Errorf(domain.ENOTFOUND, "number %s is in no stock you can see", tag)
	}
	info := TagInfo{Number: tag, Range: r}
	rec, err := ts.NumberRecord(ctx, tag)
	if err == nil {
		info.Record = rec
	} else if !domain.IsCode(err, domain.ENOTFOUND) {
		return TagInfo{}, err
	}
	return info, nil
}
