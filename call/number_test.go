package call

import (
	"errors"
	"strings"
	"testing"
)

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

// TestValidDestination: an inbound called user may be a number or a plain
// name; wildcards, parameters and escapes are refused.
func TestValidDestination(t *testing.T) {
	for _, n := range []string{"+15550100", "1000", "support", "sales.uk", "agent-7", "queue_1"} {
		if err := ValidDestination(n); err != nil {
			t.Errorf("ValidDestination(%q) = %v, want nil", n, err)
		}
	}
	for _, n := range []string{"", "+1555*", "1555?", "*", "1000;phone-context=+1900", "+1555;user=phone",
		"sips:user@example.com", "1 000", "+1555%2A", "a*", strings.Repeat("a", MaxNameLen+1)} {
		if err := ValidDestination(n); !errors.Is(err, ErrNumberFormat) {
			t.Errorf("ValidDestination(%q) = %v, want ErrNumberFormat", n, err)
		}
	}
}

func TestValidNumber(t *testing.T) {
	for _, n := range []string{"+15550100", "+442071234567", "1000", "0044207", "+1", "123456789012345678901234567890"} {
		if err := ValidNumber(n); err != nil {
			t.Errorf("ValidNumber(%q) = %v, want nil", n, err)
		}
	}
	for _, n := range []string{"", "+", "+1555*", "1555?", "*", "1000;phone-context=+1900", "+1555;user=phone",
		"+0123", "+1234567890123456", "12#", "*67123", "anonymous", "agent-7", "1 000", "+1555%2A",
		"1234567890123456789012345678901234"} {
		err := ValidNumber(n)
		if !errors.Is(err, ErrNumberFormat) {
			t.Errorf("ValidNumber(%q) = %v, want ErrNumberFormat", n, err)
		}
	}
}

func TestValidE164(t *testing.T) {
	for n, ok := range map[string]bool{"+15550142": true, "+442071234567": true, "+1555014": false,
		"15550142": false, "+05550142": false, "+1555*": false, "+1234567890123456": false} {
		if err := ValidE164(n); (err == nil) != ok {
			t.Errorf("ValidE164(%q) = %v, want ok %v", n, err, ok)
		}
	}
}
