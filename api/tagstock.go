package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/identification"
)

func (s *Server) registerTagStock() {
	staff := roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector)
	register(s, huma.Operation{
		OperationID: "allocateTagRange", Method: http.MethodPost, Path: "/v1/tag-ranges", Tags: []string{"tag stock"},
		Summary: "Allocate a range of ISO 11784 numbers to a veterinary unit",
		Description: "A unit is a territory (KATO code); vets whose territory lies within it fit its numbers. " +
			"A range overlapping another is refused with 409. With a client-generated id, a retry answers the same range.",
		DefaultStatus: http.StatusCreated, Errors: []int{409},
	}, roles(domain.RoleAdmin), s.allocateTagRange)
	register(s, huma.Operation{
		OperationID: "listTagRanges", Method: http.MethodGet, Path: "/v1/tag-ranges", Tags: []string{"tag stock"},
		Summary: "Allocated ranges, by first number: of one unit, of your own unit by default",
	}, staff, s.listTagRanges)
	register(s, huma.Operation{
		OperationID: "getTag", Method: http.MethodGet, Path: "/v1/tags/{number}", Tags: []string{"tag stock"},
		Summary:     "What became of a number: in_stock, fitted, lost, damaged or retired",
		Description: "A number outside any range you can see answers 404.",
		Errors:      []int{404},
	}, staff, s.getTag)
}

// TagRangeView is an allocated range.
type TagRangeView struct {
	ID          string         `json:"id"`
	Unit        string         `json:"unit" doc:"KATO code of the veterinary unit."`
	Means       domain.IDMeans `json:"means" enum:"ear_tag,bolus,chip"`
	First       string         `json:"first"`
	Last        string         `json:"last"`
	Count       int64          `json:"count"`
	Note        string         `json:"note,omitempty"`
	AllocatedAt time.Time      `json:"allocated_at"`
}

func viewTagRange(r *identification.TagRange) TagRangeView {
	return TagRangeView{ID: r.ID, Unit: string(r.Unit), Means: r.Means, First: string(r.FirstTag()),
		Last: string(r.LastTag()), Count: r.Size(), Note: r.Note, AllocatedAt: r.AllocatedAt}
}

type allocateInput struct {
	Body struct {
		ID    string `json:"id,omitempty" maxLength:"36" doc:"Client-generated UUID, so a retry is recognised."`
		Unit  string `json:"unit" maxLength:"9" doc:"KATO code of the veterinary unit."`
		Means string `json:"means,omitempty" enum:"ear_tag,bolus,chip" doc:"Default ear_tag."`
		First string `json:"first" maxLength:"32" doc:"15 digits starting with 398."`
		Last  string `json:"last,omitempty" maxLength:"32" doc:"Give last or count."`
		Count int64  `json:"count,omitempty" minimum:"1" maximum:"100000"`
		Note  string `json:"note,omitempty" maxLength:"1000" doc:"The delivery note or batch, for whoever checks."`
	}
}

type tagRangeOutput struct{ Body TagRangeView }

// allocateTagRange answers POST /v1/tag-ranges.
func (s *Server) allocateTagRange(ctx context.Context, in *allocateInput) (*tagRangeOutput, error) {
	b := in.Body
	r, err := s.Identification.Stock.Allocate(ctx, principal(ctx), identification.NewTagRange{ID: b.ID, Unit: b.Unit,
		Means: domain.IDMeans(b.Means), First: b.First, Last: b.Last, Count: b.Count, Note: b.Note})
	if err != nil {
		return nil, err
	}
	return &tagRangeOutput{Body: viewTagRange(r)}, nil
}

type listTagRangesInput struct {
	Unit   string `query:"unit" maxLength:"9"`
	Cursor string `query:"cursor" maxLength:"512"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type listTagRangesOutput struct{ Body Page[TagRangeView] }

// listTagRanges answers GET /v1/tag-ranges.
func (s *Server) listTagRanges(ctx context.Context, in *listTagRangesInput) (*listTagRangesOutput, error) {
	rs, next, err := s.Identification.Stock.Ranges(ctx, principal(ctx), identification.TagRangeFilter{Unit: in.Unit,
		After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &listTagRangesOutput{Body: Page[TagRangeView]{Items: make([]TagRangeView, 0, len(rs)), NextCursor: next}}
	for _, r := range rs {
		out.Body.Items = append(out.Body.Items, viewTagRange(r))
	}
	return out, nil
}

// TagView is the state of one number.
type TagView struct {
	Number     string                   `json:"number"`
	Status     identification.TagStatus `json:"status" enum:"in_stock,fitted,lost,damaged,retired"`
	Means      domain.IDMeans           `json:"means"`
	Unit       string                   `json:"unit"`
	RangeID    string                   `json:"range_id"`
	AnimalID   string                   `json:"animal_id,omitempty"`
	FittedAt   *time.Time               `json:"fitted_at,omitempty"`
	EndedAt    *time.Time               `json:"ended_at,omitempty"`
	ReplacedBy string                   `json:"replaced_by,omitempty"`
}

type tagInput struct {
	Number string `path:"number" maxLength:"32"`
}

type tagOutput struct{ Body TagView }

// getTag answers GET /v1/tags/{number}.
func (s *Server) getTag(ctx context.Context, in *tagInput) (*tagOutput, error) {
	info, err := s.Identification.Stock.Lookup(ctx, principal(ctx), in.Number)
	if err != nil {
		return nil, err
	}
	v := TagView{Number: string(info.Number), Status: info.Status(), Means: info.Range.Means,
		Unit: string(info.Range.Unit), RangeID: info.Range.ID}
	if r := info.Record; r != nil {
		v.Means = r.Means
		// A unit's stock may serve several districts: which animal carries a number, and when it
		// was fitted, is shown only to whoever may see that animal.
		if _, err := s.Identification.Animals.Get(ctx, principal(ctx), r.AnimalID); err == nil {
			v.AnimalID, v.FittedAt, v.EndedAt, v.ReplacedBy = r.AnimalID, r.FittedAt, r.EndedAt, r.ReplacedBy
		} else if !domain.IsCode(err, domain.ENOTFOUND) {
			return nil, err
		}
	}
	return &tagOutput{Body: v}, nil
}
