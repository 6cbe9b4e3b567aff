package config

import (
	"github.com/switchboard-voice/switchboard/config/schedule"

	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// validConfig returns a small configuration, built in code, that passes
// Validate.
func validConfig() *Config {
	c := Default()
	c.Node.Name = "test"
	c.Trunks = []Trunk{
		{
			Name:    "carrier-a",
			Inbound: &Inbound{Allow: []string{"198.51.100.0/24", "2001:db8::1"}, Numbers: []string{"+4420*", "?123"}},
			Outbound: &Outbound{
				URI:          "sip:sip.carrier-a.example:5060;transport=udp",
				Auth:         &Auth{Username: "u", Password: "p"},
				CallerID:     "+442071234567",
				NumberFormat: NumberFormat{Plus: true, TechPrefix: "99#", Strip: []string{"+44", "0"}},
				OptionsPing:  30 * time.Second,
			},
			Codecs: []string{"pcma", "PCMU", "Opus"},
			DTMF:   "INFO",
			SRTP:   "optional",
		},
		{Name: "pbx_2", Inbound: &Inbound{Auth: &Auth{Username: "pbx", Password: "x"}}},
	}
	c.ApplyDefaults()
	c.Routes = []Route{
		{Name: "support", Match: RouteMatch{Trunk: "carrier-a", To: "+442071234567"}, Flow: "support"},
		{Match: RouteMatch{From: "+44*", To: "*"}, Flow: "to-carrier"},
	}
	c.Flows = map[string][]Action{
		"support":    {{Hangup: &HangupAction{Code: 480, Reason: "Closed"}}},
		"to-carrier": {{Dial: &DialAction{Trunk: "carrier-a", Number: "+441234", Timeout: 20 * time.Second}}},
	}
	return c
}

func TestValidateAcceptsValidConfig(t *testing.T) {
	c := validConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
	if got := c.Trunks[0].Codecs; fmt.Sprint(got) != "[PCMA PCMU opus]" {
		t.Errorf("ApplyDefaults normalised codecs to %q, want [PCMA PCMU opus]", got)
	}
	if c.Trunks[0].DTMF != "info" {
		t.Errorf("ApplyDefaults normalised dtmf to %q, want info", c.Trunks[0].DTMF)
	}
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string
	}{
		{"node name", func(c *Config) { c.Node.Name = "" }, []string{"node.name: is required"}},
		{"no listener", func(c *Config) { c.SIP.Listen = nil }, []string{"sip.listen: needs at least one listener"}},
		{"listen path", func(c *Config) { c.SIP.Listen = []string{"udp://127.0.0.1:5060/x"} },
			[]string{`sip.listen[0]: "udp://127.0.0.1:5060/x" must be transport://host:port with nothing more`}},
		{"listen no port", func(c *Config) { c.SIP.Listen = []string{"udp://127.0.0.1"} },
			[]string{`sip.listen[0]: "udp://127.0.0.1": "127.0.0.1" is not host:port`}},
		{"listen no host", func(c *Config) { c.SIP.Listen = []string{"tcp://:5060"} },
			[]string{`sip.listen[0]: "tcp://:5060": ":5060" has an invalid host`}},
		{"listen not a URL", func(c *Config) { c.SIP.Listen = []string{"127.0.0.1:5060"} },
			[]string{`sip.listen[0]: "127.0.0.1:5060" is not a listen URL such as udp://127.0.0.1:5060`}},
		{"listen twice", func(c *Config) { c.SIP.Listen = []string{"udp://[::1]:5060", "udp://[::1]:5060"} },
			[]string{`sip.listen[1]: "udp://[::1]:5060" is already listed at sip.listen[0]`}},
		{"tls without files", func(c *Config) { c.SIP.Listen = append(c.SIP.Listen, "tls://127.0.0.1:5061") }, []string{
			"sip.tls.cert: is required by the tls listener sip.listen[1]",
			"sip.tls.key: is required by the tls listener sip.listen[1]",
		}},
		{"tls directory", func(c *Config) {
			c.SIP.Listen = []string{"tls://127.0.0.1:5061"}
			c.SIP.TLS = TLS{Cert: ".", Key: "."}
		}, []string{`sip.tls.cert: "." is a directory, not a file`, `sip.tls.key: "." is a directory, not a file`}},
		{"sip numbers", func(c *Config) {
			c.SIP.MaxCPS, c.SIP.RetryAfter, c.SIP.RingTimeout, c.SIP.NonceTTL, c.SIP.UserAgent = -1, -1, 0, -time.Second, ""
		}, []string{
			"sip.max_cps: must not be negative",
			"sip.user_agent: is required",
			"sip.ring_timeout: must be positive",
			"sip.nonce_ttl: must be positive",
			"sip.retry_after: must not be negative",
		}},
		{"sip tcp doors", func(c *Config) {
			c.SIP.TLSHandshakeTimeout, c.SIP.TCPFirstRequestTimeout, c.SIP.TCPIdleTimeout = -time.Second, -time.Second, -time.Minute
			c.SIP.MaxConns, c.SIP.MaxConnsPerIP = -1, -1
		}, []string{
			"sip.tls_handshake_timeout: must be positive",
			"sip.tcp_first_request_timeout: must be positive",
			"sip.tcp_idle_timeout: must be positive",
			"sip.max_conns: must not be negative (0 derives it from the file descriptor limit)",
			"sip.max_conns_per_ip: must be positive",
		}},
		{"sip per-ip cap above total", func(c *Config) { c.SIP.MaxConns, c.SIP.MaxConnsPerIP = 10, 20 },
			[]string{"sip.max_conns_per_ip: 20 is above sip.max_conns (10)"}},
		{"rtp ports out of range", func(c *Config) { c.RTP.Ports = "1000-2000" }, []string{`rtp.ports: "1000-2000" must lie within 1024-65535`}},
		{"rtp ports too few", func(c *Config) { c.RTP.Ports = "20000-20002" }, []string{`rtp.ports: "20000-20002" holds 3 ports, at least 4 are needed`}},
		{"rtp ports not a range", func(c *Config) { c.RTP.Ports = "20000" }, []string{`rtp.ports: "20000" is not a port range MIN-MAX`}},
		{"rtp addresses", func(c *Config) { c.RTP.ExternalIP, c.RTP.BindIP = "example.com", "bad host!" }, []string{
			`rtp.external_ip: "example.com" is not an IP address`,
			`rtp.bind_ip: "bad host!" is not an IP address or host name`,
		}},
		{"route regex", func(c *Config) { c.Routes[0].Match.To = "/^+44(/" }, []string{
			"routes[0].match.to: invalid regular expression /^+44(/: error parsing regexp: missing closing ): `^+44(`",
		}},
		{"flow references", func(c *Config) {
			c.Flows["support"] = []Action{
				{Goto: &GotoAction{Flow: "nowhere"}},
				{WorkingHours: &WorkingHoursAction{Schedule: "office", Open: "nope"}},
				{Play: &PlayAction{Duration: -time.Second}},
				{Say: &SayAction{Text: " ", Rate: 20}},
				{Answer: &AnswerAction{Ring: -time.Second}},
			}
		}, []string{
			`flows.support[0].goto.flow: unknown flow "nowhere"`,
			`flows.support[1].working_hours.schedule: unknown schedule "office"`,
			`flows.support[1].working_hours.open: unknown flow "nope"`,
			"flows.support[1].working_hours.closed: is required",
			"flows.support[2].play.file: is required",
			"flows.support[2].play.duration: must not be negative",
			"flows.support[3].say.text: is required",
			"flows.support[3].say.rate: must be 0 (160) or between 80 and 450 words per minute, not 20",
			"flows.support[4].answer.ring: must not be negative",
		}},
		{"gather", func(c *Config) {
			c.Flows["support"] = []Action{{Gather: &GatherAction{MaxDigits: 40, Terminator: "##", Timeout: -1,
				Branches: map[string]ResponseCode{"1": {Flow: "support"}, "x": {Flow: "to-carrier"}, "2": {Flow: "nowhere"}}, NoInput: "gone"}}}
		}, []string{
			"flows.support[0].gather.max_digits: must be 0 (1) to 32, not 40",
			`flows.support[0].gather.terminator: must be one key (0-9, *, #, A-D), not "##"`,
			"flows.support[0].gather.timeout: must not be negative",
			`flows.support[0].gather.branches.2: unknown flow "nowhere"`,
			`flows.support[0].gather.branches.x: "x" is not a key sequence (0-9, *, #, A-D)`,
			`flows.support[0].gather.no_input: unknown flow "gone"`,
		}},
		{"waiting strategy", func(c *Config) {
			c.WaitingStrategies = map[string]WaitingStrategy{"default": {
				Announcement:   Announcement{File: "a.wav", ResponseCodes: map[string]ResponseCode{"12": {Flow: "support"}, "3": {Flow: "gone"}}, WaitForResponse: -1},
				MaxWaitMessage: "m.wav",
			}}
			c.Flows["support"] = []Action{{Queue: &QueueAction{WaitingStrategy: "other"}}}
		}, []string{
			"flows.support[0].queue.name: is required",
			"waiting_strategies.default.announcement.every: is required with an announcement file (e.g. 30s)",
			"waiting_strategies.default.announcement.wait_for_response: must not be negative",
			`waiting_strategies.default.announcement.response_codes.12: "12" is not one key (0-9, *, #, A-D)`,
			`waiting_strategies.default.announcement.response_codes.3: unknown flow "gone"`,
			"waiting_strategies.default.max_wait: is required with max_wait_message or max_wait_flow",
			`warning: flows.support[0].queue.waiting_strategy: waiting strategy "other" is not under waiting_strategies: it must be created through the API (POST /api/v1/waiting-strategies), or the caller waits in silence`,
		}},
		{"flow that never ends", func(c *Config) {
			c.Schedules = []schedule.Schedule{{Name: "office", Weekly: map[string][]string{"mon-fri": {"09:00-17:00"}}}}
			c.Flows["support"] = []Action{{Answer: &AnswerAction{}}, {Goto: &GotoAction{Flow: "menu"}}}
			c.Flows["menu"] = []Action{{WorkingHours: &WorkingHoursAction{Schedule: "office", Closed: "support"}}}
		}, []string{
			"flows.menu: never ends: menu → support → menu",
			"flows.support: never ends: support → menu → support",
		}},
		{"schedules", func(c *Config) {
			c.Schedules = []schedule.Schedule{
				{Name: "office", TimeZone: "Mars/Olympus", Weekly: map[string][]string{"mon": {"9-17"}}},
				{Name: "office"},
			}
		}, []string{
			`schedules[0].time_zone: unknown time zone "Mars/Olympus"`,
			`schedules[0].weekly.mon[0]: bad range "9-17": want HH:MM-HH:MM (00:00 to 24:00) or 24h`,
			`schedules[1].name: schedule "office" is defined twice`,
		}},
		{"rtp media timers", func(c *Config) { c.RTP.MediaTimeout, c.RTP.RTCPInterval = 500*time.Millisecond, 2*time.Minute }, []string{
			"rtp.media_timeout: must be at least 1s",
			"rtp.rtcp_interval: must be between 100ms and 1m",
		}},
		{"opus settings", func(c *Config) {
			eleven := 11
			c.Trunks[0].Opus = Opus{Complexity: &eleven, Bitrate: 1000}
		}, []string{
			"trunks[0].opus.complexity: must be between 0 and 10, not 11",
			"trunks[0].opus.bitrate: must be 0 (automatic) or between 6000 and 510000, not 1000",
		}},
		{"http port", func(c *Config) { c.HTTP.Listen = ":http" }, []string{`http.listen: ":http" has an invalid port`}},
		{"storage", func(c *Config) { c.Storage.Database, c.Storage.Recordings = "data/db", "" }, []string{
			`storage.database: "data/db" is not a URL such as sqlite://data/switchboard.db`,
			`storage.recordings: "" is not a URL such as file://data/recordings`,
		}},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, []string{`log.format: must be json or text, not "xml"`}},
		{"shutdown", func(c *Config) { c.ShutdownTimeout = -time.Second }, []string{"shutdown_timeout: must not be negative"}},
		{"http timeouts", func(c *Config) { c.HTTP.ReadTimeout, c.HTTP.IdleTimeout = -time.Second, -time.Second },
			[]string{"http.read_timeout: must not be negative (0 means the default)", "http.idle_timeout: must not be negative (0 means the default)"}},
		{"http header timeout", func(c *Config) { c.HTTP.ReadHeaderTimeout, c.HTTP.ReadTimeout = 10*time.Second, time.Second },
			[]string{"http.read_header_timeout: is 10s, longer than http.read_timeout (1s), which bounds the headers too"}},
		{"http caps", func(c *Config) { c.HTTP.MaxConns, c.HTTP.MaxConnsPerIP = 10, 20 },
			[]string{"http.max_conns_per_ip: is 20, more than http.max_conns (10)"}},
		{"http caps negative", func(c *Config) { c.HTTP.MaxConns, c.HTTP.MaxConnsPerIP = -1, -1 },
			[]string{"http.max_conns: must not be negative (0 = no cap)", "http.max_conns_per_ip: must not be negative (0 = no cap)"}},
		{"trunk without sections", func(c *Config) { c.Trunks[1].Inbound = nil }, []string{"trunks[1]: needs an inbound or an outbound section"}},
		{"trunk without name", func(c *Config) { c.Trunks[1].Name = "" }, []string{"trunks[1].name: is required"}},
		{"auth without username", func(c *Config) { c.Trunks[1].Inbound.Auth.Username = "" }, []string{"trunks[1].inbound.auth.username: is required"}},
		{"sips with udp", func(c *Config) { c.Trunks[0].Outbound.URI = "sips:carrier.example;transport=UDP" },
			[]string{`trunks[0].outbound.uri: "sips:carrier.example;transport=UDP": a sips: URI cannot use transport=udp`}},
		{"uri transport", func(c *Config) { c.Trunks[0].Outbound.URI = "sip:carrier.example;transport=ws" },
			[]string{`trunks[0].outbound.uri: "sip:carrier.example;transport=ws": unknown transport "ws" (want udp, tcp or tls)`}},
		{"uri without host", func(c *Config) { c.Trunks[0].Outbound.URI = "sip:user@:5060" },
			[]string{`trunks[0].outbound.uri: "sip:user@:5060": host is missing`}},
		{"uri port", func(c *Config) { c.Trunks[0].Outbound.URI = "sip:carrier.example:99999" },
			[]string{`trunks[0].outbound.uri: "sip:carrier.example:99999": invalid port "99999"`}},
		{"uri missing", func(c *Config) { c.Trunks[0].Outbound.URI = "" }, []string{"trunks[0].outbound.uri: is required"}},
		{"uri ipv6 and user", func(c *Config) { c.Trunks[0].Outbound.URI = "SIP:+4420@[2001:db8::5]:5080;transport=tcp;lr" }, nil},
		{"outbound numbers", func(c *Config) {
			o := c.Trunks[0].Outbound
			o.CallerID, o.NumberFormat.TechPrefix, o.NumberFormat.Strip = "44 20", "9a", []string{"", "+4+"}
		}, []string{
			`trunks[0].outbound.caller_id: "44 20" is not a number (digits with an optional leading '+')`,
			`trunks[0].outbound.number_format.tech_prefix: "9a" may hold only digits, '*' and '#'`,
			`trunks[0].outbound.number_format.strip[0]: "" is not a number prefix (digits with an optional leading '+')`,
			`trunks[0].outbound.number_format.strip[1]: "+4+" is not a number prefix (digits with an optional leading '+')`,
		}},
		{"outbound durations", func(c *Config) {
			c.Trunks[0].Outbound.RegisterExpires, c.Trunks[0].Outbound.OptionsPing = -1, -1
		}, []string{
			"trunks[0].outbound.register_expires: must not be negative",
			"trunks[0].outbound.options_ping: must not be negative",
		}},
		{"no codecs", func(c *Config) { c.Trunks[0].Codecs = nil }, []string{"trunks[0].codecs: needs at least one codec"}},
		{"duplicate codec in another case", func(c *Config) { c.Trunks[0].Codecs = []string{"opus", "OPUS"} },
			[]string{"trunks[0].codecs[1]: codec opus is listed twice"}},
		{"trunk max_cps", func(c *Config) { c.Trunks[0].MaxCPS = -0.5 }, []string{"trunks[0].max_cps: must not be negative"}},
		{"empty number pattern", func(c *Config) { c.Trunks[0].Inbound.Numbers = []string{""} },
			[]string{"trunks[0].inbound.numbers[0]: empty number pattern"}},
		{"route without flow", func(c *Config) { c.Routes[0].Flow = "" }, []string{"routes[0].flow: is required"}},
		{"route unknown trunk", func(c *Config) { c.Routes[0].Match.Trunk = "nope" }, []string{`routes[0].match.trunk: unknown trunk "nope"`}},
		{"route patterns", func(c *Config) { c.Routes[1].Match.From, c.Routes[1].Match.To = "anonymous", "1-2" }, []string{
			`routes[1].match.from: invalid number pattern "anonymous": use digits, '+', '*' and '?'`,
			`routes[1].match.to: invalid number pattern "1-2": use digits, '+', '*' and '?'`,
		}},
		{"empty action", func(c *Config) { c.Flows["support"] = []Action{{}} }, []string{"flows.support[0]: needs one of answer, early_media, play, say, working_hours, goto, gather, queue, dial, set, hangup"}},
		{"set variables", func(c *Config) {
			c.Flows["support"] = []Action{
				{Set: map[string]string{"priority": "high", "caller": "x", "Tier": "1", "tier": "gold {{custmer}}"}},
				{Set: map[string]string{}},
				{Say: &SayAction{Text: "Hello {{tier}}, you called {{called}} from {{caller"}},
				{Hangup: &HangupAction{Code: 480, Reason: "{{nope}}"}},
			}
		}, []string{
			`flows.support[0].set.Tier: invalid variable name "Tier": use lowercase letters, digits and '_', starting with a letter`,
			`flows.support[0].set.caller: "caller" is set by the switch and cannot be set`,
			`flows.support[0].set.priority: must be an integer from -1000 to 1000, not "high"`,
			`flows.support[0].set.tier: unknown variable {{custmer}}: use one of call_id, called, caller, caller_name, digits, trunk, or give it a value with a set action`,
			`flows.support[1].set: needs at least one variable, e.g. set: {priority: "5"}`,
			`flows.support[2].say.text: unterminated {{ in "Hello {{tier}}, you called {{called}} from {{caller"`,
			`flows.support[3].hangup.reason: unknown variable {{nope}}: use one of call_id, called, caller, caller_name, digits, trunk, or give it a value with a set action`,
		}},
		{"contact center", func(c *Config) {
			c.Queues = []Queue{
				{Name: "sales", Strategy: "fastest", RingTimeout: 2 * time.Second, WrapUp: -1, WaitingStrategy: "none"},
				{Name: "sales", Strategy: "random", RingTimeout: 61 * time.Second},
			}
			c.Agents = []Agent{
				{ID: "a1", Token: "agent-one-token", Queues: []string{"sales", "default", "billing"}, Capacity: 1},
				{ID: "a1", Token: "short", Capacity: 0},
				{ID: "a2", Token: "agent-one-token", Capacity: 1},
			}
			c.API.Keys = []APIKey{{Name: "ops", Key: "agent-one-token"}}
			c.Gateway.IPs, c.Gateway.Ports = []string{"host.example"}, "5-6"
			c.Flows["support"] = []Action{{Queue: &QueueAction{Name: "billing"}}}
		}, []string{
			`queues[0].strategy: unknown strategy "fastest": use one of longest_idle, round_robin, fewest_calls, least_talk_time, random`,
			`queues[0].ring_timeout: must be from 3s to 1m0s, not 2s`,
			`queues[0].wrap_up: must not be negative`,
			`queues[1].name: queue "sales" is declared twice`,
			`queues[1].ring_timeout: must be from 3s to 1m0s, not 1m1s`,
			`agents[0].queues[2]: unknown queue "billing": declare it under queues (an agent of the configuration takes calls from the configuration's queues and default)`,
			`agents[1].id: agent "a1" is declared twice`,
			`agents[1].token: is too short: use at least 8 characters`,
			`agents[1].capacity: must be from 1 to 100, not 0`,
			`agents[2].token: is already the token of agent "a1"`,
			`api.keys[0].key: is also the token of agent "a1"`,
			`gateway.ips[0]: "host.example" is not an IP address`,
			`gateway.ports: "5-6" must lie within 1024-65535`,
			`warning: flows.support[0].queue.name: queue "billing" is not under queues: it must be created through the API (POST /api/v1/queues) before a call reaches it, or the call fails with 480`,
			`warning: queues[0].waiting_strategy: waiting strategy "none" is not under waiting_strategies: it must be created through the API (POST /api/v1/waiting-strategies), or the queue's callers wait in silence`,
		}},
		{"names", func(c *Config) {
			long := strings.Repeat("x", MaxNameLength+1)
			c.Queues = []Queue{{Name: long, Strategy: "random", RingTimeout: 10 * time.Second, WaitingStrategy: "Quiet"}}
			c.Agents = []Agent{{ID: "Ann Lee", Token: "agent-ann-token", Capacity: 101, Queues: []string{"Sales"}}}
			c.Flows["support"] = []Action{{Queue: &QueueAction{Name: "Sales", WaitingStrategy: "a/b"}}}
		}, []string{
			`flows.support[0].queue.name: invalid name "Sales": use lowercase letters, digits, '-' and '_'`,
			`flows.support[0].queue.waiting_strategy: invalid name "a/b": use lowercase letters, digits, '-' and '_'`,
			`queues[0].name: invalid name "` + strings.Repeat("x", MaxNameLength+1) + `": use at most 64 characters`,
			`queues[0].waiting_strategy: invalid name "Quiet": use lowercase letters, digits, '-' and '_'`,
			`agents[0].id: invalid name "Ann Lee": use lowercase letters, digits, '-' and '_'`,
			`agents[0].queues[0]: invalid name "Sales": use lowercase letters, digits, '-' and '_'`,
			`agents[0].capacity: must be from 1 to 100, not 101`,
		}},
		{"route schedule", func(c *Config) { c.Routes[0].Match.Schedule = "office-hours" },
			[]string{`routes[0].match.schedule: unknown schedule "office-hours"`}},
		{"dial without trunk", func(c *Config) { c.Flows["to-carrier"][0].Dial.Trunk = "" }, []string{"flows.to-carrier[0].dial.trunk: is required"}},
		{"dial inbound-only trunk", func(c *Config) { c.Flows["to-carrier"][0].Dial.Trunk = "pbx_2" },
			[]string{`flows.to-carrier[0].dial.trunk: trunk "pbx_2" has no outbound section`}},
		{"dial number and timeout", func(c *Config) {
			d := c.Flows["to-carrier"][0].Dial
			d.Number, d.Timeout = "+44*", -time.Second
		}, []string{
			`flows.to-carrier[0].dial.number: "+44*" is not a number (digits with an optional leading '+')`,
			"flows.to-carrier[0].dial.timeout: must not be negative",
		}},
		{"dial trunk and trunks", func(c *Config) { c.Flows["to-carrier"][0].Dial.Trunks = []string{"carrier-a"} },
			[]string{"flows.to-carrier[0].dial.trunks: give trunk or trunks, not both"}},
		{"dial trunks", func(c *Config) {
			d := c.Flows["to-carrier"][0].Dial
			d.Trunk, d.Trunks = "", []string{"carrier-a", "nope", "pbx_2", "carrier-a", ""}
		}, []string{
			`flows.to-carrier[0].dial.trunks[1]: unknown trunk "nope"`,
			`flows.to-carrier[0].dial.trunks[2]: trunk "pbx_2" has no outbound section`,
			`flows.to-carrier[0].dial.trunks[3]: trunk "carrier-a" is listed twice (first at flows.to-carrier[0].dial.trunks[0])`,
			"flows.to-carrier[0].dial.trunks[4]: is required",
		}},
		{"dial empty trunks", func(c *Config) {
			d := c.Flows["to-carrier"][0].Dial
			d.Trunk, d.Trunks = "", []string{}
		}, []string{"flows.to-carrier[0].dial.trunk: is required"}},
		{"hangup code", func(c *Config) { c.Flows["support"][0].Hangup.Code = 700 },
			[]string{"flows.support[0].hangup.code: must be a SIP status from 400 to 699, not 700"}},
		{"flow name", func(c *Config) {
			c.Flows["Support Desk"] = c.Flows["support"]
			c.Routes[0].Flow = "Support Desk"
		}, []string{`flows.Support Desk: invalid name "Support Desk": use lowercase letters, digits, '-' and '_'`}},
		{"nil flows", func(c *Config) { c.Flows = nil }, []string{`routes[0].flow: unknown flow "support"`, `routes[1].flow: unknown flow "to-carrier"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(c)
			err := c.Validate()
			var got []string
			if err != nil {
				var ps Problems
				if !errors.As(err, &ps) {
					t.Fatalf("Validate error %v (%T) is not Problems", err, err)
				}
				for _, p := range ps {
					got = append(got, p.String())
				}
			}
			for _, w := range c.Warnings {
				got = append(got, w.String())
			}
			checkStrings(t, got, tt.want)
		})
	}
}

func TestValidateNamesTheFile(t *testing.T) {
	c := validConfig()
	c.File = "sb.yaml"
	c.Log.Level = "trace"
	if got, want := fmt.Sprint(c.Validate()), `sb.yaml: log.level: must be debug, info, warn or error, not "trace"`; got != want {
		t.Errorf("Validate() = %q, want %q", got, want)
	}
}

func TestValidateAuthChallenge(t *testing.T) {
	c := Default()
	c.Trunks = []Trunk{
		{Name: "in", Inbound: &Inbound{Auth: &Auth{Username: "u", Password: "p", Challenge: 402}}},
		{Name: "out", Outbound: &Outbound{URI: "sip:127.0.0.1:5080", Auth: &Auth{Username: "u", Password: "p", Challenge: 407}}},
		{Name: "ok", Inbound: &Inbound{Auth: &Auth{Username: "u", Password: "p", Challenge: 407}}},
	}
	c.ApplyDefaults()
	err := c.Validate()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %v", err)
	}
	got := map[string]string{}
	for _, p := range ps {
		got[p.Key] = p.Msg
	}
	if got["trunks[0].inbound.auth.challenge"] != "must be 401 or 407, not 402" {
		t.Errorf("inbound challenge 402: %q", got["trunks[0].inbound.auth.challenge"])
	}
	if got["trunks[1].outbound.auth.challenge"] != "applies to inbound auth only" {
		t.Errorf("outbound challenge: %q", got["trunks[1].outbound.auth.challenge"])
	}
	if _, bad := got["trunks[2].inbound.auth.challenge"]; bad {
		t.Error("407 refused")
	}
}
