package schedule

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestValidateEachMistake(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Schedule
		key  string
		msg  string // a part of the message
	}{
		{"unknown zone", Schedule{TimeZone: "Mars/Olympus"}, "time_zone", `unknown time zone "Mars/Olympus"`},
		{"host zone", Schedule{TimeZone: "Local"}, "time_zone", "depends on the host"},
		{"bad day", Schedule{Weekly: map[string][]string{"mond": {"09:00-17:00"}}}, "weekly.mond", `unknown day "mond"`},
		{"bad day range", Schedule{Weekly: map[string][]string{"mon-fry": {"09:00-17:00"}}}, "weekly.mon-fry", "unknown day"},
		{"not a range", Schedule{Weekly: map[string][]string{"mon": {"09:00"}}}, "weekly.mon[0]", `bad range "09:00"`},
		{"hours without minutes", Schedule{Weekly: map[string][]string{"mon": {"9-17"}}}, "weekly.mon[0]", `bad range "9-17"`},
		{"hour 25", Schedule{Weekly: map[string][]string{"mon": {"09:00-25:00"}}}, "weekly.mon[0]", "bad range"},
		{"minute 60", Schedule{Weekly: map[string][]string{"mon": {"09:60-10:00"}}}, "weekly.mon[0]", "bad range"},
		{"start at 24:00", Schedule{Weekly: map[string][]string{"mon": {"24:00-02:00"}}}, "weekly.mon[0]", "cannot start at 24:00"},
		{"empty range", Schedule{Weekly: map[string][]string{"mon": {"09:00-17:00", "10:00-10:00"}}}, "weekly.mon[1]", "empty range"},
		{"overlap in a day", Schedule{Weekly: map[string][]string{"mon": {"09:00-12:00", "11:00-13:00"}}}, "weekly.mon[1]", "11:00-13:00 on mon overlaps weekly.mon[0] 09:00-12:00 on mon"},
		{"overlap across keys", Schedule{Weekly: map[string][]string{"mon-fri": {"09:00-17:00"}, "wed": {"16:00-18:00"}}}, "weekly.wed[0]", "overlaps weekly.mon-fri[0] 09:00-17:00 on wed"},
		{"overlap after midnight", Schedule{Weekly: map[string][]string{"fri": {"22:00-02:00"}, "sat": {"01:00-05:00"}}}, "weekly.sat[0]", "01:00-05:00 on sat overlaps weekly.fri[0] 22:00-02:00 on fri"},
		{"overlap across the week's end", Schedule{Weekly: map[string][]string{"sat": {"23:00-01:00"}, "sun": {"00:30-08:00"}}}, "weekly.sun[0]", "00:30-08:00 on sun overlaps weekly.sat[0] 23:00-01:00 on sat"},
		{"overlap into monday", Schedule{Weekly: map[string][]string{"sun": {"23:00-01:00"}, "mon": {"00:30-08:00"}}}, "weekly.sun[0]", "overlaps weekly.mon[0]"},
		{"all day and a range", Schedule{Weekly: map[string][]string{"sat": {"24h", "10:00-12:00"}}}, "weekly.sat[1]", "overlaps weekly.sat[0] 00:00-24:00"},
		{"impossible date", Schedule{Holidays: []string{"2026-02-30"}}, "holidays[0]", `bad date "2026-02-30": day out of range`},
		{"impossible yearly date", Schedule{Holidays: []string{"2026-12-25", "13-01"}}, "holidays[1]", `bad yearly date "13-01"`},
		{"date with slashes", Schedule{Holidays: []string{"2026/12/25"}}, "holidays[0]", "bad date"},
		{"american date", Schedule{Holidays: []string{"12/25"}}, "holidays[0]", "bad yearly date"},
		{"day-first date", Schedule{Holidays: []string{"25-12-2026"}}, "holidays[0]", "bad date"},
		{"closure end before start", Schedule{Closures: []string{"2026-11-23T15:00/2026-11-23T12:00"}}, "closures[0]", "end is not after start"},
		{"closure without end", Schedule{Closures: []string{"2026-11-23T12:00"}}, "closures[0]", "want START/END"},
		{"closure bad hour", Schedule{Closures: []string{"2026-11-23T25:00/2026-11-23T26:00"}}, "closures[0]", `time "2026-11-23T25:00": hour out of range`},
		{"closure bad words", Schedule{Closures: []string{"today/tomorrow"}}, "closures[0]", `time "today"`},
		{"opening bad date", Schedule{Openings: []string{"2026-11-29T10:00/2026-11-29T16:00", "2026-13-01"}}, "openings[1]", "bad period"},
		{"opening empty", Schedule{Openings: []string{"2026-11-29T10:00/2026-11-29T10:00"}}, "openings[0]", "end is not after start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.s.Validate()
			if len(ps) != 1 {
				t.Fatalf("Validate = %v, want one problem", ps)
			}
			if ps[0].Key != tc.key || !strings.Contains(ps[0].Msg, tc.msg) {
				t.Errorf("Validate = %q, want key %q and a message containing %q", ps[0], tc.key, tc.msg)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	s := Schedule{
		TimeZone: "America/New_York",
		Weekly: map[string][]string{
			"mon-fri": {"09:00-12:30", "12:30-17:00", "22:00-02:00"}, // touching ranges are fine
			"Sat":     {" 9:00 - 13:00 "},
			"sun":     {"02:00-00:00"},
			"fri-mon": {},
		},
		Holidays: []string{"2026-12-25", "02-29", " 01-01 "},
		Closures: []string{"2026-11-23T12:00/2026-11-23T15:00", "2026-11-24 12:00:30/2026-11-24 13:00", "2026-11-25T12:00:00-05:00/2026-11-25T18:00:00Z", "2026-12-24", "2026-12-28/2026-12-30"},
		Openings: []string{"2026-11-29T10:00/2026-11-29T16:00"},
	}
	if ps := s.Validate(); ps != nil {
		t.Fatalf("Validate = %v, want none", ps)
	}
}

func TestValidateReportsEveryMistake(t *testing.T) {
	s := Schedule{
		Name:     "support",
		TimeZone: "Europe/Londn",
		Weekly: map[string][]string{
			"mon-fri": {"09:00-17:00", "12:00-13:00", "8-12"},
			"sat":     {"10:00-10:00"},
			"sunday":  {"10:00-12:00"},
			"fri":     {"16:00-18:00"},
		},
		Holidays: []string{"2026-12-25", "2026-13-01", "christmas"},
		Closures: []string{"2026-11-23T15:00/2026-11-23T12:00", "2026-11-24"},
		Openings: []string{"sunday"},
	}
	want := []string{
		"time_zone",
		"weekly.mon-fri[1]", // overlaps weekly.mon-fri[0], reported once for five days
		"weekly.mon-fri[2]",
		"weekly.fri[0]",
		"weekly.sat[0]",
		"weekly.sunday",
		"holidays[1]",
		"holidays[2]",
		"closures[0]",
		"openings[0]",
	}
	// Map order varies between runs; the report must not.
	first := s.Validate()
	for range 20 {
		if again := s.Validate(); !reflect.DeepEqual(again, first) {
			t.Fatalf("Validate is not stable:\n%v\n%v", first, again)
		}
	}
	var keys []string
	for _, p := range first {
		keys = append(keys, p.Key)
	}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("Validate keys = %q, want %q\nproblems: %v", keys, want, first)
	}

	c, err := Compile(s)
	if c != nil || err == nil {
		t.Fatalf("Compile = %v, %v; want an error", c, err)
	}
	var ps Problems
	if !errors.As(err, &ps) || !reflect.DeepEqual([]Problem(ps), first) {
		t.Fatalf("Compile error %v does not wrap the problems", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, `schedule "support": time_zone: unknown time zone "Europe/Londn"; weekly.mon-fri[1]: `) {
		t.Errorf("Compile error = %q", msg)
	}
}
