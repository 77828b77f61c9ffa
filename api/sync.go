package api

import (
	"context"
	"net/http"
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	vsync "github.com/vetfield/vetfield/sync"
)

func (s *Server) registerSync() {
	register(s, huma.Operation{
		OperationID: "syncPull", Method: http.MethodGet, Path: "/v1/sync/pull", Tags: []string{"sync"},
		Summary: "Changes in the caller's scope since a checkpoint",
		Description: "Pull until `more` is false, keeping the returned checkpoint after each page. A page never has more " +
			"than `limit` items; an interrupted pull repeats from the last checkpoint. `resync: true` means the user's " +
			"role or territory changed: drop the replica and pull from an empty checkpoint. `format=1` (the default) " +
			"answers a list of items; `format=2` names the page's collections once and each record as " +
			"[collection, id, version, data] (see the README), and a first pull reads the district's records " +
			"directly, reference data first. Send `Accept-Encoding: zstd, gzip`: format 2 " +
			"pages are compressed with zstd when the client takes it, gzip otherwise.",
		Responses: map[string]*huma.Response{"200": {Description: "One page, in the format asked for.",
			Content: map[string]*huma.MediaType{"application/json": {Schema: &huma.Schema{OneOf: []*huma.Schema{
				s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[vsync.PullResult](), true, "PullResult"),
				s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[vsync.Page](), true, "Page"),
			}}}}}},
	}, authenticated, s.syncPull)
	register(s, huma.Operation{
		OperationID: "syncPush", Method: http.MethodPost, Path: "/v1/sync/push", Tags: []string{"sync"},
		Summary: "Apply a batch of offline mutations",
		Description: "Each mutation gets its own result: applied, conflict (the server's record won; the tablet's change " +
			"is kept for a supervisor) or rejected (with a problem). A mutation id seen before answers the same result " +
			"and writes nothing. At most 1 MiB and 1000 mutations.",
		MaxBodyBytes: vsync.MaxPushBytes,
		Extensions:   map[string]any{"x-mutation-kinds": s.kindSchemas()},
	}, authenticated, s.syncPush)
	register(s, huma.Operation{
		OperationID: "listDevices", Method: http.MethodGet, Path: "/v1/devices", Tags: []string{"sync"},
		Summary: "Tablets: last pull and push, how far behind, open conflicts",
	}, roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector), s.listDevices)
}

type pullInput struct {
	Checkpoint     string `query:"checkpoint" maxLength:"512" doc:"From the previous page; empty for a first pull."`
	Limit          int    `query:"limit" minimum:"1" maximum:"5000" default:"500"`
	Format         int    `query:"format" minimum:"1" maximum:"2" default:"1" doc:"The page layout: 1, items; 2, collections named once and records as arrays."`
	Device         string `header:"X-Device-ID" maxLength:"64" doc:"The tablet's own id, for supervision."`
	AcceptEncoding string `header:"Accept-Encoding" maxLength:"256"`
}

type pullOutput struct {
	CacheControl    string `header:"Cache-Control"`
	ContentType     string `header:"Content-Type"`
	ContentEncoding string `header:"Content-Encoding"`
	Vary            string `header:"Vary"`
	// Body is a *vsync.PullResult (format 1) or a format 2 page already laid out and compressed.
	Body any
}

// syncPull answers GET /v1/sync/pull.
func (s *Server) syncPull(ctx context.Context, in *pullInput) (*pullOutput, error) {
	if in.Format != int(vsync.FormatCollections) {
		res, err := s.Sync.Pull(ctx, caller(ctx), in.Device, in.Checkpoint, in.Limit)
		if err != nil {
			return nil, err
		}
		return &pullOutput{CacheControl: "no-store", Body: res}, nil
	}
	page, err := s.Sync.PullPage(ctx, caller(ctx), in.Device, in.Checkpoint, in.Limit)
	if err != nil {
		return nil, err
	}
	body, encoding, err := vsync.CompressPage(page, in.AcceptEncoding)
	if err != nil {
		return nil, err
	}
	return &pullOutput{CacheControl: "no-store", ContentType: "application/json", ContentEncoding: encoding,
		Vary: "Accept-Encoding", Body: body}, nil
}

type pushInput struct {
	Device string `header:"X-Device-ID" maxLength:"64"`
	Body   struct {
		Mutations []vsync.Mutation `json:"mutations" maxItems:"1000"`
	}
}

// PushResult is one mutation's outcome as the API shows it.
type PushResult struct {
	MutationID string      `json:"mutation_id"`
	Status     string      `json:"status" enum:"applied,conflict,rejected"`
	Record     *vsync.Item `json:"record,omitempty"`
	Problem    *Problem    `json:"problem,omitempty"`
}

type pushOutput struct {
	Body struct {
		Results []PushResult `json:"results"`
	}
}

// syncPush answers POST /v1/sync/push.
func (s *Server) syncPush(ctx context.Context, in *pushInput) (*pushOutput, error) {
	results, err := s.Sync.Push(ctx, caller(ctx), in.Device, in.Body.Mutations)
	if err != nil {
		return nil, err
	}
	out := &pushOutput{}
	out.Body.Results = make([]PushResult, len(results))
	for i, r := range results {
		out.Body.Results[i] = PushResult{MutationID: r.MutationID, Status: r.Status, Record: r.Record}
		if rj := r.Rejection; rj != nil {
			status := statusOf[rj.Code]
			if status == 0 {
				status = http.StatusBadRequest
			}
			p := &Problem{ErrorModel: huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: rj.Message}}
			if rj.Field != "" {
				p.Errors = []*huma.ErrorDetail{{Message: rj.Message, Location: rj.Field}}
			}
			if len(rj.Grounds) > 0 {
				p.Grounds = rj.Grounds
			}
			out.Body.Results[i].Problem = p
		}
	}
	return out, nil
}

type devicesInput struct {
	Cursor string `query:"cursor" maxLength:"512"`
	Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type devicesOutput struct {
	Body struct {
		Items      []vsync.DeviceStatus `json:"items"`
		NextCursor string               `json:"next_cursor,omitempty"`
	}
}

// listDevices answers GET /v1/devices.
func (s *Server) listDevices(ctx context.Context, in *devicesInput) (*devicesOutput, error) {
	items, next, err := s.Sync.Devices(ctx, principal(ctx), in.Cursor, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &devicesOutput{}
	out.Body.Items, out.Body.NextCursor = items, next
	return out, nil
}
