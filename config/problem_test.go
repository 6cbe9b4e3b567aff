package config

import (
	"errors"
	"fmt"
	"testing"
)

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "sb.yaml", Line: 7, Key: "trunks[1].outbound.uri", Msg: "is required"}, "sb.yaml:7: trunks[1].outbound.uri: is required"},
		{Problem{File: "env SWITCHBOARD_SIP_MAX_CPS", Key: "sip.max_cps", Msg: "must not be negative"}, "env SWITCHBOARD_SIP_MAX_CPS: sip.max_cps: must not be negative"},
		{Problem{Key: "log.level", Msg: "bad"}, "log.level: bad"},
		{Problem{File: "sb.yaml", Line: 3, Msg: "invalid YAML: oops"}, "sb.yaml:3: invalid YAML: oops"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestProblemsError(t *testing.T) {
	var err error = Problems{
		{File: "a.yaml", Line: 1, Key: "x", Msg: "one"},
		{File: "a.yaml", Line: 2, Key: "y", Msg: "two"},
	}
	if got, want := err.Error(), "a.yaml:1: x: one\na.yaml:2: y: two"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var ps Problems
	if !errors.As(fmt.Errorf("wrapped: %w", err), &ps) || len(ps) != 2 {
		t.Errorf("errors.As did not find the 2 problems: %v", ps)
	}
	if Problems(nil).err() != nil {
		t.Error("no problems must give a nil error")
	}
}
