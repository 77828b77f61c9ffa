package domain

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
)

// EncodeCursor makes a Page.Next for the adapters: base64url of the JSON array of the last
// record's index values (nil for a missing field) and its id. It is opaque to callers.
func EncodeCursor(values []any, id string) string {
	b, _ := json.Marshal(append(append([]any{}, values...), id))
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor made by EncodeCursor for an index with n fields, turning each value
// into an adapter's form with value. Anything else is EINVALID: a cursor is client input.
func DecodeCursor(s string, n int, value func(any) (any, bool)) ([]any, string, error) {
	bad := Invalid("cursor", "the cursor is not one this server gave")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, "", bad
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw []any
	if err := dec.Decode(&raw); err != nil || len(raw) != n+1 {
		return nil, "", bad
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, "", bad
	}
	id, ok := raw[n].(string)
	if !ok {
		return nil, "", bad
	}
	vals := make([]any, n)
	for i := range n {
		switch raw[i].(type) {
		case nil, string, bool, json.Number:
		default:
			return nil, "", bad
		}
		if vals[i], ok = value(raw[i]); !ok {
			return nil, "", bad
		}
	}
	return vals, id, nil
}
