package dialplan

import "fmt"

// OutboundTrunk is a placeholder until outbound routes land.
// TODO(merge): replaced by the contacts branch.
func (e *Engine) OutboundTrunk(number string) (string, error) {
	for _, r := range e.routes {
		if r.Outbound != "" && (r.to == nil || r.to(number)) {
			return r.Outbound, nil
		}
	}
	return "", fmt.Errorf("no outbound route for %s", number)
}
