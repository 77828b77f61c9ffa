package domain

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Office time. The regulations count their shortest steps in minutes and hours ("≤ 30 min",
// "head ≤ 2 h"): those run only while the office is open — on working days of the Calendar, within
// the office hours, outside the lunch break (seed 004: 9:00–18:30, break 13:00–14:30, Asia/Almaty).
// An application accepted at 18:10 on Friday 8 May 2026 therefore uses 20 of its 30 minutes on
// Friday; Saturday 9 May is Victory Day, whose day off moves to Monday 11 May; the last 10 minutes
// run on Tuesday 12 May from 9:00, and the step is due at 9:10.

// ClockTime is a time of day in minutes after midnight (Asia/Almaty).
type ClockTime int

// At makes a ClockTime of hours and minutes.
func At(h, m int) ClockTime { return ClockTime(h*60 + m) }

// String writes t as "09:00".
func (t ClockTime) String() string { return fmt.Sprintf("%02d:%02d", int(t)/60, int(t)%60) }

// OfficeHours are the hours the office works on a working day. It is stored in "office_hours"
// under the id "office" and edited by an administrator; until then DefaultOfficeHours counts.
type OfficeHours struct {
	Meta
	Open       ClockTime `json:"open"`
	Close      ClockTime `json:"close"`
	BreakStart ClockTime `json:"break_start"`
	BreakEnd   ClockTime `json:"break_end"`
	UpdatedAt  time.Time `json:"updated_at"`
	UpdatedBy  string    `json:"updated_by,omitempty"`
}

// DefaultOfficeHours are seed 004's: 9:00 to 18:30 with a break from 13:00 to 14:30.
func DefaultOfficeHours() *OfficeHours {
	return &OfficeHours{Meta: Meta{ID: officeHoursID}, Open: At(9, 0), Close: At(18, 30), BreakStart: At(13, 0), BreakEnd: At(14, 30)}
}

const officeHoursID = "office"

// OfficeHoursSpec declares the stored office hours. They are not synced: tablets count only
// working days, and office-time steps are done at the office.
var OfficeHoursSpec = CollectionSpec{Name: "office_hours"}

// Validate checks the hours as an administrator gives them; fields are named as in the API. A day
// without a break has BreakStart == BreakEnd.
func (h *OfficeHours) Validate() error {
	day := At(24, 0)
	switch {
	case h.Open < 0 || h.Open >= day:
		return Invalid("open", "the office opens between 00:00 and 23:59")
	case h.Close <= h.Open || h.Close > day:
		return Invalid("close", "the office closes after it opens, by 24:00")
	case h.BreakEnd < h.BreakStart:
		return Invalid("break_end", "the break ends after it starts")
	case h.BreakStart != h.BreakEnd && (h.BreakStart <= h.Open || h.BreakEnd >= h.Close):
		return Invalid("break_start", "the break lies inside the office hours")
	}
	return nil
}

// periods are the day's open periods, in order.
func (h *OfficeHours) periods() [][2]ClockTime {
	if h.BreakStart == h.BreakEnd {
		return [][2]ClockTime{{h.Open, h.Close}}
	}
	return [][2]ClockTime{{h.Open, h.BreakStart}, {h.BreakEnd, h.Close}}
}

// Office counts office time: the working calendar plus the office hours.
type Office struct {
	Store    Store
	Now      Clock
	Calendar *Calendar

	mu     sync.Mutex
	cached *OfficeHours
	loaded time.Time
}

// Hours returns the office hours in force (cached as long as the calendar caches a year).
func (o *Office) Hours(ctx context.Context) (*OfficeHours, error) {
	now := o.Now()
	o.mu.Lock()
	if o.cached != nil && !now.Before(o.loaded) && now.Sub(o.loaded) < o.Calendar.TTL {
		h := *o.cached
		o.mu.Unlock()
		return &h, nil
	}
	o.mu.Unlock()
	h, err := GetEntity[OfficeHours](ctx, o.Store, OfficeHoursSpec.Name, officeHoursID)
	if IsCode(err, ENOTFOUND) {
		h, err = DefaultOfficeHours(), nil
	}
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	c := *h
	o.cached, o.loaded = &c, now
	o.mu.Unlock()
	return h, nil
}

// SetHours replaces the office hours on behalf of the administrator by.
func (o *Office) SetHours(ctx context.Context, h OfficeHours, by string) (*OfficeHours, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	err := RetryCAS(ctx, func() error {
		cur, err := GetEntity[OfficeHours](ctx, o.Store, OfficeHoursSpec.Name, officeHoursID)
		if IsCode(err, ENOTFOUND) {
			cur = &OfficeHours{Meta: Meta{ID: officeHoursID}}
		} else if err != nil {
			return err
		}
		h.Meta = cur.Meta
		h.UpdatedAt, h.UpdatedBy = o.Now().UTC(), by
		if cur.Version == 0 {
			err = InsertEntity(ctx, o.Store, OfficeHoursSpec.Name, &h, nil)
			if IsCode(err, ECONFLICT) {
				return Again(err)
			}
			return err
		}
		return UpdateEntity(ctx, o.Store, OfficeHoursSpec.Name, &h, nil)
	}, "the office hours are changing concurrently; try again")
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	o.cached = nil
	o.mu.Unlock()
	return &h, nil
}

// MaxOfficeDays bounds a walk over office time, so a step of many hours on a calendar with no
// working days left fails instead of looping.
const MaxOfficeDays = 400

// AddOfficeTime returns the instant when d of office time has run from start: time counts only on
// working days, within the office hours and outside the break. A start outside office time counts
// from the next opening. The result is an exclusive bound like every due time.
func (o *Office) AddOfficeTime(ctx context.Context, start time.Time, d time.Duration) (time.Time, error) {
	if d < 0 {
		return time.Time{}, Errorf(EINVALID, "office time cannot be negative (%s)", d)
	}
	h, err := o.Hours(ctx)
	if err != nil {
		return time.Time{}, err
	}
	left := d
	day := CivilDateOf(start)
	for range MaxOfficeDays {
		ok, err := o.Calendar.IsWorkingDay(ctx, day.Start())
		if err != nil {
			return time.Time{}, err
		}
		if ok {
			for _, p := range h.periods() {
				from := day.Start().Add(time.Duration(p[0]) * time.Minute)
				to := day.Start().Add(time.Duration(p[1]) * time.Minute)
				if start.After(from) {
					from = start
				}
				if !from.Before(to) {
					continue
				}
				if avail := to.Sub(from); left <= avail {
					return from.Add(left).UTC(), nil
				} else {
					left -= avail
				}
			}
		}
		day = day.AddDays(1)
	}
	return time.Time{}, Errorf(EINVALID, "no office time within %d days of %s", MaxOfficeDays, start.In(Almaty).Format(time.DateTime))
}
