package domain

import (
	"testing"
)

func TestParseIIN(t *testing.T) {
	valid := []string{
		"880101300123", // first pass gives the check digit
		"781214200010",
		"543381780752", // first pass gives 10: the second weights decide
		"169448086105",
	}
	for _, s := range valid {
		if _, err := ParseIIN(s); err != nil {
			t.Errorf("ParseIIN(%q) = %v, want valid", s, err)
		}
	}
	invalid := map[string]string{
		"880101300124":  "wrong check digit",
		"88010130012":   "11 digits",
		"8801013001230": "13 digits",
		"88010130012a":  "a letter",
		"":              "empty",
		"001701675510":  "both passes give 10: no check digit exists",
		"８８０１０１３００１２３":  "full-width digits",
	}
	for s, why := range invalid {
		if _, err := ParseIIN(s); !IsCode(err, EINVALID) {
			t.Errorf("ParseIIN(%q) (%s) = %v, want EINVALID", s, why, err)
		}
	}
}

func TestIINMasked(t *testing.T) {
	if got, want := IIN("880101300123").Masked(), "88********23"; got != want {
		t.Errorf("Masked = %q, want %q", got, want)
	}
}

// FuzzParseIIN checks that the parser never panics, accepts only 12 ASCII digits, and that every
// accepted number survives a round trip and stops being valid when its check digit changes.
func FuzzParseIIN(f *testing.F) {
	for _, s := range []string{"880101300123", "543381780752", "", "0", "００", "88010130012\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseIIN(s)
		if err != nil {
			if !IsCode(err, EINVALID) {
				t.Fatalf("ParseIIN(%q) error %v is not EINVALID", s, err)
			}
			return
		}
		if string(n) != s || len(s) != 12 {
			t.Fatalf("ParseIIN(%q) = %q", s, n)
		}
		for i := range 12 {
			if s[i] < '0' || s[i] > '9' {
				t.Fatalf("ParseIIN accepted a non-digit in %q", s)
			}
		}
		b := []byte(s)
		b[11] = '0' + (b[11]-'0'+1)%10
		if _, err := ParseIIN(string(b)); err == nil {
			t.Fatalf("ParseIIN accepted %q and %q, which differ only in the check digit", s, b)
		}
	})
}
