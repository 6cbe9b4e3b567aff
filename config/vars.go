package config

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Call variables: a flow's set action gives a call variables, and
// say.text, dial.number, hangup.reason and set values may use them as
// {{name}}. ${NAME} stays the environment, expanded when the file is read.

// BuiltinVars are set by the switch for every call and cannot be set.
var BuiltinVars = map[string]string{
	"caller":      "the calling number",
	"caller_name": "the caller's display name",
	"called":      "the called number",
	"trunk":       "the trunk the call came in on",
	"call_id":     "the switch's call id",
	"digits":      "the keys the last gather collected",
}

// Well-known variables a flow may set and the switch reads.
const (
	// VarPriority is the caller's priority in queues: an integer, higher
	// first (default 0).
	VarPriority = "priority"
	// VarCustomerName is the name agents see for the caller (default the
	// caller's display name).
	VarCustomerName = "customer_name"
)

// VarRefs lists the variables s refers to as {{name}}, in order, and
// reports an unterminated reference.
func VarRefs(s string) (names []string, err error) {
	whole := s
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			return names, nil
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			return names, fmt.Errorf("unterminated {{ in %q", whole)
		}
		names = append(names, strings.TrimSpace(s[i+2:i+2+j]))
		s = s[i+2+j+2:]
	}
}

// ExpandVars replaces each {{name}} in s with lookup(name).
func ExpandVars(s string, lookup func(name string) string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		j := -1
		if i >= 0 {
			j = strings.Index(s[i+2:], "}}")
		}
		if i < 0 || j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(lookup(strings.TrimSpace(s[i+2 : i+2+j])))
		s = s[i+2+j+2:]
	}
}

// varProblem checks a variable's name for a set action.
func varProblem(name string) string {
	if name == "" || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" || !strings.ContainsAny(name[:1], "abcdefghijklmnopqrstuvwxyz") {
		return fmt.Sprintf("invalid variable name %q: use lowercase letters, digits and '_', starting with a letter", name)
	}
	if _, ok := BuiltinVars[name]; ok {
		return fmt.Sprintf("%q is set by the switch and cannot be set", name)
	}
	return ""
}

// setVars is every variable some set action of c sets.
func (c *Config) setVars() map[string]bool {
	out := map[string]bool{}
	for _, actions := range c.Flows {
		for _, a := range actions {
			for k := range a.Set {
				out[k] = true
			}
		}
	}
	return out
}

// checkVarRefs reports references in s (at key) to variables neither built
// in nor set by any set action.
func checkVarRefs(v *collector, key, s string, set map[string]bool) {
	names, err := VarRefs(s)
	if err != nil {
		v.add(key, "%v", err)
		return
	}
	for _, n := range names {
		if _, ok := BuiltinVars[n]; ok || set[n] {
			continue
		}
		v.add(key, "unknown variable {{%s}}: use one of %s, or give it a value with a set action",
			n, strings.Join(slices.Sorted(maps.Keys(BuiltinVars)), ", "))
	}
}

// validateSet checks one set action.
func validateSet(v *collector, key string, set map[string]string, vars map[string]bool) {
	if len(set) == 0 {
		v.add(key, "needs at least one variable, e.g. set: {priority: \"5\"}")
	}
	for _, name := range slices.Sorted(maps.Keys(set)) {
		k := joinKey(key, name)
		if msg := varProblem(name); msg != "" {
			v.add(k, "%s", msg)
			continue
		}
		val := set[name]
		checkVarRefs(v, k, val, vars)
		if name == VarPriority && !strings.Contains(val, "{{") {
			if n, err := strconv.Atoi(strings.TrimSpace(val)); err != nil || n < -1000 || n > 1000 {
				v.add(k, "must be an integer from -1000 to 1000, not %q", val)
			}
		}
	}
}
