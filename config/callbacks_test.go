package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestCallbackDefaults(t *testing.T) {
	c := mustLoad(t, writeConfig(t, `trunks:
  - {name: pstn, outbound: {uri: "sip:a.example"}}
voice_numbers: [{number: "+15550100", trunk: pstn}, {number: "+15550101"}]
queues: [{name: support}]
callbacks:
  auto: {type: Automated, queue: support, confirmation: {say: "We will call you back"}}
  hand: {type: manual, queue: support, retries: 0, retry_delay: 1m, caller_id: "+15550101"}
`))
	auto, hand := c.Callbacks["auto"], c.Callbacks["hand"]
	if auto.Type != CallbackAutomated || auto.Priority != CallbackInboundFirst {
		t.Errorf("auto: type %q priority %q, want automated, inbound_first", auto.Type, auto.Priority)
	}
	if auto.Retries == nil || *auto.Retries != DefaultCallbackRetries || auto.RetryDelay != DefaultCallbackRetryDelay {
		t.Errorf("auto: retries %v retry_delay %v, want the defaults", auto.Retries, auto.RetryDelay)
	}
	if hand.Retries == nil || *hand.Retries != 0 || hand.RetryDelay != time.Minute || hand.Priority != "" {
		t.Errorf("hand: retries %v retry_delay %v priority %q, want 0, 1m, none", hand.Retries, hand.RetryDelay, hand.Priority)
	}
	if len(c.VoiceNumbers) != 2 || c.VoiceNumbers[0].Trunk != "pstn" || c.VoiceNumbers[1].Trunk != "" {
		t.Errorf("voice_numbers = %+v", c.VoiceNumbers)
	}
}

func TestCallbackProblems(t *testing.T) {
	path := writeConfig(t, `trunks:
  - {name: in, inbound: {allow: [192.0.2.1]}}
  - {name: out, outbound: {uri: "sip:a.example"}}
schedules: [{name: office, weekly: {mon-fri: ["09:00-17:00"]}}]
voice_numbers:
  - {number: "+15550100", trunk: in}
  - {number: "15550101", trunk: nope}
  - {number: "+15550100", trunk: out}
queues: [{name: support}]
callbacks:
  a: {queue: support, retries: 11, retry_delay: 5s}
  b: {type: sometimes, queue: Support, priority: first}
  c: {type: manual, queue: support, priority: queue_position, confirmation: {file: a.wav, say: hi}}
  d: {type: automated, queue: elsewhere, caller_id: "+15550199", schedule: night, retry_delay: 25h}
  e: {type: automated, queue: support, caller_id: "0044", confirmation: {say: "  "}}
`)
	checkStrings(t, loadProblems(t, path), []string{
		`FILE:6: voice_numbers[0].trunk: trunk "in" has no outbound section: calls cannot leave through it`,
		`FILE:7: voice_numbers[1].number: invalid number "15550101": an E.164 number starts with '+' (e.g. +15550142)`,
		`FILE:7: voice_numbers[1].trunk: unknown trunk "nope"`,
		`FILE:8: voice_numbers[2].number: number +15550100 is listed twice`,
		`FILE:11: callbacks.a.type: is required: use one of automated, manual`,
		`FILE:11: callbacks.a.retries: must be from 0 to 10, not 11`,
		`FILE:11: callbacks.a.retry_delay: must be from 10s to 24h0m0s, not 5s`,
		`FILE:12: callbacks.b.type: unknown type "sometimes": use one of automated, manual`,
		`FILE:12: callbacks.b.queue: invalid name "Support": use lowercase letters, digits, '-' and '_'`,
		`FILE:12: callbacks.b.priority: unknown priority "first": use one of inbound_first, queue_position`,
		`FILE:13: callbacks.c.priority: applies to automated callbacks only: remove it`,
		`FILE:13: callbacks.c.confirmation: has both file and say: use one`,
		`FILE:14: callbacks.d.retry_delay: must be from 10s to 24h0m0s, not 25h0m0s`,
		`FILE:14: callbacks.d.caller_id: +15550199 is not one of voice_numbers`,
		`FILE:14: callbacks.d.schedule: unknown schedule "night"`,
		`FILE:14: warning: callbacks.d.queue: queue "elsewhere" is not under queues: it must be created through the API (POST /api/v1/queues)`,
		`FILE:15: callbacks.e.confirmation.say: is blank`,
		`FILE:15: callbacks.e.caller_id: invalid number "0044": an E.164 number starts with '+' (e.g. +15550142)`,
		`FILE:15: warning: callbacks.e.queue: queue "support" has auto_assign off: its automated callbacks are never offered to agents`,
	})
}

func TestCallbackPrintLoadsBack(t *testing.T) {
	c := mustLoad(t, writeConfig(t, `trunks:
  - {name: pstn, outbound: {uri: "sip:a.example"}}
voice_numbers: [{number: "+15550100", trunk: pstn}]
queues: [{name: support}]
schedules: [{name: office, weekly: {mon-fri: ["09:00-17:00"]}}]
callbacks:
  auto: {type: automated, queue: support, retries: 3, retry_delay: 10s, priority: queue_position,
         confirmation: {file: tone.wav}, caller_id: "+15550100", schedule: office}
  hand: {type: manual, queue: support, retries: 0}
`))
	var buf bytes.Buffer
	if err := Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	printed := filepath.Join(t.TempDir(), "printed.yaml")
	if err := os.WriteFile(printed, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	again := mustLoad(t, printed)
	if !reflect.DeepEqual(again.Callbacks, c.Callbacks) || !reflect.DeepEqual(again.VoiceNumbers, c.VoiceNumbers) {
		t.Errorf("printed callbacks load back as\n%+v %+v\nwant\n%+v %+v\nprinted:\n%s",
			again.Callbacks, again.VoiceNumbers, c.Callbacks, c.VoiceNumbers, buf.String())
	}
	if *again.Callbacks["hand"].Retries != 0 {
		t.Error("retries: 0 did not survive the round trip")
	}
}
