package sip

import "strings"

// NumberFormat rewrites numbers sent to a trunk.
type NumberFormat struct {
	Plus       bool     // keep/add a leading '+' (true) or remove it (false)
	TechPrefix string   // prepended after stripping
	Strip      []string // prefixes removed, first match wins (compared without '+')
}

// Apply formats number for the trunk: strip a prefix, set or remove the
// leading '+', then prepend the tech prefix. Non-numeric user parts
// (e.g. "anonymous") are returned unchanged.
func (f NumberFormat) Apply(number string) string {
	if number == "" || !isDialable(number) {
		return number
	}
	hadPlus := strings.HasPrefix(number, "+")
	n := strings.TrimPrefix(number, "+")
	for _, p := range f.Strip {
		p = strings.TrimPrefix(p, "+")
		if p != "" && strings.HasPrefix(n, p) {
			n = n[len(p):]
			hadPlus = false // a stripped number is no longer E.164
			break
		}
	}
	if f.Plus && (hadPlus || len(f.Strip) == 0) {
		n = "+" + n
	}
	return f.TechPrefix + n
}

func isDialable(s string) bool {
	for i, r := range s {
		if r == '+' && i == 0 {
			continue
		}
		if (r < '0' || r > '9') && r != '*' && r != '#' {
			return false
		}
	}
	return true
}
