package schedule

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// mustCompile compiles s or stops the test.
func mustCompile(t testing.TB, s Schedule) *Compiled {
	t.Helper()
	c, err := Compile(s)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

// local parses "2006-01-02 15:04[:05]" as a wall-clock time in zone.
func local(t testing.TB, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	layout := "2006-01-02 15:04"
	if len(s) > len(layout) {
		layout += ":05"
	}
	at, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// utc parses an RFC 3339 instant.
func utc(t testing.TB, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

type openCase struct {
	at   string // local time in the schedule's zone
	open bool
	why  string // expected Explain, when not ""
}

func checkOpen(t *testing.T, c *Compiled, zone string, cases []openCase) {
	t.Helper()
	for _, tc := range cases {
		at := local(t, zone, tc.at)
		if got := c.Open(at); got != tc.open {
			t.Errorf("Open(%s) = %v, want %v (%s)", tc.at, got, tc.open, c.Explain(at))
		}
		if tc.why != "" {
			if got := c.Explain(at); got != tc.why {
				t.Errorf("Explain(%s) = %q, want %q", tc.at, got, tc.why)
			}
		}
		if got := c.Open(at); got != strings.HasPrefix(c.Explain(at), "open: ") {
			t.Errorf("Explain(%s) = %q disagrees with Open = %v", tc.at, c.Explain(at), got)
		}
	}
}

func TestOpenWeekly(t *testing.T) {
	const zone = "Europe/London"
	c := mustCompile(t, Schedule{
		Name:     "support",
		TimeZone: zone,
		Weekly: map[string][]string{
			"mon-fri": {"09:00-12:30", "13:30-17:00"},
			"sat":     {"10:00-14:00"},
			"fri":     {"22:00-02:00"},
			"sun":     {},
		},
	})
	checkOpen(t, c, zone, []openCase{
		{"2026-11-23 08:59:59", false, "closed: outside weekly hours"},
		{"2026-11-23 09:00", true, "open: mon 09:00-12:30 (Europe/London)"},
		{"2026-11-23 12:29:59", true, ""},
		{"2026-11-23 12:30", false, "closed: outside weekly hours"},
		{"2026-11-23 13:30", true, "open: mon 13:30-17:00 (Europe/London)"},
		{"2026-11-23 16:59:59", true, ""},
		{"2026-11-23 17:00", false, ""},
		{"2026-11-25 10:00", true, "open: wed 09:00-12:30 (Europe/London)"},
		{"2026-11-26 23:00", false, ""}, // overnight only on fri
		{"2026-11-27 21:59:59", false, ""},
		{"2026-11-27 22:00", true, "open: fri 22:00-02:00 (Europe/London)"},
		{"2026-11-28 01:59:59", true, "open: fri 22:00-02:00 (Europe/London)"}, // belongs to fri
		{"2026-11-28 02:00", false, ""},
		{"2026-11-28 10:00", true, "open: sat 10:00-14:00 (Europe/London)"},
		{"2026-11-28 14:00", false, ""},
		{"2026-11-29 12:00", false, "closed: outside weekly hours"},
		{"2026-11-30 09:00", true, ""},
	})
}

func TestOpenAllDayAndWeekWrap(t *testing.T) {
	c := mustCompile(t, Schedule{Weekly: map[string][]string{
		"sun": {"22:00-02:00"}, // runs into monday: wraps the week
		"wed": {"24h"},
		"thu": {"00:00-24:00"},
		"SAT": {"18:00-00:00"},
	}})
	checkOpen(t, c, "UTC", []openCase{
		{"2026-11-22 21:59", false, ""},
		{"2026-11-22 22:00", true, "open: sun 22:00-02:00 (UTC)"},
		{"2026-11-23 01:00", true, "open: sun 22:00-02:00 (UTC)"},
		{"2026-11-23 02:00", false, ""},
		{"2026-11-24 23:59:59", false, ""},
		{"2026-11-25 00:00", true, "open: wed 00:00-24:00 (UTC)"},
		{"2026-11-25 23:59:59", true, ""},
		{"2026-11-26 12:00", true, "open: thu 00:00-24:00 (UTC)"},
		{"2026-11-27 00:00", false, ""},
		{"2026-11-28 17:59", false, ""},
		{"2026-11-28 18:00", true, "open: sat 18:00-24:00 (UTC)"},
		{"2026-11-28 23:59:59", true, ""},
		{"2026-11-29 00:00", false, ""},
	})
}

func TestHolidays(t *testing.T) {
	const zone = "Europe/London"
	c := mustCompile(t, Schedule{
		TimeZone: zone,
		Weekly: map[string][]string{
			"mon-sun": {"09:00-17:00"},
			"thu":     {"20:00-02:00"},
		},
		Holidays: []string{"2026-12-25", "01-01", "02-29", "2026-12-17"},
	})
	checkOpen(t, c, zone, []openCase{
		{"2026-12-24 12:00", true, ""},
		{"2026-12-24 23:00", true, "open: thu 20:00-02:00 (Europe/London)"},
		// The thursday range started before the friday holiday: still open.
		{"2026-12-25 01:00", true, "open: thu 20:00-02:00 (Europe/London)"},
		{"2026-12-25 12:00", false, "closed: holiday 2026-12-25"},
		{"2026-12-25 23:00", false, "closed: holiday 2026-12-25"},
		{"2026-12-26 12:00", true, ""},
		{"2027-12-25 12:00", true, ""}, // exact date: 2026 only
		{"2027-01-01 12:00", false, "closed: holiday 2027-01-01"},
		{"2030-01-01 12:00", false, "closed: holiday 2030-01-01"},
		{"2028-02-28 12:00", true, ""},
		{"2028-02-29 12:00", false, "closed: holiday 2028-02-29"},
		{"2027-03-01 12:00", true, ""},
		// A holiday on thursday cancels its whole overnight range.
		{"2026-12-17 21:00", false, "closed: holiday 2026-12-17"},
		{"2026-12-18 01:00", false, "closed: holiday 2026-12-17"},
		{"2026-12-18 09:00", true, ""},
	})
}

func TestPrecedence(t *testing.T) {
	const zone = "Europe/London"
	c := mustCompile(t, Schedule{
		TimeZone: zone,
		Weekly:   map[string][]string{"mon-fri": {"09:00-17:00"}},
		Holidays: []string{"2026-12-25"},
		Openings: []string{
			"2026-11-29T10:00/2026-11-29T16:00", // a sunday sale
			"2026-12-25 10:00/2026-12-25 12:00", // on a holiday
		},
		Closures: []string{
			"2026-11-23T12:00/2026-11-23T15:00",
			"2026-11-29T11:00:00/2026-11-29T12:00:00", // inside the opening
			"2026-12-24", // the whole day
			"2026-11-24T11:00+01:00/2026-11-24T12:00+01:00", // 10:00-11:00 in London
			"2026-11-30T16:00/2026-12-01T10:00",
			"2026-12-07/2026-12-09",
		},
	})
	checkOpen(t, c, zone, []openCase{
		{"2026-11-23 11:59", true, "open: mon 09:00-17:00 (Europe/London)"},
		{"2026-11-23 12:00", false, "closed: closure 2026-11-23 12:00-15:00"},
		{"2026-11-23 14:59:59", false, ""},
		{"2026-11-23 15:00", true, ""},
		{"2026-11-24 09:59", true, ""},
		{"2026-11-24 10:00", false, "closed: closure 2026-11-24 10:00-11:00"},
		{"2026-11-24 11:00", true, ""},
		{"2026-11-29 09:59", false, "closed: outside weekly hours"},
		{"2026-11-29 10:00", true, "open: opening 2026-11-29 10:00-16:00"},
		{"2026-11-29 11:30", false, "closed: closure 2026-11-29 11:00-12:00"},
		{"2026-11-29 12:00", true, "open: opening 2026-11-29 10:00-16:00"},
		{"2026-11-29 16:00", false, ""},
		{"2026-11-30 15:59", true, ""},
		{"2026-11-30 16:00", false, "closed: closure 2026-11-30 16:00 - 2026-12-01 10:00"},
		{"2026-12-01 09:59", false, ""},
		{"2026-12-01 10:00", true, ""},
		{"2026-12-07 12:00", false, "closed: closure 2026-12-07 00:00 - 2026-12-09 00:00"},
		{"2026-12-08 16:00", false, ""},
		{"2026-12-09 09:00", true, ""},
		{"2026-12-23 10:00", true, ""},
		{"2026-12-24 10:00", false, "closed: closure 2026-12-24"},
		{"2026-12-25 09:30", false, "closed: holiday 2026-12-25"},
		{"2026-12-25 10:00", true, "open: opening 2026-12-25 10:00-12:00"},
		{"2026-12-25 12:00", false, "closed: holiday 2026-12-25"},
	})
}

func TestTimeZones(t *testing.T) {
	weekly := map[string][]string{"mon-fri": {"09:00-17:00"}}
	zones := []string{"Europe/London", "America/New_York", "Asia/Tokyo", ""}
	cs := make([]*Compiled, len(zones))
	for i, z := range zones {
		cs[i] = mustCompile(t, Schedule{TimeZone: z, Weekly: weekly})
	}
	for _, tc := range []struct {
		at   string
		open []bool // London, New York, Tokyo, UTC
	}{
		{"2026-11-23T08:30:00Z", []bool{false, false, false, false}},
		{"2026-11-23T09:30:00Z", []bool{true, false, false, true}},
		{"2026-11-23T15:00:00Z", []bool{true, true, false, true}},   // Tokyo: tuesday 00:00
		{"2026-11-23T20:00:00Z", []bool{false, true, false, false}}, // New York 15:00
		{"2026-11-24T01:00:00Z", []bool{false, false, true, false}}, // Tokyo tuesday 10:00
		{"2026-07-06T08:30:00Z", []bool{true, false, false, false}}, // London 09:30 BST
		{"2026-07-06T13:30:00Z", []bool{true, true, false, true}},   // New York 09:30 EDT
		{"2026-11-28T01:00:00Z", []bool{false, false, false, false}},
	} {
		at := utc(t, tc.at)
		for i, c := range cs {
			if got := c.Open(at); got != tc.open[i] {
				t.Errorf("%q: Open(%s) = %v, want %v (%s)", zones[i], tc.at, got, tc.open[i], c.Explain(at))
			}
		}
	}
	if got := cs[3].Location(); got != time.UTC {
		t.Errorf(`Location() for "" = %v, want UTC`, got)
	}
}

func TestDST(t *testing.T) {
	for _, tc := range []struct {
		name   string
		zone   string
		weekly map[string][]string
		open   []string // instants, UTC
		closed []string
	}{
		{
			// 2026-03-29: 01:00 GMT becomes 02:00 BST; 01:30 never happens.
			name:   "London spring forward",
			zone:   "Europe/London",
			weekly: map[string][]string{"sun": {"01:30-03:00", "09:00-17:00"}},
			open:   []string{"2026-03-29T01:00:00Z", "2026-03-29T01:59:59Z", "2026-03-29T08:00:00Z", "2026-03-29T15:59:59Z", "2026-03-22T09:00:00Z"},
			closed: []string{"2026-03-29T00:59:59Z", "2026-03-29T02:00:00Z", "2026-03-29T07:59:59Z", "2026-03-29T16:00:00Z", "2026-03-22T08:59:59Z"},
		},
		{
			// 2026-10-25: 02:00 BST becomes 01:00 GMT; 01:00-02:00 happens twice.
			name:   "London fall back",
			zone:   "Europe/London",
			weekly: map[string][]string{"sun": {"00:00-01:30", "09:00-17:00"}},
			open:   []string{"2026-10-24T23:00:00Z", "2026-10-25T00:29:59Z", "2026-10-25T01:00:00Z", "2026-10-25T01:29:59Z", "2026-10-25T09:00:00Z", "2026-10-25T16:59:59Z"},
			closed: []string{"2026-10-24T22:59:59Z", "2026-10-25T00:30:00Z", "2026-10-25T00:59:59Z", "2026-10-25T01:30:00Z", "2026-10-25T08:59:59Z", "2026-10-25T17:00:00Z"},
		},
		{
			name:   "New York spring forward",
			zone:   "America/New_York",
			weekly: map[string][]string{"sun": {"09:00-17:00"}},
			open:   []string{"2026-03-08T13:00:00Z", "2026-03-08T20:59:59Z", "2026-03-01T14:00:00Z"},
			closed: []string{"2026-03-08T12:59:59Z", "2026-03-08T21:00:00Z", "2026-03-01T13:59:59Z"},
		},
		{
			name:   "New York fall back",
			zone:   "America/New_York",
			weekly: map[string][]string{"sun": {"09:00-17:00"}},
			open:   []string{"2026-11-01T14:00:00Z", "2026-11-01T21:59:59Z", "2026-10-25T13:00:00Z"},
			closed: []string{"2026-11-01T13:59:59Z", "2026-11-01T22:00:00Z", "2026-10-25T12:59:59Z"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCompile(t, Schedule{TimeZone: tc.zone, Weekly: tc.weekly})
			for _, s := range tc.open {
				if at := utc(t, s); !c.Open(at) {
					t.Errorf("Open(%s) = false, want true (%s)", s, c.Explain(at))
				}
			}
			for _, s := range tc.closed {
				if at := utc(t, s); c.Open(at) {
					t.Errorf("Open(%s) = true, want false (%s)", s, c.Explain(at))
				}
			}
		})
	}
}

func TestZeroSchedule(t *testing.T) {
	c := mustCompile(t, Schedule{})
	at := utc(t, "2026-11-23T12:00:00Z")
	if c.Open(at) {
		t.Error("zero Schedule is open")
	}
	if _, ok := c.NextChange(at); ok {
		t.Error("zero Schedule has a next change")
	}
	if got, want := c.Explain(at), "closed: outside weekly hours"; got != want {
		t.Errorf("Explain = %q, want %q", got, want)
	}
}

func TestOpenDoesNotAllocate(t *testing.T) {
	c := mustCompile(t, benchSchedule)
	ats := []time.Time{
		utc(t, "2026-11-23T10:00:00Z"), utc(t, "2026-11-28T01:00:00Z"),
		utc(t, "2026-12-25T10:00:00Z"), utc(t, "2026-11-29T10:30:00Z"),
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, at := range ats {
			c.Open(at)
		}
	})
	if allocs != 0 {
		t.Errorf("Open allocates %v times per run", allocs)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := mustCompile(t, benchSchedule)
	start := utc(t, "2026-11-20T00:00:00Z")
	want := make([]string, 200)
	for i := range want {
		want[i] = c.Explain(start.Add(time.Duration(i) * 37 * time.Minute))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, w := range want {
				at := start.Add(time.Duration(i) * 37 * time.Minute)
				c.Open(at)
				c.NextChange(at)
				if got := c.Explain(at); got != w {
					errs <- got + " != " + w
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

var benchSchedule = Schedule{
	Name:     "support",
	TimeZone: "Europe/London",
	Weekly: map[string][]string{
		"mon-fri": {"09:00-12:30", "13:30-17:00"},
		"fri":     {"22:00-02:00"},
		"sat":     {"10:00-14:00"},
	},
	Holidays: []string{"2026-12-25", "12-26", "01-01"},
	Closures: []string{"2026-11-23T12:00/2026-11-23T15:00"},
	Openings: []string{"2026-11-29T10:00/2026-11-29T16:00"},
}

func BenchmarkOpen(b *testing.B) {
	c := mustCompile(b, benchSchedule)
	at := utc(b, "2026-11-28T01:00:00Z")
	b.ReportAllocs()
	for b.Loop() {
		c.Open(at)
	}
}

func BenchmarkNextChange(b *testing.B) {
	c := mustCompile(b, benchSchedule)
	at := utc(b, "2026-12-24T17:00:00Z")
	b.ReportAllocs()
	for b.Loop() {
		c.NextChange(at)
	}
}
