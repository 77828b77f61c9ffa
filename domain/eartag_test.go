package domain_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vetfield/vetfield/domain"
)

func TestParseEarTag(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		tag, err := domain.ParseEarTag("398012345678901")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tag.National(), "012345678901"; got != want {
			t.Errorf("National() = %q, want %q", got, want)
		}
		if got, want := tag.Int(), int64(398012345678901); got != want {
			t.Errorf("Int() = %d, want %d", got, want)
		}
	})
	for _, c := range []struct{ Name, In, Msg string }{
		{"ErrShort", "39801234567890", "15 digits, got 14"},
		{"ErrLong", "3980123456789012", "15 digits, got 16"},
		{"ErrEmpty", "", "15 digits, got 0"},
		{"ErrLetter", "39801234567890a", "only digits"},
		{"ErrSpace", "398 12345678901", "only digits"},
		{"ErrSign", "+39801234567890", "only digits"},
		{"ErrFullWidthDigits", "３９８012345678901", "15 digits"},
		{"ErrCountry", "643012345678901", "country code 643"},
		{"ErrCountryZero", "000012345678901", "country code 000"},
	} {
		t.Run(c.Name, func(t *testing.T) {
			_, err := domain.ParseEarTag(c.In)
			if !domain.IsCode(err, domain.EINVALID) || !strings.Contains(err.Error(), c.Msg) {
				t.Fatalf("ParseEarTag(%q) = %v, want EINVALID with %q", c.In, err, c.Msg)
			}
		})
	}
}

// FuzzParseEarTag checks that whatever a tablet or a scanner sends, ParseEarTag either answers a
// domestic 15-digit number equal to its input or an EINVALID error with a short message that echoes
// none of the input's non-digit bytes.
func FuzzParseEarTag(f *testing.F) {
	for _, s := range []string{"398012345678901", "398000000000000", "398999999999999", "643012345678901",
		"39801234567890", "3980123456789012", "39801234567890x", "", "398\x00123456789012", "３９８012345678901",
		"398-0123-4567-89"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag, err := domain.ParseEarTag(s)
		if err != nil {
			if !domain.IsCode(err, domain.EINVALID) || tag != "" {
				t.Fatalf("ParseEarTag(%q) = %q, %v: want EINVALID and no tag", s, tag, err)
			}
			msg := err.(*domain.Error).Message
			if !utf8.ValidString(msg) || len(msg) > 200 {
				t.Fatalf("message %q is not short, valid text", msg)
			}
			for _, r := range s {
				if (r < '0' || r > '9') && r > 127 && strings.ContainsRune(msg, r) {
					t.Fatalf("message %q echoes the input's %q", msg, r)
				}
			}
			return
		}
		if string(tag) != s || len(s) != domain.EarTagLen || !strings.HasPrefix(s, "398") {
			t.Fatalf("ParseEarTag(%q) accepted %q", s, tag)
		}
		for i := range len(s) {
			if s[i] < '0' || s[i] > '9' {
				t.Fatalf("ParseEarTag(%q) accepted a non-digit", s)
			}
		}
		if got := fmt.Sprintf("%015d", tag.Int()); got != s || "398"+tag.National() != s {
			t.Fatalf("%q does not round-trip: Int %s, National %s", s, got, tag.National())
		}
	})
}

func TestParseMark(t *testing.T) {
	if got, err := domain.ParseMark("  ab-12/c "); err != nil || got != "AB-12/C" {
		t.Errorf("ParseMark = %q, %v", got, err)
	}
	if got, err := domain.ParseMark("Жк-7"); err != nil || got != "ЖК-7" {
		t.Errorf("ParseMark(Cyrillic) = %q, %v", got, err)
	}
	for _, bad := range []string{"", "   ", "AB 12", "A;B", strings.Repeat("7", 21)} {
		if _, err := domain.ParseMark(bad); !domain.IsCode(err, domain.EINVALID) {
			t.Errorf("ParseMark(%q) = %v, want EINVALID", bad, err)
		}
	}
}
