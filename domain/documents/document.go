// Package documents owns every paper vetfield hands over — passports, references, conclusions,
// certificates, refusals — as one signed, numbered, never-edited Document with a QR token that
// anyone can verify offline with the published keys. Services issue through Documents; a
// correction supersedes, never edits.
package documents

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vetfield/vetfield/domain"
)

// DocType is the kind of paper the veterinary service hands over.
type DocType string

// The document types of the services in REGULATIONS.md.
const (
	DocPassport          DocType = "vet_passport"           // service 4: veterinary passport
	DocPassportDuplicate DocType = "vet_passport_duplicate" // service 4: its duplicate
	DocPassportExtract   DocType = "vet_passport_extract"   // service 4: an extract from it
	DocReference         DocType = "vet_reference"          // service 2: veterinary reference
	DocConclusion        DocType = "sanitary_conclusion"    // service 1: veterinary-sanitary conclusion
	DocCertificate       DocType = "vet_certificate"        // service 7: certificate for moved objects
	DocRegNumber         DocType = "regnum_confirmation"    // service 3: confirmation of a registration number
	DocRefusal           DocType = "motivated_refusal"      // every service: a motivated refusal
	DocTalon             DocType = "case_talon"             // every service: the receipt of a registered application
	DocFeedCertificate   DocType = "feed_registration"      // seed 004: registration certificate of feed and feed additives
	DocDrugCertificate   DocType = "drug_registration"      // seed 004: registration certificate of a veterinary drug
	DocLicence           DocType = "vet_licence"            // service 6: licence for veterinary activity
	DocLicenceDuplicate  DocType = "vet_licence_duplicate"  // service 6: its duplicate
	DocAttestation       DocType = "attestation_sheet"      // service 5: the attestation sheet
)

// docTypeInfo is what each type needs: its code in QR tokens (never reuse or renumber one), the
// prefix of its numbers, its names on paper and whether it expires.
type docTypeInfo struct {
	code   byte
	prefix string
	kk, ru string
	// validFor is how long the paper is valid, 0 when it does not expire.
	validFor time.Duration
}

var docTypes = map[DocType]docTypeInfo{
	DocPassport:          {1, "VP", "Ветеринариялық паспорт", "Ветеринарный паспорт", 0},
	DocPassportDuplicate: {2, "VPD", "Ветеринариялық паспорттың телнұсқасы", "Дубликат ветеринарного паспорта", 0},
	DocPassportExtract:   {3, "VPE", "Ветеринариялық паспорттан үзінді", "Выписка из ветеринарного паспорта", 0},
	DocReference:         {4, "VR", "Ветеринариялық анықтама", "Ветеринарная справка", 0},
	DocConclusion:        {5, "VSC", "Ветеринариялық-санитариялық қорытынды", "Ветеринарно-санитарное заключение", 0},
	DocCertificate:       {6, "VC", "Ветеринариялық сертификат", "Ветеринарный сертификат", 0},
	DocRegNumber:         {7, "RN", "Есептік нөмірді растау", "Подтверждение учетного номера", 0},
	DocRefusal:           {8, "MR", "Дәлелді бас тарту", "Мотивированный отказ", 0},
	DocTalon:             {9, "TL", "Өтінішті қабылдау туралы талон", "Талон о приёме заявления", 0},
	DocFeedCertificate: {10, "FRC", "Жемшөп пен жемшөп қоспаларын тіркеу куәлігі",
		"Регистрационное удостоверение на корма и кормовые добавки", 0},
	DocDrugCertificate: {11, "DRC", "Ветеринариялық препаратты тіркеу куәлігі",
		"Регистрационное удостоверение на ветеринарный препарат", 0},
	DocLicence: {12, "LIC", "Ветеринария саласындағы қызметке лицензия", "Лицензия на ветеринарную деятельность", 0},
	DocLicenceDuplicate: {13, "LICD", "Ветеринария саласындағы қызметке лицензияның телнұсқасы",
		"Дубликат лицензии на ветеринарную деятельность", 0},
	DocAttestation: {14, "ATS", "Аттестаттау парағы", "Аттестационный лист", 0},
}

// DocTypes lists every type, for validation and documentation.
var DocTypes = []DocType{DocPassport, DocPassportDuplicate, DocPassportExtract, DocReference,
	DocConclusion, DocCertificate, DocRegNumber, DocRefusal, DocTalon, DocFeedCertificate, DocDrugCertificate,
	DocLicence, DocLicenceDuplicate, DocAttestation}

// Valid reports whether t is a known type.
func (t DocType) Valid() bool { _, ok := docTypes[t]; return ok }

// Code is the type's byte in QR tokens, 0 for an unknown type.
func (t DocType) Code() byte { return docTypes[t].code }

// Prefix is the start of the type's document numbers.
func (t DocType) Prefix() string { return docTypes[t].prefix }

// Name returns the type's name on paper in lang ("kk" or "ru").
func (t DocType) Name(lang string) string {
	if lang == "kk" {
		return docTypes[t].kk
	}
	return docTypes[t].ru
}

func docTypeByCode(code byte) DocType {
	for t, info := range docTypes {
		if info.code == code {
			return t
		}
	}
	return ""
}

func documentNumber(t DocType, year int, unit string, seq int64) string {
	return fmt.Sprintf("%s-%04d-%s-%s", t.Prefix(), year, unit, domain.ZeroPad(seq, 6))
}

// Document statuses.
const (
	DocValid      = "valid"
	DocSuperseded = "superseded"
	DocRevoked    = "revoked"
)

// SubjectKind says what a document is about.
type SubjectKind string

// Subject kinds.
const (
	SubjectAnimal    SubjectKind = "animal"
	SubjectObject    SubjectKind = "object"
	SubjectApplicant SubjectKind = "applicant"
	SubjectCase      SubjectKind = "case"
)

// Subject is who or what the document is about, with what the paper prints of it.
type Subject struct {
	Kind SubjectKind `json:"kind"`
	// ID is the id of the animal, production object or application.
	ID string `json:"id"`
	// Tag is an animal's individual number; RegNumber an object's registration number.
	Tag       string `json:"tag,omitempty"`
	RegNumber string `json:"reg_number,omitempty"`
	// Name is an object's name, or an animal's species as printed.
	Name    string `json:"name,omitempty"`
	Species string `json:"species,omitempty"`
	// OwnerIIN is the owner's IIN or BIN: farmers see documents about what they own; public pages
	// show it masked.
	OwnerIIN domain.IIN `json:"owner_iin,omitempty"`
	// Territory is where the subject is (a holding's or an object's KATO code): it decides which
	// staff see the document.
	Territory domain.Kato `json:"territory"`
}

// Issuer is who issued a document.
type Issuer struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	// Unit is the issuing veterinary unit's territory; its first six digits go into the number.
	Unit     domain.Kato `json:"unit"`
	UnitName string      `json:"unit_name,omitempty"`
}

// Document is an issued paper. Its content never changes once issued; a correction is a new
// document that supersedes it. Only its status moves (valid → superseded or revoked), and its
// Holder: who keeps the subject now, which decides who sees the paper.
type Document struct {
	domain.Meta
	Type       DocType    `json:"type"`
	Number     string     `json:"number"`
	Year       int        `json:"year"`
	Seq        int64      `json:"seq"`
	Subject    Subject    `json:"subject"`
	Issuer     Issuer     `json:"issuer"`
	IssuedAt   time.Time  `json:"issued_at"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	// Content holds the paper's own fields (for a passport the animal's description, for a
	// reference the purpose and destination and what was checked).
	Content json.RawMessage `json:"content"`
	// ContentHash is the SHA-256 of the issued facts and content, to show they never changed.
	ContentHash string `json:"content_hash"`
	Token       string `json:"token"`
	KeyID       string `json:"kid"`

	Status         string     `json:"status"`
	Supersedes     string     `json:"supersedes,omitempty"`
	SupersededBy   string     `json:"superseded_by,omitempty"`
	SupersededByNo string     `json:"superseded_by_number,omitempty"`
	RevokedAt      *time.Time `json:"revoked_at,omitempty"`
	RevokedBy      string     `json:"revoked_by,omitempty"`
	RevokeReason   string     `json:"revoke_reason,omitempty"`
	// Holder is where the subject is kept now, when that is no longer where the paper says it
	// was (an animal moved to another district or sold to another owner): the paper follows its
	// animal to the new territory and owner. It is not part of the signed facts.
	Holder *Holder `json:"holder,omitempty"`

	// Indexed copies: index fields must be top-level scalars.
	SubjectID   string `json:"subject_id"`
	IssuedAtKey int64  `json:"issued_at_ms"`
	TypeNumber  string `json:"type_number"`
}

// DocumentsSpec declares the documents collection. Documents reach tablets through sync.
var DocumentsSpec = domain.CollectionSpec{
	Name:   "documents",
	Synced: true,
	Indexes: []domain.Index{
		{Name: "documents_number", Fields: []string{"type_number"}, Unique: true},
		{Name: "documents_subject", Fields: []string{"subject_id", "issued_at_ms"}},
		{Name: "documents_subject_type", Fields: []string{"subject_id", "type", "issued_at_ms"}},
	},
}

// Holder is the territory and owner a subject is kept by after it moved.
type Holder struct {
	Territory domain.Kato `json:"territory"`
	OwnerIIN  domain.IIN  `json:"owner_iin,omitempty"`
}

// heldBy is where the subject is kept now: its Holder if it moved, else where the paper says.
func (d *Document) heldBy() Holder {
	if d.Holder != nil {
		return *d.Holder
	}
	return Holder{Territory: d.Subject.Territory, OwnerIIN: d.Subject.OwnerIIN}
}

// scope is who sees a document through sync: the staff of the territory its subject is kept in
// and its owner.
func (d *Document) scope() []string {
	h := d.heldBy()
	return domain.OwnedScope(h.Territory, h.OwnerIIN)
}

// VisibleTo reports whether p may read d: admins always; staff whose territory covers where the
// subject is kept; a farmer who owns the subject.
func (d *Document) VisibleTo(p domain.Principal) bool {
	h := d.heldBy()
	return p.CanSeeOwned(h.Territory, h.OwnerIIN)
}

// WriteFollow adds to w the update that makes d follow its subject to territory t and owner:
// the staff there and the new owner see it, and tablets of the former ones get its removal.
// Nothing signed changes. It reports false, adding nothing, when d is kept there already.
func (ds *Documents) WriteFollow(w *domain.Writes, d *Document, t domain.Kato, owner domain.IIN) (bool, error) {
	to := Holder{Territory: t, OwnerIIN: owner}
	if d.heldBy() == to {
		return false, nil
	}
	d.Holder = &to
	if to == (Holder{Territory: d.Subject.Territory, OwnerIIN: d.Subject.OwnerIIN}) {
		d.Holder = nil // back where the paper says
	}
	return true, domain.WriteUpdate(w, DocumentsSpec.Name, d, d.scope())
}

// OfSubject returns every document about subject id, oldest first, whoever asks: the papers that
// follow an animal when it moves.
func (ds *Documents) OfSubject(ctx context.Context, id string) ([]*Document, error) {
	var out []*Document
	after := ""
	for {
		page, next, err := domain.ListEntities[Document](ctx, ds.Store, DocumentsSpec.Name,
			domain.Query{Index: "documents_subject", Eq: []any{id}, After: after, Limit: domain.MaxPageSize})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// Keys sign documents and verify them; domain/keyring implements it.
type Keys interface {
	// SigningKey returns the id of the current key and a function that signs with that very key,
	// so a rotation in between cannot pair one key's id with another's signature.
	SigningKey() (kid string, sign func(msg []byte) []byte)
	// Verify reports whether sig is kid's signature of msg; an unknown kid never verifies.
	Verify(kid string, msg, sig []byte) bool
}

// Documents issues, finds, supersedes and revokes documents.
type Documents struct {
	Store domain.Store
	Now   domain.Clock
	Keys  Keys
	// UnitNames, if set, names the issuing unit of a draft that gives none (Territories.UnitName),
	// so a paper prints "Байзақ ауданы" rather than a KATO code.
	UnitNames func(ctx context.Context, unit domain.Kato) string
}

// Draft is what a service gives to issue a document.
type Draft struct {
	Type    DocType
	Subject Subject
	Issuer  Issuer
	Content any
	// ID, when set, makes issuing idempotent: a retry with the same id answers the document the
	// first attempt issued instead of a second one. Leave empty for a fresh id.
	ID string
	// ValidUntil overrides the type's default validity.
	ValidUntil *time.Time
	// Supersedes is the id of a valid document this one replaces (a duplicate passport, a
	// correction, a new passport after reissue).
	Supersedes string
	// RevokeReason, when set, issues the document already revoked with this reason: it is stored
	// revoked (at its issue time, by its issuer) in the one insert, so a paper that must not be
	// trusted — a reference a tablet issued offline that the server's checks refuse — is never
	// genuine, not even for a moment. It cannot be combined with Supersedes.
	RevokeReason string
}

// UnitCode is the six digits of a unit's KATO code that go into document numbers.
func UnitCode(k domain.Kato) string {
	if len(k) != 9 {
		return "000000"
	}
	return string(k[:6])
}

// Issue numbers, signs and stores a new document. Numbers come from an atomic counter per type,
// year and unit, so they stay unique with several vetfield processes; the unique index on the
// number is the last guard.
func (ds *Documents) Issue(ctx context.Context, d Draft) (*Document, error) {
	if !d.Type.Valid() {
		return nil, domain.Errorf(domain.EINVALID, "unknown document type %q", d.Type)
	}
	if d.ID != "" {
		if existing, err := ds.Get(ctx, d.ID); err == nil {
			// A retry: finish what a crash may have cut short, marking the old paper superseded.
			if existing.Supersedes != "" && existing.Status == DocValid {
				if err := ds.supersede(ctx, existing); err != nil {
					return nil, err
				}
			}
			return existing, nil
		} else if !domain.IsCode(err, domain.ENOTFOUND) {
			return nil, err
		}
	}
	doc, err := ds.build(ctx, d)
	if err != nil {
		return nil, err
	}
	if inserted, err := domain.InsertOrGet(ctx, ds.Store, DocumentsSpec.Name, doc, doc.scope()); err != nil {
		return nil, err
	} else if !inserted {
		return doc, nil // a concurrent retry won the race: its document
	}
	if d.Supersedes != "" {
		// The new document is stored first: a crash between the two writes leaves two valid
		// papers for a moment (the old one still genuine), never none; a retry finishes it.
		if err := ds.supersede(ctx, doc); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// Prepare numbers and signs the document of d and adds its insert to the caller's unit of work w,
// so that a service can store a paper together with its own writes (an identification stores
// the animal, its passport and its event in one Apply). The document is returned as it will be
// stored; its Version is set when w is applied with domain.ApplyWrites.
//
// The number comes from the atomic counter, taken here with Store.Incr before the unit is
// applied, not as a step of it: the number is printed in the paper and signed into its QR token,
// so the whole document must be built before it is stored, and a counter step would count again
// on a retry of the unit. A unit that then fails leaves a gap in the numbering, as a failed Issue
// always could. Prepare checks the draft as Issue does but does not look for an existing document
// with d.ID, nor mark a superseded paper: the caller, which knows whether its unit ran before,
// does that.
func (ds *Documents) Prepare(ctx context.Context, d Draft, w *domain.Writes) (*Document, error) {
	if !d.Type.Valid() {
		return nil, domain.Errorf(domain.EINVALID, "unknown document type %q", d.Type)
	}
	doc, err := ds.build(ctx, d)
	if err != nil {
		return nil, err
	}
	if err := domain.WriteInsert(w, DocumentsSpec.Name, doc, doc.scope()); err != nil {
		return nil, err
	}
	return doc, nil
}

// build checks d, takes its number from the counter and builds the signed document, writing
// nothing else.
func (ds *Documents) build(ctx context.Context, d Draft) (*Document, error) {
	if d.Issuer.UnitName == "" && d.Issuer.Unit != "" && ds.UnitNames != nil {
		d.Issuer.UnitName = ds.UnitNames(ctx, d.Issuer.Unit)
	}
	content, err := json.Marshal(d.Content)
	if err != nil {
		return nil, domain.Internal("document content", err)
	}
	revokeReason := strings.TrimSpace(d.RevokeReason)
	if revokeReason != "" && (d.Supersedes != "" || len([]rune(revokeReason)) > MaxRevokeReason) {
		return nil, domain.Errorf(domain.EINVALID, "a document issued revoked has a reason of up to %d characters and supersedes nothing", MaxRevokeReason)
	}
	// Every check comes before the counter, so a refused draft uses up no number.
	if d.Supersedes != "" {
		old, err := ds.Get(ctx, d.Supersedes)
		if err != nil {
			return nil, err
		}
		if old.Status != DocValid {
			return nil, domain.Errorf(domain.EPRECONDITION, "document %s is %s and cannot be superseded", old.Number, old.Status)
		}
	}
	now := ds.Now()
	local := now.In(domain.Almaty)
	unit := UnitCode(d.Issuer.Unit)
	seq, err := ds.Store.Incr(ctx, fmt.Sprintf("docnum:%s:%d:%s", d.Type.Prefix(), local.Year(), unit), 1, time.Time{})
	if err != nil {
		return nil, err
	}
	doc := &Document{
		Meta: domain.Meta{ID: d.ID}, Type: d.Type, Year: local.Year(), Seq: seq,
		Number:  documentNumber(d.Type, local.Year(), unit, seq),
		Subject: d.Subject, Issuer: d.Issuer, IssuedAt: now.UTC(), ValidUntil: d.ValidUntil,
		Content: content, Status: DocValid, Supersedes: d.Supersedes,
		SubjectID: d.Subject.ID, IssuedAtKey: now.UnixMilli(),
	}
	if doc.ID == "" {
		doc.ID = domain.NewID()
	}
	doc.TypeNumber = string(doc.Type) + ":" + doc.Number
	if doc.ValidUntil == nil {
		if v := docTypes[d.Type].validFor; v > 0 {
			until := now.Add(v).UTC()
			doc.ValidUntil = &until
		}
	}
	subject := d.Subject.Tag
	if subject == "" {
		subject = d.Subject.RegNumber
	}
	if len(subject) > maxSubjectLen {
		subject = subject[:maxSubjectLen]
	}
	claims := TokenClaims{DocumentID: doc.ID, Type: doc.Type, IssueDate: local, Unit: unit, Seq: seq, Subject: subject}
	kid, sign := ds.Keys.SigningKey()
	if doc.Token, err = SignToken(claims, kid, sign); err != nil {
		return nil, err
	}
	doc.KeyID = kid
	doc.ContentHash = doc.hash()
	if revokeReason != "" {
		at := now.UTC()
		doc.Status, doc.RevokedAt, doc.RevokedBy, doc.RevokeReason = DocRevoked, &at, d.Issuer.UserID, revokeReason
	}
	return doc, nil
}

// supersede marks the paper doc replaces as superseded by it. If another paper superseded it
// first (two corrections at the same moment), doc must not stay valid beside that one: it is
// revoked, and the caller gets ECONFLICT.
func (ds *Documents) supersede(ctx context.Context, doc *Document) error {
	err := ds.MarkSuperseded(ctx, doc.Supersedes, doc)
	if !domain.IsCode(err, domain.EPRECONDITION) {
		return err
	}
	old, gerr := ds.Get(ctx, doc.Supersedes)
	if gerr != nil {
		return gerr
	}
	reason := "issued at the same time as " + old.SupersededByNo + ", which replaces " + old.Number
	if rerr := ds.ChangeStatus(ctx, doc.ID, func(d *Document) error {
		if d.Status != DocValid {
			return ErrUnchanged
		}
		now := ds.Now().UTC()
		d.Status, d.RevokedAt, d.RevokedBy, d.RevokeReason = DocRevoked, &now, doc.Issuer.UserID, reason
		return nil
	}); rerr != nil {
		return rerr
	}
	return domain.Errorf(domain.ECONFLICT, "document %s was replaced by %s at the same moment; use that one", old.Number, old.SupersededByNo)
}

// hash is the SHA-256 of the facts a document was issued with.
func (d *Document) hash() string {
	facts, _ := json.Marshal(struct {
		ID, Type, Number string
		Subject          Subject
		Issuer           Issuer
		IssuedAt         time.Time
		ValidUntil       *time.Time
		Content          json.RawMessage
	}{d.ID, string(d.Type), d.Number, d.Subject, d.Issuer, d.IssuedAt, d.ValidUntil, d.Content})
	sum := sha256.Sum256(facts)
	return hex.EncodeToString(sum[:])
}

func (ds *Documents) MarkSuperseded(ctx context.Context, id string, by *Document) error {
	return ds.ChangeStatus(ctx, id, func(old *Document) error {
		if old.Status == DocSuperseded && old.SupersededBy == by.ID {
			return ErrUnchanged
		}
		if old.Status != DocValid {
			return domain.Errorf(domain.EPRECONDITION, "document %s is %s and cannot be superseded", old.Number, old.Status)
		}
		old.Status, old.SupersededBy, old.SupersededByNo = DocSuperseded, by.ID, by.Number
		return nil
	})
}

var ErrUnchanged = &domain.Error{Code: "unchanged"}

// ChangeStatus applies change to the document with compare-and-swap retries (domain.RetryCAS).
// Only status fields ever change; change returns ErrUnchanged when there is nothing to do.
func (ds *Documents) ChangeStatus(ctx context.Context, id string, change func(*Document) error) error {
	return domain.RetryCAS(ctx, func() error {
		doc, err := ds.Get(ctx, id)
		if err != nil {
			return err
		}
		if err := change(doc); err == ErrUnchanged {
			return nil
		} else if err != nil {
			return domain.Final(err)
		}
		return domain.UpdateEntity(ctx, ds.Store, DocumentsSpec.Name, doc, doc.scope())
	}, "the document is changing concurrently; try again")
}

// Get returns the document with id.
func (ds *Documents) Get(ctx context.Context, id string) (*Document, error) {
	return domain.GetEntity[Document](ctx, ds.Store, DocumentsSpec.Name, id)
}

// MaxRevokeReason bounds the reason shown on the public page.
const MaxRevokeReason = 500

// Revoke withdraws a valid or superseded document, with a reason shown on its public page.
func (ds *Documents) Revoke(ctx context.Context, id string, by domain.Principal, reason string) (*Document, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len([]rune(reason)) > MaxRevokeReason {
		return nil, domain.Invalid("reason", "give the reason for revoking, up to %d characters", MaxRevokeReason)
	}
	doc, err := ds.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !doc.RevocableBy(by) {
		if doc.VisibleTo(by) {
			return nil, domain.Errorf(domain.EFORBIDDEN, "only admins and the issuing unit may revoke this document")
		}
		return nil, domain.Errorf(domain.ENOTFOUND, "no such document")
	}
	err = ds.ChangeStatus(ctx, id, func(d *Document) error {
		if d.Status == DocRevoked {
			return domain.Errorf(domain.EPRECONDITION, "document %s is already revoked", d.Number)
		}
		now := ds.Now().UTC()
		d.Status, d.RevokedAt, d.RevokedBy, d.RevokeReason = DocRevoked, &now, by.UserID, reason
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ds.Get(ctx, id)
}

// RevocableBy reports whether p may revoke d: admins, and staff of the unit that issued it.
func (d *Document) RevocableBy(p domain.Principal) bool {
	switch p.Role {
	case domain.RoleAdmin:
		return true
	case domain.RoleVet, domain.RoleInspector:
		return p.Territory != "" && p.Territory.Covers(d.Issuer.Unit)
	}
	return false
}

// DocumentFilter selects documents about one subject.
type DocumentFilter struct {
	SubjectID string
	Type      DocType
	After     string
	Limit     int
}

// List pages through the documents about a subject, newest first.
func (ds *Documents) List(ctx context.Context, by domain.Principal, f DocumentFilter) ([]*Document, string, error) {
	if f.Type != "" && !f.Type.Valid() {
		return nil, "", domain.Invalid("type", "a document type is one of %s", typeList())
	}
	// The subject's newest paper decides whether the caller may list its papers at all: a subject
	// of another district, or another owner's, answers an empty last page — no cursor that would
	// count what it holds.
	newest, _, err := domain.ListEntities[Document](ctx, ds.Store, DocumentsSpec.Name,
		domain.Query{Index: "documents_subject", Eq: []any{f.SubjectID}, Desc: true, Limit: 1})
	if err != nil {
		return nil, "", err
	}
	if len(newest) == 0 || !newest[0].VisibleTo(by) {
		return []*Document{}, "", nil
	}
	q := domain.Query{Index: "documents_subject", Eq: []any{f.SubjectID}, Desc: true, After: f.After, Limit: f.Limit}
	if f.Type != "" {
		q = domain.Query{Index: "documents_subject_type", Eq: []any{f.SubjectID, string(f.Type)}, Desc: true, After: f.After, Limit: f.Limit}
	}
	all, next, err := domain.ListEntities[Document](ctx, ds.Store, DocumentsSpec.Name, q)
	if err != nil {
		return nil, "", err
	}
	out := all[:0]
	for _, d := range all {
		if d.VisibleTo(by) { // an animal that moved keeps papers of its former district
			out = append(out, d)
		}
	}
	return out, next, nil
}

// Verification is what a scanned code proves.
type Verification struct {
	// Status is "genuine", "superseded", "revoked" or "not_genuine".
	Status   string
	Claims   TokenClaims
	Document *Document
}

// Verification statuses.
const (
	VerifyGenuine    = "genuine"
	VerifySuperseded = "superseded"
	VerifyRevoked    = "revoked"
	VerifyNotGenuine = "not_genuine"
)

// sameToken reports whether scanned is stored (base64url) itself or its QR form. Both encodings
// are canonical, so equal text is equal bytes.
func sameToken(stored, scanned string) bool {
	if stored == scanned {
		return true
	}
	qr, err := QRToken(stored)
	return err == nil && qr == scanned
}

// VerifyToken checks a scanned token: its signature, then that the document it names exists with
// the same facts, then its status. A token that fails any check is NotGenuine, never an error;
// errors are only for a failing store.
func (ds *Documents) VerifyToken(ctx context.Context, token string) (Verification, error) {
	claims, err := ParseToken(token, ds.Keys.Verify)
	if err != nil {
		return Verification{Status: VerifyNotGenuine}, nil
	}
	doc, err := ds.Get(ctx, claims.DocumentID)
	if domain.IsCode(err, domain.ENOTFOUND) {
		return Verification{Status: VerifyNotGenuine}, nil
	} else if err != nil {
		return Verification{}, err
	}
	if doc.Type != claims.Type || doc.Number != claims.Number() || !sameToken(doc.Token, token) {
		return Verification{Status: VerifyNotGenuine}, nil
	}
	v := Verification{Status: VerifyGenuine, Claims: claims, Document: doc}
	switch doc.Status {
	case DocSuperseded:
		v.Status = VerifySuperseded
	case DocRevoked:
		v.Status = VerifyRevoked
	}
	return v, nil
}

// typeList names every document type, for a message.
func typeList() string {
	names := make([]string, len(DocTypes))
	for i, t := range DocTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}
