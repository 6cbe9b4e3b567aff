package config

import (
	"testing"
	"time"
)

func TestTransferDefaults(t *testing.T) {
	c := mustLoad(t, writeConfig(t, `trunks:
  - {name: a, outbound: {uri: "sip:a.example"}}
  - {name: b, outbound: {uri: "sip:b.example"}, refer: ALLOW}
queues:
  - {name: sales, hold: {announcement: {say: "Still there"}}}
  - {name: quiet, hold: {music: m.wav}}
hold: {announcement: {file: a.wav}}
transfers: {message: {say: "Please hold", every: 3s}}
`))
	if got := c.Transfers.Timeout; got != DefaultTransferTimeout {
		t.Errorf("transfers.timeout = %v, want %v", got, DefaultTransferTimeout)
	}
	if got := c.Transfers.Message.Every; got != 3*time.Second {
		t.Errorf("transfers.message.every = %v, want the 3s set", got)
	}
	if got := c.Hold.Announcement.Every; got != DefaultHoldAnnouncementEvery {
		t.Errorf("hold.announcement.every = %v, want %v", got, DefaultHoldAnnouncementEvery)
	}
	if got := c.Queues[0].Hold.Announcement.Every; got != DefaultHoldAnnouncementEvery {
		t.Errorf("queues[0].hold.announcement.every = %v, want %v", got, DefaultHoldAnnouncementEvery)
	}
	if got := c.Queues[1].Hold.Announcement.Every; got != 0 {
		t.Errorf("queues[1].hold.announcement.every = %v, want 0 (no announcement)", got)
	}
	if c.Trunks[0].Refer != ReferReject || c.Trunks[1].Refer != ReferAllow {
		t.Errorf("refer = %q, %q, want reject (default), allow", c.Trunks[0].Refer, c.Trunks[1].Refer)
	}
	if c.Transfers.Message.Set() != true || c.Hold.Announcement.Set() != true || (Message{}).Set() {
		t.Error("Message.Set is wrong")
	}
}

func TestTransferProblems(t *testing.T) {
	path := writeConfig(t, `trunks:
  - {name: in, inbound: {allow: [192.0.2.1]}, refer: maybe}
  - {name: out, outbound: {uri: "sip:a.example"}}
routes:
  - {match: {to: "+1555*"}, outbound: out, flow: f}
  - {match: {to: "+1555*", from: "+44*"}, outbound: in}
  - {match: {to: "/[/"}, outbound: nope}
  - {match: {trunk: in}, outbound: out}
  - {match: {to: "*"}, flow: f}
flows:
  f: [{hangup: {code: 480}}]
queues:
  - {name: sales, hold: {announcement: {file: a.wav, say: hi, every: 2h}}}
hold: {announcement: {every: 5s}}
transfers:
  message: {say: "  ", every: 500ms}
  timeout: 11m
contacts:
  - {name: Escalations, numbers: ["+15550142"], tags: [external_number]}
  - {name: "", numbers: ["15550143", "+1555", "+0155501430", "+15550142", "+1555014x"], tags: [External, "two words", ok_tag]}
  - {name: Nobody}
  - {name: Twice, numbers: ["+15550199", "+15550199"]}
  - {name: " Escalations", numbers: ["+15550198"]}
`)
	checkStrings(t, loadProblems(t, path), []string{
		`FILE:2: trunks[0].refer: must be reject or allow, not "maybe"`,
		`FILE:5: routes[0]: has both flow and outbound: use one (flow for calls that come in, outbound for the switch's own calls)`,
		`FILE:6: routes[1].outbound: trunk "in" has no outbound section`,
		`FILE:6: routes[1].match.from: an outbound route matches only on to`,
		`FILE:7: routes[2].outbound: unknown trunk "nope"`,
		"FILE:7: routes[2].match.to: invalid regular expression /[/: error parsing regexp: missing closing ]: `[`",
		`FILE:8: routes[3].match.trunk: an outbound route matches only on to`,
		`FILE:8: routes[3].match.to: is required on an outbound route ("*" for every number)`,
		`FILE:13: queues[0].hold.announcement: has both file and say: use one`,
		`FILE:13: queues[0].hold.announcement.every: must be from 1s to 1h0m0s, not 2h0m0s`,
		`FILE:14: hold.announcement.every: needs a file or say to repeat`,
		`FILE:16: transfers.message.say: is blank`,
		`FILE:16: transfers.message.every: must be from 1s to 1h0m0s, not 500ms`,
		`FILE:17: transfers.timeout: must be from 1s to 10m0s, not 11m0s`,
		`FILE:20: contacts[1].name: is required`,
		`FILE:20: contacts[1].numbers[0]: invalid number "15550143": an E.164 number starts with '+' (e.g. +15550142)`,
		`FILE:20: contacts[1].numbers[1]: invalid number "+1555": an E.164 number has 8 to 15 digits after '+'`,
		`FILE:20: contacts[1].numbers[2]: invalid number "+0155501430": a country code does not start with 0`,
		`FILE:20: contacts[1].numbers[4]: invalid number "+1555014x": use '+' and digits only`,
		`FILE:20: contacts[1].tags[0]: invalid tag "External": use a lowercase word (letters, digits and '_', starting with a letter)`,
		`FILE:20: contacts[1].tags[1]: invalid tag "two words": use a lowercase word (letters, digits and '_', starting with a letter)`,
		`FILE:20: contacts[1].numbers[3]: number +15550142 is already a number of contact "Escalations"`,
		`FILE:21: contacts[2].numbers: needs at least one number (E.164, e.g. +15550142)`,
		`FILE:22: contacts[3].numbers[1]: number +15550199 is listed twice`,
		`FILE:23: contacts[4].name: contact "Escalations" is declared twice (first at contacts[0])`,
	})
}

func TestE164Problem(t *testing.T) {
	for n, ok := range map[string]bool{
		"+15550142": true, "+442071234567": true, "+123456789012345": true, "+12345678": true,
		"+1234567": false, "+1234567890123456": false, "15550142": false, "+": false, "": false,
		"+0123456789": false, "+1555 0142": false, "+1555-0142": false, "++15550142": false,
	} {
		if got := E164Problem(n) == ""; got != ok {
			t.Errorf("E164Problem(%q) = %q, want ok=%v", n, E164Problem(n), ok)
		}
	}
}
