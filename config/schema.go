package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var durationType = reflect.TypeFor[time.Duration]()

// schemaChecker compares a YAML node tree with the Config type through the
// fields' yaml tags. It reports unknown and duplicate keys and values of the
// wrong kind, and removes them from the tree so that decoding the rest
// cannot fail and the remaining settings can still be validated.
type schemaChecker struct {
	file     string
	problems Problems
}

func (s *schemaChecker) add(n *yaml.Node, key, format string, args ...any) {
	s.problems = append(s.problems, Problem{File: s.file, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// check checks n against t at path and reports whether n may be kept.
func (s *schemaChecker) check(n *yaml.Node, t reflect.Type, path string) bool {
	n = deref(n)
	if isNull(n) {
		return true
	}
	switch {
	case t == durationType:
		return s.checkScalar(n, path, durationProblem)
	case t == responseCodeType:
		return s.checkResponseCode(n, path)
	case t.Kind() == reflect.Pointer:
		return s.check(n, t.Elem(), path)
	case t.Kind() == reflect.Struct:
		return s.checkStruct(n, t, path)
	case t.Kind() == reflect.Slice:
		return s.checkSlice(n, t, path)
	case t.Kind() == reflect.Map:
		return s.checkMap(n, t, path)
	case t.Kind() == reflect.String:
		if n.Kind == yaml.ScalarNode {
			n.Tag = "!!str" // keep the text: +4420 or 0044 read as a number would lose digits
		}
		return s.checkScalar(n, path, func(*yaml.Node) string { return "" })
	default:
		return s.checkScalar(n, path, func(n *yaml.Node) string { return scalarProblem(t.Kind(), n) })
	}
}

// checkScalar checks that n is a single value and that problem finds nothing
// wrong with it.
func (s *schemaChecker) checkScalar(n *yaml.Node, path string, problem func(*yaml.Node) string) bool {
	if n.Kind != yaml.ScalarNode {
		s.add(n, path, "must be a single value, not a %s", kindName(n))
		return false
	}
	if msg := problem(n); msg != "" {
		s.add(n, path, "%s", msg)
		return false
	}
	return true
}

// durationProblem says what is wrong with a duration scalar, or "".
func durationProblem(n *yaml.Node) string {
	switch {
	case n.ShortTag() == "!!int" && n.Value != "0":
		return fmt.Sprintf(`needs a unit, such as "%ss"`, n.Value)
	case n.ShortTag() == "!!int":
		return ""
	case n.ShortTag() != "!!str" || !validDuration(n.Value):
		return fmt.Sprintf(`must be a duration such as "30s", not %q`, n.Value)
	}
	return ""
}

// scalarProblem says what is wrong with a scalar decoded into kind, or "".
func scalarProblem(kind reflect.Kind, n *yaml.Node) string {
	tag := n.ShortTag()
	switch kind {
	case reflect.Bool:
		if tag != "!!bool" && (tag != "!!str" || !validBool(n.Value)) {
			return fmt.Sprintf("must be true or false, not %q", n.Value)
		}
	case reflect.Int:
		if tag != "!!int" && (tag != "!!str" || !validInt(n.Value)) {
			return fmt.Sprintf("must be an integer, not %q", n.Value)
		}
	case reflect.Float64:
		if tag != "!!int" && tag != "!!float" && (tag != "!!str" || !validFloat(n.Value)) {
			return fmt.Sprintf("must be a number, not %q", n.Value)
		}
	}
	return ""
}

// checkStruct checks a mapping against the yaml tags of struct type t.
func (s *schemaChecker) checkStruct(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.MappingNode {
		s.add(n, path, "must be a mapping, not a %s", kindName(n))
		return false
	}
	fields := yamlFields(t)
	seen := map[string]int{}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			if s.checkMerge(v, t, path) {
				kept = append(kept, k, v)
			}
			continue
		}
		if s.checkField(k, v, fields, seen, path) {
			kept = append(kept, k, v)
		}
	}
	n.Content = kept
	return true
}

// checkField checks one key and value of a struct mapping and reports
// whether the pair may be kept.
func (s *schemaChecker) checkField(k, v *yaml.Node, fields map[string]reflect.Type, seen map[string]int, path string) bool {
	key := joinKey(path, k.Value)
	ft, known := fields[k.Value]
	switch {
	case k.Kind != yaml.ScalarNode:
		s.add(k, path, "keys must be plain names, not a %s", kindName(k))
		return false
	case !known:
		s.add(k, key, "unknown key%s", suggest(k.Value, fields))
		return false
	case seen[k.Value] > 0:
		s.add(k, key, "duplicate key (first at line %d)", seen[k.Value])
		return false
	}
	seen[k.Value] = k.Line
	if isNull(deref(v)) {
		return false // "key:" with no value means the key is absent
	}
	return s.check(v, ft, key)
}

// checkMerge checks the value of a "<<" merge key against struct type t.
func (s *schemaChecker) checkMerge(v *yaml.Node, t reflect.Type, path string) bool {
	v = deref(v)
	if v.Kind != yaml.SequenceNode {
		return s.checkStruct(v, t, path)
	}
	for _, item := range v.Content {
		if !s.checkStruct(deref(item), t, path) {
			return false
		}
	}
	return true
}

// checkSlice checks a sequence against slice type t. Items of the wrong
// kind are replaced by null so that the indexes of the others do not move.
func (s *schemaChecker) checkSlice(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.SequenceNode {
		s.add(n, path, "must be a list, not a %s", kindName(n))
		return false
	}
	for i, item := range n.Content {
		if !s.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)) {
			n.Content[i] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: item.Line, Column: item.Column}
		}
	}
	return true
}

// checkMap checks a mapping with free-form keys (flow names) against map
// type t.
func (s *schemaChecker) checkMap(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.MappingNode {
		s.add(n, path, "must be a mapping, not a %s", kindName(n))
		return false
	}
	seen := map[string]int{}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := joinKey(path, k.Value)
		switch {
		case k.Kind != yaml.ScalarNode:
			s.add(k, path, "keys must be plain names, not a %s", kindName(k))
			continue
		case seen[k.Value] > 0:
			s.add(k, key, "duplicate key (first at line %d)", seen[k.Value])
			continue
		}
		seen[k.Value] = k.Line
		if s.check(v, t.Elem(), key) {
			kept = append(kept, k, v)
		}
	}
	n.Content = kept
	return true
}

// yamlFields maps the yaml names of struct type t's fields to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if name := yamlName(f); name != "" {
			fields[name] = f.Type
		}
	}
	return fields
}

// yamlName returns the YAML key of a struct field, or "" when it has none.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

// suggest returns ` (did you mean "x"?)` for the known key closest to key,
// or the list of known keys when none is close.
func suggest(key string, fields map[string]reflect.Type) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	best, bestDist := "", 3
	for _, name := range names {
		if d := editDistance(key, name); d < bestDist {
			best, bestDist = name, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (known keys: " + strings.Join(names, ", ") + ")"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// validDuration, validBool, validInt and validFloat check text the way the
// decoder will read it (YAML strings and environment values).
func validDuration(s string) bool {
	_, err := time.ParseDuration(s)
	return err == nil
}

func validBool(s string) bool {
	_, err := strconv.ParseBool(s)
	return err == nil
}

func validInt(s string) bool {
	_, err := strconv.ParseInt(s, 0, 0)
	return err == nil
}

func validFloat(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	default:
		return "single value"
	}
}

// joinKey appends a mapping key to a dotted path.
func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
