package schedule

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	day  = 24 * 60 * 60 // seconds in a wall-clock day
	week = 7 * day      // seconds in a wall-clock week
)

// dayNames are the weekday names used in keys and by Explain, indexed by
// time.Weekday.
var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// compile parses s; it returns the problems found and, when there are none,
// the compiled schedule.
func compile(s Schedule) (*Compiled, []Problem) {
	var ps []Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	c := &Compiled{name: s.Name, loc: time.UTC, exact: map[int64]struct{}{}}

	switch s.TimeZone {
	case "", "UTC":
	case "Local":
		add("time_zone", `"Local" depends on the host; use an IANA zone such as "Europe/London"`)
	default:
		loc, err := time.LoadLocation(s.TimeZone)
		if err != nil {
			add("time_zone", "unknown time zone %q", s.TimeZone)
		} else {
			c.loc = loc
		}
	}

	compileWeekly(c, s.Weekly, add)

	for i, h := range s.Holidays {
		key := fmt.Sprintf("holidays[%d]", i)
		h = strings.TrimSpace(h)
		switch len(h) {
		case len("2006-01-02"):
			t, err := time.Parse("2006-01-02", h)
			if err != nil {
				add(key, "bad date %q: %s", h, parseMsg(err))
				continue
			}
			c.exact[dayNumber(t.Date())] = struct{}{}
		case len("01-02"):
			// 2000 is a leap year, so "02-29" is accepted.
			t, err := time.Parse("2006-01-02", "2000-"+h)
			if err != nil {
				add(key, "bad yearly date %q: %s", h, parseMsg(err))
				continue
			}
			c.yearly[t.Month()][t.Day()] = true
		default:
			add(key, "bad date %q: want YYYY-MM-DD, or MM-DD for every year", h)
		}
	}

	for _, l := range []struct {
		key  string
		list []string
		dst  *[]window
	}{{"closures", s.Closures, &c.closures}, {"openings", s.Openings, &c.openings}} {
		for i, w := range l.list {
			win, err := parseWindow(w, c.loc)
			if err != nil {
				add(fmt.Sprintf("%s[%d]", l.key, i), "%v", err)
				continue
			}
			*l.dst = append(*l.dst, win)
		}
	}

	if len(ps) > 0 {
		return nil, ps
	}
	return c, nil
}

// weeklyEntry is one parsed weekly range on one day, remembered for the
// overlap check.
type weeklyEntry struct {
	key   string // the Weekly key as written
	idx   int    // index in that key's list
	wd    time.Weekday
	start int64 // seconds from the start of the week (Sunday 00:00)
	end   int64
	text  string
}

// compileWeekly parses the weekly ranges into c.week and reports bad keys,
// bad ranges and overlaps.
func compileWeekly(c *Compiled, weekly map[string][]string, add func(key, format string, args ...any)) {
	type keyDays struct {
		key  string
		days []time.Weekday // nil when the key is bad
		err  error
	}
	keys := make([]keyDays, 0, len(weekly))
	for k := range weekly {
		days, err := parseDays(k)
		keys = append(keys, keyDays{k, days, err})
	}
	// Report in a stable order: by first day, Monday first, then by key;
	// bad keys last.
	rank := func(kd keyDays) int {
		if kd.days == nil {
			return 7
		}
		return (int(kd.days[0]) + 6) % 7
	}
	slices.SortFunc(keys, func(a, b keyDays) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a.key, b.key)
	})
	var entries []weeklyEntry
	reported := map[[2]string]bool{}
	for _, kd := range keys {
		if kd.err != nil {
			add("weekly."+kd.key, "%v", kd.err)
		}
		for i, r := range weekly[kd.key] {
			key := fmt.Sprintf("weekly.%s[%d]", kd.key, i)
			start, end, err := parseRange(r)
			if err != nil {
				add(key, "%v", err)
				continue
			}
			text := rangeText(start, end)
			for _, wd := range kd.days {
				e := weeklyEntry{key: kd.key, idx: i, wd: wd, start: int64(wd)*day + start, end: int64(wd)*day + end, text: text}
				for _, o := range entries {
					if !overlaps(e, o) {
						continue
					}
					other := fmt.Sprintf("weekly.%s[%d]", o.key, o.idx)
					pair := [2]string{key, other}
					if reported[pair] {
						continue
					}
					reported[pair] = true
					add(key, "%s on %s overlaps %s %s on %s", text, dayNames[wd], other, o.text, dayNames[o.wd])
				}
				entries = append(entries, e)
				c.week[wd] = append(c.week[wd], span{start, end})
			}
		}
	}
	for wd := range c.week {
		slices.SortFunc(c.week[wd], func(a, b span) int { return cmp.Compare(a.start, b.start) })
	}
}

// overlaps reports whether two weekly ranges share time, on the week's
// circle (a Saturday range crossing midnight runs into Sunday).
func overlaps(a, b weeklyEntry) bool {
	for _, shift := range [3]int64{-week, 0, week} {
		if max(a.start, b.start+shift) < min(a.end, b.end+shift) {
			return true
		}
	}
	return false
}

// parseDays parses a Weekly key: a day name or an inclusive range of days.
func parseDays(key string) ([]time.Weekday, error) {
	k := strings.ToLower(strings.TrimSpace(key))
	from, to, isRange := strings.Cut(k, "-")
	first, ok1 := dayByName(strings.TrimSpace(from))
	last, ok2 := first, true
	if isRange {
		last, ok2 = dayByName(strings.TrimSpace(to))
	}
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("unknown day %q: want mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri", key)
	}
	days := []time.Weekday{first}
	for d := first; d != last; {
		d = (d + 1) % 7
		days = append(days, d)
	}
	return days, nil
}

func dayByName(name string) (time.Weekday, bool) {
	for i, n := range dayNames {
		if n == name {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

// parseRange parses "HH:MM-HH:MM" or "24h" into seconds from the start of
// the day; a range crossing midnight has end > 24h.
func parseRange(r string) (start, end int64, err error) {
	s := strings.TrimSpace(r)
	if strings.EqualFold(s, "24h") {
		return 0, day, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("bad range %q: want HH:MM-HH:MM or 24h", r)
	}
	start, ok1 := parseClock(strings.TrimSpace(a))
	end, ok2 := parseClock(strings.TrimSpace(b))
	switch {
	case !ok1 || !ok2:
		return 0, 0, fmt.Errorf("bad range %q: want HH:MM-HH:MM (00:00 to 24:00) or 24h", r)
	case start == day:
		return 0, 0, fmt.Errorf("bad range %q: a range cannot start at 24:00", r)
	case start == end:
		return 0, 0, fmt.Errorf("empty range %q: start and end are equal (use 24h for the whole day)", r)
	case end == 0:
		end = day // "18:00-00:00" ends at midnight
	case end < start:
		end += day // crosses midnight
	}
	return start, end, nil
}

// parseClock parses "HH:MM" (or "H:MM"), 00:00 to 24:00, into seconds.
func parseClock(s string) (int64, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) ||
		h[0] == '+' || m[0] == '+' {
		return 0, false
	}
	return int64(hh*3600 + mm*60), true
}

// rangeText formats a parsed range as "HH:MM-HH:MM".
func rangeText(start, end int64) string {
	if end > day {
		end -= day
	}
	return clockText(start) + "-" + clockText(end)
}

func clockText(sec int64) string {
	return fmt.Sprintf("%02d:%02d", sec/3600, sec%3600/60)
}

// Layouts accepted for the ends of closures and openings.
var (
	offsetLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"}
	localLayouts  = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}
)

// parseWindow parses a closure or opening: "START/END" or a date.
func parseWindow(w string, loc *time.Location) (window, error) {
	s := strings.TrimSpace(w)
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		t, err := time.ParseInLocation("2006-01-02", s, loc)
		if err != nil {
			return window{}, fmt.Errorf("bad period %q: want START/END (such as 2026-11-23T12:00/2026-11-23T15:00) or a date YYYY-MM-DD", w)
		}
		y, m, d := t.Date()
		return window{start: t, end: time.Date(y, m, d+1, 0, 0, 0, 0, loc), label: s}, nil
	}
	start, err1 := parseInstant(strings.TrimSpace(a), loc)
	end, err2 := parseInstant(strings.TrimSpace(b), loc)
	if err := errors.Join(err1, err2); err != nil {
		return window{}, fmt.Errorf("bad period %q: %w", w, err)
	}
	if !end.After(start) {
		return window{}, fmt.Errorf("bad period %q: end is not after start", w)
	}
	return window{start: start, end: end, label: windowLabel(start, end, loc)}, nil
}

// parseInstant parses one end of a period.
func parseInstant(s string, loc *time.Location) (time.Time, error) {
	for _, l := range offsetLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	rangeMsg := ""
	for _, l := range localLayouts {
		t, err := time.ParseInLocation(l, s, loc)
		if err == nil {
			return t, nil
		}
		if msg := parseMsg(err); rangeMsg == "" && strings.HasSuffix(msg, "out of range") {
			rangeMsg = msg
		}
	}
	if rangeMsg != "" {
		return time.Time{}, fmt.Errorf("time %q: %s", s, rangeMsg)
	}
	return time.Time{}, fmt.Errorf("time %q: want YYYY-MM-DDTHH:MM[:SS] in the time zone, RFC 3339 with an offset, or YYYY-MM-DD", s)
}

// windowLabel names a period for Explain: "2026-11-23 12:00-15:00", or with
// both dates when it spans several days.
func windowLabel(start, end time.Time, loc *time.Location) string {
	s, e := start.In(loc), end.In(loc)
	layout := "15:04"
	if s.Second() != 0 || e.Second() != 0 {
		layout = "15:04:05"
	}
	sy, sm, sd := s.Date()
	if ey, em, ed := e.Date(); sy == ey && sm == em && sd == ed {
		return s.Format("2006-01-02 "+layout) + "-" + e.Format(layout)
	}
	return s.Format("2006-01-02 "+layout) + " - " + e.Format("2006-01-02 "+layout)
}

// parseMsg shortens a time.Parse error to its reason.
func parseMsg(err error) string {
	var pe *time.ParseError
	if errors.As(err, &pe) && pe.Message != "" {
		return strings.TrimPrefix(pe.Message, ": ")
	}
	return "want YYYY-MM-DD"
}

// dayNumber returns the days from 1970-01-01 to the given civil date.
func dayNumber(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / day
}

// civilDate returns the civil date of a day number.
func civilDate(n int64) (int, time.Month, int) {
	return time.Unix(n*day, 0).UTC().Date()
}

// weekdayOf returns the weekday of a day number (1970-01-01 was a Thursday).
func weekdayOf(n int64) time.Weekday {
	return time.Weekday(((n+4)%7 + 7) % 7)
}
