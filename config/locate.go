package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// position is where a key or value starts in the YAML text.
type position struct{ line, col int }

// locator maps the dotted key paths of a YAML document to their lines, and
// knows which keys an environment variable overrides.
type locator struct {
	file string
	// paths holds the position of every key (mapping entries) and item
	// (sequence entries) by path, e.g. "trunks[1].outbound.uri".
	paths map[string]position
	// byLine holds, per line, the paths of keys and values that start on it.
	byLine map[int][]located
	// env maps overridden keys ("sip.max_cps") to their variable
	// ("SWITCHBOARD_SIP_MAX_CPS").
	env map[string]string
}

type located struct {
	col  int
	path string
}

// newLocator indexes the document root (a document or mapping node).
func newLocator(file string, root *yaml.Node) *locator {
	l := &locator{file: file, paths: map[string]position{}, byLine: map[int][]located{}, env: map[string]string{}}
	if root != nil && root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root != nil {
		l.walk(root, "")
	}
	return l
}

// record notes that path starts at n. With keepExisting, an earlier
// position of path (an explicit key, against a merged one or a value) stays.
func (l *locator) record(n *yaml.Node, path string, keepExisting bool) {
	if _, ok := l.paths[path]; !ok || !keepExisting {
		l.paths[path] = position{n.Line, n.Column}
	}
	l.byLine[n.Line] = append(l.byLine[n.Line], located{n.Column, path})
}

// walk indexes n at path. Merged ("<<") keys come after explicit ones so
// that explicit keys keep their own positions.
func (l *locator) walk(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		l.walkMapping(n, path, false)
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			l.record(item, p, false)
			l.walk(item, p)
		}
	case yaml.ScalarNode:
		l.record(n, path, true) // a value keeps its key's position

	}
}

// walkMapping indexes a mapping; merged is true inside a "<<" value, whose
// keys never replace the positions of explicit ones.
func (l *locator) walkMapping(n *yaml.Node, path string, merged bool) {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			merges = append(merges, deref(v))
			continue
		}
		p := joinKey(path, k.Value)
		l.record(k, p, merged)
		l.walk(deref(v), p)
	}
	for _, m := range merges {
		items := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			items = m.Content
		}
		for _, item := range items {
			if item = deref(item); item.Kind == yaml.MappingNode {
				l.walkMapping(item, path, true)
			}
		}
	}
}

// has reports whether path is set in the document.
func (l *locator) has(path string) bool {
	_, ok := l.paths[path]
	return ok
}

// line returns the line of path, or of its nearest ancestor that is set;
// 0 when none is.
func (l *locator) line(path string) int {
	for path != "" {
		if pos, ok := l.paths[path]; ok {
			return pos.line
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// keyAt returns the path of the key or value that starts last at or before
// col on line, or "" when none does.
func (l *locator) keyAt(line, col int) string {
	best := located{col: -1}
	for _, c := range l.byLine[line] {
		if c.col <= col && c.col >= best.col {
			best = c
		}
	}
	return best.path
}

// place sets the file and line of p from its key: "env VAR" when an
// environment variable overrides the key, else the YAML position.
func (l *locator) place(p *Problem) {
	if name, ok := l.env[stripIndexes(p.Key)]; ok {
		p.File, p.Line = "env "+name, 0
		return
	}
	p.File, p.Line = l.file, l.line(p.Key)
}

// stripIndexes drops trailing list indexes: "sip.listen[1]" → "sip.listen".
func stripIndexes(path string) string {
	for strings.HasSuffix(path, "]") {
		i := strings.LastIndexByte(path, '[')
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return path
}
