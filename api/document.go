package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/vetfield/vetfield/domain"
	"github.com/vetfield/vetfield/domain/documents"
	"github.com/vetfield/vetfield/domain/keyring"
	"github.com/vetfield/vetfield/media"
	"github.com/vetfield/vetfield/media/paper"
)

func (s *Server) registerDocuments() {
	register(s, huma.Operation{
		OperationID: "getKeys", Method: http.MethodGet, Path: "/.well-known/vetfield-keys.json", Tags: []string{"verification"},
		Summary:     "Public keys that sign documents and tokens (JWK set)",
		Description: "Offline verifiers keep a copy: every key that ever signed a document stays listed.",
	}, public, s.getKeys)
	register(s, huma.Operation{
		OperationID: "getDocument", Method: http.MethodGet, Path: "/v1/documents/{id}", Tags: []string{"documents"},
		Summary: "One issued document", Errors: []int{404},
	}, authenticated, s.getDocument)
	register(s, huma.Operation{
		OperationID: "listDocuments", Method: http.MethodGet, Path: "/v1/documents", Tags: []string{"documents"},
		Summary: "Documents about a subject (an animal, object or application), newest first",
	}, authenticated, s.listDocuments)
	s.describeEnum("/v1/documents", "type", docTypeNames())
	register(s, huma.Operation{
		OperationID: "getDocumentQR", Method: http.MethodGet, Path: "/v1/documents/{id}/qr.png", Tags: []string{"documents"},
		Summary: "The document's QR code as a PNG", Errors: []int{404},
		Responses: binaryResponse("The QR code, encoding the document's verify_url.", "image/png"),
	}, authenticated, s.getDocumentQR)
	register(s, huma.Operation{
		OperationID: "printDocument", Method: http.MethodGet, Path: "/v1/documents/{id}/print", Tags: []string{"documents"},
		Summary: "The document laid out for printing on A5 (or A4), in Kazakh and Russian", Errors: []int{404},
		Responses: binaryResponse("An HTML page with @page A5 (A4 for a conclusion).", "text/html"),
	}, authenticated, s.printDocument)
	register(s, huma.Operation{
		OperationID: "getDocumentPDF", Method: http.MethodGet, Path: "/v1/documents/{id}/pdf", Tags: []string{"documents"},
		Summary:     "The document as a PDF (A5, or A4 for a conclusion), in Kazakh and Russian, with its QR code",
		Description: "The same paper as the print view; the font (DejaVu Sans) is embedded.", Errors: []int{404},
		Responses: binaryResponse("The PDF.", "application/pdf"),
	}, authenticated, s.documentPDF)
	register(s, huma.Operation{
		OperationID: "revokeDocument", Method: http.MethodPost, Path: "/v1/documents/{id}/revoke", Tags: []string{"documents"},
		Summary: "Revoke a document (admins and the issuing unit)", Errors: []int{404, 409},
	}, roles(domain.RoleAdmin, domain.RoleVet, domain.RoleInspector), s.revokeDocument)
	register(s, huma.Operation{
		OperationID: "verifyToken", Method: http.MethodGet, Path: "/v1/verify/{token}", Tags: []string{"verification"},
		Summary:     "Verify a scanned QR token (JSON)",
		Description: "Public. A forged, truncated, re-signed or unknown-key token answers status not_genuine with 200.",
		Errors:      []int{429},
	}, publicLimited, s.verifyJSON)
	// The QR code holds /V/{token} (verifyURL), which reaches this route too: Fiber matches paths
	// case-insensitively (fiber.Config.CaseSensitive is false), as TestVerifyQRForms checks.
	register(s, huma.Operation{
		OperationID: "verifyPage", Method: http.MethodGet, Path: "/v/{token}", Tags: []string{"verification"},
		Summary: "The page a phone opens when it scans a document's QR code",
		Description: "Public HTML in Kazakh or Russian (?lang=kk|ru, else the higher-weighted of the two in Accept-Language). " +
			"Each type shows its badge; a genuine motivated refusal says it is a refusal, not an approval, and lists its grounds.",
		Errors:    []int{429},
		Responses: binaryResponse("The verification page.", "text/html"),
	}, publicLimited, s.verifyPage)
}

// binaryResponse declares a 200 whose body is not JSON: huma would otherwise describe a []byte
// body as application/json, and clients generated from the spec would try to parse a PNG.
func binaryResponse(desc, mediaType string) map[string]*huma.Response {
	return map[string]*huma.Response{"200": {Description: desc, Content: map[string]*huma.MediaType{
		mediaType: {Schema: &huma.Schema{Type: huma.TypeString, Format: "binary"}}}}}
}

type keysOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         struct {
		Keys []keyring.JWK `json:"keys"`
	}
}

// getKeys answers GET /.well-known/vetfield-keys.json.
func (s *Server) getKeys(_ context.Context, _ *struct{}) (*keysOutput, error) {
	out := &keysOutput{CacheControl: "public, max-age=3600"}
	out.Body.Keys = s.Keys.JWKS()
	return out, nil
}

// DocumentView is an issued document as the API shows it.
type DocumentView struct {
	ID             string            `json:"id"`
	Type           documents.DocType `json:"type"`
	Number         string            `json:"number" example:"VP-2026-311010-000123"`
	Subject        documents.Subject `json:"subject"`
	Issuer         documents.Issuer  `json:"issuer"`
	IssuedAt       time.Time         `json:"issued_at"`
	ValidUntil     *time.Time        `json:"valid_until,omitempty"`
	Content        json.RawMessage   `json:"content"`
	ContentHash    string            `json:"content_hash"`
	Status         string            `json:"status" enum:"valid,superseded,revoked"`
	Supersedes     string            `json:"supersedes,omitempty"`
	SupersededBy   string            `json:"superseded_by,omitempty"`
	SupersededByNo string            `json:"superseded_by_number,omitempty"`
	RevokedAt      *time.Time        `json:"revoked_at,omitempty"`
	RevokeReason   string            `json:"revoke_reason,omitempty"`
	Holder         *documents.Holder `json:"holder,omitempty" doc:"Where the subject is kept now, when it moved since the paper was issued (not signed)."`
	Token          string            `json:"token" doc:"The signed QR token; see the README for its format."`
	VerifyURL      string            `json:"verify_url" doc:"What the QR code encodes."`
	Version        int64             `json:"version"`
}

func (s *Server) viewDocument(d *documents.Document) DocumentView {
	return DocumentView{ID: d.ID, Type: d.Type, Number: d.Number, Subject: d.Subject, Issuer: d.Issuer,
		IssuedAt: d.IssuedAt, ValidUntil: d.ValidUntil, Content: d.Content, ContentHash: d.ContentHash,
		Status: d.Status, Supersedes: d.Supersedes, SupersededBy: d.SupersededBy, SupersededByNo: d.SupersededByNo,
		RevokedAt: d.RevokedAt, RevokeReason: d.RevokeReason, Holder: d.Holder, Token: d.Token, VerifyURL: s.verifyURL(d.Token),
		Version: d.Version}
}

// verifyURL is what a document's QR code encodes: {public URL}/V/{the token's QR form}, with the
// scheme and host in upper case (neither is case-sensitive). A URL of upper case, digits and
// URL45 is all in the QR code's alphanumeric mode, which needs a smaller code than byte mode for
// the same token (documents.QRToken). Links with a base64url token, on papers printed before,
// still verify.
func (s *Server) verifyURL(token string) string {
	qr, err := documents.QRToken(token)
	if err != nil {
		return s.PublicURL + "/v/" + token
	}
	base := s.PublicURL
	if i := strings.Index(base, "://"); i >= 0 {
		end := len(base)
		if j := strings.IndexByte(base[i+3:], '/'); j >= 0 {
			end = i + 3 + j
		}
		base = strings.ToUpper(base[:end]) + base[end:]
	}
	return base + "/V/" + qr
}

type documentIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

// visibleDocument loads a document the caller may see; others are ENOTFOUND, so a vet of another
// district cannot even learn that it exists.
func (s *Server) visibleDocument(ctx context.Context, id string) (*documents.Document, error) {
	d, err := s.Documents.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !d.VisibleTo(principal(ctx)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such document")
	}
	return d, nil
}

type documentOutput struct{ Body DocumentView }

// getDocument answers GET /v1/documents/{id}.
func (s *Server) getDocument(ctx context.Context, in *documentIDInput) (*documentOutput, error) {
	d, err := s.visibleDocument(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &documentOutput{Body: s.viewDocument(d)}, nil
}

type listDocumentsInput struct {
	Subject string `query:"subject" required:"true" maxLength:"64" doc:"id of the animal, production object or application"`
	Type    string `query:"type" maxLength:"40" doc:"A document type (the enum is documents.DocTypes)."`
	Cursor  string `query:"cursor" maxLength:"512"`
	Limit   int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

type listDocumentsOutput struct{ Body Page[DocumentView] }

// listDocuments answers GET /v1/documents.
func (s *Server) listDocuments(ctx context.Context, in *listDocumentsInput) (*listDocumentsOutput, error) {
	docs, next, err := s.Documents.List(ctx, principal(ctx), documents.DocumentFilter{SubjectID: in.Subject,
		Type: documents.DocType(in.Type), After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := &listDocumentsOutput{Body: Page[DocumentView]{Items: make([]DocumentView, 0, len(docs)), NextCursor: next}}
	for _, d := range docs {
		out.Body.Items = append(out.Body.Items, s.viewDocument(d))
	}
	return out, nil
}

type qrInput struct {
	ID   string `path:"id" maxLength:"64"`
	Size int    `query:"size" minimum:"256" maximum:"1024" default:"256" doc:"width and height in pixels; at least 256 so every module of a version-10 code gets four pixels"`
}

type binaryOutput struct {
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

// getDocumentQR answers GET /v1/documents/{id}/qr.png.
func (s *Server) getDocumentQR(ctx context.Context, in *qrInput) (*binaryOutput, error) {
	d, err := s.visibleDocument(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	png, err := media.QRCode(s.verifyURL(d.Token), in.Size)
	if err != nil {
		return nil, err
	}
	return &binaryOutput{ContentType: "image/png", CacheControl: "private, max-age=86400", Body: png}, nil
}

type revokeInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body RevokeRequest
}

// RevokeRequest revokes a paper: the body of POST /v1/documents/{id}/revoke and the data of the
// document.revoke mutation.
type RevokeRequest struct {
	Reason string `json:"reason" minLength:"1" maxLength:"2000" doc:"Shown on the public page."`
}

// revokeDocument answers POST /v1/documents/{id}/revoke.
func (s *Server) revokeDocument(ctx context.Context, in *revokeInput) (*documentOutput, error) {
	d, err := s.Documents.Revoke(ctx, in.ID, principal(ctx), in.Body.Reason)
	if err != nil {
		return nil, err
	}
	return &documentOutput{Body: s.viewDocument(d)}, nil
}

type tokenInput struct {
	Token string `path:"token" maxLength:"2048"`
}

// VerificationView is what a scanned code proves, with only the facts printed on the paper.
type VerificationView struct {
	Status string `json:"status" enum:"genuine,superseded,revoked,not_genuine"`
	// The rest is absent when the status is not_genuine.
	Type         documents.DocType `json:"type,omitempty"`
	TypeName     string            `json:"type_name,omitempty"`
	Number       string            `json:"number,omitempty"`
	IssueDate    string            `json:"issue_date,omitempty" doc:"YYYY-MM-DD, Asia/Almaty"`
	Species      string            `json:"species,omitempty"`
	Tag          string            `json:"tag,omitempty"`
	ObjectName   string            `json:"object_name,omitempty"`
	RegNumber    string            `json:"reg_number,omitempty"`
	OwnerIIN     string            `json:"owner_iin_masked,omitempty" doc:"Masked: only the first and last two digits."`
	IssuingUnit  string            `json:"issuing_unit,omitempty"`
	SupersededBy string            `json:"superseded_by_number,omitempty"`
	RevokedAt    string            `json:"revoked_at,omitempty"`
	RevokeReason string            `json:"revoke_reason,omitempty"`
	// Grounds are a motivated refusal's grounds, as its paper prints them: a refusal is genuine
	// without approving anything, and whoever checks it should read why.
	Grounds []string `json:"grounds,omitempty" doc:"A refusal's grounds, in the page's language (Russian in JSON)."`
	// LeftRegisterOn and the rest say that the animal the paper is about left the register: the
	// paper stays genuine, but the animal is no longer alive or kept.
	LeftRegisterOn   string `json:"left_register_on,omitempty" doc:"YYYY-MM-DD: the day the animal left the register."`
	LeftRegisterKind string `json:"left_register_kind,omitempty" enum:"died,slaughtered,killed_by_order,lost,exported"`
	LeftRegisterHow  string `json:"left_register_how,omitempty" doc:"The kind in words, in the page's language (Russian in JSON)."`
}

func viewVerification(v documents.Verification, lang string) VerificationView {
	out := VerificationView{Status: v.Status}
	d := v.Document
	if d == nil {
		return out
	}
	out.Type, out.TypeName, out.Number = d.Type, d.Type.Name(lang), d.Number
	out.IssueDate = d.IssuedAt.In(domain.Almaty).Format(time.DateOnly)
	if d.Subject.Kind == documents.SubjectAnimal {
		out.Species, out.Tag = domain.Species(d.Subject.Species).Name(lang), d.Subject.Tag
	} else {
		out.ObjectName, out.RegNumber = d.Subject.Name, d.Subject.RegNumber
	}
	out.OwnerIIN = d.Subject.OwnerIIN.Masked()
	out.IssuingUnit = d.Issuer.UnitName
	if out.IssuingUnit == "" {
		out.IssuingUnit = string(d.Issuer.Unit)
	}
	out.SupersededBy = d.SupersededByNo
	if d.RevokedAt != nil {
		out.RevokedAt = d.RevokedAt.In(domain.Almaty).Format(time.DateOnly)
		out.RevokeReason = d.RevokeReason
	}
	if d.Type == documents.DocRefusal {
		for _, g := range paper.Build(d, "", "").Grounds {
			out.Grounds = append(out.Grounds, g.In(lang))
		}
	}
	return out
}

type verifyOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         VerificationView
}

// verifyJSON answers GET /v1/verify/{token}.
func (s *Server) verifyJSON(ctx context.Context, in *tokenInput) (*verifyOutput, error) {
	v, err := s.Documents.VerifyToken(ctx, in.Token)
	if err != nil {
		return nil, err
	}
	view := viewVerification(v, "ru")
	if err := s.leftRegister(ctx, v, &view, "ru"); err != nil {
		return nil, err
	}
	return &verifyOutput{CacheControl: "no-store", Body: view}, nil
}

type verifyPageInput struct {
	Token          string `path:"token" maxLength:"2048"`
	Lang           string `query:"lang" enum:"kk,ru"`
	AcceptLanguage string `header:"Accept-Language"`
}

type htmlOutput struct {
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

// verifyPage answers GET /v/{token}: the page a phone shows after scanning.
func (s *Server) verifyPage(ctx context.Context, in *verifyPageInput) (*htmlOutput, error) {
	v, err := s.Documents.VerifyToken(ctx, in.Token)
	if err != nil {
		return nil, err
	}
	lang := pickLanguage(in.Lang, in.AcceptLanguage)
	view := viewVerification(v, lang)
	if err := s.leftRegister(ctx, v, &view, lang); err != nil {
		return nil, err
	}
	page, err := renderVerifyPage(view, lang, "/v/"+in.Token)
	if err != nil {
		return nil, domain.Internal("render verify page", err)
	}
	return &htmlOutput{ContentType: "text/html; charset=utf-8", CacheControl: "no-store", Body: page}, nil
}

// pickLanguage chooses "kk" or "ru": the query wins, then whichever of the two the browser
// weighs higher in Accept-Language (RFC 9110 q-values; "kk;q=0.5, ru;q=0.9" is Russian, a tie goes
// to the one listed first, q=0 refuses a language), then Kazakh, the state language.
func pickLanguage(query, accept string) string {
	if query == "kk" || query == "ru" {
		return query
	}
	best, bestQ := "kk", 0.0
	for _, part := range strings.Split(accept, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		lang := strings.ToLower(strings.TrimSpace(strings.SplitN(tag, "-", 2)[0]))
		if lang != "kk" && lang != "ru" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil || v < 0 || v > 1 {
				v = 0 // a malformed weight makes the entry count for nothing
			}
			q = v
		}
		if q > bestQ {
			best, bestQ = lang, q
		}
	}
	return best
}

// printDocument answers GET /v1/documents/{id}/print.
func (s *Server) printDocument(ctx context.Context, in *documentIDInput) (*htmlOutput, error) {
	p, err := s.documentPaper(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	png, err := media.QRCode(p.VerifyURL, 512)
	if err != nil {
		return nil, err
	}
	page, err := renderPrintPage(p, png)
	if err != nil {
		return nil, domain.Internal("render print page", err)
	}
	return &htmlOutput{ContentType: "text/html; charset=utf-8", CacheControl: "private, no-store", Body: page}, nil
}

// docTypeNames are the document types the domain knows, so the description never lists another.
func docTypeNames() []any {
	out := make([]any, len(documents.DocTypes))
	for i, t := range documents.DocTypes {
		out[i] = string(t)
	}
	return out
}

// documentPaper loads a document the caller may see and lays it out as paper. A content key the
// renderer has no words for is still printed under its code, and logged, so it gets a label
// before anyone complains about a paper (a test keeps the services' keys labelled).
func (s *Server) documentPaper(ctx context.Context, id string) (paper.Paper, error) {
	d, err := s.visibleDocument(ctx, id)
	if err != nil {
		return paper.Paper{}, err
	}
	p := paper.Build(d, s.verifyURL(d.Token), s.PublicURL+"/v/"+d.Token)
	if p.Pages, err = s.passportPages(ctx, d); err != nil {
		return paper.Paper{}, err
	}
	if len(p.Unlabelled) > 0 {
		s.Log.WarnContext(ctx, "paper: content without words", "request_id", requestID(ctx), "type", d.Type, "keys", p.Unlabelled)
	}
	return p, nil
}

// documentPDF answers GET /v1/documents/{id}/pdf: the print view's paper as a PDF, for mail and
// archives, visible to exactly who may print it.
func (s *Server) documentPDF(ctx context.Context, in *documentIDInput) (*binaryOutput, error) {
	p, err := s.documentPaper(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	pdf, err := paper.PDF(p)
	if err != nil {
		return nil, domain.Internal("render pdf", err)
	}
	return &binaryOutput{ContentType: "application/pdf", CacheControl: "private, no-store", Body: pdf}, nil
}
