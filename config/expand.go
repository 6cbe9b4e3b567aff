package config

import (
	"fmt"
	"os"
	"strings"
	"unicode/utf8"
)

// expansionProblem is a ${VAR} mistake at a line and column of the expanded
// text; the key is found once the YAML is parsed.
type expansionProblem struct {
	line, col int
	msg       string
}

// expandEnv replaces ${VAR} and ${VAR:-default} in text with values from the
// environment, line by line so that line numbers do not move. "$${" stands
// for a literal "${". Lines whose first non-blank character is '#' are left
// alone. An unset variable without a default, or a value with a line break
// (which would move every later line), expands to "" and is reported.
func expandEnv(text string) (string, []expansionProblem) {
	lines := strings.Split(text, "\n")
	var problems []expansionProblem
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		var ps []expansionProblem
		lines[i], ps = expandLine(line, i+1)
		problems = append(problems, ps...)
	}
	return strings.Join(lines, "\n"), problems
}

// expandLine expands one line; lineNo is its 1-based number.
func expandLine(line string, lineNo int) (string, []expansionProblem) {
	var (
		out      strings.Builder
		problems []expansionProblem
	)
	for {
		i := strings.Index(line, "${")
		if i < 0 {
			out.WriteString(line)
			return out.String(), problems
		}
		if i > 0 && line[i-1] == '$' { // "$${" escapes "${"
			out.WriteString(line[:i-1])
			out.WriteString("${")
			line = line[i+2:]
			continue
		}
		out.WriteString(line[:i])
		col := utf8.RuneCountInString(out.String()) + 1
		end := strings.IndexByte(line[i:], '}')
		if end < 0 {
			problems = append(problems, expansionProblem{lineNo, col, "unterminated ${ (write $${ for a literal ${)"})
			out.WriteString(line[i:])
			return out.String(), problems
		}
		value, msg := lookupVar(line[i+2 : i+end])
		if msg != "" {
			problems = append(problems, expansionProblem{lineNo, col, msg})
		}
		out.WriteString(value)
		line = line[i+end+1:]
	}
}

// lookupVar resolves the inside of ${...}: "NAME" or "NAME:-default". It
// returns the value, or a message saying what is wrong.
func lookupVar(expr string) (value, msg string) {
	name, def, hasDefault := strings.Cut(expr, ":-")
	if !validVarName(name) {
		return "", fmt.Sprintf("invalid variable name in ${%s}", expr)
	}
	value, ok := os.LookupEnv(name)
	switch {
	case hasDefault && value == "":
		return def, ""
	case !ok:
		return "", fmt.Sprintf("environment variable %s is not set (write ${%s:-default} to give a default)", name, name)
	case strings.ContainsAny(value, "\r\n"):
		return "", fmt.Sprintf("environment variable %s holds a line break, which cannot be inserted into a line", name)
	}
	return value, ""
}

// validVarName reports whether s is a shell-style variable name.
func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
