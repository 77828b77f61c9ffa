package documents

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/domain"
)

// The QR token is a compact signed payload printed as the QR code of every issued document, inside
// the URL {public URL}/v/{token}. It is binary so that the URL stays within 200 characters and the
// code within version 10 at error-correction level M; anyone with the public keys
// (/.well-known/vetfield-keys.json) can check it offline. Version 1, all integers big-endian:
//
//	offset size  field
//	0      1     format version, 1
//	1      1     document type code (see DocType.Code)
//	2      16    document id (UUID bytes)
//	18     2     issue date: days since 1970-01-01 in Asia/Almaty
//	20     4     issuing unit: the first six digits of its KATO code
//	24     4     sequence: the last part of the document number
//	28     1     subject kind: 0 none, 1 a 15-digit individual number, 2 text
//	29     n     subject: kind 1, 8 bytes (uint64); kind 2, 1 length byte and up to 40 ASCII bytes
//	29+n   6     kid: the signing key's id, before base64url
//	35+n   64    Ed25519 signature of every byte before it
//
// The whole is base64url-encoded without padding (143 characters for a passport): that is the
// token the API shows and stores. The QR code carries the same bytes in URL45 (see QRToken), 161
// characters for a passport, and ParseToken reads both.
//
// The document number is not carried as text; it is rebuilt as
// {type prefix}-{year of issue}-{unit, 6 digits}-{sequence, 6 digits or more}.

// TokenVersion is the format version this code writes.
const TokenVersion = 1

// TokenClaims are the facts a QR token carries.
type TokenClaims struct {
	DocumentID string
	Type       DocType
	IssueDate  time.Time // midnight in Asia/Almaty
	Unit       string    // six digits
	Seq        int64
	Subject    string // a 15-digit individual number, other text, or ""
	KeyID      string
}

// Number returns the document number the token stands for.
func (c TokenClaims) Number() string {
	return documentNumber(c.Type, c.IssueDate.Year(), c.Unit, c.Seq)
}

const (
	subjectNone   = 0
	subjectNumber = 1
	subjectText   = 2
	maxSubjectLen = 40
	kidLen        = 6
	sigLen        = ed25519.SignatureSize
)

// isIndividualNumber reports whether s is 15 digits, as ISO 11784 numbers are.
func isIndividualNumber(s string) bool {
	if len(s) != 15 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// encodePayload lays out the unsigned part of a token. kid is the key id's raw bytes.
func encodePayload(c TokenClaims, kid []byte) ([]byte, error) {
	id, err := uuid.Parse(c.DocumentID)
	if err != nil {
		return nil, domain.Internal("token: document id", err)
	}
	code := c.Type.Code()
	if code == 0 {
		return nil, domain.Errorf(domain.EINTERNAL, "token: unknown document type %q", c.Type)
	}
	unit, err := strconv.ParseUint(c.Unit, 10, 32)
	if err != nil || len(c.Unit) != 6 {
		return nil, domain.Errorf(domain.EINTERNAL, "token: unit %q is not six digits", c.Unit)
	}
	if c.Seq < 0 || c.Seq > 1<<32-1 {
		return nil, domain.Errorf(domain.EINTERNAL, "token: sequence %d out of range", c.Seq)
	}
	if len(kid) != kidLen {
		return nil, domain.Errorf(domain.EINTERNAL, "token: kid has %d bytes", len(kid))
	}
	b := make([]byte, 0, 128)
	b = append(b, TokenVersion, code)
	b = append(b, id[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(daysSinceEpoch(c.IssueDate)))
	b = binary.BigEndian.AppendUint32(b, uint32(unit))
	b = binary.BigEndian.AppendUint32(b, uint32(c.Seq))
	switch {
	case c.Subject == "":
		b = append(b, subjectNone)
	case isIndividualNumber(c.Subject):
		n, _ := strconv.ParseUint(c.Subject, 10, 64)
		b = append(b, subjectNumber)
		b = binary.BigEndian.AppendUint64(b, n)
	default:
		if len(c.Subject) > maxSubjectLen {
			return nil, domain.Errorf(domain.EINTERNAL, "token: subject longer than %d bytes", maxSubjectLen)
		}
		b = append(b, subjectText, byte(len(c.Subject)))
		b = append(b, c.Subject...)
	}
	return append(b, kid...), nil
}

// SignToken builds the token for c, signed with sign by the key kid.
func SignToken(c TokenClaims, kid string, sign func(msg []byte) []byte) (string, error) {
	rawKid, err := base64.RawURLEncoding.DecodeString(kid)
	if err != nil {
		return "", domain.Internal("token: kid", err)
	}
	payload, err := encodePayload(c, rawKid)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(append(payload, sign(payload)...)), nil
}

// QRToken returns token (base64url, as SignToken writes it) re-encoded for the QR code: the same
// bytes in URL45, Base45 (RFC 9285) over an alphabet with no character a URL path must escape.
// Every URL45 character is one of the QR code's alphanumeric mode, which spends 5.5 bits on a
// character where byte mode spends 8, so an upper-case URL holding it needs a smaller code: a
// passport's {public URL}/V/{token} goes from version 9 to 8 at level M, its modules a tenth wider
// on the same 25 mm print, and a 40-character text subject from version 11 (refused) to 9.
func QRToken(token string) (string, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil {
		return "", domain.Internal("token: not base64url", err)
	}
	return EncodeURL45(raw), nil
}

// maxTokenText bounds a token's text before any decoding: the longest token (a 40-byte subject)
// is 187 characters of base64url and 210 of URL45.
const maxTokenText = 256

// decodeToken returns the bytes of token in either of its two encodings. Base64url comes first: a
// printed paper from before URL45 holds it, and a URL45 text is never valid base64url unless it
// avoids all five of $*+.: (ParseToken then tries URL45 if the signature fails).
func decodeToken(token string) [][]byte {
	var out [][]byte
	if raw, err := base64.RawURLEncoding.Strict().DecodeString(token); err == nil {
		out = append(out, raw)
	}
	if raw, err := DecodeURL45(token); err == nil {
		out = append(out, raw)
	}
	return out
}

// errNotGenuine is the one answer to every token that does not verify: which check failed is
// nobody's business but a forger's.
var errNotGenuine = &domain.Error{Code: domain.EINVALID, Message: "the code is not a genuine vetfield document"}

// ParseToken decodes a token, in base64url or URL45, and checks its signature with verify (kid,
// message, signature). Any malformed, truncated, re-signed or unknown-key token is EINVALID; it
// never panics.
func ParseToken(token string, verify func(kid string, msg, sig []byte) bool) (TokenClaims, error) {
	if len(token) > maxTokenText {
		return TokenClaims{}, errNotGenuine
	}
	for _, raw := range decodeToken(token) {
		if c, err := parseTokenBytes(raw, verify); err == nil {
			return c, nil
		}
	}
	return TokenClaims{}, errNotGenuine
}

// parseTokenBytes is ParseToken once the text is decoded.
func parseTokenBytes(raw []byte, verify func(kid string, msg, sig []byte) bool) (TokenClaims, error) {
	if len(raw) < 29+kidLen+sigLen {
		return TokenClaims{}, errNotGenuine
	}
	if raw[0] != TokenVersion {
		return TokenClaims{}, errNotGenuine
	}
	payload, sig := raw[:len(raw)-sigLen], raw[len(raw)-sigLen:]
	c := TokenClaims{Type: docTypeByCode(raw[1])}
	if c.Type == "" {
		return TokenClaims{}, errNotGenuine
	}
	id, err := uuid.FromBytes(raw[2:18])
	if err != nil {
		return TokenClaims{}, errNotGenuine
	}
	c.DocumentID = id.String()
	c.IssueDate = dateFromDays(int(binary.BigEndian.Uint16(raw[18:20])))
	unit := binary.BigEndian.Uint32(raw[20:24])
	if unit > 999999 {
		return TokenClaims{}, errNotGenuine
	}
	c.Unit = domain.ZeroPad(int64(unit), 6)
	c.Seq = int64(binary.BigEndian.Uint32(raw[24:28]))
	rest := payload[29:]
	switch raw[28] {
	case subjectNone:
	case subjectNumber:
		if len(rest) < 8 {
			return TokenClaims{}, errNotGenuine
		}
		n := binary.BigEndian.Uint64(rest[:8])
		if n > 999_999_999_999_999 {
			return TokenClaims{}, errNotGenuine
		}
		c.Subject = domain.ZeroPad(int64(n), 15)
		rest = rest[8:]
	case subjectText:
		if len(rest) < 1 || int(rest[0]) > maxSubjectLen || len(rest) < 1+int(rest[0]) {
			return TokenClaims{}, errNotGenuine
		}
		c.Subject = string(rest[1 : 1+rest[0]])
		rest = rest[1+rest[0]:]
	default:
		return TokenClaims{}, errNotGenuine
	}
	if len(rest) != kidLen {
		return TokenClaims{}, errNotGenuine
	}
	c.KeyID = base64.RawURLEncoding.EncodeToString(rest)
	if !verify(c.KeyID, payload, sig) {
		return TokenClaims{}, errNotGenuine
	}
	return c, nil
}

func daysSinceEpoch(t time.Time) int {
	y, m, d := t.In(domain.Almaty).Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func dateFromDays(days int) time.Time {
	u := time.Unix(int64(days)*86400, 0).UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, domain.Almaty)
}
