package schedule

import (
	"testing"
	"time"
)

func TestNextChange(t *testing.T) {
	const zone = "Europe/London"
	office := Schedule{
		TimeZone: zone,
		Weekly:   map[string][]string{"mon-fri": {"09:00-12:30", "13:30-17:00"}},
		Holidays: []string{"12-25"},
		Closures: []string{"2027-01-01/2027-02-01"},
	}
	for _, tc := range []struct {
		name string
		s    Schedule
		at   string // local
		want string // local; "" for no change within the horizon
	}{
		{"open until end of range", office, "2026-11-27 16:00", "2026-11-27 17:00"},
		{"at a range start", office, "2026-11-30 09:00", "2026-11-30 12:30"},
		{"lunch", office, "2026-11-30 12:30", "2026-11-30 13:30"},
		{"across a weekend", office, "2026-11-27 17:00", "2026-11-30 09:00"},
		{"from saturday", office, "2026-11-28 11:00", "2026-11-30 09:00"},
		{"across a holiday and a weekend", office, "2026-12-24 17:00", "2026-12-28 09:00"},
		{"from within a holiday", office, "2025-12-25 10:00", "2025-12-26 09:00"},
		{"sub-second start", office, "2026-11-30 08:59:59", "2026-11-30 09:00"},
		{"closure longer than the horizon", office, "2027-01-05 10:00", ""},
		{"end of a long closure", office, "2027-01-25 10:00", "2027-02-01 09:00"},
		{"spring forward", Schedule{TimeZone: zone, Weekly: map[string][]string{"sun": {"09:00-17:00"}}}, "2026-03-29 00:30", "2026-03-29 09:00"},
		{"always open", Schedule{Weekly: map[string][]string{"mon-sun": {"24h"}}}, "2026-11-27 16:00", ""},
		{"open from a closure", Schedule{Weekly: map[string][]string{"mon-sun": {"24h"}}, Closures: []string{"2026-11-27T10:00/2026-11-27T18:00"}}, "2026-11-27 16:00", "2026-11-27 18:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCompile(t, tc.s)
			z := tc.s.TimeZone
			if z == "" {
				z = "UTC"
			}
			at := local(t, z, tc.at)
			got, ok := c.NextChange(at)
			if tc.want == "" {
				if ok {
					t.Fatalf("NextChange(%s) = %s, want none", tc.at, got)
				}
				return
			}
			want := local(t, z, tc.want)
			if !ok || !got.Equal(want) {
				t.Fatalf("NextChange(%s) = %s, %v; want %s", tc.at, got, ok, want)
			}
			if got.Location() != c.Location() {
				t.Errorf("NextChange location = %v, want %v", got.Location(), c.Location())
			}
		})
	}
}

// TestNextChangeDSTChain follows NextChange through the London fall-back
// day, when 01:00-02:00 happens twice and a range ending at 01:30 closes
// twice.
func TestNextChangeDSTChain(t *testing.T) {
	c := mustCompile(t, Schedule{TimeZone: "Europe/London", Weekly: map[string][]string{"sun": {"00:00-01:30", "09:00-17:00"}}})
	at := utc(t, "2026-10-24T22:00:00Z")
	for _, want := range []string{
		"2026-10-24T23:00:00Z", // 00:00 BST: opens
		"2026-10-25T00:30:00Z", // 01:30 BST: closes
		"2026-10-25T01:00:00Z", // 01:00 GMT: the clock goes back, open again
		"2026-10-25T01:30:00Z", // 01:30 GMT: closes again
		"2026-10-25T09:00:00Z",
		"2026-10-25T17:00:00Z",
		"2026-11-01T00:00:00Z",
	} {
		next, ok := c.NextChange(at)
		if !ok || !next.Equal(utc(t, want)) {
			t.Fatalf("NextChange(%s) = %s, %v; want %s", at.UTC().Format(time.RFC3339), next.UTC().Format(time.RFC3339), ok, want)
		}
		at = next
	}
	// Spring forward: a range starting at 01:30, which does not exist,
	// opens when the clock jumps to 02:00.
	c = mustCompile(t, Schedule{TimeZone: "Europe/London", Weekly: map[string][]string{"sun": {"01:30-03:00"}}})
	next, ok := c.NextChange(utc(t, "2026-03-29T00:00:00Z"))
	if want := utc(t, "2026-03-29T01:00:00Z"); !ok || !next.Equal(want) {
		t.Fatalf("spring forward: NextChange = %s, %v; want %s", next, ok, want)
	}
}

// TestNextChangeBruteForce checks NextChange against a minute-by-minute
// scan of Open over six weeks holding both DST changes' neighbourhoods,
// holidays, closures, openings and ranges crossing midnight.
func TestNextChangeBruteForce(t *testing.T) {
	for _, zone := range []string{"Europe/London", "America/New_York", "Australia/Lord_Howe"} {
		c := mustCompile(t, Schedule{
			TimeZone: zone,
			Weekly: map[string][]string{
				"mon-fri": {"09:00-12:30", "13:30-17:00"},
				"fri":     {"22:00-02:00"},
				"sat":     {"02:15-02:45", "10:00-14:00"},
				"sun":     {"00:30-02:30", "23:00-00:30"},
			},
			Holidays: []string{"10-30", "2026-11-02", "2026-03-11"},
			Closures: []string{"2026-10-21T10:00/2026-10-21T11:30", "2026-03-16T08:00/2026-03-17T10:00"},
			Openings: []string{"2026-10-18T11:00/2026-10-18T12:00", "2026-10-21T11:00/2026-10-21T19:00", "2026-03-12T20:00/2026-03-13T03:00"},
		})
		for _, from := range []string{"2026-10-15T00:00:00Z", "2026-02-25T00:00:00Z"} {
			start := utc(t, from)
			const n = 42 * 24 * 60 // minutes scanned
			open := make([]bool, n)
			for i := range open {
				open[i] = c.Open(start.Add(time.Duration(i) * time.Minute))
			}
			// change[i] is the first minute after i whose state differs.
			change := make([]int, n)
			change[n-1] = -1
			for i := n - 2; i >= 0; i-- {
				switch {
				case open[i+1] != open[i]:
					change[i] = i + 1
				default:
					change[i] = change[i+1]
				}
			}
			horizon := int(Horizon / time.Minute)
			checked := 0
			for i := 0; i+horizon < n; i += 13 {
				at := start.Add(time.Duration(i) * time.Minute)
				got, ok := c.NextChange(at)
				want := change[i]
				if want == -1 || want-i > horizon {
					if ok {
						t.Fatalf("%s: NextChange(%s) = %s, want none", zone, at, got)
					}
					continue
				}
				if wantT := start.Add(time.Duration(want) * time.Minute); !ok || !got.Equal(wantT) {
					t.Fatalf("%s: NextChange(%s) = %s, %v; want %s", zone, at, got, ok, wantT)
				}
				checked++
			}
			if checked < 1000 {
				t.Fatalf("%s: only %d instants checked", zone, checked)
			}
		}
	}
}
