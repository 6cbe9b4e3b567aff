package config

import (
	"fmt"
	"strings"
)

// Problem is one mistake in a configuration: where it is and what is wrong.
type Problem struct {
	// File is the configuration file, or "env SWITCHBOARD_..." when the value
	// came from an environment override, or "" for a Config built in code.
	File string
	// Line is the 1-based line in File; 0 when unknown.
	Line int
	// Key is the dotted path of the setting with list indexes,
	// e.g. "trunks[1].outbound.uri"; "" when the problem has no key (a YAML
	// syntax error).
	Key string
	// Msg says what is wrong.
	Msg string
	// Warning marks what may be wrong but cannot be told from the file
	// alone, such as a flow naming a queue that is not declared (it may be
	// created through the API): the configuration is still accepted.
	Warning bool
}

// String formats the problem as "FILE:LINE: KEY: problem" (a warning as
// "FILE:LINE: warning: KEY: problem"), leaving out the parts that are
// unknown.
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	case p.File != "":
		fmt.Fprintf(&b, "%s: ", p.File)
	}
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every mistake found in a configuration. It is the error
// returned by Load and Validate; get it back with errors.As.
type Problems []Problem

// Error lists the problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// err returns ps as an error, or nil when there is no problem.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// collector gathers problems while a configuration is checked.
type collector struct {
	file  string
	list  Problems
	warns Problems
}

// add records a problem on key.
func (c *collector) add(key, format string, args ...any) {
	c.list = append(c.list, Problem{File: c.file, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// warn records a warning on key.
func (c *collector) warn(key, format string, args ...any) {
	c.warns = append(c.warns, Problem{File: c.file, Key: key, Msg: fmt.Sprintf(format, args...), Warning: true})
}

// addAll records ps, whose keys are relative to prefix.
func (c *collector) addAll(prefix string, ps Problems) {
	for _, p := range ps {
		c.add(joinKey(prefix, p.Key), "%s", p.Msg)
	}
}
