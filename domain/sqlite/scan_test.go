package sqlite

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/vetfield/vetfield/domain"
)

// TestScanDocMatchesDecoder checks the byte-walking scanDoc against the json.Decoder walk it
// replaced, on documents that pass and documents that break each rule.
func TestScanDocMatchesDecoder(t *testing.T) {
	for _, doc := range []string{
		`{}`, ` { "a" : 1 , "b" : [ 1 , { "c" : "d" } ] , "e" : { } } `, `{"tag":"x","n":-1.5e3,"t":true,"f":false,"z":null}`,
		`{"k\u0061":"v\"q\\","u":"\u00e9\ud83d\ude00"}`, `{"a":{"a":{"a":[[[]]]}},"b":[{},{"x":1}],"c":"]}"}`,
		`{"tag":"x","a":{"$set":1}}`, `{"tag":"x","a":[{"b.c":1}]}`, `{"_v":1}`, `{"a":{"_ok":1}}`, `{"a":1,"a":2}`,
		`{"a":{"b":1,"b":2}}`, `{"a":[{"b":1},{"b":2}]}`, `{"k\u0000":1}`, `{"tag":"x"} {}`, `[1,2]`, ``, `{"tag":`,
		`"s"`, `{"a\u002eb":1}`, `{"\u0024x":1}`, `{"a":"\u0000"}`, `{"a":1}` + "\n",
	} {
		got, compact, gerr := scanDoc([]byte(doc))
		want, werr := scanDocDecoder([]byte(doc))
		if (gerr == nil) != (werr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, %v; want %v, %v", doc, got, gerr, want, werr)
		}
		if gerr == nil {
			var buf bytes.Buffer
			json.Compact(&buf, []byte(doc))
			if compact != (buf.String() == doc) {
				t.Errorf("%s: compact %v", doc, compact)
			}
		}
	}
}

// scanDocDecoder is the json.Decoder walk scanDoc replaced, kept as the reference.
func scanDocDecoder(data []byte) (map[string]any, error) {
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
