package sqlite

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
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
	top, err := scanDoc(data)
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
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, domain.Invalid("data", "the document is not valid JSON")
	}
	return buf.Bytes(), nil
}

// scanDoc walks the document once, checking the key rules, and returns its top-level scalar values
// (string, bool, json.Number or nil; complexValue for objects and arrays).
func scanDoc(data []byte) (map[string]any, error) {
	bad := func(format string, args ...any) error { return domain.Invalid("data", format, args...) }
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, bad("the document must be a JSON object")
	}
	type frame struct {
		object bool
		keys   map[string]bool
	}
	top := map[string]any{}
	stack := []frame{{object: true, keys: map[string]bool{}}}
	topKey := "" // the top-level key whose value comes next
	expectKey := true
	for len(stack) > 0 {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad("the document is not valid JSON")
		}
		f := &stack[len(stack)-1]
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			expectKey = len(stack) > 0 && stack[len(stack)-1].object
			continue
		}
		if f.object && expectKey {
			k := tok.(string)
			switch {
			case strings.HasPrefix(k, "$") || strings.ContainsAny(k, ".\x00"):
				return nil, bad("field name %q must not start with '$' or contain '.'", k)
			case len(stack) == 1 && strings.HasPrefix(k, "_"):
				return nil, bad("top-level field name %q must not start with '_'", k)
			case f.keys[k]:
				return nil, bad("field %q appears twice", k)
			}
			f.keys[k] = true
			if len(stack) == 1 {
				topKey = k
			}
			expectKey = false
			continue
		}
		// A value.
		if len(stack) == 1 {
			if _, ok := tok.(json.Delim); ok {
				top[topKey] = complexValue{}
			} else {
				top[topKey] = tok
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, keys: map[string]bool{}})
			expectKey = true
		case json.Delim('['):
			stack = append(stack, frame{})
			expectKey = false
		default:
			expectKey = f.object
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad("the document is not valid JSON")
	}
	return top, nil
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
