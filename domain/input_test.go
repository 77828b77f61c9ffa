package domain_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/vetfield/vetfield/domain"
)

func TestTrimmedText(t *testing.T) {
	for _, c := range []struct {
		name, in string
		lines    bool
		want     string // "" when refused
	}{
		{"OK", "  Әулиеата  ", false, "Әулиеата"},
		{"ErrNUL", "Ақ\x00жол", false, ""},
		{"ErrESC", "Ақжол\x1b[31m", false, ""},
		{"ErrBEL", "Ақжол\a", false, ""},
		{"ErrC1", "Ақ\u0085жол", false, ""},
		{"ErrLineBreak", "Ақжол\nшаруа", false, ""},
		{"ErrReplacement", "Ақ\ufffdжол", false, ""},
		{"ErrInvalidUTF8", "Ақ\xffжол", false, ""},
		{"LinesKeepBreaks", "first\r\nsecond\tcolumn", true, "first\nsecond\tcolumn"},
		{"ErrLinesNUL", "first\x00", true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := domain.TrimmedText
			if c.lines {
				f = domain.TrimmedLines
			}
			got, err := f(c.in, "name", 50, false)
			if c.want == "" {
				if !domain.IsCode(err, domain.EINVALID) || err.(*domain.Error).Field != "name" {
					t.Errorf("%q accepted as %q (%v)", c.in, got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("%q = %q, %v; want %q", c.in, got, err, c.want)
			}
		})
	}
}

// FuzzTrimmedText: whatever comes in, what is accepted is valid UTF-8, trimmed, within its length
// and free of control characters.
func FuzzTrimmedText(f *testing.F) {
	for _, s := range []string{"Ақжол", " a ", "\x00", "a\nb", "\ufffd", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := domain.TrimmedText(s, "x", 20, true)
		if err != nil {
			return
		}
		if !utf8.ValidString(got) || got != strings.TrimSpace(got) || utf8.RuneCountInString(got) > 20 ||
			strings.ContainsFunc(got, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) || r == utf8.RuneError }) {
			t.Errorf("%q accepted as %q", s, got)
		}
	})
}

// TestDerivedIDBeside: an id derived beside a UUID v7 keeps its 48 leading bits (its millisecond)
// and is a UUID v8 of the RFC 9562 variant, the same for the same parts and different for others;
// beside any other id it is DerivedID's.
func TestDerivedIDBeside(t *testing.T) {
	source := domain.NewID()
	id := domain.DerivedIDBeside(source, "passport", source)
	parsed, err := uuid.Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	if id[:13] != source[:13] || parsed.Version() != 8 || parsed.Variant() != uuid.RFC4122 {
		t.Errorf("beside %s: %s, version %d, variant %v; want its first 48 bits, version 8, RFC 9562", source, id, parsed.Version(), parsed.Variant())
	}
	if again := domain.DerivedIDBeside(source, "passport", source); again != id {
		t.Errorf("derived twice: %s and %s", id, again)
	}
	if other := domain.DerivedIDBeside(source, "event", source); other == id || other[:13] != id[:13] {
		t.Errorf("other parts: %s beside %s", other, id)
	}
	if id == domain.DerivedID("passport", source) {
		t.Error("the id beside a v7 source is DerivedID's")
	}
	v4 := uuid.NewString()
	if got, want := domain.DerivedIDBeside(v4, "passport", v4), domain.DerivedID("passport", v4); got != want {
		t.Errorf("beside a v4 id: %s, want DerivedID's %s", got, want)
	}
	if got, want := domain.DerivedIDBeside("not an id", "x"), domain.DerivedID("x"); got != want {
		t.Errorf("beside a non-id: %s, want %s", got, want)
	}
}
