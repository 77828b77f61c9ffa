package domain_test

import (
	"strings"
	"testing"
	"unicode/utf8"

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
