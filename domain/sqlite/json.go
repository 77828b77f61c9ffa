package sqlite

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/vetfield/vetfield/domain"
)

// maxIDLen bounds document ids; they are keys, not content.
const maxIDLen = 256

func checkID(id string) error {
	if id == "" || len(id) > maxIDLen || !utf8.ValidString(id) {
		return domain.Invalid("id", "id must be 1 to %d bytes of UTF-8", maxIDLen)
	}
	return nil
}

// complexValue marks a top-level field holding an object or an array.
type complexValue struct{}

// checkDoc validates data as a document of c and returns it compacted. The rules are the same in
// every adapter, so that a document stored in one engine can be moved to another: a JSON object
// without duplicate keys, no key starting with '$' or containing '.' or NUL at any depth, no
// top-level key starting with '_' (the adapters keep their own fields there), and index fields
// holding strings, integers or booleans — present in every document when the index is unique.
func checkDoc(c *collection, data json.RawMessage) ([]byte, error) {
	top, compact, err := scanDoc(data)
	if err != nil {
		return nil, err
	}
	for _, x := range c.order {
		for _, f := range x.fields {
			switch v := top[f].(type) {
			case nil:
				if x.unique {
					return nil, domain.Invalid("data."+f, "field %q is part of the unique index %s and must be present", f, x.name)
				}
			case string, bool:
			case json.Number:
				if _, err := v.Int64(); err != nil {
					return nil, domain.Invalid("data."+f, "indexed field %q must hold a string, an integer or a boolean", f)
				}
			default:
				return nil, domain.Invalid("data."+f, "indexed field %q must hold a string, an integer or a boolean", f)
			}
		}
	}
	if compact {
		return data, nil // as json.Marshal writes it: compacting would copy it unchanged
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, domain.Invalid("data", "the document is not valid JSON")
	}
	return buf.Bytes(), nil
}

// scanDoc walks the document once, checking the key rules, and returns its top-level scalar values
// (string, bool, json.Number or nil; complexValue for objects and arrays) and whether the
// document is already compact (no whitespace outside strings). Every write passes
// through it, so it checks validity with json.Valid and then walks the bytes itself, which is
// several times cheaper than json.Decoder's tokens and matters for a unit of work of several
// documents.
func scanDoc(data []byte) (map[string]any, bool, error) {
	bad := func(format string, args ...any) error { return domain.Invalid("data", format, args...) }
	if !json.Valid(data) {
		return nil, false, bad("the document is not valid JSON")
	}
	sc := docScanner{b: data}
	sc.space()
	if sc.i >= len(data) || data[sc.i] != '{' {
		return nil, false, bad("the document must be a JSON object")
	}
	sc.i++
	type frame struct {
		object bool
		keys   map[string]bool
	}
	top := map[string]any{}
	stack := []frame{{object: true, keys: map[string]bool{}}}
	for len(stack) > 0 {
		sc.space()
		c := data[sc.i]
		if c == ',' {
			sc.i++
			sc.space()
			c = data[sc.i]
		}
		if c == '}' || c == ']' {
			sc.i++
			stack = stack[:len(stack)-1]
			continue
		}
		f := &stack[len(stack)-1]
		topKey := ""
		if f.object {
			k, err := sc.str()
			if err != nil {
				return nil, false, bad("the document is not valid JSON")
			}
			switch {
			case strings.HasPrefix(k, "$") || strings.ContainsAny(k, ".\x00"):
				return nil, false, bad("field name %q must not start with '$' or contain '.'", k)
			case len(stack) == 1 && strings.HasPrefix(k, "_"):
				return nil, false, bad("top-level field name %q must not start with '_'", k)
			case f.keys[k]:
				return nil, false, bad("field %q appears twice", k)
			}
			f.keys[k] = true
			topKey = k
			sc.space()
			sc.i++ // ':'
			sc.space()
			c = data[sc.i]
		}
		// A value.
		atTop := len(stack) == 1
		var v any
		switch {
		case c == '{':
			sc.i++
			v = complexValue{}
			stack = append(stack, frame{object: true, keys: map[string]bool{}})
		case c == '[':
			sc.i++
			v = complexValue{}
			stack = append(stack, frame{})
		case c == '"':
			str, err := sc.str()
			if err != nil {
				return nil, false, bad("the document is not valid JSON")
			}
			v = str
		case c == 't':
			sc.i += 4
			v = true
		case c == 'f':
			sc.i += 5
			v = false
		case c == 'n':
			sc.i += 4
		default:
			start := sc.i
			for sc.i < len(data) && strings.IndexByte("+-.0123456789eE", data[sc.i]) >= 0 {
				sc.i++
			}
			v = json.Number(data[start:sc.i])
		}
		if atTop {
			top[topKey] = v
		}
	}
	return top, !sc.spaced && sc.i == len(data), nil
}

// docScanner walks a document that json.Valid accepted.
type docScanner struct {
	b      []byte
	i      int
	spaced bool // whitespace was skipped: the document is not compact
}

func (sc *docScanner) space() {
	for sc.i < len(sc.b) {
		switch sc.b[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
			sc.spaced = true
		default:
			return
		}
	}
}

// str reads the string at sc.i, unescaping it only when it holds an escape.
func (sc *docScanner) str() (string, error) {
	start := sc.i
	sc.i++
	escaped := false
	for sc.b[sc.i] != '"' {
		if sc.b[sc.i] == '\\' {
			escaped = true
			sc.i++
		}
		sc.i++
	}
	sc.i++
	raw := sc.b[start:sc.i]
	if !escaped {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// scopeJSON stores a scope; an empty one is NULL.
func scopeJSON(scope []string) (any, error) {
	if len(scope) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(scope)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func parseScope(s sql.NullString) ([]string, error) {
	if !s.Valid || s.String == "" || s.String == "null" {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(s.String), &out); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// missing stands for a field a document lacks. Its column holds -Inf, which sorts below every
// integer and string.
type missing struct{}

var missingValue = math.Inf(-1)

// sqlValue turns a query value into what SQLite compares with an index column: strings and
// integers as they are, booleans as 1 and 0 (json_extract's form of true and false), nil (a
// missing field) as -Inf.
func sqlValue(v any) (any, bool) {
	switch v := v.(type) {
	case nil, missing:
		return missingValue, true
	case bool:
		if v {
			return int64(1), true
		}
		return int64(0), true
	}
	return domain.IndexValue(v)
}

// encodeCursor makes Page.Next (see domain.EncodeCursor); a missing field's -Inf goes as null.
func encodeCursor(values []any, id string) string {
	vals := make([]any, 0, len(values))
	for _, v := range values {
		if f, ok := v.(float64); ok && math.IsInf(f, -1) {
			v = nil
		}
		vals = append(vals, v)
	}
	return domain.EncodeCursor(vals, id)
}

// decodeCursor reads a cursor made by encodeCursor for an index with n fields.
func decodeCursor(s string, n int) ([]any, string, error) {
	return domain.DecodeCursor(s, n, sqlValue)
}
