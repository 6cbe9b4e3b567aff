package sip

import "testing"

func TestMapFailure(t *testing.T) {
	cases := []struct{ in, want int }{
		{486, 486}, {600, 600}, {603, 603}, {404, 404}, {480, 480}, {408, 408}, {488, 488},
		{401, 403}, {407, 403},
		{302, 480},
		{500, 502}, {502, 502}, {504, 502}, {503, 503},
	}
	for _, c := range cases {
		if got := MapFailure(c.in, ""); got.Code != c.want || got.Reason == "" {
			t.Errorf("MapFailure(%d) = %v, want %d with a reason", c.in, got, c.want)
		}
	}
	if got := MapFailure(486, "Agent Busy"); got.Reason != "Agent Busy" {
		t.Errorf("reason not kept: %v", got)
	}
}
