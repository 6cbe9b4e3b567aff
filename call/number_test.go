package call

import "testing"

func TestMatchNumber(t *testing.T) {
	cases := []struct {
		pattern, number string
		want            bool
	}{
		{"*", "+15550100", true},
		{"*", "", true},
		{"+4420*", "+442071234567", true},
		{"+4420*", "442071234567", true},
		{"4420*", "+442071234567", true},
		{"+4420*", "+443071234567", false},
		{"+1555010?", "+15550101", true},
		{"+1555010?", "+155501011", false},
		{"+1*0100", "+15550100", true},
		{"+1*0100", "+15550101", false},
		{"*99", "12399", true},
		{"1*2*3", "1xx2yy3", true},
		{"1*2*3", "1xx2yy4", false},
		{"+15550100", "+15550100", true},
		{"+15550100", "+15550101", false},
	}
	for _, c := range cases {
		if got := MatchNumber(c.pattern, c.number); got != c.want {
			t.Errorf("MatchNumber(%q, %q) = %v, want %v", c.pattern, c.number, got, c.want)
		}
	}
}
