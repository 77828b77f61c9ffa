package domain

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// derivedNamespace is the UUID v5 namespace of ids vetfield derives from other ids. A derived id
// makes a write that follows another idempotent: a retry derives the same id, and the store's
// insert-if-absent refuses a second copy.
var derivedNamespace = uuid.MustParse("6f1d1c52-3c0e-4b53-9d7a-2a4c1f0e9b71")

// DerivedID returns the UUID v5 of parts under derivedNamespace.
func DerivedID(parts ...string) string {
	return uuid.NewSHA1(derivedNamespace, []byte(strings.Join(parts, "\x00"))).String()
}

// DerivedIDBeside is DerivedID(parts...) made to sort, and compress, beside source. When source
// is a UUID v7, the derived id begins with its first 48 bits (the millisecond source was made)
// and is a UUID v8, RFC 9562's layout for ids of one's own design; its other 74 bits are the
// parts' SHA-1, as in DerivedID, so a retry derives it again. For any other source it is
// DerivedID(parts...).
//
// An animal's identification passport and event are named this way beside their animal: a
// district's first sync sends them next to it, and there the shared leading bits compress to a few bytes
// where a hash's would cost all of theirs. 74 bits of hash are as unlikely to collide among the
// records derived in one millisecond as a v7 id's 74 random bits are.
func DerivedIDBeside(source string, parts ...string) string {
	src, err := uuid.Parse(source)
	if err != nil || src.Version() != 7 {
		return DerivedID(parts...)
	}
	id := uuid.NewSHA1(derivedNamespace, []byte(strings.Join(parts, "\x00")))
	copy(id[:6], src[:6])
	id[6] = 0x80 | id[6]&0x0f // version 8; NewSHA1 has set the variant bits of id[8]
	return id.String()
}

// ParseClientID checks a client-generated id (a UUID, any version) and returns its canonical
// lower-case form, so "ABC…" and "abc…" name one request.
func ParseClientID(s, field string) (string, error) {
	if s == "" {
		return "", Invalid(field, "give a client-generated UUID, so a retry is recognised")
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 || id == uuid.Nil {
		return "", Invalid(field, "an id is a UUID like 0192f0c1-7a3e-7c4d-9f1e-3b2a1c0d9e8f")
	}
	return id.String(), nil
}

// AtField moves an EINVALID error to field, keeping its message; other errors pass unchanged.
func AtField(field string, err error) error {
	var e *Error
	if errors.As(err, &e) && e.Code == EINVALID {
		return &Error{Code: EINVALID, Field: field, Message: e.Message}
	}
	return err
}

// TrimmedText trims s and checks it is one line of 1 to n characters (0 to n when optional): a
// name, an address, a number. It refuses what no paper should print: control characters (NUL,
// ESC, BEL, line breaks) and text that was not valid UTF-8 (which a JSON decoder turns into
// U+FFFD, the replacement character, rather than refusing).
func TrimmedText(s, field string, n int, optional bool) (string, error) {
	return text(s, field, n, optional, false)
}

// TrimmedLines is TrimmedText for a note or a summary, which may run over several lines: line
// breaks (CRLF becomes LF) and tabs are kept, other control characters refused.
func TrimmedLines(s, field string, n int, optional bool) (string, error) {
	return text(strings.ReplaceAll(s, "\r\n", "\n"), field, n, optional, true)
}

func text(s, field string, n int, optional, lines bool) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		return "", Invalid(field, "the text is not valid UTF-8")
	}
	for _, r := range s {
		if (r < 0x20 || (r >= 0x7f && r < 0xa0)) && !(lines && (r == '\n' || r == '\t')) {
			if r == '\n' || r == '\r' {
				return "", Invalid(field, "one line: no line breaks")
			}
			return "", Invalid(field, "the text holds a control character (U+%04X)", r)
		}
	}
	l := utf8.RuneCountInString(s)
	if l > n || (!optional && l == 0) {
		if optional {
			return "", Invalid(field, "at most %d characters", n)
		}
		return "", Invalid(field, "give 1 to %d characters", n)
	}
	return s, nil
}

// TerritoryRange returns the bounds [from, to) of the KATO codes k covers, for a range over an
// indexed territory field: every code beneath k starts with k's prefix, and ':' sorts right after
// '9'. The empty Kato (the whole republic) has no bounds.
func TerritoryRange(k Kato) (from, to any) {
	p := k.Prefix()
	if p == "" {
		return nil, nil
	}
	return p, p + ":"
}

// CASRetries is how many times RetryCAS runs a read-modify-write that keeps losing its
// compare-and-swap before it answers Busy (see retry.go).
const CASRetries = 8

// ZeroPad formats n in decimal with leading zeros to width digits, as document and case numbers
// print their sequence.
func ZeroPad(n int64, width int) string {
	s := strconv.FormatInt(n, 10)
	for len(s) < width {
		s = "0" + s
	}
	return s
}
