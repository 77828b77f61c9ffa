package domain

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"
)

// The working calendar of Kazakhstan. Every deadline of the regulations counted in working days
// ("within 2 working days from the day the tags arrive", "≤ 1 wd") is computed here, so the rules
// of the Labour Code live in one place:
//
//   - working days are Monday to Friday, minus days off;
//   - the public holidays (calendarHolidays) and the first day of Kurban Ait are days off;
//   - a holiday that falls on a Saturday or a Sunday moves its day off to the next day that is a
//     weekday and not already off, except the religious ones (7 January, Kurban Ait), which are
//     never moved;
//   - each year the government moves days off by decree: a weekday becomes a day off and a weekend
//     day becomes a working day in exchange (DayTransfer).
//
// Days are reckoned in Asia/Almaty (Almaty, in tz.go). The year's Kurban Ait and transfers are
// edited by an administrator and stored as a CalendarYear; a year nobody has edited uses the
// built-in default (DefaultCalendarYear).

// The years the calendar answers for. Dates outside them are input errors, not deadlines.
const (
	MinCalendarYear = 2000
	MaxCalendarYear = 2100
)

// CalendarCacheTTL is how long a Calendar trusts a year it read from the store. A change made
// through this process is seen at once; one made through another process is seen within this
// time.
const CalendarCacheTTL = time.Minute

// Limits of an edited year, so a body cannot grow without bound.
const (
	MaxDayTransfers     = 20
	MaxCalendarNotes    = 2000
	MaxDayTransferNotes = 200
)

// dayName writes a date as people read it in a reason: "Saturday 21 March".
func dayName(d CivilDate) string { return d.utc().Format("Monday 2 January") }

// calendarHoliday is a public holiday of the Labour Code on a fixed date.
type calendarHoliday struct {
	month          time.Month
	day            int
	name           string // English, for reasons and logs
	nameKK, nameRU string
	// religious holidays keep their date: when they fall on a weekend no day off is moved.
	religious bool
}

// calendarHolidays are the public holidays as the law has stood since 2022 (Republic Day on
// 25 October restored; 1 and 17 December no longer holidays). They are applied to every year;
// vetfield computes deadlines of current work, so earlier years are approximations.
var calendarHolidays = [...]calendarHoliday{
	{time.January, 1, "New Year", "Жаңа жыл", "Новый год", false},
	{time.January, 2, "New Year", "Жаңа жыл", "Новый год", false},
	{time.January, 7, "Orthodox Christmas", "Православиелік Рождество", "Православное Рождество", true},
	{time.March, 8, "International Women's Day", "Халықаралық әйелдер күні", "Международный женский день", false},
	{time.March, 21, "Nauryz", "Наурыз мейрамы", "Наурыз мейрамы", false},
	{time.March, 22, "Nauryz", "Наурыз мейрамы", "Наурыз мейрамы", false},
	{time.March, 23, "Nauryz", "Наурыз мейрамы", "Наурыз мейрамы", false},
	{time.May, 1, "Unity Day of the People of Kazakhstan", "Қазақстан халқының бірлігі мерекесі", "Праздник единства народа Казахстана", false},
	{time.May, 7, "Defender of the Fatherland Day", "Отан қорғаушы күні", "День защитника Отечества", false},
	{time.May, 9, "Victory Day", "Жеңіс күні", "День Победы", false},
	{time.July, 6, "Capital City Day", "Астана күні", "День столицы", false},
	{time.August, 30, "Constitution Day", "Конституция күні", "День Конституции", false},
	{time.October, 25, "Republic Day", "Республика күні", "День Республики", false},
	{time.December, 16, "Independence Day", "Тәуелсіздік күні", "День Независимости", false},
}

var kurbanAitHoliday = calendarHoliday{name: "Kurban Ait", nameKK: "Құрбан айттың бірінші күні", nameRU: "Первый день Курбан айта", religious: true}

// kurbanAitDefaults are the first days of Kurban Ait we could establish; the date follows the
// lunar calendar and is announced each year by the Spiritual Administration of Muslims of
// Kazakhstan (ДУМК) with the Ministry of Labour, and may still move a day when the new moon is
// observed. Years not listed have no Kurban Ait until an administrator sets it.
//   - 2024: 16 June (Sunday). The 2024 calendar first said Monday 17 June; ДУМК fixed 16 June on
//     7 June 2024 and the ministry confirmed no day off is moved (golos-naroda.kz, tengrinews.kz).
//   - 2025: 6 June (Friday), ДУМК (mgorod.kz, lada.kz).
//   - 2026: 27 May (Wednesday), from the ДУМК calendar of religious dates for 2026 published on
//     6 November 2025 (zakon.kz, baq.kz); computed astronomically, it may still move by a day.
var kurbanAitDefaults = map[int]CivilDate{
	2024: {2024, time.June, 16},
	2025: {2025, time.June, 6},
	2026: {2026, time.May, 27},
}

// DayTransfer is one move of a day off by government decree. The decree reads "move the day off
// from Saturday X to Friday Y"; we name the two days by what they become, which cannot be read
// backwards: DayOff, a weekday, becomes a day off, and WorkingDay, a Saturday or Sunday, becomes a
// working day in exchange.
type DayTransfer struct {
	DayOff     CivilDate `json:"day_off"`
	WorkingDay CivilDate `json:"working_day"`
	// Note cites the decree, for the people who check the calendar.
	Note string `json:"note,omitempty"`
}

// CalendarYear is what an administrator sets for one year: the first day of Kurban Ait and the
// government's transfers of days off. It is stored in "calendar_years" under the year as its id
// and synced to every tablet, which must count deadlines offline.
type CalendarYear struct {
	Meta
	Year int `json:"year"`
	// KurbanAit is nil while the date is not known; the year then has no Kurban Ait day off.
	KurbanAit *CivilDate    `json:"kurban_ait,omitempty"`
	Transfers []DayTransfer `json:"transfers"`
	Notes     string        `json:"notes,omitempty"`
	UpdatedAt time.Time     `json:"updated_at,omitzero"`
	// UpdatedBy is the username of the administrator who last set the year.
	UpdatedBy string `json:"updated_by,omitempty"`
}

// CalendarSpec declares the stored years. Synced with the scope "all": every device needs the
// calendar.
var CalendarSpec = CollectionSpec{
	Name:    "calendar_years",
	Indexes: []Index{{Name: "calendar_years_year", Fields: []string{"year"}, Unique: true}},
	Synced:  true,
}

// calendarScope lets every device see the calendar.
var calendarScope = []string{"all"}

// DefaultCalendarYear is the year as the law alone makes it, with the Kurban Ait date we know:
// what counts until an administrator sets the year. Its Version is 0, as it is not stored.
func DefaultCalendarYear(year int) *CalendarYear {
	y := &CalendarYear{Meta: Meta{ID: strconv.Itoa(year)}, Year: year, Transfers: []DayTransfer{}}
	if d, ok := kurbanAitDefaults[year]; ok {
		y.KurbanAit = &d
	}
	return y
}

// clone returns a copy the caller may change without touching a cached year.
func (y *CalendarYear) clone() *CalendarYear {
	c := *y
	c.Transfers = slices.Clone(y.Transfers)
	if c.Transfers == nil {
		c.Transfers = []DayTransfer{}
	}
	if y.KurbanAit != nil {
		d := *y.KurbanAit
		c.KurbanAit = &d
	}
	return &c
}

// DayOffKind says why a day is off.
type DayOffKind string

// The kinds of days off.
const (
	DayOffHoliday  DayOffKind = "holiday"  // a public holiday on its own date
	DayOffMoved    DayOffKind = "moved"    // the day off of a holiday that fell on a weekend
	DayOffTransfer DayOffKind = "transfer" // a government transfer
)

// DayOff is one day off with its reason, as tablets show it next to a deadline.
type DayOff struct {
	Date   CivilDate
	Kind   DayOffKind
	NameKK string
	NameRU string
	// MovedFrom is the holiday's own date, for DayOffMoved.
	MovedFrom *CivilDate
	// WorkingDay is the weekend day worked in exchange, for DayOffTransfer.
	WorkingDay *CivilDate
	// Reason explains the day in English, e.g. "Nauryz, Saturday 21 March, moved here".
	Reason string
}

// calendarDays is a year worked out: its days off and the weekend days that are working days.
type calendarDays struct {
	off     map[CivilDate]DayOff
	working map[CivilDate]bool
}

// isWorking reports whether d, a day of the year, is a working day.
func (yd calendarDays) isWorking(d CivilDate) bool {
	if _, ok := yd.off[d]; ok {
		return false
	}
	return yd.working[d] || !d.IsWeekend()
}

// holidays works out the days off the law gives: holidays on their dates, Kurban Ait, and the
// weekend rule. Transfers are not applied.
func (y *CalendarYear) holidays() map[CivilDate]DayOff {
	off := map[CivilDate]DayOff{}
	add := func(d CivilDate, h calendarHoliday) {
		if prev, ok := off[d]; ok { // Kurban Ait on a fixed holiday: one day off, both names
			prev.NameKK += "; " + h.nameKK
			prev.NameRU += "; " + h.nameRU
			prev.Reason += "; " + h.name
			off[d] = prev
			return
		}
		off[d] = DayOff{Date: d, Kind: DayOffHoliday, NameKK: h.nameKK, NameRU: h.nameRU, Reason: h.name}
	}
	for _, h := range calendarHolidays {
		add(CivilDate{y.Year, h.month, h.day}, h)
	}
	if y.KurbanAit != nil {
		add(*y.KurbanAit, kurbanAitHoliday)
	}
	// Every holiday is in off before any day off moves, so a moved day skips later holidays (Nauryz
	// on Saturday 21 March skips Monday 23, itself Nauryz); holidays move in date order, so the
	// 22nd's day off comes after the 21st's.
	for _, h := range calendarHolidays {
		d := CivilDate{y.Year, h.month, h.day}
		if h.religious || !d.IsWeekend() {
			continue
		}
		to := d.AddDays(1)
		for to.IsWeekend() || hasDayOff(off, to) {
			to = to.AddDays(1)
		}
		from := d
		off[to] = DayOff{Date: to, Kind: DayOffMoved, NameKK: h.nameKK, NameRU: h.nameRU, MovedFrom: &from,
			Reason: fmt.Sprintf("%s, %s, moved here", h.name, dayName(d))}
	}
	return off
}

func hasDayOff(m map[CivilDate]DayOff, d CivilDate) bool { _, ok := m[d]; return ok }

// days works out the whole year: the law's days off, then the transfers, which validate keeps
// clear of them.
func (y *CalendarYear) days() calendarDays {
	yd := calendarDays{off: y.holidays(), working: map[CivilDate]bool{}}
	for _, t := range y.Transfers {
		w := t.WorkingDay
		yd.off[t.DayOff] = DayOff{Date: t.DayOff, Kind: DayOffTransfer, NameKK: "Демалыс күнін ауыстыру",
			NameRU: "Перенос выходного дня", WorkingDay: &w,
			Reason: fmt.Sprintf("government transfer: %s is worked instead", dayName(w))}
		yd.working[w] = true
	}
	return yd
}

// DaysOff lists the year's days off in date order: holidays on their own dates (on a weekend too,
// so people see why the weekday after it is off), moved days off and transfers. Ordinary
// Saturdays and Sundays are not listed.
func (y *CalendarYear) DaysOff() []DayOff {
	yd := y.days()
	out := make([]DayOff, 0, len(yd.off))
	for _, d := range yd.off {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b DayOff) int { return a.Date.Compare(b.Date) })
	return out
}

// ExtraWorkingDays lists the weekend days made working days by transfers, in date order.
func (y *CalendarYear) ExtraWorkingDays() []CivilDate {
	out := make([]CivilDate, 0, len(y.Transfers))
	for _, t := range y.Transfers {
		out = append(out, t.WorkingDay)
	}
	slices.SortFunc(out, CivilDate.Compare)
	return out
}

// validate checks the year an administrator set; fields are named as in the API.
func (y *CalendarYear) validate() error {
	if y.Year < MinCalendarYear || y.Year > MaxCalendarYear {
		return Invalid("year", "the calendar covers the years %d to %d", MinCalendarYear, MaxCalendarYear)
	}
	if y.KurbanAit != nil && y.KurbanAit.Year() != y.Year {
		return Invalid("kurban_ait", "Kurban Ait %s is not in %d", y.KurbanAit, y.Year)
	}
	if len(y.Transfers) > MaxDayTransfers {
		return Invalid("transfers", "at most %d transfers a year", MaxDayTransfers)
	}
	if n := len([]rune(y.Notes)); n > MaxCalendarNotes {
		return Invalid("notes", "notes are at most %d characters", MaxCalendarNotes)
	}
	law := y.holidays()
	seen := map[CivilDate]int{}
	for i, t := range y.Transfers {
		field := fmt.Sprintf("transfers[%d].", i)
		off, work := t.DayOff, t.WorkingDay
		switch {
		case off.IsZero():
			return Invalid(field+"day_off", "give the weekday that becomes a day off")
		case off.Year() != y.Year:
			return Invalid(field+"day_off", "%s is not in %d", off, y.Year)
		case off.IsWeekend():
			return Invalid(field+"day_off", "%s is a %s: the day that becomes a day off must be a weekday", off, off.Weekday())
		case hasDayOff(law, off):
			return Invalid(field+"day_off", "%s is already a day off (%s)", off, law[off].Reason)
		}
		if j, ok := seen[off]; ok {
			return Invalid(field+"day_off", "%s is already in transfer %d", off, j)
		}
		seen[off] = i
		switch {
		case work.IsZero():
			return Invalid(field+"working_day", "give the Saturday or Sunday that becomes a working day")
		case work.Year() != y.Year:
			return Invalid(field+"working_day", "%s is not in %d", work, y.Year)
		case !work.IsWeekend():
			return Invalid(field+"working_day", "%s is a %s: the day that becomes a working day must be a Saturday or a Sunday", work, work.Weekday())
		case hasDayOff(law, work):
			return Invalid(field+"working_day", "%s is a public holiday (%s)", work, law[work].Reason)
		}
		if j, ok := seen[work]; ok {
			return Invalid(field+"working_day", "%s is already in transfer %d", work, j)
		}
		seen[work] = i
		if n := len([]rune(t.Note)); n > MaxDayTransferNotes {
			return Invalid(field+"note", "a note is at most %d characters", MaxDayTransferNotes)
		}
	}
	return nil
}

// CalendarChange is what an administrator sets for a year. It replaces the year's settings
// whole: a nil KurbanAit means the date is not known.
type CalendarChange struct {
	KurbanAit *CivilDate
	Transfers []DayTransfer
	Notes     string
	// IfVersion, when set, makes the change apply only if the year is still at that version (0 for
	// a year never stored), so two administrators cannot overwrite each other unseen.
	IfVersion *int64
}

// Calendar answers working-day questions over the stored years. It keeps each year it reads for
// TTL (CalendarCacheTTL from NewCalendar) and forgets a year as soon as it is set through it.
type Calendar struct {
	Store Store
	Now   Clock
	// TTL is how long a year read from the store is trusted; 0 reads the store every time.
	TTL time.Duration

	mu    sync.Mutex
	years map[int]calendarEntry
	// gen grows with every change made through this Calendar, so a read that raced with a change
	// does not put the old year back in the cache.
	gen uint64
}

type calendarEntry struct {
	year   *CalendarYear
	days   calendarDays
	loaded time.Time
}

// NewCalendar returns a Calendar over store that trusts what it read for CalendarCacheTTL.
func NewCalendar(store Store, now Clock) *Calendar {
	return &Calendar{Store: store, Now: now, TTL: CalendarCacheTTL}
}

func checkCalendarYear(year int) error {
	if year < MinCalendarYear || year > MaxCalendarYear {
		return Errorf(EINVALID, "the calendar covers the years %d to %d, not %d", MinCalendarYear, MaxCalendarYear, year)
	}
	return nil
}

// read loads the stored year, or the default when none is stored.
func (c *Calendar) read(ctx context.Context, year int) (*CalendarYear, error) {
	y, err := GetEntity[CalendarYear](ctx, c.Store, CalendarSpec.Name, strconv.Itoa(year))
	if IsCode(err, ENOTFOUND) {
		return DefaultCalendarYear(year), nil
	}
	if err != nil {
		return nil, err
	}
	if y.Transfers == nil {
		y.Transfers = []DayTransfer{}
	}
	return y, nil
}

// load returns the year worked out, from the cache while it is fresh.
func (c *Calendar) load(ctx context.Context, year int) (calendarEntry, error) {
	if err := checkCalendarYear(year); err != nil {
		return calendarEntry{}, err
	}
	now := c.Now()
	c.mu.Lock()
	e, ok := c.years[year]
	gen := c.gen
	c.mu.Unlock()
	if ok && !now.Before(e.loaded) && now.Sub(e.loaded) < c.TTL {
		return e, nil
	}
	y, err := c.read(ctx, year)
	if err != nil {
		return calendarEntry{}, err
	}
	e = calendarEntry{year: y, days: y.days(), loaded: now}
	if c.TTL > 0 {
		c.mu.Lock()
		if c.gen == gen {
			if c.years == nil {
				c.years = map[int]calendarEntry{}
			}
			c.years[year] = e
		}
		c.mu.Unlock()
	}
	return e, nil
}

// forget drops a year from the cache after a change.
func (c *Calendar) forget(year int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.years, year)
}

// Year returns the year in force: as stored, or the default (Version 0) when nobody has set it.
func (c *Calendar) Year(ctx context.Context, year int) (*CalendarYear, error) {
	e, err := c.load(ctx, year)
	if err != nil {
		return nil, err
	}
	return e.year.clone(), nil
}

// SetYear replaces a year's Kurban Ait, transfers and notes, on behalf of the administrator by.
// Deadlines computed afterwards use the new year (in other processes within CalendarCacheTTL).
func (c *Calendar) SetYear(ctx context.Context, year int, ch CalendarChange, by string) (*CalendarYear, error) {
	for range 5 {
		cur, err := c.read(ctx, year)
		if err != nil {
			return nil, err
		}
		if ch.IfVersion != nil && *ch.IfVersion != cur.Version {
			return nil, &Error{Code: ECONFLICT, Key: "_version", Message: fmt.Sprintf(
				"the calendar of %d changed since it was read (it is at version %d); reload it and try again", year, cur.Version)}
		}
		y := &CalendarYear{Meta: Meta{ID: strconv.Itoa(year), Version: cur.Version}, Year: year,
			Transfers: slices.Clone(ch.Transfers), Notes: ch.Notes, UpdatedAt: c.Now().UTC(), UpdatedBy: by}
		if ch.KurbanAit != nil {
			d := *ch.KurbanAit
			y.KurbanAit = &d
		}
		if y.Transfers == nil {
			y.Transfers = []DayTransfer{}
		}
		if err := y.validate(); err != nil {
			return nil, err
		}
		slices.SortFunc(y.Transfers, func(a, b DayTransfer) int { return a.DayOff.Compare(b.DayOff) })
		if y.Version == 0 {
			err = InsertEntity(ctx, c.Store, CalendarSpec.Name, y, calendarScope)
		} else {
			err = UpdateEntity(ctx, c.Store, CalendarSpec.Name, y, calendarScope)
		}
		if err == nil {
			c.forget(year)
			return y.clone(), nil
		}
		if !IsCode(err, ECONFLICT) || ch.IfVersion != nil {
			return nil, err
		}
	}
	return nil, Busy("the calendar of %d changed while it was being set; try again", year)
}

// DaysOff lists the days off of a year with their reasons, in date order.
func (c *Calendar) DaysOff(ctx context.Context, year int) ([]DayOff, error) {
	e, err := c.load(ctx, year)
	if err != nil {
		return nil, err
	}
	return e.year.DaysOff(), nil
}

// calendarWalker answers day after day from one loaded year at a time, so a long walk does not take the
// cache's lock for every day.
type calendarWalker struct {
	c   *Calendar
	ctx context.Context
	e   calendarEntry
	ok  bool
}

func (w *calendarWalker) isWorking(d CivilDate) (bool, error) {
	if !w.ok || w.e.year.Year != d.Year() {
		e, err := w.c.load(w.ctx, d.Year())
		if err != nil {
			return false, err
		}
		w.e, w.ok = e, true
	}
	return w.e.days.isWorking(d), nil
}

// IsWorkingDay reports whether the day t falls on in Asia/Almaty is a working day.
func (c *Calendar) IsWorkingDay(ctx context.Context, t time.Time) (bool, error) {
	w := calendarWalker{c: c, ctx: ctx}
	return w.isWorking(CivilDateOf(t))
}

// AddWorkingDays returns 00:00 (Asia/Almaty) of the n-th working day after the day of t, counting
// from the next day: from Friday 13 November 2026, 1 is Monday 16 and 2 is Tuesday 17. n = 0
// gives the day of t itself, working or not. A negative n is EINVALID.
func (c *Calendar) AddWorkingDays(ctx context.Context, t time.Time, n int) (time.Time, error) {
	d, err := c.addWorkingDays(ctx, CivilDateOf(t), n)
	if err != nil {
		return time.Time{}, err
	}
	return d.Start(), nil
}

func (c *Calendar) addWorkingDays(ctx context.Context, d CivilDate, n int) (CivilDate, error) {
	if n < 0 {
		return CivilDate{}, Errorf(EINVALID, "a number of working days cannot be negative (%d)", n)
	}
	w := calendarWalker{c: c, ctx: ctx}
	for n > 0 {
		d = d.AddDays(1)
		ok, err := w.isWorking(d)
		if err != nil {
			return CivilDate{}, err
		}
		if ok {
			n--
		}
	}
	return d, nil
}

// WorkingDaysBetween counts the working days after the day of from up to and including the day of
// to (days in Asia/Almaty). When to is before from it is minus the count the other way round, and
// 0 on the same day, so WorkingDaysBetween(a, b) == -WorkingDaysBetween(b, a), and for n ≥ 0
// WorkingDaysBetween(t, AddWorkingDays(t, n)) == n. Read it as "how many working days of a
// deadline have been used by to": a task received Friday 13 November 2026 has used 1 on Monday 16.
func (c *Calendar) WorkingDaysBetween(ctx context.Context, from, to time.Time) (int, error) {
	a, b := CivilDateOf(from), CivilDateOf(to)
	sign := 1
	if b.Compare(a) < 0 {
		a, b, sign = b, a, -1
	}
	if err := checkCalendarYear(a.Year()); err != nil {
		return 0, err
	}
	if err := checkCalendarYear(b.Year()); err != nil {
		return 0, err
	}
	w := calendarWalker{c: c, ctx: ctx}
	n := 0
	for d := a.AddDays(1); d.Compare(b) <= 0; d = d.AddDays(1) {
		ok, err := w.isWorking(d)
		if err != nil {
			return 0, err
		}
		if ok {
			n++
		}
	}
	return sign * n, nil
}

// DueAfter is the deadline of "within n working days from the day of start": the end of the n-th
// working day after start's day in Asia/Almaty, given as the first instant after it — 00:00 of the
// next calendar day — so a deadline is an exclusive bound: work is on time when done before it
// (t.Before(due)), late from it on. n = 0 is the end of start's own day ("the same day").
func (c *Calendar) DueAfter(ctx context.Context, start time.Time, n int) (time.Time, error) {
	d, err := c.addWorkingDays(ctx, CivilDateOf(start), n)
	if err != nil {
		return time.Time{}, err
	}
	return d.AddDays(1).Start(), nil
}
