package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeConfig writes text to a file in a fresh temporary directory.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mustLoad loads path and fails the test on any error.
func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// loadProblems loads path, expects Problems and returns them as strings
// with the file name replaced by "FILE".
func loadProblems(t *testing.T, path string) []string {
	t.Helper()
	c, err := Load(path)
	if err == nil {
		t.Fatalf("Load succeeded, want problems; config: %+v", c)
	}
	if c != nil {
		t.Errorf("Load returned a config along with the error")
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load error %v (%T) is not Problems", err, err)
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strings.ReplaceAll(p.String(), path, "FILE")
	}
	return out
}

// checkStrings compares two lists line by line with a readable failure.
func checkStrings(t *testing.T, got, want []string) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	t.Errorf("got %d problems:\n\t%s\nwant %d:\n\t%s", len(got), strings.Join(got, "\n\t"), len(want), strings.Join(want, "\n\t"))
}

// unsetEnv unsets name for the duration of the test.
func unsetEnv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "") // restores the old value at the end of the test
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	path := writeConfig(t, `node:
  name: fra1
sip:
  listen: ["udp://127.0.0.1:5060", "sctp://127.0.0.1:5060"]
  external_ip: not-an-ip
rtp:
  ports: "30000-20000"
http:
  listen: "127.0.0.1"
log:
  level: loud
trunks:
  - name: Carrier A
    inbound:
      numbers: ["+44x"]
    codecs: [pcmu, G729, PCMU]
    dtmf: inband
  - name: carrier-b
    outbound:
      uri: "http://carrier-b.example"
      auth: {username: u}
    srtp: maybe
    max_channels: -1
  - name: carrier-b
    inbound: {allow: [10.0.0.0/33]}
routes:
  - match: {trunk: carrier-b}
    flow: nowhere
flows:
  empty: []
  bad:
    - dial: {trunk: carrier-a}
    - hangup: {code: 200}
    - dial: {trunk: carrier-b}
      hangup: {code: 486}
shutdown_timeout: -1s
`)
	checkStrings(t, loadProblems(t, path), []string{
		`FILE:4: sip.listen[1]: "sctp://127.0.0.1:5060": unknown transport "sctp" (want udp, tcp or tls)`,
		`FILE:5: sip.external_ip: "not-an-ip" is not an IP address`,
		`FILE:7: rtp.ports: "30000-20000": MIN must be below MAX`,
		`FILE:9: http.listen: "127.0.0.1" is not host:port`,
		`FILE:11: log.level: must be debug, info, warn or error, not "loud"`,
		`FILE:13: trunks[0].name: invalid name "Carrier A": use lowercase letters, digits, '-' and '_'`,
		`FILE:14: trunks[0].inbound: needs allow or auth, or the trunk would take calls from anyone`,
		`FILE:15: trunks[0].inbound.numbers[0]: invalid number pattern "+44x": use digits, '+', '*' and '?'`,
		`FILE:16: trunks[0].codecs[1]: unknown codec "G729" (want PCMU, PCMA or opus)`,
		`FILE:16: trunks[0].codecs[2]: codec PCMU is listed twice`,
		`FILE:17: trunks[0].dtmf: must be rfc4733 or info, not "inband"`,
		`FILE:20: trunks[1].outbound.uri: "http://carrier-b.example" is not a sip: or sips: URI`,
		`FILE:21: trunks[1].outbound.auth.password: is required`,
		`FILE:22: trunks[1].srtp: must be off, optional or required, not "maybe"`,
		`FILE:23: trunks[1].max_channels: must not be negative`,
		`FILE:24: trunks[2].name: duplicate trunk name "carrier-b" (first at trunks[1])`,
		`FILE:25: trunks[2].inbound.allow[0]: "10.0.0.0/33" is not an IP address or CIDR`,
		`FILE:27: routes[0].match.trunk: trunk "carrier-b" has no inbound section`,
		`FILE:28: routes[0].flow: unknown flow "nowhere"`,
		`FILE:30: flows.empty: has no actions`,
		`FILE:32: flows.bad[0].dial.trunk: unknown trunk "carrier-a"`,
		`FILE:33: flows.bad[1].hangup.code: must be a SIP status from 400 to 699, not 200`,
		`FILE:34: flows.bad[2]: must have only one of answer, early_media, play, say, working_hours, goto, gather, queue, dial, set, hangup`,
		`FILE:36: shutdown_timeout: must not be negative`,
	})
}

// TestLoadDialTrunksProblems: problems with a dial action's trunk list name
// the line of the item (or of the key) at fault.
func TestLoadDialTrunksProblems(t *testing.T) {
	path := writeConfig(t, `trunks:
  - name: carrier-a
    outbound: {uri: "sip:carrier-a.example"}
  - name: pbx
    inbound: {allow: [10.0.0.0/8]}
routes:
  - {match: {to: "*"}, flow: out}
flows:
  out:
    - dial:
        trunks:
          - carrier-a
          - carrier-b
          - pbx
  both:
    - dial: {trunk: carrier-a, trunks: [carrier-a]}
`)
	checkStrings(t, loadProblems(t, path), []string{
		`FILE:13: flows.out[0].dial.trunks[1]: unknown trunk "carrier-b"`,
		`FILE:14: flows.out[0].dial.trunks[2]: trunk "pbx" has no outbound section`,
		`FILE:16: flows.both[0].dial.trunks: give trunk or trunks, not both`,
	})
}

func TestLoadUnknownKeysAndTypes(t *testing.T) {
	path := writeConfig(t, `sip:
  listn: [udp://127.0.0.1:5060]
  max_cps: lots
  ring_timeout: 30
htp:
  listen: 127.0.0.1:8080
trunks:
  - name: a
    max_chanels: 3
    name: b
    inbound: {allow: 10.0.0.1}
    outbound: {uri: "sip:a.example", register: maybe}
flows:
  f:
    - transfer: {to: support}
`)
	checkStrings(t, loadProblems(t, path), []string{
		`FILE:2: sip.listn: unknown key (did you mean "listen"?)`,
		`FILE:3: sip.max_cps: must be a number, not "lots"`,
		`FILE:4: sip.ring_timeout: needs a unit, such as "30s"`,
		`FILE:5: htp: unknown key (did you mean "http"?)`,
		`FILE:9: trunks[0].max_chanels: unknown key (did you mean "max_channels"?)`,
		`FILE:10: trunks[0].name: duplicate key (first at line 8)`,
		`FILE:11: trunks[0].inbound.allow: must be a list, not a single value`,
		`FILE:11: trunks[0].inbound: needs allow or auth, or the trunk would take calls from anyone`,
		`FILE:12: trunks[0].outbound.register: must be true or false, not "maybe"`,
		`FILE:15: flows.f[0].transfer: unknown key (known keys: answer, dial, early_media, gather, goto, hangup, play, queue, say, set, working_hours)`,
		`FILE:15: flows.f[0]: needs one of answer, early_media, play, say, working_hours, goto, gather, queue, dial, set, hangup`,
	})
}

func TestLoadSyntaxError(t *testing.T) {
	path := writeConfig(t, "sip:\n  max_cps: 1\n   bad: 2\n")
	checkStrings(t, loadProblems(t, path), []string{
		"FILE:3: invalid YAML: mapping values are not allowed in this context",
	})
	path = writeConfig(t, "- just\n- a list\n")
	checkStrings(t, loadProblems(t, path), []string{
		"FILE:1: the configuration must be a mapping of keys to values",
	})
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file = %v, want fs.ErrNotExist", err)
	}
	var ps Problems
	if errors.As(err, &ps) {
		t.Errorf("a missing file is not a configuration problem: %v", ps)
	}
}

const expandConfig = `# ${SB_TEST_IN_COMMENT} is not expanded in a comment line
node:
  name: ${SB_TEST_NODE}
  region: ${SB_TEST_REGION:-eu-central}
sip:
  user_agent: "SB $${literal} ${SB_TEST_EMPTY:-x}"
trunks:
  - name: a
    inbound: {allow: [10.0.0.1], auth: {username: "${SB_TEST_USER}", password: "${SB_TEST_PASSWORD}"}}
`

func TestLoadExpandsVariables(t *testing.T) {
	t.Setenv("SB_TEST_NODE", "fra1")
	t.Setenv("SB_TEST_EMPTY", "")
	t.Setenv("SB_TEST_USER", "alice")
	t.Setenv("SB_TEST_PASSWORD", "s3cret: #1")
	unsetEnv(t, "SB_TEST_REGION")
	unsetEnv(t, "SB_TEST_IN_COMMENT")
	c := mustLoad(t, writeConfig(t, expandConfig))
	auth := c.Trunks[0].Inbound.Auth
	got := []string{c.Node.Name, c.Node.Region, c.SIP.UserAgent, auth.Username, auth.Password, auth.Realm}
	want := []string{"fra1", "eu-central", "SB ${literal} x", "alice", "s3cret: #1", "fra1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("expanded values = %q, want %q", got, want)
	}
}

func TestLoadUndefinedVariable(t *testing.T) {
	t.Setenv("SB_TEST_NODE", "fra1")
	t.Setenv("SB_TEST_USER", "alice")
	unsetEnv(t, "SB_TEST_PASSWORD")
	unsetEnv(t, "SB_TEST_IN_COMMENT")
	checkStrings(t, loadProblems(t, writeConfig(t, expandConfig)), []string{
		"FILE:9: trunks[0].inbound.auth.password: environment variable SB_TEST_PASSWORD is not set (write ${SB_TEST_PASSWORD:-default} to give a default)",
		"FILE:9: trunks[0].inbound.auth.password: is required",
	})
}

func TestLoadBadVariableSyntax(t *testing.T) {
	t.Setenv("SB_TEST_MULTILINE", "a\nb")
	path := writeConfig(t, "node:\n  name: \"${1BAD}\"\n  region: \"${UNTERMINATED\"\nsip:\n  user_agent: \"é ${SB_TEST_MULTILINE}\"\n")
	checkStrings(t, loadProblems(t, path), []string{
		"FILE:2: node.name: invalid variable name in ${1BAD}",
		"FILE:3: node.region: unterminated ${ (write $${ for a literal ${)",
		"FILE:5: sip.user_agent: environment variable SB_TEST_MULTILINE holds a line break, which cannot be inserted into a line",
	})
}

func TestLoadEnvOverrides(t *testing.T) {
	t.Setenv("SWITCHBOARD_SIP_MAX_CPS", "50")
	t.Setenv("SWITCHBOARD_HTTP_LISTEN", "0.0.0.0:9090")
	t.Setenv("SWITCHBOARD_SIP_LISTEN", "udp://10.0.0.1:5060, tcp://10.0.0.1:5060")
	t.Setenv("SWITCHBOARD_SIP_RING_TIMEOUT", "45s")
	t.Setenv("SWITCHBOARD_LOG_FORMAT", "TEXT")
	t.Setenv("SWITCHBOARD_NODE_REGION", "") // empty: ignored
	c := mustLoad(t, writeConfig(t, "node: {region: eu}\nsip:\n  max_cps: 10\n  listen: [udp://127.0.0.1:5060]\n"))
	if c.SIP.MaxCPS != 50 {
		t.Errorf("sip.max_cps = %v, want 50 from the environment", c.SIP.MaxCPS)
	}
	if c.HTTP.Listen != "0.0.0.0:9090" {
		t.Errorf("http.listen = %q, want 0.0.0.0:9090", c.HTTP.Listen)
	}
	if want := []string{"udp://10.0.0.1:5060", "tcp://10.0.0.1:5060"}; !reflect.DeepEqual(c.SIP.Listen, want) {
		t.Errorf("sip.listen = %q, want %q", c.SIP.Listen, want)
	}
	if c.RTP.BindIP != "10.0.0.1" {
		t.Errorf("rtp.bind_ip = %q, want the host of the first listener, 10.0.0.1", c.RTP.BindIP)
	}
	if c.SIP.RingTimeout != 45*time.Second {
		t.Errorf("sip.ring_timeout = %v, want 45s", c.SIP.RingTimeout)
	}
	if c.Log.Format != "text" {
		t.Errorf("log.format = %q, want text", c.Log.Format)
	}
	if c.Node.Region != "eu" {
		t.Errorf("node.region = %q, want eu (an empty variable does not override)", c.Node.Region)
	}
}

func TestLoadEnvProblems(t *testing.T) {
	t.Setenv("SWITCHBOARD_SIP_MAX_CPS", "lots")
	t.Setenv("SWITCHBOARD_SIP_LISTEN", "udp://127.0.0.1:5060,sctp://127.0.0.1:5061")
	t.Setenv("SWITCHBOARD_SHUTDOWN_TIMEOUT", "soon")
	path := writeConfig(t, "sip:\n  max_cps: 10\nlog:\n  level: loud\n")
	checkStrings(t, loadProblems(t, path), []string{
		`FILE:4: log.level: must be debug, info, warn or error, not "loud"`,
		`env SWITCHBOARD_SIP_MAX_CPS: sip.max_cps: must be a number, not "lots"`,
		`env SWITCHBOARD_SHUTDOWN_TIMEOUT: shutdown_timeout: must be a duration such as "30s", not "soon"`,
		`env SWITCHBOARD_SIP_LISTEN: sip.listen[1]: "sctp://127.0.0.1:5061": unknown transport "sctp" (want udp, tcp or tls)`,
	})
}

// wantDefaults is the configuration every default produces, with no trunks.
func wantDefaults(t *testing.T) Config {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no host name:", err)
	}
	five := DefaultOpusComplexity
	return Config{
		Node: Node{Name: host},
		SIP: SIP{
			Listen:      []string{"udp://127.0.0.1:5060"},
			UserAgent:   "Switchboard",
			RingTimeout: 60 * time.Second,
			NonceTTL:    5 * time.Minute,
			RetryAfter:  5,

			TLSHandshakeTimeout:    10 * time.Second,
			TCPFirstRequestTimeout: 10 * time.Second,
			TCPIdleTimeout:         5 * time.Minute,
			MaxConnsPerIP:          100,
			UnknownSources:         "reject",
			PerSourceCPS:           200,
			PerSourceBan:           10 * time.Second,
		},
		RTP: RTP{Ports: "20000-29999", BindIP: "127.0.0.1", PortMin: 20000, PortMax: 29999, MediaTimeout: 30 * time.Second, RTCPInterval: 5 * time.Second},
		HTTP: HTTP{Listen: "127.0.0.1:8080", ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: time.Minute, IdleTimeout: time.Minute, MaxConns: 2048, MaxConnsPerIP: 512},
		Storage:         Storage{Database: "sqlite://data/switchboard.db", Recordings: "file://data/recordings"},
		Log:             Log{Level: "info", Format: "json"},
		ShutdownTimeout: 30 * time.Second,
		Prompts:         Prompts{CacheDir: "data/prompts"},
		ACD:             ACD{HeartbeatTimeout: 30 * time.Second},
		Gateway:         Gateway{Opus: Opus{Complexity: &five}},
		Transfers:       Transfers{Timeout: 30 * time.Second},
	}
}

func TestDefault(t *testing.T) {
	want := wantDefaults(t)
	if got := Default(); !reflect.DeepEqual(*got, want) {
		t.Errorf("Default() =\n%+v\nwant\n%+v", *got, want)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v, want nil", err)
	}
}

func TestLoadAppliesDefaults(t *testing.T) {
	path := writeConfig(t, `trunks:
  - name: a
    inbound: {allow: [192.0.2.1]}
    outbound: {uri: "sip:a.example"}
`)
	want := wantDefaults(t)
	want.File = path
	want.Trunks = []Trunk{{
		Name:    "a",
		Inbound: &Inbound{Allow: []string{"192.0.2.1"}},
		Outbound: &Outbound{
			URI:             "sip:a.example",
			RegisterExpires: 3600 * time.Second,
			OptionsPing:     30 * time.Second,
			NumberFormat:    NumberFormat{Plus: true},
		},
		Codecs:        []string{"PCMU", "PCMA"},
		DTMF:          "rfc4733",
		SRTP:          "off",
		Opus:          Opus{Complexity: ptr(5)},
		SessionTimers: SessionTimers{Enabled: ptr(true), Expires: 1800, MinSE: 90},
		Refer:         "reject",
	}}
	if got := mustLoad(t, path); !reflect.DeepEqual(*got, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", *got, want)
	}
}

func TestLoadEmptyFile(t *testing.T) {
	want := wantDefaults(t)
	path := writeConfig(t, "# nothing configured\n")
	want.File = path
	if got := mustLoad(t, path); !reflect.DeepEqual(*got, want) {
		t.Errorf("Load =\n%+v\nwant\n%+v", *got, want)
	}
}

func TestLoadAbsentVersusZero(t *testing.T) {
	path := writeConfig(t, `trunks:
  - name: absent
    outbound: {uri: "sip:a.example"}
  - name: zero
    outbound: {uri: "sip:a.example", options_ping: 0, number_format: {plus: false}}
  - name: zero-s
    outbound: {uri: "sip:a.example", options_ping: 0s, number_format: {tech_prefix: "99#"}}
  - name: set
    outbound: {uri: "sip:a.example", options_ping: 15s, number_format: {plus: true}}
  - name: "null"
    outbound: {uri: "sip:a.example", options_ping: ~}
`)
	c := mustLoad(t, path)
	wantPing := []time.Duration{30 * time.Second, 0, 0, 15 * time.Second, 30 * time.Second}
	wantPlus := []bool{true, false, true, true, true}
	for i, tr := range c.Trunks {
		if tr.Outbound.OptionsPing != wantPing[i] {
			t.Errorf("trunk %s: options_ping = %v, want %v", tr.Name, tr.Outbound.OptionsPing, wantPing[i])
		}
		if tr.Outbound.NumberFormat.Plus != wantPlus[i] {
			t.Errorf("trunk %s: number_format.plus = %v, want %v", tr.Name, tr.Outbound.NumberFormat.Plus, wantPlus[i])
		}
	}
	if len(c.Trunks) != len(wantPing) {
		t.Fatalf("loaded %d trunks, want %d", len(c.Trunks), len(wantPing))
	}
}

func TestLoadMergeKeys(t *testing.T) {
	c := mustLoad(t, writeConfig(t, `trunks:
  - &base
    name: a
    inbound: {allow: [192.0.2.1]}
    codecs: [PCMA]
  - <<: *base
    name: b
`))
	b := c.Trunks[1]
	if b.Name != "b" || !reflect.DeepEqual(b.Codecs, []string{"PCMA"}) || !reflect.DeepEqual(b.Inbound.Allow, []string{"192.0.2.1"}) {
		t.Errorf("merged trunk = %+v (inbound %+v), want name b, codecs [PCMA], allow [192.0.2.1]", b, b.Inbound)
	}
	// An anchor must sit under a known key: unknown keys are problems.
	path := writeConfig(t, "carrier: &carrier\n  codecs: [PCMA]\ntrunks:\n  - <<: *carrier\n    name: a\n    inbound: {allow: [192.0.2.1]}\n")
	checkStrings(t, loadProblems(t, path), []string{
		"FILE:1: carrier: unknown key (known keys: acd, agents, api, callbacks, contacts, flows, gateway, hold, http, log, node, prompts, queues, routes, rtp, schedules, shutdown_timeout, sip, storage, transfers, trunks, voice_numbers, waiting_strategies)",
	})
}

func TestLoadFlowNamesKeepTheirCase(t *testing.T) {
	path := writeConfig(t, `trunks:
  - {name: a, outbound: {uri: "sip:a.example"}}
routes:
  - {flow: Out.Bound}
flows:
  Out.Bound:
    - dial: {trunk: a}
`)
	checkStrings(t, loadProblems(t, path), []string{
		`FILE:6: flows.Out.Bound: invalid name "Out.Bound": use lowercase letters, digits, '-' and '_'`,
	})
}

func TestLoadKeepsNumbersAsWritten(t *testing.T) {
	c := mustLoad(t, writeConfig(t, `node: {name: 007}
trunks:
  - name: a
    inbound: {allow: [192.0.2.1], numbers: [+442071234567, 0044207]}
    outbound: {uri: "sip:a.example", caller_id: +442071234567, number_format: {tech_prefix: 0099, strip: [+44, 0]}}
routes:
  - {match: {to: +442071234567, from: 0044}, flow: f}
flows:
  f: [{hangup: {code: 486}}]
`))
	tr := c.Trunks[0]
	got := []string{c.Node.Name, tr.Inbound.Numbers[0], tr.Inbound.Numbers[1], tr.Outbound.CallerID,
		tr.Outbound.NumberFormat.TechPrefix, tr.Outbound.NumberFormat.Strip[0], tr.Outbound.NumberFormat.Strip[1],
		c.Routes[0].Match.To, c.Routes[0].Match.From}
	want := []string{"007", "+442071234567", "0044207", "+442071234567", "0099", "+44", "0", "+442071234567", "0044"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("numbers = %q, want %q", got, want)
	}
	if c.Flows["f"][0].Hangup.Code != 486 {
		t.Errorf("hangup code = %d, want 486", c.Flows["f"][0].Hangup.Code)
	}
}

func TestLoadTLSListener(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, []byte("cert"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := "sip:\n  listen: [tls://127.0.0.1:5061]\n  tls: {cert: " + cert + ", key: " + key + "}\n"
	checkStrings(t, loadProblems(t, writeConfig(t, config)), []string{
		`FILE:3: sip.tls.key: file "` + key + `" does not exist`,
	})
	if err := os.WriteFile(key, []byte("key"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustLoad(t, writeConfig(t, config))
	checkStrings(t, loadProblems(t, writeConfig(t, "sip:\n  listen: [tls://127.0.0.1:5061, tls://127.0.0.1:5062]\n")), []string{
		"FILE:1: sip.tls.cert: is required by the tls listener sip.listen[0]",
		"FILE:1: sip.tls.key: is required by the tls listener sip.listen[0]",
	})
}

func TestLoadListsComeFromTheFileOnly(t *testing.T) {
	t.Setenv("SWITCHBOARD_TRUNKS", "x,y")
	t.Setenv("SWITCHBOARD_ROUTES", "z")
	t.Setenv("SWITCHBOARD_FLOWS", "w")
	c := mustLoad(t, writeConfig(t, `trunks:
  - {name: a, outbound: {uri: "sip:a.example"}}
routes:
  - {flow: out}
flows:
  out: [{dial: {trunk: a}}]
`))
	if len(c.Trunks) != 1 || c.Trunks[0].Name != "a" || len(c.Routes) != 1 || len(c.Flows["out"]) != 1 {
		t.Errorf("environment changed trunks, routes or flows: %+v %+v %+v", c.Trunks, c.Routes, c.Flows)
	}
}

func ptr[T any](v T) *T { return &v }

// TestLoadWarnsOfQueuesOutsideTheFile: a flow naming a queue and a waiting
// strategy the file does not declare loads (they may be created through the
// API) with a warning at each line; with a mistake beside them, the
// warnings come with the problems, in line order.
func TestLoadWarnsOfQueuesOutsideTheFile(t *testing.T) {
	text := `trunks:
  - {name: a, inbound: {allow: [192.0.2.1]}}
routes:
  - {flow: sales}
flows:
  sales:
    - queue: {name: sales, waiting_strategy: quiet}
`
	path := writeConfig(t, text)
	c := mustLoad(t, path)
	var got []string
	for _, w := range c.Warnings {
		got = append(got, strings.ReplaceAll(w.String(), path, "FILE"))
	}
	checkStrings(t, got, []string{
		`FILE:7: warning: flows.sales[0].queue.name: queue "sales" is not under queues: it must be created through the API (POST /api/v1/queues) before a call reaches it, or the call fails with 480`,
		`FILE:7: warning: flows.sales[0].queue.waiting_strategy: waiting strategy "quiet" is not under waiting_strategies: it must be created through the API (POST /api/v1/waiting-strategies), or the caller waits in silence`,
	})

	path = writeConfig(t, text+"    - hangup: {code: 200}\n")
	checkStrings(t, loadProblems(t, path), []string{
		`FILE:7: warning: flows.sales[0].queue.name: queue "sales" is not under queues: it must be created through the API (POST /api/v1/queues) before a call reaches it, or the call fails with 480`,
		`FILE:7: warning: flows.sales[0].queue.waiting_strategy: waiting strategy "quiet" is not under waiting_strategies: it must be created through the API (POST /api/v1/waiting-strategies), or the caller waits in silence`,
		`FILE:8: flows.sales[1].hangup.code: must be a SIP status from 400 to 699, not 200`,
	})
}

func TestLoadSessionTimers(t *testing.T) {
	path := writeConfig(t, `trunks:
  - name: carrier-a
    outbound: {uri: "sip:carrier-a.example"}
  - name: carrier-b
    outbound: {uri: "sip:carrier-b.example"}
    session_timers: {enabled: false, expires: 600, min_se: 5}
`)
	c := mustLoad(t, path)
	if st := c.Trunks[0].SessionTimers; !st.On() || st.Expires != 1800 || st.MinSE != 90 {
		t.Errorf("defaults: on=%v expires=%d min_se=%d, want on, 1800, 90", st.On(), st.Expires, st.MinSE)
	}
	if st := c.Trunks[1].SessionTimers; st.On() || st.Expires != 600 || st.MinSE != 5 {
		t.Errorf("set: on=%v expires=%d min_se=%d, want off, 600, 5", st.On(), st.Expires, st.MinSE)
	}

	path = writeConfig(t, `trunks:
  - name: carrier-a
    outbound: {uri: "sip:carrier-a.example"}
    session_timers:
      expires: 60
      min_se: 120
  - name: carrier-b
    outbound: {uri: "sip:carrier-b.example"}
    session_timers:
      min_se: -3
  - name: carrier-c
    outbound: {uri: "sip:carrier-c.example"}
    session_timers: {expires: 90000}
`)
	checkStrings(t, loadProblems(t, path), []string{
		`FILE:5: trunks[0].session_timers.expires: must be between min_se (120) and 86400 seconds, not 60`,
		`FILE:10: trunks[1].session_timers.min_se: must be between 1 and 86400 seconds, not -3`,
		`FILE:13: trunks[2].session_timers.expires: must be between min_se (90) and 86400 seconds, not 90000`,
	})
}

func TestLoadInboundNAT(t *testing.T) {
	c := mustLoad(t, writeConfig(t, `trunks:
  - name: phones
    inbound: {allow: [10.0.0.0/8], nat: true}
  - name: carrier
    inbound: {allow: [192.0.2.1]}
`))
	if !c.Trunks[0].Inbound.NAT || c.Trunks[1].Inbound.NAT {
		t.Errorf("inbound.nat = %v, %v; want true, false (the default)", c.Trunks[0].Inbound.NAT, c.Trunks[1].Inbound.NAT)
	}
	path := writeConfig(t, `trunks:
  - name: phones
    inbound: {allow: [10.0.0.0/8], nat: sometimes}
`)
	checkStrings(t, loadProblems(t, path), []string{
		`FILE:3: trunks[0].inbound.nat: must be true or false, not "sometimes"`,
	})
}

// TestPerSourceCPSDefault: sip.per_source_cps defaults to 200 when absent,
// and 0 (no limit) is kept when written in the file or the environment.
func TestPerSourceCPSDefault(t *testing.T) {
	if got := mustLoad(t, writeConfig(t, "sip:\n  max_cps: 10\n")).SIP.PerSourceCPS; got != DefaultPerSourceCPS {
		t.Errorf("absent: per_source_cps = %v, want %v", got, DefaultPerSourceCPS)
	}
	if got := mustLoad(t, writeConfig(t, "sip:\n  per_source_cps: 0\n")).SIP.PerSourceCPS; got != 0 {
		t.Errorf("written 0: per_source_cps = %v, want 0", got)
	}
	t.Setenv("SWITCHBOARD_SIP_PER_SOURCE_CPS", "0")
	if got := mustLoad(t, writeConfig(t, "sip:\n  max_cps: 10\n")).SIP.PerSourceCPS; got != 0 {
		t.Errorf("0 from the environment: per_source_cps = %v, want 0", got)
	}
}
