package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// ResponseCode is what a key leads to, in a waiting strategy's
// announcement.response_codes or a gather's branches: a flow, written as
// its name ("1": sales), or a callback request of a callback
// configuration ("1": {callback: support-callback}). Exactly one field is
// set; the mapping form may also say {flow: sales}.
type ResponseCode struct {
	// Flow is the flow the key leads to.
	Flow string `mapstructure:"flow" yaml:"flow"`
	// Callback names the callback configuration (callbacks:) of the
	// callback the key requests: the caller hears its confirmation and the
	// call ends normally.
	Callback string `mapstructure:"callback" yaml:"callback"`
}

// String describes the code for logs and plans: the flow's name, or
// "callback NAME".
func (r ResponseCode) String() string {
	if r.Callback != "" {
		return "callback " + r.Callback
	}
	return r.Flow
}

var responseCodeType = reflect.TypeFor[ResponseCode]()

// responseCodeForms says what a response code may be, for errors.
const responseCodeForms = "a flow name or a mapping such as {callback: NAME}"

// checkResponseCode checks a response code's node: a single value (a flow
// name) or a mapping of ResponseCode's keys.
func (s *schemaChecker) checkResponseCode(n *yaml.Node, path string) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		n.Tag = "!!str"
		return true
	case yaml.MappingNode:
		if len(n.Content) == 0 { // reported here: decoding would drop it
			s.add(n, path, "must be %s", responseCodeForms)
			return false
		}
		s.checkStruct(n, responseCodeType, path)
		// A mapping whose keys were all refused is already reported: the
		// code is dropped rather than reported again as empty.
		return len(n.Content) > 0
	}
	s.add(n, path, "must be %s, not a %s", responseCodeForms, kindName(n))
	return false
}

// stringToResponseCode decodes the short form "1": sales.
func stringToResponseCode(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to != responseCodeType {
		return data, nil
	}
	return ResponseCode{Flow: data.(string)}, nil
}

// encodeResponseCode writes the short form for a flow, the mapping for a
// callback.
func encodeResponseCode(r ResponseCode) *yaml.Node {
	if r.Callback == "" {
		return scalar("!!str", r.Flow)
	}
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
	n.Content = append(n.Content, scalar("!!str", "callback"), scalar("!!str", r.Callback))
	if r.Flow != "" {
		n.Content = append(n.Content, scalar("!!str", "flow"), scalar("!!str", r.Flow))
	}
	return n
}

// MarshalJSON writes a flow as its name ("sales") and a callback as
// {"callback": "NAME"}, as the API shows response codes.
func (r ResponseCode) MarshalJSON() ([]byte, error) {
	if r.Callback == "" {
		return json.Marshal(r.Flow)
	}
	return json.Marshal(struct {
		Callback string `json:"callback"`
	}{r.Callback})
}

// UnmarshalJSON reads "sales" (a flow) or {"callback": "NAME"}; other keys
// and other kinds of value are errors.
func (r *ResponseCode) UnmarshalJSON(b []byte) error {
	var flow string
	if err := json.Unmarshal(b, &flow); err == nil {
		*r = ResponseCode{Flow: flow}
		return nil
	}
	var m struct {
		Callback string `json:"callback"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("a response code must be a flow name or {\"callback\": NAME}: %w", err)
	}
	*r = ResponseCode{Callback: m.Callback}
	return nil
}

// checkResponseCode validates the code of key k: exactly one of a flow that
// exists and a callback configuration.
func (c *Config) checkResponseCode(v *collector, k string, r ResponseCode) {
	switch {
	case r.Flow == "" && r.Callback == "":
		v.add(k, "must be %s", responseCodeForms)
		return
	case r.Flow != "" && r.Callback != "":
		v.add(k, "must have only one of flow and callback")
		return
	case r.Flow != "":
		if _, ok := c.Flows[r.Flow]; !ok {
			v.add(k, "unknown flow %q", r.Flow)
		}
		return
	}
	k += ".callback"
	if msg := NameProblem(r.Callback); msg != "" {
		v.add(k, "%s", msg)
		return
	}
	declared := c.callbackNames()
	switch {
	case declared == nil:
		// Callback configurations may be created through the API:
		// validation cannot see the database, so it warns, as for queues.
		v.warn(k, "callback %q is not under callbacks: it must be created through the API "+
			"(POST /api/v1/callback-configs) before a caller presses this key, or the caller keeps waiting", r.Callback)
	case !declared[r.Callback]:
		v.add(k, "unknown callback %q (callbacks: declares %s)", r.Callback, strings.Join(slices.Sorted(maps.Keys(declared)), ", "))
	}
}

// callbackNames are the callback configurations the file declares under
// callbacks:, or nil when the file has no such section (callback requests
// then name configurations created through the API).
func (c *Config) callbackNames() map[string]bool {
	if c.Callbacks == nil {
		return nil
	}
	names := make(map[string]bool, len(c.Callbacks))
	for name := range c.Callbacks {
		names[name] = true
	}
	return names
}
