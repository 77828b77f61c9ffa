package mongo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/vetfield/vetfield/domain"
)

// The JSON document is converted to BSON by hand rather than with bson.UnmarshalExtJSON, because
// Extended JSON gives meaning to objects such as {"$date": ...} or {"$numberLong": ...} nested
// anywhere in the data: a document would not come back as it went in. The hand-written walk also
// enforces the key rules in the same pass.

// maxIDLen bounds document ids; they are keys, not content.
const maxIDLen = 256

func checkID(id string) error {
	if id == "" || len(id) > maxIDLen || !utf8.ValidString(id) {
		return domain.Invalid("id", "id must be 1 to %d bytes of UTF-8", maxIDLen)
	}
	return nil
}

// toBSON converts a JSON document to BSON, checking the rules every adapter applies so that a
// document stored in one engine can move to another: a JSON object without duplicate keys, no key
// starting with '$' or containing '.' or NUL at any depth (MongoDB's and FerretDB's own limits),
// and no top-level key starting with '_', which is where this adapter keeps _id, _v, _scope and
// _seq. Integers become int32 or int64, other numbers doubles.
func toBSON(data []byte) (bson.D, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, domain.Invalid("data", "the document must be a JSON object")
	}
	d, err := readObject(dec, true)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, domain.Invalid("data", "the document is not valid JSON")
	}
	return d, nil
}

func readObject(dec *json.Decoder, top bool) (bson.D, error) {
	d := bson.D{}
	seen := map[string]bool{}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, domain.Invalid("data", "the document is not valid JSON")
		}
		if tok == json.Delim('}') {
			return d, nil
		}
		k, _ := tok.(string)
		switch {
		case strings.HasPrefix(k, "$") || strings.ContainsAny(k, ".\x00"):
			return nil, domain.Invalid("data", "field name %q must not start with '$' or contain '.'", k)
		case top && strings.HasPrefix(k, "_"):
			return nil, domain.Invalid("data", "top-level field name %q must not start with '_'", k)
		case seen[k]:
			return nil, domain.Invalid("data", "field %q appears twice", k)
		}
		seen[k] = true
		v, err := readValue(dec)
		if err != nil {
			return nil, err
		}
		d = append(d, bson.E{Key: k, Value: v})
	}
}

func readValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, domain.Invalid("data", "the document is not valid JSON")
	}
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '{' {
			return readObject(dec, false)
		}
		a := bson.A{}
		for dec.More() {
			v, err := readValue(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		if _, err := dec.Token(); err != nil {
			return nil, domain.Invalid("data", "the document is not valid JSON")
		}
		return a, nil
	case json.Number:
		if n, err := tok.Int64(); err == nil {
			if n >= math.MinInt32 && n <= math.MaxInt32 {
				return int32(n), nil
			}
			return n, nil
		}
		f, err := tok.Float64()
		if err != nil {
			return nil, domain.Invalid("data", "number %s is out of range", tok)
		}
		return f, nil
	default: // string, bool, nil
		return tok, nil
	}
}

// toJSON writes the data fields of a stored document (every field but the adapter's own) as a
// JSON object.
func toJSON(d bson.D) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	for _, e := range d {
		if strings.HasPrefix(e.Key, "_") {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		if err := writeJSON(&b, e.Key); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := writeJSON(&b, e.Value); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case bson.D:
		b.WriteByte('{')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, e.Key); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := writeJSON(b, e.Value); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case bson.A:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, x); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case int32:
		b.WriteString(strconv.FormatInt(int64(v), 10))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case nil, string, bool, float64:
		j, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(j)
	default:
		// Not something this adapter writes (another tool put it there): show it as Extended JSON.
		j, err := bson.MarshalExtJSON(bson.D{{Key: "v", Value: v}}, false, false)
		if err != nil {
			return err
		}
		var wrapped struct{ V json.RawMessage }
		if err := json.Unmarshal(j, &wrapped); err != nil {
			return err
		}
		b.Write(wrapped.V)
	}
	return nil
}

// lookup returns the value of a top-level field of d, or nil.
func lookup(d bson.D, key string) any {
	for _, e := range d {
		if e.Key == key {
			return e.Value
		}
	}
	return nil
}

// checkIndexed applies the port's rule on index fields: strings, integers or booleans, present in
// every document when the index is unique.
func checkIndexed(c *collection, d bson.D) error {
	for _, x := range c.order {
		for _, f := range x.fields {
			switch lookup(d, f).(type) {
			case nil:
				if x.unique {
					return domain.Invalid("data."+f, "field %q is part of the unique index %s and must be present", f, x.name)
				}
			case string, bool, int32, int64:
			default:
				return domain.Invalid("data."+f, "indexed field %q must hold a string, an integer or a boolean", f)
			}
		}
	}
	return nil
}

// queryValue turns a query value into what MongoDB compares with a stored field: strings, booleans
// and integers (as int64; MongoDB compares numbers across types); nil is a missing field.
func queryValue(v any) (any, bool) { return domain.IndexValue(v) }

// encodeCursor makes Page.Next (see domain.EncodeCursor).
func encodeCursor(values []any, id string) string { return domain.EncodeCursor(values, id) }

// decodeCursor reads a cursor made by encodeCursor for an index with n fields.
func decodeCursor(s string, n int) ([]any, string, error) {
	return domain.DecodeCursor(s, n, queryValue)
}

// cursorValue is a stored field's value as a cursor holds it.
func cursorValue(v any) any {
	switch v := v.(type) {
	case int32:
		return int64(v)
	case string, bool, int64:
		return v
	}
	return nil
}

// scopeValue stores a scope; an empty one is null.
func scopeValue(scope []string) any {
	if len(scope) == 0 {
		return nil
	}
	a := make(bson.A, len(scope))
	for i, s := range scope {
		a[i] = s
	}
	return a
}

func scopeOf(v any) ([]string, error) {
	a, ok := v.(bson.A)
	if !ok || len(a) == 0 {
		if v != nil && !ok {
			return nil, fmt.Errorf("scope is a %T", v)
		}
		return nil, nil
	}
	out := make([]string, len(a))
	for i, x := range a {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("scope holds a %T", x)
		}
		out[i] = s
	}
	return out, nil
}

func int64Of(v any) int64 {
	switch v := v.(type) {
	case int32:
		return int64(v)
	case int64:
		return v
	case float64:
		return int64(v)
	}
	return 0
}
