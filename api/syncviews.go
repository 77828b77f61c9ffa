package api

import (
	"context"
	"slices"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/epizootic"
	"github.com/vetfield/vetfield/domain/health"
	"github.com/vetfield/vetfield/domain/identification"
	"github.com/vetfield/vetfield/domain/inspection"
	"github.com/vetfield/vetfield/domain/lifecycle"
	"github.com/vetfield/vetfield/domain/vetcert"
	vsync "github.com/vetfield/vetfield/sync"
)

// syncViews declares, for every synced collection, what a tablet receives in a pull and in a push
// answer: the very view this API answers for the record, so a tablet and a script read one shape
// and storage bookkeeping (index fields, hashes of requests, applied mutation ids) never leaves the
// server. TestEverySyncedCollectionHasAView keeps the list complete.
func (s *Server) syncViews() map[string]vsync.View {
	return map[string]vsync.View{
		documents.DocumentsSpec.Name: viewOf(func(_ context.Context, d *documents.Document) (any, error) {
			return s.viewDocument(d), nil
		}),
		domain.CalendarSpec.Name: viewOf(func(_ context.Context, y *domain.CalendarYear) (any, error) {
			return viewCalendar(y).Body, nil
		}),
		identification.HoldingsSpec.Name: viewOf(func(_ context.Context, h *identification.Holding) (any, error) {
			return viewHolding(h), nil
		}),
		identification.TagRangesSpec.Name: viewOf(func(_ context.Context, r *identification.TagRange) (any, error) {
			return viewTagRange(r), nil
		}),
		identification.AnimalsSpec.Name: viewOf(func(_ context.Context, a *identification.Animal) (any, error) {
			return viewAnimal(a), nil
		}),
		identification.AnimalEventsSpec.Name: viewOf(func(_ context.Context, e *identification.AnimalEvent) (any, error) {
			return viewAnimalEvent(e), nil
		}),
		identification.AnimalGroupsSpec.Name: viewOf(func(_ context.Context, g *identification.AnimalGroup) (any, error) {
			return viewAnimalGroup(g), nil
		}),
		identification.ReissuesSpec.Name: viewOf(func(ctx context.Context, c *identification.Reissue) (any, error) {
			return s.viewReissue(ctx, c)
		}),
		epizootic.TerritoriesSpec.Name: viewOf(func(_ context.Context, t *epizootic.Territory) (any, error) {
			return viewTerritory(t), nil
		}),
		epizootic.RestrictionsSpec.Name: viewOf(func(_ context.Context, r *epizootic.Restriction) (any, error) {
			return s.viewRestriction(r), nil
		}),
		epizootic.ReferencesSpec.Name: viewOf(func(_ context.Context, r *epizootic.Reference) (any, error) {
			return viewReference(r), nil
		}),
		epizootic.ReferenceApplicationsSpec.Name: viewOf(func(_ context.Context, a *epizootic.ReferenceApplication) (any, error) {
			return viewApplication(a), nil
		}),
		lifecycle.MovementsSpec.Name: viewOf(func(_ context.Context, m *lifecycle.Movement) (any, error) {
			return viewMovement(m, s.Now()), nil
		}),
		inspection.ObjectsSpec.Name: viewOf(func(_ context.Context, o *inspection.ProductionObject) (any, error) {
			return viewObject(o), nil
		}),
		inspection.InspectionsSpec.Name: viewOf(func(ctx context.Context, in *inspection.Inspection) (any, error) {
			return s.viewInspection(ctx, in), nil
		}),
		inspection.PhotosSpec.Name: viewOf(func(_ context.Context, ph *inspection.Photo) (any, error) {
			return viewPhoto(ph), nil
		}),
		vetcert.CertificatesSpec.Name: viewOf(func(_ context.Context, c *vetcert.Certificate) (any, error) {
			return viewCertificate(c), nil
		}),
		health.VaccinationsSpec.Name: viewOf(func(_ context.Context, v *health.Vaccination) (any, error) {
			return viewVaccination(v), nil
		}),
		health.TestsSpec.Name: viewOf(func(_ context.Context, t *health.DiagnosticTest) (any, error) {
			return viewDiagnosticTest(t), nil
		}),
	}
}

// compactSyncViews are the views of format 2 for staff tablets, which keep a whole territory,
// where such a tablet needs less than the API answers:
//   - a document without its QR code (its token, and the verify_url made of it) and its content
//     hash, which only the server checks. A staff tablet shows a paper's details offline and never
//     prints another's QR code: a copy of a paper is a new paper (a passport duplicate), and a
//     tablet has the QR of each paper it issued from the push answer, which keeps the full view.
//     The QR code and the hash are three quarters of a passport on the wire, and a district holds
//     a passport for every animal;
//   - a group identification with only the items that were not applied (each with its problem):
//     every applied animal reaches the tablet as an animal record of its own, under the id the
//     group's request gave it, so an item is applied exactly when its animal is in the replica.
//     The list repeated each animal's id and tag a second time, far from the animal in the pull,
//     where compression cannot make them cheap: an eighth of a district's first sync.
//
// GET /v1/documents/{id} and /v1/animal-groups/{id} answer the whole records; farmers, who show
// their own papers' codes, get the full views in format 2 too.
func (s *Server) compactSyncViews() map[string]vsync.View {
	return map[string]vsync.View{
		documents.DocumentsSpec.Name: viewOf(func(_ context.Context, d *documents.Document) (any, error) {
			return compactDocumentView{DocumentView: s.viewDocument(d)}, nil
		}),
		identification.AnimalGroupsSpec.Name: viewOf(func(_ context.Context, g *identification.AnimalGroup) (any, error) {
			return compactGroupView(g), nil
		}),
	}
}

// compactGroupView is g's view with its applied items left out.
func compactGroupView(g *identification.AnimalGroup) AnimalGroupView {
	v := viewAnimalGroup(g)
	v.Items = slices.DeleteFunc(v.Items, func(it GroupItemView) bool { return it.Status == string(identification.GroupApplied) })
	return v
}

// syncViewsVersion names the shapes the sync views give records (Views, CompactViews, ClusterBy).
// The snapshot index keeps records as rendered, so a change of any shape a pull sends must raise
// it: the index is then filed again, and first pulls never get a shape an older release made.
// TestSyncViewsVersion fails when the golden files of pulls change and this does not.
const syncViewsVersion = 2

// syncClusters file an animal's passport and history beside the animal in the snapshot index
// (vsync.Service.ClusterBy), so that a first sync sends them in the same pages and each repeated id
// costs a few bytes once compressed.
var syncClusters = map[string]string{
	identification.AnimalsSpec.Name:      "id",
	identification.AnimalEventsSpec.Name: "animal_id",
	documents.DocumentsSpec.Name:         "subject.id",
}

// compactDocumentView is a DocumentView whose QR code and content hash are left out (its own
// empty fields shadow the embedded ones).
type compactDocumentView struct {
	DocumentView
	Token       string `json:"token,omitempty"`
	VerifyURL   string `json:"verify_url,omitempty"`
	ContentHash string `json:"content_hash,omitempty"`
}

// viewOf decodes a stored record into its noun and renders it with view.
func viewOf[T any, P domain.Entity[T]](view func(context.Context, *T) (any, error)) vsync.View {
	return func(ctx context.Context, rec domain.Record) (any, error) {
		v, err := domain.DecodeEntity[T, P](rec)
		if err != nil {
			return nil, err
		}
		return view(ctx, v)
	}
}
