package config

import (
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// SecretMask replaces every set auth.password in Print's output.
const SecretMask = "*****"

// Print writes c to w as YAML in the configuration file's shape, every key
// included, with each auth.password that is set shown as SecretMask. For a
// Config from Load this is the effective configuration (defaults applied),
// and it loads back to the same settings apart from the passwords.
func Print(w io.Writer, c *Config) error {
	doc := encodeValue(reflect.ValueOf(maskSecrets(c)).Elem())
	if c.File != "" {
		doc.HeadComment = fmt.Sprintf("Effective configuration of %s (defaults applied, secrets hidden).", c.File)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("config: print: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("config: print: %w", err)
	}
	return nil
}

// maskSecrets returns a copy of c with its passwords masked; c is not
// changed.
func maskSecrets(c *Config) *Config {
	out := *c
	out.Trunks = make([]Trunk, len(c.Trunks))
	for i, t := range c.Trunks {
		if t.Inbound != nil {
			in := *t.Inbound
			in.Auth = maskAuth(in.Auth)
			t.Inbound = &in
		}
		if t.Outbound != nil {
			o := *t.Outbound
			o.Auth = maskAuth(o.Auth)
			t.Outbound = &o
		}
		out.Trunks[i] = t
	}
	out.Agents = slices.Clone(c.Agents)
	for i := range out.Agents {
		out.Agents[i].Token = mask(out.Agents[i].Token)
	}
	out.API.Keys = slices.Clone(c.API.Keys)
	for i := range out.API.Keys {
		out.API.Keys[i].Key = mask(out.API.Keys[i].Key)
	}
	return &out
}

func maskAuth(a *Auth) *Auth {
	if a == nil {
		return nil
	}
	m := *a
	if m.Password != "" {
		m.Password = SecretMask
	}
	return &m
}

// encodeValue builds the YAML node of v following the yaml tags; durations
// are written as "30s", nil sections are left out, lists of strings are
// written on one line.
func encodeValue(v reflect.Value) *yaml.Node {
	switch {
	case v.Type() == durationType:
		return scalar("!!str", formatDuration(time.Duration(v.Int())))
	case v.Type() == responseCodeType:
		return encodeResponseCode(v.Interface().(ResponseCode))
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			return scalar("!!null", "null")
		}
		return encodeValue(v.Elem())
	case v.Kind() == reflect.Struct:
		return encodeStruct(v)
	case v.Kind() == reflect.Slice:
		return encodeSlice(v)
	case v.Kind() == reflect.Map:
		return encodeMap(v)
	case v.Kind() == reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool()))
	case v.Kind() == reflect.Int:
		return scalar("!!int", strconv.FormatInt(v.Int(), 10))
	case v.Kind() == reflect.Float64:
		return scalar("", strconv.FormatFloat(v.Float(), 'g', -1, 64))
	default:
		return scalar("!!str", v.String())
	}
}

var actionType = reflect.TypeFor[Action]()

func encodeStruct(v reflect.Value) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := range v.NumField() {
		name := yamlName(v.Type().Field(i))
		fv := v.Field(i)
		// Nil pointers (and, in an action, a nil set) are absent choices.
		absent := fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Map && v.Type() == actionType
		if name == "" || absent && fv.IsNil() {
			continue
		}
		n.Content = append(n.Content, scalar("!!str", name), encodeValue(fv))
	}
	return n
}

func encodeSlice(v reflect.Value) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	if v.Type().Elem().Kind() == reflect.String || v.Len() == 0 {
		n.Style = yaml.FlowStyle
	}
	for i := range v.Len() {
		n.Content = append(n.Content, encodeValue(v.Index(i)))
	}
	return n
}

func encodeMap(v reflect.Value) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if v.Len() == 0 {
		n.Style = yaml.FlowStyle
	}
	keys := v.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
	for _, k := range keys {
		n.Content = append(n.Content, scalar("!!str", k.String()), encodeValue(v.MapIndex(k)))
	}
	return n
}

func scalar(tag, value string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
	if tag == "!!str" && slices.Contains([]string{"y", "yes", "n", "no", "on", "off"}, strings.ToLower(value)) {
		n.Style = yaml.DoubleQuotedStyle // YAML 1.1 readers take these for booleans
	}
	return n
}

// formatDuration writes d the way people write it: "1h", "5m", "1m30s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// mask hides a secret that is set.
func mask(s string) string {
	if s == "" {
		return ""
	}
	return SecretMask
}
