package sip

import "testing"

func TestNumberFormat(t *testing.T) {
	cases := []struct {
		f    NumberFormat
		in   string
		want string
	}{
		{NumberFormat{Plus: true}, "+4420123", "+4420123"},
		{NumberFormat{Plus: true}, "4420123", "+4420123"},
		{NumberFormat{Plus: false}, "+4420123", "4420123"},
		{NumberFormat{Plus: false, TechPrefix: "1234#"}, "+4420123", "1234#4420123"},
		{NumberFormat{Plus: true, TechPrefix: "99"}, "+15550100", "99+15550100"},
		{NumberFormat{Plus: true, Strip: []string{"+44"}}, "+4420123", "20123"},
		{NumberFormat{Plus: false, Strip: []string{"00"}}, "0049301234", "49301234"},
		{NumberFormat{Plus: true, Strip: []string{"00"}}, "+15550100", "+15550100"},
		{NumberFormat{Plus: true}, "anonymous", "anonymous"},
		{NumberFormat{Plus: true}, "", ""},
	}
	for _, c := range cases {
		if got := c.f.Apply(c.in); got != c.want {
			t.Errorf("%+v.Apply(%q) = %q, want %q", c.f, c.in, got, c.want)
		}
	}
}
