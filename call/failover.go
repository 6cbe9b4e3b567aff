package call

import (
	"context"
	"fmt"
	"slices"
)

// FailedOver reports that a dial attempt failed in a way that lets the next
// trunk be tried: the call is still up.
type FailedOver struct {
	Trunk string
	Cause Cause
}

func (f *FailedOver) Error() string {
	return fmt.Sprintf("call: trunk %s failed with %s", f.Trunk, f.Cause)
}

// FailsOver reports whether a dial that failed with cause may be retried on
// the next trunk: a time-out (408) or a server failure (5xx: the far end's
// 5xx, a trunk that is down, at its limits or unreachable). Every other
// failure (404, 486, 600, 603, any 4xx or 6xx) is the called party's answer
// and goes back to the caller.
func FailsOver(cause Cause) bool {
	return cause.Code == 408 || (cause.Code >= 500 && cause.Code < 600)
}

// DialInOrder dials rs in order until one leg is bridged: while an attempt
// fails before the far end answers and FailsOver, the next request is
// tried. The last attempt's failure (or any failure that does not fail
// over) ends the call with its cause. The far end's early media, if any,
// is disconnected before the next attempt.
func (c *Call) DialInOrder(ctx context.Context, d Dialer, rs []DialRequest) error {
	if len(rs) == 0 {
		c.End(ctx, ServerError)
		return fmt.Errorf("call: nothing to dial")
	}
	for i, r := range rs {
		last := i == len(rs)-1
		err := c.dialOne(ctx, d, r, !last)
		fo, ok := err.(*FailedOver)
		if !ok || last {
			return err
		}
		c.log.Info("dial failed over", "out_trunk", fo.Trunk, "cause", fo.Cause.String(), "next_trunk", rs[i+1].Trunk)
	}
	return nil
}

// dropLeg forgets a leg that failed before it answered, and the media bridge
// to it (its early media).
func (c *Call) dropLeg(l Leg) {
	c.mu.Lock()
	c.legs = slices.DeleteFunc(c.legs, func(x Leg) bool { return x == l })
	b := c.media
	c.media = nil
	c.mu.Unlock()
	if b != nil {
		b.Stop()
	}
}
