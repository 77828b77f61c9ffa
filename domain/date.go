package domain

import (
	"time"
)

// CivilDate is a day of the calendar with no time and no zone, as the Labour Code and decrees
// name days. It is written "2006-01-02" in JSON and in storage, and it is comparable with ==, so
// it serves as a map key. The zero CivilDate is no date at all.
type CivilDate struct {
	year  int
	month time.Month
	day   int
}

// NewCivilDate returns the date; out-of-range days and months are normalised as time.Date does
// (32 January is 1 February).
func NewCivilDate(year int, month time.Month, day int) CivilDate {
	return civilDateOfUTC(time.Date(year, month, day, 12, 0, 0, 0, time.UTC))
}

// CivilDateOf returns the day t falls on in Asia/Almaty, which is the day that counts for working
// days whatever zone t was made in.
func CivilDateOf(t time.Time) CivilDate {
	y, m, d := t.In(Almaty).Date()
	return CivilDate{y, m, d}
}

// ParseCivilDate parses "2006-01-02"; anything else, including 30 February, is EINVALID.
func ParseCivilDate(s string) (CivilDate, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return CivilDate{}, Errorf(EINVALID, "%q is not a date of the form 2006-01-02", s)
	}
	return civilDateOfUTC(t), nil
}

func civilDateOfUTC(t time.Time) CivilDate {
	y, m, d := t.Date()
	return CivilDate{y, m, d}
}

// utc is the date at noon UTC, a point from which day arithmetic never crosses a zone's edge.
func (d CivilDate) utc() time.Time { return time.Date(d.year, d.month, d.day, 12, 0, 0, 0, time.UTC) }

// Year returns the date's year.
func (d CivilDate) Year() int { return d.year }

// Month returns the date's month.
func (d CivilDate) Month() time.Month { return d.month }

// Day returns the date's day of the month.
func (d CivilDate) Day() int { return d.day }

// IsZero reports whether d is the zero CivilDate, no date at all.
func (d CivilDate) IsZero() bool { return d == CivilDate{} }

// Weekday returns the day of the week.
func (d CivilDate) Weekday() time.Weekday { return d.utc().Weekday() }

// IsWeekend reports whether d is a Saturday or a Sunday.
func (d CivilDate) IsWeekend() bool {
	w := d.Weekday()
	return w == time.Saturday || w == time.Sunday
}

// AddDays returns the date n calendar days later (earlier when n < 0).
func (d CivilDate) AddDays(n int) CivilDate { return civilDateOfUTC(d.utc().AddDate(0, 0, n)) }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d CivilDate) Compare(e CivilDate) int { return d.utc().Compare(e.utc()) }

// Start returns 00:00 of the date in Asia/Almaty: the first instant of that working day.
func (d CivilDate) Start() time.Time { return time.Date(d.year, d.month, d.day, 0, 0, 0, 0, Almaty) }

// String returns "2006-01-02", or "" for the zero date.
func (d CivilDate) String() string {
	if d.IsZero() {
		return ""
	}
	return d.utc().Format(time.DateOnly)
}

// MarshalText writes "2006-01-02", so dates read the same in JSON, storage and decrees.
func (d CivilDate) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads "2006-01-02".
func (d *CivilDate) UnmarshalText(b []byte) error {
	v, err := ParseCivilDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
