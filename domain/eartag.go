package domain

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// EarTag is a validated domestic individual number of ISO 11784: 15 digits, the first three the
// country code 398 (Kazakhstan), the other twelve the national number. Ear tags, boluses and
// chips all carry such a number; it is the animal's individual number of service 4.
type EarTag string

// Sizes of an ISO 11784 number.
const (
	EarTagLen = 15
	// CountryKZ is Kazakhstan's numeric country code (ISO 3166-1), the first three digits of every
	// number vetfield gives out.
	CountryKZ = "398"
)

// ParseEarTag returns s as an EarTag if it is 15 ASCII digits starting with 398. The checks run
// in the order a person fixes them: length, then digits, then the country code, and the message
// never echoes anything but digits, so it is safe to show.
func ParseEarTag(s string) (EarTag, error) {
	if err := CheckISO11784(s); err != nil {
		return "", err
	}
	if s[:3] != CountryKZ {
		return "", Invalid("", "the number starts with country code %s: a domestic number starts with %s (Kazakhstan)", s[:3], CountryKZ)
	}
	return EarTag(s), nil
}

// CheckISO11784 checks the shape every ISO 11784 number has, whatever its country: 15 digits.
func CheckISO11784(s string) error {
	if len(s) != EarTagLen {
		return Invalid("", "an individual number has %d digits, got %d characters", EarTagLen, utf8.RuneCountInString(s))
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return Invalid("", "an individual number has only digits 0-9")
		}
	}
	return nil
}

// EarTagOf writes n as a 15-digit number; n comes from a range of valid numbers.
func EarTagOf(n int64) EarTag {
	s := strconv.FormatInt(n, 10)
	return EarTag(strings.Repeat("0", max(0, EarTagLen-len(s))) + s)
}

// Int returns the number as an integer, for ranges: every 15-digit number fits in an int64.
func (t EarTag) Int() int64 {
	n, _ := strconv.ParseInt(string(t), 10, 64)
	return n
}

// National returns the twelve digits after the country code.
func (t EarTag) National() string {
	if len(t) != EarTagLen {
		return ""
	}
	return string(t[3:])
}

// IDMeans is how an individual number is carried on the animal.
type IDMeans string

// The means of identification Kazakhstan allows. Ear tags, boluses (in the rumen) and chips
// (under the skin) are devices carrying an ISO 11784 number, drawn from a unit's stock; tattoos and
// brands are marks a vet applies, with their own short codes and no stock.
const (
	MeansEarTag IDMeans = "ear_tag"
	MeansBolus  IDMeans = "bolus"
	MeansChip   IDMeans = "chip"
	MeansTattoo IDMeans = "tattoo"
	MeansBrand  IDMeans = "brand"
)

// AllMeans lists every means, for validation and documentation.
var AllMeans = []IDMeans{MeansEarTag, MeansBolus, MeansChip, MeansTattoo, MeansBrand}

// Valid reports whether m is one of AllMeans.
func (m IDMeans) Valid() bool {
	switch m {
	case MeansEarTag, MeansBolus, MeansChip, MeansTattoo, MeansBrand:
		return true
	}
	return false
}

// Stocked reports whether m is a device with an ISO 11784 number from a unit's stock.
func (m IDMeans) Stocked() bool { return m == MeansEarTag || m == MeansBolus || m == MeansChip }

// MaxMarkLen bounds a tattoo or brand code.
const MaxMarkLen = 20

// ParseMark normalises a tattoo or brand code: trimmed, upper case, 1 to MaxMarkLen letters,
// digits, '-' or '/'. Marks are not unique (a brand is often a farm's), so they identify an animal
// only together with its individual number.
func ParseMark(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	n := utf8.RuneCountInString(s)
	if n == 0 || n > MaxMarkLen {
		return "", Invalid("", "a tattoo or brand code has 1 to %d characters", MaxMarkLen)
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '/' {
			return "", Invalid("", "a tattoo or brand code has only letters, digits, '-' and '/'")
		}
	}
	return s, nil
}

// IdentifierStatus is the state of one means of identification on an animal.
type IdentifierStatus string

// Identifier states: active while on the animal; lost or damaged once reported; retired once
// replaced by a new number (the number is then never used again).
const (
	IdentActive  IdentifierStatus = "active"
	IdentLost    IdentifierStatus = "lost"
	IdentDamaged IdentifierStatus = "damaged"
	IdentRetired IdentifierStatus = "retired"
)

// Identifier is one means of identification an animal carries or carried.
type Identifier struct {
	Means  IDMeans          `json:"means"`
	Number string           `json:"number"`
	Status IdentifierStatus `json:"status"`
	// ReplacedBy is the number that replaced this one after a loss.
	ReplacedBy string `json:"replaced_by,omitempty"`
}

// IdentifierInput is a means of identification as a request gives it.
type IdentifierInput struct {
	Means  IDMeans
	Number string
}

// ParseIdentifiers validates what a vet fitted: 1 to MaxIdentifiers means, at least one with an
// individual number, no number twice. field is the JSON path of the list.
func ParseIdentifiers(in []IdentifierInput, field string) ([]Identifier, error) {
	if len(in) == 0 || len(in) > MaxIdentifiers {
		return nil, Invalid(field, "give 1 to %d means of identification", MaxIdentifiers)
	}
	out := make([]Identifier, 0, len(in))
	seen := map[string]bool{}
	stocked := false
	for i, x := range in {
		f := field + "[" + strconv.Itoa(i) + "]"
		if !x.Means.Valid() {
			return nil, Invalid(f+".means", "unknown means of identification %q: one of ear_tag, bolus, chip, tattoo, brand", Clip(string(x.Means)))
		}
		var number string
		if x.Means.Stocked() {
			t, err := ParseEarTag(x.Number)
			if err != nil {
				return nil, AtField(f+".number", err)
			}
			number, stocked = string(t), true
		} else {
			m, err := ParseMark(x.Number)
			if err != nil {
				return nil, AtField(f+".number", err)
			}
			number = m
		}
		key := x.Means.numberSpace() + ":" + number
		if seen[key] {
			return nil, Invalid(f+".number", "number %s is listed twice", number)
		}
		seen[key] = true
		out = append(out, Identifier{Means: x.Means, Number: number, Status: IdentActive})
	}
	if !stocked {
		return nil, Invalid(field, "an animal gets an individual number: give at least one ear tag, bolus or chip")
	}
	return out, nil
}

// numberSpace groups means whose numbers must differ: a device number is unique across all
// devices, while a tattoo and a brand may repeat each other's code.
func (m IDMeans) numberSpace() string {
	if m.Stocked() {
		return "iso"
	}
	return string(m)
}

// MaxIdentifiers bounds the means of identification of one animal.
const MaxIdentifiers = 4

// Clip shortens input echoed in a message.
func Clip(s string) string {
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	if !utf8.ValidString(s) {
		return "?"
	}
	return s
}
