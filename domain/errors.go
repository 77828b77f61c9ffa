// Package domain holds what every service of vetfield shares: the value types that are parsed,
// not validated (ear tags, IIN/BIN, KATO codes, civil dates, GPS fixes, species), the caller as
// Principal with its roles, the one error type, the storage port that domain/sqlite and
// domain/mongo implement, the clock and the working calendar. Each state service is a package
// beneath it (accounts, documents, identification, epizootic, inspection) that owns its nouns and
// rules; the root vetfield package wires them. Domain imports no HTTP framework, database driver or
// object store: everything else in vetfield depends on it, never the other way round.
package domain

import (
	"errors"
	"fmt"
)

// Error codes. The api package maps each to one HTTP status, in one table; nothing else in vetfield
// chooses a status.
const (
	ECONFLICT     = "conflict"     // a unique key is taken, or a version moved on
	EINVALID      = "invalid"      // the input breaks a rule; Field names the part at fault
	ENOTFOUND     = "not_found"    // no such thing, or the caller may not know it exists
	EUNAUTHORIZED = "unauthorized" // no valid credentials
	EFORBIDDEN    = "forbidden"    // valid credentials, wrong role
	ETOOMANY      = "too_many"     // throttled; RetryAfter says for how long
	EUNAVAILABLE  = "unavailable"  // a dependency is down; worth retrying later
	EINTERNAL     = "internal"     // a bug or an unexpected failure; details are logged, never shown
	ETOOLARGE     = "too_large"    // a body or file over its limit
	EUNSUPPORTED  = "unsupported"  // a media type we do not take
	EGONE         = "gone"         // the thing existed but has been revoked or retired
	EPRECONDITION = "precondition" // the request is well-formed but the state forbids it now
)

// Error is the one error type that carries a code, a message safe to show to the caller, and
// optionally the field at fault. Wrapped errors (Err) are for logs only.
type Error struct {
	Code    string
	Message string
	// Field names the input at fault, as a JSON path like "username", for EINVALID.
	Field string
	// Key names the unique key that clashed, for ECONFLICT from storage ("_id" or an index name).
	Key string
	// RetryAfterSeconds is set with ETOOMANY.
	RetryAfterSeconds int
	// Temporary marks a failure that says nothing about the request: it lost a race with
	// concurrent writers (see Busy). Repeating the very same request may succeed, so a record of
	// its outcome must not be kept as final.
	Temporary bool
	// Details are structured facts safe to show that explain a refusal (the grounds of a refused
	// dispatch, in Kazakh and Russian); the API sends them as the problem's "grounds" member.
	Details any
	Err     error
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with a formatted, client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Busy reports that a write lost to concurrent writers several times running: ECONFLICT, marked
// Temporary, with a message that asks to try again.
func Busy(format string, args ...any) *Error {
	return &Error{Code: ECONFLICT, Message: fmt.Sprintf(format, args...), Temporary: true}
}

// IsTemporary reports whether err is marked Temporary.
func IsTemporary(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Temporary
}

// Invalid reports that field breaks a rule.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected failure. Its message is never shown to a client.
func Internal(op string, err error) *Error {
	return &Error{Code: EINTERNAL, Message: "internal error", Err: fmt.Errorf("%s: %w", op, err)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other error and
// "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// IsCode reports whether err carries code.
func IsCode(err error, code string) bool { return ErrorCode(err) == code }
