package documents_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vetfield/vetfield/domain/documents"
)

// TestBase45RFC checks the examples of RFC 9285, section 4.
func TestBase45RFC(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"AB", "BB8"},
		{"Hello!!", "%69 VD92EX0"},
		{"base-45", "UJCLQE7W581"},
		{"ietf!", "QED8WEX0"},
		{"", ""},
	} {
		if got := documents.EncodeBase45([]byte(c.in)); got != c.out {
			t.Errorf("EncodeBase45(%q) = %q, want %q", c.in, got, c.out)
		}
		if got, err := documents.DecodeBase45(c.out); err != nil || string(got) != c.in {
			t.Errorf("DecodeBase45(%q) = %q, %v; want %q", c.out, got, err, c.in)
		}
	}
	// "GGW" is 65536, one more than two bytes hold; a single character is no group; lower case
	// and characters outside the 45 are not Base45.
	for _, bad := range []string{"GGW", "GGWBB8", "A", "BB8A", "bb8", "BB_", "HGW"} {
		if got, err := documents.DecodeBase45(bad); err == nil {
			t.Errorf("DecodeBase45(%q) = %q, want an error", bad, got)
		}
	}
}

// TestURL45 checks that the URL alphabet keeps the lengths of RFC 9285 and never writes the three
// characters a URL path cannot hold unescaped.
func TestURL45(t *testing.T) {
	all := make([]byte, 0, 2*65536+1)
	for v := range 65536 {
		all = append(all, byte(v>>8), byte(v))
	}
	all = append(all, 0xFF)
	s := documents.EncodeURL45(all)
	if len(s) != len(documents.EncodeBase45(all)) {
		t.Fatalf("URL45 is %d characters, Base45 %d", len(s), len(documents.EncodeBase45(all)))
	}
	if strings.ContainsAny(s, " %/") || strings.ToUpper(s) != s {
		t.Fatal("URL45 wrote a character that needs escaping, or lower case")
	}
	back, err := documents.DecodeURL45(s)
	if err != nil || !bytes.Equal(back, all) {
		t.Fatalf("URL45 does not round-trip: %v", err)
	}
	for _, bad := range []string{"%69", "A B", "A/B", ":::", "A"} {
		if got, err := documents.DecodeURL45(bad); err == nil {
			t.Errorf("DecodeURL45(%q) = %q, want an error", bad, got)
		}
	}
}

// FuzzBase45: no input panics; whatever decodes re-encodes to itself (the encoding is canonical),
// in both alphabets; and any bytes round-trip.
func FuzzBase45(f *testing.F) {
	for _, s := range []string{"BB8", "%69 VD92EX0", "UJCLQE7W581", "QED8WEX0", "GGW", "", "A", "::Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			enc func([]byte) string
			dec func(string) ([]byte, error)
		}{{documents.EncodeBase45, documents.DecodeBase45}, {documents.EncodeURL45, documents.DecodeURL45}} {
			if b, err := c.dec(s); err == nil {
				if again := c.enc(b); again != s {
					t.Fatalf("%q decodes to %x, which encodes to %q", s, b, again)
				}
			}
			b, err := c.dec(c.enc([]byte(s)))
			if err != nil || string(b) != s {
				t.Fatalf("%q does not round-trip: %x, %v", s, b, err)
			}
		}
	})
}
