// Package schedule decides working hours for the dialplan: whether a flow is
// open at a given instant, why, and when that next changes.
//
// A Schedule is the configuration form (plain strings, maps and slices that
// YAML and mapstructure decode directly); Validate reports every mistake in
// it with a key path, and Compile turns it into an immutable Compiled that
// answers Open, Explain and NextChange, safe for concurrent use.
//
// All weekly hours and holidays are wall-clock times and dates in the
// schedule's time zone: a 09:00-17:00 range is open from 09:00 to 17:00 local
// time on the days a clock changes for daylight saving, too. What is open is
// decided in this order, the first that applies winning:
//
//  1. a closure covering the instant: closed;
//  2. an opening covering the instant: open;
//  3. a weekly range covering the instant whose day is not a holiday: open;
//  4. otherwise closed (a holiday, or outside weekly hours).
//
// A weekly range belongs to the day it starts on: "22:00-02:00" on fri is open
// from Friday 22:00 to Saturday 02:00, and a holiday on that Friday cancels
// all of it while a holiday on the Saturday does not.
//
// The time zone database is embedded (time/tzdata), so zones load on hosts
// without one.
package schedule

import (
	"fmt"
	"strings"
	"time"

	_ "time/tzdata" // zones must load on minimal hosts and containers too
)

// Schedule is working hours as written in the configuration. The zero value
// is a valid schedule that is never open.
type Schedule struct {
	// Name identifies the schedule in errors and logs.
	Name string `mapstructure:"name" yaml:"name"`

	// TimeZone is the IANA zone the hours are in, such as "Europe/London";
	// "" means UTC.
	TimeZone string `mapstructure:"time_zone" yaml:"time_zone"`

	// Weekly maps days to open ranges. A key is a day, "mon" to "sun", or an
	// inclusive range of days such as "mon-fri" or "sat-sun" (a range may
	// wrap: "fri-mon" is Friday to Monday); keys are case-insensitive and
	// several keys may name the same day. A range is "HH:MM-HH:MM", end
	// excluded, with "24:00" (or "00:00") as an end meaning midnight; "24h"
	// and "00:00-24:00" are the whole day. A range whose end is before its start crosses midnight
	// ("22:00-02:00") and belongs to the day it starts on. Ranges of a day,
	// including ones spilling over from the day before, must not overlap.
	// A day with no ranges is closed.
	Weekly map[string][]string `mapstructure:"weekly" yaml:"weekly"`

	// Holidays are days closed all day: "2026-12-25" is that date only,
	// "12-25" is that day every year. Quote them in YAML.
	Holidays []string `mapstructure:"holidays" yaml:"holidays"`

	// Closures are one-off periods when the schedule is closed whatever else
	// says, each "START/END" (END excluded) or a single date for that whole
	// day. START and END are local times in TimeZone ("2026-11-23T12:00",
	// seconds optional, a space may replace the T), RFC 3339 times with an
	// offset ("2026-11-23T12:00:00Z"), or dates meaning their local
	// midnight ("2026-12-24/2026-12-27" is three whole days).
	Closures []string `mapstructure:"closures" yaml:"closures"`

	// Openings are one-off periods when the schedule is open even outside
	// weekly hours or on a holiday (a Sunday sale), in the form of Closures.
	// A closure still wins over an opening.
	Openings []string `mapstructure:"openings" yaml:"openings"`
}

// Problem is one mistake in a Schedule.
type Problem struct {
	// Key is the path of the setting within the schedule, with list
	// indexes: "time_zone", "weekly.mon-fri", "weekly.mon[1]",
	// "holidays[0]", "closures[2]", "openings[0]".
	Key string
	// Msg says what is wrong.
	Msg string
}

// String formats the problem as "KEY: problem".
func (p Problem) String() string {
	return p.Key + ": " + p.Msg
}

// Problems is every mistake found in a Schedule. Compile's error wraps it;
// get it back with errors.As.
type Problems []Problem

// Error lists the problems on one line, separated by "; ".
func (ps Problems) Error() string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// Validate returns every mistake in s, in a stable order (time zone, weekly
// by day, holidays, closures, openings), or nil when there is none.
func (s Schedule) Validate() []Problem {
	_, ps := compile(s)
	return ps
}

// Compile checks s and returns its compiled form. When s has mistakes the
// error wraps Problems listing all of them.
func Compile(s Schedule) (*Compiled, error) {
	c, ps := compile(s)
	if len(ps) > 0 {
		if s.Name == "" {
			return nil, fmt.Errorf("schedule: %w", Problems(ps))
		}
		return nil, fmt.Errorf("schedule %q: %w", s.Name, Problems(ps))
	}
	return c, nil
}

// Compiled is a checked Schedule ready to answer queries. It is immutable
// and safe for concurrent use.
type Compiled struct {
	name string
	loc  *time.Location
	// week holds the ranges starting on each day, indexed by time.Weekday,
	// sorted by start; ends past 24h spill into the next day.
	week     [7][]span
	exact    map[int64]struct{} // exact holidays, as days since 1970-01-01
	yearly   [13][32]bool       // yearly holidays by month and day
	closures []window
	openings []window
}

// span is one weekly range in seconds from the start of its day; end is at
// most 48h for ranges crossing midnight.
type span struct {
	start, end int64
}

// window is one closure or opening: [start, end).
type window struct {
	start, end time.Time
	label      string // how Explain names it
}

func (w window) contains(t time.Time) bool {
	return !t.Before(w.start) && t.Before(w.end)
}

// Name returns the schedule's name.
func (c *Compiled) Name() string { return c.name }

// Location returns the schedule's time zone.
func (c *Compiled) Location() *time.Location { return c.loc }
