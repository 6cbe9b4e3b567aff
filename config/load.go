package config

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"
)

// EnvPrefix starts the environment variables that override settings:
// SWITCHBOARD_SIP_MAX_CPS overrides sip.max_cps.
const EnvPrefix = "SWITCHBOARD"

// Load reads the YAML configuration at path and returns it with defaults
// applied, after validation.
//
// Before parsing, ${VAR} and ${VAR:-default} are replaced with environment
// values ("$${" writes a literal "${"). Then every scalar setting can be
// overridden by an environment variable named EnvPrefix + "_" + its key in
// upper case with "." replaced by "_" (SWITCHBOARD_HTTP_LISTEN for
// http.listen; lists take comma-separated values). Trunks, routes and flows
// come from the file only.
//
// When the configuration has mistakes, Load returns every one of them as
// Problems, each with its file, line and key (and the warnings with them).
// What may be wrong but is accepted is in the Config's Warnings. Other
// failures (an unreadable file) are returned as wrapped errors.
func Load(path string) (*Config, error) {
	return LoadWith(path, nil)
}

// Checker adds checks that need more than the configuration itself (audio
// files, external tools); its problems name a key, and are placed at that
// key's line like Validate's.
type Checker func(*Config) Problems

// LoadWith is Load with an extra check run on the loaded configuration.
func LoadWith(path string, check Checker) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	text, expansion := expandEnv(string(raw))
	doc, problem := parseYAML(path, text)
	problems := placeExpansion(newLocator(path, doc), expansion)
	if problem != nil {
		problems = append(problems, *problem)
		sortProblems(problems)
		return nil, problems
	}
	c, more, err := build(path, doc, check)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if problems = append(problems, more...); len(problems) > 0 {
		problems = append(problems, c.Warnings...)
		sortProblems(problems)
		return nil, problems
	}
	return c, nil
}

// build checks doc against the Config type, decodes it with defaults and
// environment overrides, and validates the result. It returns the config
// and every problem found, placed at its line or variable.
func build(path string, doc *yaml.Node, check Checker) (*Config, Problems, error) {
	schema := &schemaChecker{file: path}
	if doc != nil {
		schema.check(doc, reflect.TypeFor[Config](), "")
	}
	problems := schema.problems
	loc := newLocator(path, doc) // after the check: only what will be decoded
	keys := settingKeys()
	loc.env = envOverrides(keys)
	envProblems := checkEnv(keys, loc.env)
	problems = append(problems, envProblems...)
	c, err := decode(doc, keys, envProblems)
	if err != nil {
		return nil, nil, err
	}
	c.File = path
	applyAbsentDefaults(c, loc)
	c.ApplyDefaults()
	v := c.check()
	found := v.list
	if check != nil && len(found) == 0 {
		found = check(c)
	}
	place := func(p Problem) Problem {
		if p.File == "" {
			p.File = path
		}
		loc.place(&p)
		return p
	}
	for _, p := range found {
		problems = append(problems, place(p))
	}
	c.Warnings = nil
	for _, p := range v.warns {
		c.Warnings = append(c.Warnings, place(p))
	}
	sortProblems(c.Warnings)
	return c, problems, nil
}

// parseYAML parses text into its top-level mapping (nil for an empty
// document), or returns the syntax problem.
func parseYAML(path, text string) (*yaml.Node, *Problem) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(text), &root); err != nil {
		p := syntaxProblem(path, err, text)
		return nil, &p
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil, nil
	}
	doc := deref(root.Content[0])
	switch {
	case isNull(doc):
		return nil, nil
	case doc.Kind != yaml.MappingNode:
		return nil, &Problem{File: path, Line: doc.Line, Msg: "the configuration must be a mapping of keys to values"}
	}
	if a := recursiveAlias(doc, map[*yaml.Node]bool{}, map[*yaml.Node]bool{}); a != nil {
		return nil, &Problem{File: path, Line: a.Line, Msg: fmt.Sprintf("invalid YAML: alias *%s refers to a node that contains it", a.Value)}
	}
	return doc, nil
}

// recursiveAlias returns an alias inside the node it refers to (a: &x {b: *x}),
// which would make every walk of the document endless; nil if there is none.
// onPath holds the nodes from the root to n, done those already searched (a
// depth-first search for a cycle, linear in the nodes even when aliases share
// them).
func recursiveAlias(n *yaml.Node, onPath, done map[*yaml.Node]bool) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil
		}
		if onPath[n.Alias] {
			return n
		}
		n = n.Alias
	}
	if onPath[n] || done[n] {
		return nil
	}
	onPath[n] = true
	for _, c := range n.Content {
		if a := recursiveAlias(c, onPath, done); a != nil {
			return a
		}
	}
	delete(onPath, n)
	done[n] = true
	return nil
}

// syntaxProblem turns a yaml.v3 error ("yaml: line 3: ...") into a Problem.
// yaml.v3 leaves the line out of errors on the first line and of the
// reader's (bad UTF-8, control characters): those are placed at the first
// character YAML does not allow, or else on line 1.
func syntaxProblem(path string, err error, text string) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, after, found := strings.Cut(rest, ": ")
		if n, err := strconv.Atoi(num); found && err == nil {
			line, msg = n, after
		}
	}
	if line <= 0 {
		line = badCharLine(text)
	}
	return Problem{File: path, Line: line, Msg: "invalid YAML: " + msg}
}

// badCharLine is the line of the first character of text that YAML 1.2
// does not allow (§5.1: invalid UTF-8, control characters, surrogates), or
// 1 when there is none.
func badCharLine(text string) int {
	line := 1
	for i, r := range text {
		ok := r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0x7e || r == 0x85 ||
			r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
		if r == utf8.RuneError {
			_, size := utf8.DecodeRuneInString(text[i:])
			ok = size > 1
		}
		if !ok {
			return line
		}
		if r == '\n' {
			line++
		}
	}
	return 1
}

// placeExpansion turns ${VAR} problems into Problems keyed by the setting
// found at their position.
func placeExpansion(loc *locator, eps []expansionProblem) Problems {
	var ps Problems
	for _, ep := range eps {
		ps = append(ps, Problem{File: loc.file, Line: ep.line, Key: loc.keyAt(ep.line, ep.col), Msg: ep.msg})
	}
	return ps
}

// setting is one key of the configuration with its default. Scalar keys
// (and lists of strings) can be overridden from the environment; the others
// (trunks, routes, flows) come from the file only.
type setting struct {
	key      string
	def      any
	typ      reflect.Type
	fileOnly bool
}

// settingKeys lists the top-level and scalar keys of Config, with their
// defaults, from its mapstructure tags. RTP.BindIP defaults to "" here: it
// is derived from sip.listen after loading.
func settingKeys() []setting {
	def := Default()
	def.RTP.BindIP = ""
	var out []setting
	collectSettings(reflect.ValueOf(def).Elem(), "", &out)
	return out
}

func collectSettings(v reflect.Value, prefix string, out *[]setting) {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if name == "" || name == "-" {
			continue
		}
		key, ft := joinKey(prefix, name), f.Type
		switch {
		case ft == durationType:
		case ft.Kind() == reflect.Struct:
			collectSettings(v.Field(i), key, out)
			continue
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() != reflect.String,
			ft.Kind() == reflect.Map, ft.Kind() == reflect.Pointer:
			*out = append(*out, setting{key: key, typ: ft, fileOnly: true})
			continue
		}
		*out = append(*out, setting{key: key, def: v.Field(i).Interface(), typ: ft})
	}
}

// envName returns the environment variable that overrides key.
func envName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// envOverrides maps the keys whose environment variable is set (and not
// empty) to that variable.
func envOverrides(keys []setting) map[string]string {
	env := map[string]string{}
	for _, k := range keys {
		if name := envName(k.key); !k.fileOnly && os.Getenv(name) != "" {
			env[k.key] = name
		}
	}
	return env
}

// checkEnv reports environment values that cannot be decoded into their
// setting.
func checkEnv(keys []setting, env map[string]string) Problems {
	var ps Problems
	for _, k := range keys {
		name, ok := env[k.key]
		if !ok {
			continue
		}
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: os.Getenv(name)}
		msg := scalarProblem(k.typ.Kind(), n)
		if k.typ == durationType {
			msg = durationProblem(n)
		}
		if msg != "" {
			ps = append(ps, Problem{File: "env " + name, Key: k.key, Msg: msg})
		}
	}
	return ps
}

// decode unmarshals doc through viper with defaults and environment
// overrides; file-only keys and the keys of badEnv keep their file or
// default value. Flows are
// decoded apart, because viper folds the case of map keys and splits them
// at dots.
func decode(doc *yaml.Node, keys []setting, badEnv Problems) (*Config, error) {
	settings, flows, err := splitFlows(doc)
	if err != nil {
		return nil, err
	}
	v := viper.New()
	if err := v.MergeConfigMap(settings); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	keep := map[string]any{}
	for _, k := range keys {
		if k.fileOnly {
			keep[k.key] = v.Get(k.key)
			continue
		}
		v.SetDefault(k.key, k.def)
	}
	for _, p := range badEnv {
		keep[p.Key] = v.Get(p.Key)
	}
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	for key, value := range keep {
		if value != nil { // a nil override would let the environment through
			v.Set(key, value)
		}
	}
	var c Config
	if err := v.Unmarshal(&c, viper.DecodeHook(decodeHook())); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if c.Flows, err = decodeFlows(flows); err != nil {
		return nil, fmt.Errorf("decode flows: %w", err)
	}
	return &c, nil
}

// splitFlows decodes doc (aliases and merge keys resolved) and takes the
// flows out of the result.
func splitFlows(doc *yaml.Node) (settings map[string]any, flows any, err error) {
	settings = map[string]any{}
	if doc == nil {
		return settings, nil, nil
	}
	if err := doc.Decode(&settings); err != nil {
		return nil, nil, fmt.Errorf("read: %w", err)
	}
	flows = settings["flows"]
	delete(settings, "flows")
	return settings, flows, nil
}

// decodeFlows decodes the flows mapping the way viper decodes the rest.
func decodeFlows(raw any) (map[string][]Action, error) {
	if raw == nil {
		return nil, nil
	}
	var flows map[string][]Action
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:       decodeHook(),
		WeaklyTypedInput: true,
		Result:           &flows,
	})
	if err != nil {
		return nil, err
	}
	if err := dec.Decode(raw); err != nil {
		return nil, err
	}
	return flows, nil
}

// decodeHook turns "30s" into a time.Duration, "a, b" (from the
// environment) into a list and a flow name into a ResponseCode.
func decodeHook() mapstructure.DecodeHookFunc {
	return mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.DecodeHookFuncType(stringToList),
		mapstructure.DecodeHookFuncType(stringToResponseCode),
	)
}

func stringToList(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice {
		return data, nil
	}
	var out []string
	for item := range strings.SplitSeq(data.(string), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out, nil
}

// applyAbsentDefaults sets sip.per_source_cps (0 turns the limit off) and
// the per-trunk defaults whose zero value means something (0 turns the
// OPTIONS ping off, false drops the '+'), and that
// therefore apply only when the key is absent from the file.
func applyAbsentDefaults(c *Config, loc *locator) {
	if _, env := loc.env["sip.per_source_cps"]; !env && !loc.has("sip.per_source_cps") {
		c.SIP.PerSourceCPS = DefaultPerSourceCPS
	}
	for i := range c.Trunks {
		o := c.Trunks[i].Outbound
		if o == nil {
			continue
		}
		key := fmt.Sprintf("trunks[%d].outbound", i)
		if !loc.has(key + ".options_ping") {
			o.OptionsPing = DefaultOptionsPing
		}
		if !loc.has(key + ".number_format.plus") {
			o.NumberFormat.Plus = true
		}
	}
}

// sortProblems orders problems by line; those without a line (environment
// overrides) come last, in the order found.
func sortProblems(ps Problems) {
	rank := func(p Problem) int {
		if p.Line > 0 {
			return p.Line
		}
		return math.MaxInt
	}
	slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Compare(rank(a), rank(b)) })
}
