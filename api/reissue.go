package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/identification"
)

func (s *Server) registerReissues() {
	register(s, huma.Operation{
		OperationID: "reportTagLoss", Method: http.MethodPost, Path: "/v1/animals/{id}/tag-loss", Tags: []string{"reissues"},
		Summary:       "Report a lost or damaged tag: opens a reissue case awaiting tags",
		Description:   "By a vet of the animal's territory or by its owner. One open case per animal. The id is client-generated.",
		DefaultStatus: http.StatusCreated, Errors: []int{404, 409},
	}, roles(domain.RoleVet, domain.RoleFarmer), s.reportTagLoss)
	register(s, huma.Operation{
		OperationID: "tagsArrived", Method: http.MethodPost, Path: "/v1/reissues/{id}/tags-arrived", Tags: []string{"reissues"},
		Summary: "Record the day the replacement tags arrived: sets the due date",
		Description: "Due at the end of the 2nd working day after the arrival day (Asia/Almaty, the working calendar of " +
			"Kazakhstan). Tags already in stock when the loss was reported count from that day.",
		Errors: []int{404, 409},
	}, roles(domain.RoleVet, domain.RoleAdmin), s.tagsArrived)
	register(s, huma.Operation{
		OperationID: "completeReissue", Method: http.MethodPost, Path: "/v1/reissues/{id}/complete", Tags: []string{"reissues"},
		Summary: "Fit a new number from stock and issue a new passport that supersedes the old one",
		Description: "Refused with 409 before the tags arrived. The old number is retired, linked to the new one and " +
			"never reused. A case completed after its due date is recorded as late.",
		Errors: []int{404, 409},
	}, roles(domain.RoleVet), s.completeReissue)
	register(s, huma.Operation{
		OperationID: "listReissues", Method: http.MethodGet, Path: "/v1/reissues", Tags: []string{"reissues"},
		Summary: "Reissue cases of your territory in one status, in due order, with how many working days overdue",
	}, roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector), s.listReissues)
	register(s, huma.Operation{
		OperationID: "getReissue", Method: http.MethodGet, Path: "/v1/reissues/{id}", Tags: []string{"reissues"},
		Summary: "One reissue case", Errors: []int{404},
	}, authenticated, s.getReissue)
}

// ReissueView is a case as the API shows it.
type ReissueView struct {
	ID        string    `json:"id"`
	AnimalID  string    `json:"animal_id"`
	HoldingID string    `json:"holding_id"`
	Territory string    `json:"territory"`
	OwnerIIN  string    `json:"owner_iin"`
	Kind      string    `json:"kind" enum:"lost,damaged"`
	OldTag    string    `json:"old_tag"`
	Means     string    `json:"means"`
	Note      string    `json:"note,omitempty"`
	Status    string    `json:"status" enum:"awaiting_tags,tags_arrived,completed,withdrawn"`
	OpenedAt  time.Time `json:"opened_at"`
	// ArrivedOn and the rest are absent until they happen.
	ArrivedOn          *domain.CivilDate `json:"arrived_on,omitempty" format:"date"`
	Due                *time.Time        `json:"due,omitempty" doc:"Exclusive: the case is on time when completed before it."`
	DueDay             *domain.CivilDate `json:"due_day,omitempty" format:"date" doc:"The last working day allowed."`
	Overdue            bool              `json:"overdue" doc:"Past due while open, or completed late."`
	WorkingDaysOverdue int               `json:"working_days_overdue"`
	NewTag             string            `json:"new_tag,omitempty"`
	PassportID         string            `json:"passport_id,omitempty"`
	CompletedAt        *time.Time        `json:"completed_at,omitempty"`
	Late               bool              `json:"late" doc:"Completed after the due date."`
	Version            int64             `json:"version"`
}

func (s *Server) viewReissue(ctx context.Context, c *identification.Reissue) (ReissueView, error) {
	clock, err := s.Identification.Reissues.Clock(ctx, c)
	if err != nil {
		return ReissueView{}, err
	}
	v := ReissueView{ID: c.ID, AnimalID: c.AnimalID, HoldingID: c.HoldingID, Territory: string(c.Territory),
		OwnerIIN: string(c.OwnerIIN), Kind: string(c.Kind), OldTag: string(c.OldTag), Means: string(c.Means), Note: c.Note,
		Status: string(c.Status), OpenedAt: c.OpenedAt, Due: c.Due, Overdue: clock.Overdue,
		WorkingDaysOverdue: clock.WorkingDaysOverdue, PassportID: c.PassportID, CompletedAt: c.CompletedAt, Late: c.Late,
		Version: c.Version}
	if c.Status == identification.ReissueCompleted {
		v.NewTag = string(c.NewTag)
	}
	if !c.ArrivedOn.IsZero() {
		v.ArrivedOn, v.DueDay = &c.ArrivedOn, &c.DueDay
	}
	return v, nil
}

type reissueOutput struct {
	Location string `header:"Location"`
	Body     ReissueView
}

func (s *Server) reissueOutput(ctx context.Context, c *identification.Reissue, err error) (*reissueOutput, error) {
	if err != nil {
		return nil, err
	}
	v, err := s.viewReissue(ctx, c)
	if err != nil {
		return nil, err
	}
	return &reissueOutput{Location: "/v1/reissues/" + c.ID, Body: v}, nil
}

type tagLossInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		ID     string `json:"id" maxLength:"36" doc:"Client-generated UUID; it becomes the case's id."`
		Kind   string `json:"kind" enum:"lost,damaged"`
		Number string `json:"number,omitempty" maxLength:"32" doc:"The number lost; default the animal's individual number."`
		Note   string `json:"note,omitempty" maxLength:"1000"`
	}
}

// reportTagLoss answers POST /v1/animals/{id}/tag-loss.
func (s *Server) reportTagLoss(ctx context.Context, in *tagLossInput) (*reissueOutput, error) {
	b := in.Body
	c, err := s.Identification.Reissues.ReportTagLoss(ctx, principal(ctx), in.ID, identification.TagLoss{ID: b.ID,
		Kind: identification.TagStatus(b.Kind), Number: b.Number, Note: b.Note})
	return s.reissueOutput(ctx, c, err)
}

type tagsArrivedInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Date domain.CivilDate `json:"date" format:"date" doc:"The day the tags arrived at the unit (not in the future)."`
	}
}

// tagsArrived answers POST /v1/reissues/{id}/tags-arrived.
func (s *Server) tagsArrived(ctx context.Context, in *tagsArrivedInput) (*reissueOutput, error) {
	c, err := s.Identification.Reissues.TagsArrived(ctx, principal(ctx), in.ID, in.Body.Date)
	return s.reissueOutput(ctx, c, err)
}

type completeInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Number string `json:"number" maxLength:"32" doc:"The new number, from your unit's stock."`
		Means  string `json:"means,omitempty" enum:"ear_tag,bolus,chip" doc:"Default: the means of the lost number."`
	}
}

// completeReissue answers POST /v1/reissues/{id}/complete.
func (s *Server) completeReissue(ctx context.Context, in *completeInput) (*reissueOutput, error) {
	c, err := s.Identification.Reissues.Complete(ctx, principal(ctx), in.ID, identification.ReissueCompletion{
		Number: in.Body.Number, Means: domain.IDMeans(in.Body.Means)})
	return s.reissueOutput(ctx, c, err)
}

// getReissue answers GET /v1/reissues/{id}.
func (s *Server) getReissue(ctx context.Context, in *idInput) (*reissueOutput, error) {
	c, err := s.Identification.Reissues.Get(ctx, principal(ctx), in.ID)
	return s.reissueOutput(ctx, c, err)
}

type listReissuesInput struct {
	Status  string `query:"status" enum:"awaiting_tags,tags_arrived,completed,withdrawn" default:"tags_arrived"`
	Overdue bool   `query:"overdue" doc:"Only cases past their due date: open ones now, completed ones that were late."`
	Cursor  string `query:"cursor" maxLength:"512"`
	Limit   int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type listReissuesOutput struct{ Body Page[ReissueView] }

// listReissues answers GET /v1/reissues.
func (s *Server) listReissues(ctx context.Context, in *listReissuesInput) (*listReissuesOutput, error) {
	cs, next, err := s.Identification.Reissues.List(ctx, principal(ctx), identification.ReissueFilter{
		Status: identification.ReissueStatus(in.Status), Overdue: in.Overdue, After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &listReissuesOutput{Body: Page[ReissueView]{Items: make([]ReissueView, 0, len(cs)), NextCursor: next}}
	for _, c := range cs {
		v, err := s.viewReissue(ctx, c)
		if err != nil {
			return nil, err
		}
		out.Body.Items = append(out.Body.Items, v)
	}
	return out, nil
}
