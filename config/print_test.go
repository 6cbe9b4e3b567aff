package config

import (
	"github.com/switchboard-voice/switchboard/config/schedule"

	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPrintDefaultsAndMasksSecrets(t *testing.T) {
	c := Default()
	c.Node.Name = "n1"
	c.Trunks = []Trunk{{
		Name:    "carrier-a",
		Inbound: &Inbound{Allow: []string{"198.51.100.0/24"}, Auth: &Auth{Username: "in", Password: "inbound-secret"}},
		Outbound: &Outbound{
			URI:          "sip:sip.carrier-a.example:5060;transport=udp",
			Auth:         &Auth{Username: "out", Password: "outbound-secret"},
			NumberFormat: NumberFormat{Plus: true},
			OptionsPing:  90 * time.Second,
		},
		MaxCPS: 2.5,
	}}
	c.ApplyDefaults()
	c.Flows = map[string][]Action{"to-carrier": {{Dial: &DialAction{Trunk: "carrier-a"}}}, "closed": {{Hangup: &HangupAction{Code: 480}}}}
	var buf bytes.Buffer
	if err := Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	want := `node:
  name: n1
  region: ""
sip:
  listen: ['udp://127.0.0.1:5060']
  external_ip: ""
  max_cps: 0
  tls:
    cert: ""
    key: ""
  user_agent: Switchboard
  ring_timeout: 1m
  nonce_ttl: 5m
  retry_after: 5
  tls_handshake_timeout: 10s
  tcp_first_request_timeout: 10s
  tcp_idle_timeout: 5m
  max_conns: 0
  max_conns_per_ip: 100
  unknown_sources: reject
  per_source_cps: 200
  per_source_ban: 10s
  max_transactions: 0
rtp:
  ports: 20000-29999
  external_ip: ""
  bind_ip: 127.0.0.1
  media_timeout: 30s
  rtcp_interval: 5s
http:
  listen: 127.0.0.1:8080
  pprof: false
  metrics_public: false
  read_header_timeout: 5s
  read_timeout: 30s
  write_timeout: 1m
  idle_timeout: 1m
  max_conns: 2048
  max_conns_per_ip: 512
storage:
  database: sqlite://data/switchboard.db
  recordings: file://data/recordings
log:
  level: info
  format: json
shutdown_timeout: 30s
trunks:
  - name: carrier-a
    inbound:
      allow: [198.51.100.0/24]
      numbers: []
      auth:
        username: in
        password: '*****'
        realm: n1
        challenge: 401
      nat: false
    outbound:
      uri: sip:sip.carrier-a.example:5060;transport=udp
      auth:
        username: out
        password: '*****'
        realm: ""
        challenge: 0
      register: false
      register_expires: 1h
      caller_id: ""
      number_format:
        plus: true
        tech_prefix: ""
        strip: []
      options_ping: 1m30s
    codecs: [PCMU, PCMA]
    dtmf: rfc4733
    srtp: "off"
    opus:
      complexity: 5
      bitrate: 0
    max_channels: 0
    max_cps: 2.5
    follow_redirects: false
    session_timers:
      enabled: true
      expires: 1800
      min_se: 90
    refer: reject
routes: []
flows:
  closed:
    - hangup:
        code: 480
        reason: ""
  to-carrier:
    - dial:
        trunk: carrier-a
        trunks: []
        number: ""
        timeout: 0s
schedules: []
waiting_strategies: {}
prompts:
  cache_dir: data/prompts
  dirs: []
  upload_dir: ""
queues: []
agents: []
acd:
  heartbeat_timeout: 30s
api:
  keys: []
gateway:
  ips: []
  ports: ""
  loopback_only: false
  opus:
    complexity: 5
    bitrate: 0
hold:
  music: ""
  announcement:
    file: ""
    say: ""
    every: 0s
transfers:
  music: ""
  message:
    file: ""
    say: ""
    every: 0s
  timeout: 30s
  allow_manual_numbers: false
contacts: []
voice_numbers: []
callbacks: {}
`
	if got := buf.String(); got != want {
		t.Errorf("Print wrote:\n%s\nwant:\n%s", got, want)
	}
	if c.Trunks[0].Inbound.Auth.Password != "inbound-secret" || c.Trunks[0].Outbound.Auth.Password != "outbound-secret" {
		t.Error("Print changed the passwords of the config it printed")
	}
}

func TestPrintLoadsBack(t *testing.T) {
	t.Setenv("SB_TEST_PASSWORD", "from-env-secret")
	path := writeConfig(t, `node: {name: fra1, region: eu}
sip:
  listen: ["udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"]
  max_cps: 12.5
trunks:
  - name: carrier-a
    inbound: {allow: [198.51.100.0/24], numbers: ["+4420*"], auth: {username: u, password: "${SB_TEST_PASSWORD}"}}
    outbound: {uri: "sip:sip.carrier-a.example", auth: {username: u, password: plain-secret}, register: true, options_ping: 0, number_format: {plus: false}}
    codecs: [opus, pcma]
    srtp: required
routes:
  - {match: {to: "*"}, flow: out}
flows:
  out:
    - dial: {trunk: carrier-a, timeout: 1m30s}
    - hangup: {code: 503, reason: "try later"}
`)
	c := mustLoad(t, path)
	var buf bytes.Buffer
	if err := Print(&buf, c); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{"from-env-secret", "plain-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("Print shows the secret %q:\n%s", secret, out)
		}
	}
	if n := strings.Count(out, "password: '*****'"); n != 2 {
		t.Errorf("Print masked %d passwords, want 2:\n%s", n, out)
	}
	if !strings.HasPrefix(out, "# Effective configuration of "+path+" (defaults applied, secrets hidden).\n") {
		t.Errorf("Print output does not start with the file comment:\n%s", out)
	}

	printed := filepath.Join(t.TempDir(), "printed.yaml")
	if err := os.WriteFile(printed, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	again := mustLoad(t, printed)
	want := *c
	want.File = printed
	want.Trunks = maskSecrets(c).Trunks
	want.Trunks[0].Outbound.NumberFormat.Strip = []string{} // printed as "strip: []"
	want.Schedules = []schedule.Schedule{}                  // printed as "schedules: []"
	want.Flows["out"][0].Dial.Trunks = []string{}           // printed as "trunks: []"
	want.Queues, want.Agents, want.API.Keys, want.Gateway.IPs = []Queue{}, []Agent{}, []APIKey{}, []string{}
	want.Prompts.Dirs = []string{} // printed as "dirs: []"
	want.Contacts = []Contact{}    // printed as "contacts: []"
	want.VoiceNumbers = []VoiceNumber{}
	if !reflect.DeepEqual(*again, want) {
		t.Errorf("printed config loads back as\n%+v\nwant\n%+v", *again, want)
	}
}
