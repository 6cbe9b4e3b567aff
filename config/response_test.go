package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// responseYAML declares response codes and gather branches in both forms.
const responseYAML = `trunks:
  - {name: a, outbound: {uri: "sip:a.example"}}
routes:
  - {flow: menu}
flows:
  menu:
    - gather:
        branches:
          "1": {callback: support-manual}
          "2": voicemail
          "3": {flow: voicemail}
  voicemail:
    - hangup: {code: 480}
waiting_strategies:
  default:
    announcement:
      file: a.wav
      every: 30s
      response_codes:
        "1": {callback: support-callback}
        "2": voicemail
`

// TestLoadResponseCodeForms: a flow's name alone, {flow: NAME} and
// {callback: NAME} decode in announcements and gather branches; a callback
// the file does not declare is a warning at its line (it may be created
// through the API), and Print writes each form back so that it loads the
// same.
func TestLoadResponseCodeForms(t *testing.T) {
	c := mustLoad(t, writeConfig(t, responseYAML))
	wantBranches := map[string]ResponseCode{"1": {Callback: "support-manual"}, "2": {Flow: "voicemail"}, "3": {Flow: "voicemail"}}
	if got := c.Flows["menu"][0].Gather.Branches; !reflect.DeepEqual(got, wantBranches) {
		t.Errorf("branches = %+v, want %+v", got, wantBranches)
	}
	wantCodes := map[string]ResponseCode{"1": {Callback: "support-callback"}, "2": {Flow: "voicemail"}}
	if got := c.WaitingStrategies["default"].Announcement.ResponseCodes; !reflect.DeepEqual(got, wantCodes) {
		t.Errorf("response codes = %+v, want %+v", got, wantCodes)
	}
	var warns []string
	for _, w := range c.Warnings {
		warns = append(warns, strings.ReplaceAll(w.String(), c.File, "FILE"))
	}
	checkStrings(t, warns, []string{
		`FILE:9: warning: flows.menu[0].gather.branches.1.callback: callback "support-manual" is not under callbacks: ` +
			`it must be created through the API (POST /api/v1/callback-configs) before a caller presses this key, or the caller keeps waiting`,
		`FILE:20: warning: waiting_strategies.default.announcement.response_codes.1.callback: callback "support-callback" is not under callbacks: ` +
			`it must be created through the API (POST /api/v1/callback-configs) before a caller presses this key, or the caller keeps waiting`,
	})

	var out bytes.Buffer
	if err := Print(&out, c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "{callback: support-callback}") {
		t.Errorf("printed config lacks the callback form:\n%s", out.String())
	}
	again := mustLoad(t, writeConfig(t, out.String()))
	if got := again.Flows["menu"][0].Gather.Branches; !reflect.DeepEqual(got, wantBranches) {
		t.Errorf("printed and loaded again: branches = %+v, want %+v", got, wantBranches)
	}
	if got := again.WaitingStrategies["default"].Announcement.ResponseCodes; !reflect.DeepEqual(got, wantCodes) {
		t.Errorf("printed and loaded again: response codes = %+v, want %+v", got, wantCodes)
	}
}

// TestLoadResponseCodeProblems: a misspelt key, a list, a bad callback
// name, both forms at once, an empty mapping and an unknown flow are each
// reported once, at their file, line and key.
func TestLoadResponseCodeProblems(t *testing.T) {
	path := writeConfig(t, `trunks:
  - {name: a, outbound: {uri: "sip:a.example"}}
routes:
  - {flow: menu}
flows:
  menu:
    - gather:
        branches:
          "1": {callbak: x}
          "2": [voicemail, x]
          "3": {callback: Support Team}
          "4": {flow: voicemail, callback: x}
  voicemail:
    - hangup: {code: 480}
waiting_strategies:
  default:
    announcement:
      file: a.wav
      every: 30s
      response_codes:
        "1": {callback: {name: x}}
        "2": {}
        "3": nowhere
`)
	checkStrings(t, loadProblems(t, path), []string{
		`FILE:9: flows.menu[0].gather.branches.1.callbak: unknown key (did you mean "callback"?)`,
		`FILE:10: flows.menu[0].gather.branches.2: must be a flow name or a mapping such as {callback: NAME}, not a list`,
		`FILE:11: flows.menu[0].gather.branches.3.callback: invalid name "Support Team": use lowercase letters, digits, '-' and '_'`,
		`FILE:12: flows.menu[0].gather.branches.4: must have only one of flow and callback`,
		`FILE:21: waiting_strategies.default.announcement.response_codes.1.callback: must be a single value, not a mapping`,
		`FILE:22: waiting_strategies.default.announcement.response_codes.2: must be a flow name or a mapping such as {callback: NAME}`,
		`FILE:23: waiting_strategies.default.announcement.response_codes.3: unknown flow "nowhere"`,
	})
}

// TestResponseCodeJSON: the API's form: a flow as its name, a callback as
// {"callback": NAME}; other shapes are refused with a message naming both.
func TestResponseCodeJSON(t *testing.T) {
	in := `{"1":{"callback":"support-callback"},"2":"voicemail"}`
	var codes map[string]ResponseCode
	if err := json.Unmarshal([]byte(in), &codes); err != nil {
		t.Fatal(err)
	}
	want := map[string]ResponseCode{"1": {Callback: "support-callback"}, "2": {Flow: "voicemail"}}
	if !reflect.DeepEqual(codes, want) {
		t.Errorf("decoded %+v, want %+v", codes, want)
	}
	out, err := json.Marshal(codes)
	if err != nil || string(out) != in {
		t.Errorf("encoded %s (%v), want %s", out, err, in)
	}
	for _, bad := range []string{`{"callbak":"x"}`, `["x"]`, `7`, `{"flow":"voicemail"}`} {
		var r ResponseCode
		err := json.Unmarshal([]byte(bad), &r)
		if err == nil || !strings.Contains(err.Error(), `a flow name or {"callback": NAME}`) {
			t.Errorf("%s: error %v, want one naming the two forms", bad, err)
		}
	}
}
