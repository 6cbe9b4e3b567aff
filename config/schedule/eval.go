package schedule

import (
	"fmt"
	"slices"
	"time"
)

// Horizon is how far ahead NextChange looks.
const Horizon = 14 * 24 * time.Hour

// reason is why the schedule is open or closed at an instant.
type reason int

const (
	outside reason = iota // closed: no weekly range covers the instant
	weekly                // open: a weekly range covers it
	holiday               // closed: the covering range's day, or the day, is a holiday
	closure               // closed: a closure covers it
	opening               // open: an opening covers it
)

// verdict is the decision at an instant with what Explain needs to say why.
type verdict struct {
	reason reason
	idx    int   // closure or opening index
	date   int64 // day number of the weekly range's start day, or of the holiday
	span   span  // the weekly range
}

func (v verdict) open() bool { return v.reason == weekly || v.reason == opening }

// decide applies the precedence rules at instant at. It does not allocate.
func (c *Compiled) decide(at time.Time) verdict {
	for i, w := range c.closures {
		if w.contains(at) {
			return verdict{reason: closure, idx: i}
		}
	}
	for i, w := range c.openings {
		if w.contains(at) {
			return verdict{reason: opening, idx: i}
		}
	}
	local := at.In(c.loc)
	h, m, s := local.Clock()
	sec := int64(h*3600 + m*60 + s)
	today := dayNumber(local.Date())
	cancelled, cancelDate := false, int64(0)
	// A range of today, or one of yesterday crossing midnight.
	for back := int64(0); back <= 1; back++ {
		date := today - back
		x := sec + back*day
		for _, sp := range c.week[weekdayOf(date)] {
			if x < sp.start || x >= sp.end {
				continue
			}
			if c.isHoliday(date) {
				if !cancelled {
					cancelled, cancelDate = true, date
				}
				continue
			}
			return verdict{reason: weekly, date: date, span: sp}
		}
	}
	if cancelled {
		return verdict{reason: holiday, date: cancelDate}
	}
	if c.isHoliday(today) {
		return verdict{reason: holiday, date: today}
	}
	return verdict{reason: outside}
}

func (c *Compiled) isHoliday(date int64) bool {
	if _, ok := c.exact[date]; ok {
		return true
	}
	_, m, d := civilDate(date)
	return c.yearly[m][d]
}

// Open reports whether the schedule is open at instant at. It does not
// allocate.
func (c *Compiled) Open(at time.Time) bool {
	return c.decide(at).open()
}

// Explain says in one line whether the schedule is open at instant at and
// why, for logs and "route test":
//
//	open: mon 09:00-12:30 (Europe/London)
//	open: opening 2026-11-29 10:00-16:00
//	closed: closure 2026-11-23 12:00-15:00
//	closed: holiday 2026-12-25
//	closed: outside weekly hours
//
// A weekly range is named by the day it starts on. A holiday is named by its
// date, also for yearly holidays.
func (c *Compiled) Explain(at time.Time) string {
	v := c.decide(at)
	switch v.reason {
	case closure:
		return "closed: closure " + c.closures[v.idx].label
	case opening:
		return "open: opening " + c.openings[v.idx].label
	case weekly:
		return fmt.Sprintf("open: %s %s (%s)", dayNames[weekdayOf(v.date)], rangeText(v.span.start, v.span.end), c.loc)
	case holiday:
		y, m, d := civilDate(v.date)
		return fmt.Sprintf("closed: holiday %04d-%02d-%02d", y, m, d)
	default:
		return "closed: outside weekly hours"
	}
}

// NextChange returns the first instant after at when Open changes, in the
// schedule's time zone, and true; or false when Open stays the same for the
// Horizon after at.
func (c *Compiled) NextChange(at time.Time) (time.Time, bool) {
	was := c.Open(at)
	limit := at.Add(Horizon)
	cands := c.candidates(at, limit)
	slices.SortFunc(cands, func(a, b time.Time) int { return a.Compare(b) })
	for _, t := range cands {
		if !t.After(at) || t.After(limit) {
			continue
		}
		if c.Open(t) != was {
			return t.In(c.loc), true
		}
	}
	return time.Time{}, false
}

// candidates returns every instant in [at, limit] (and a few around it) at
// which Open may change: the ends of closures and openings, the zone's
// offset changes, and every instant whose wall clock is the start or end of
// a weekly range. Open is constant between consecutive candidates.
func (c *Compiled) candidates(at, limit time.Time) []time.Time {
	var out []time.Time
	for _, ws := range [2][]window{c.closures, c.openings} {
		for _, w := range ws {
			out = append(out, w.start, w.end)
		}
	}
	// Walk the stretches of constant UTC offset; within one, wall clock is
	// the instant plus the offset, so each weekly boundary maps to at most
	// one instant, found exactly even around DST changes.
	for t := at; t.Before(limit); {
		local := t.In(c.loc)
		_, off := local.Zone()
		_, next := local.ZoneBounds()
		end := limit
		if !next.IsZero() && next.Before(limit) {
			end = next
			out = append(out, next)
		}
		w0 := t.Unix() + int64(off)   // wall clock, seconds since 1970-01-01 00:00
		w1 := end.Unix() + int64(off) // in that stretch
		for date := floorDiv(w0, day) - 1; date <= floorDiv(w1, day); date++ {
			for _, sp := range c.week[weekdayOf(date)] {
				for _, b := range [2]int64{sp.start, sp.end} {
					if wall := date*day + b; wall >= w0 && wall <= w1 {
						out = append(out, time.Unix(wall-int64(off), 0))
					}
				}
			}
		}
		t = end
	}
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
