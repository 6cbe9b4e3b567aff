package dialplan

import (
	"errors"
	"fmt"
	"time"
)

// ErrNoOutboundRoute: no outbound route matches a number the switch was
// asked to call.
var ErrNoOutboundRoute = errors.New("no outbound route")

// OutboundTrunk returns the trunk the switch's own call to number leaves
// through (an external transfer, a REFER target): that of the first route
// with an outbound trunk whose match.to matches the number. Routes for calls
// that come in are skipped. With no such route the error wraps
// ErrNoOutboundRoute and names the number.
func (e *Engine) OutboundTrunk(number string) (string, error) {
	for _, rt := range e.routes {
		if rt.Outbound == "" {
			continue
		}
		if rt.to == nil || rt.to(number) {
			return rt.Outbound, nil
		}
	}
	return "", fmt.Errorf("%w for %s: add a route with outbound and a match.to that matches it", ErrNoOutboundRoute, number)
}

// ScheduleOpen reports whether the schedule named name is open at t; an
// unknown schedule is closed.
func (e *Engine) ScheduleOpen(name string, t time.Time) bool {
	sc := e.schedules[name]
	return sc != nil && sc.Open(t)
}
