// Package config holds Switchboard's typed configuration: the YAML shape,
// its defaults, loading through viper (YAML + SWITCHBOARD_* environment +
// ${VAR} expansion) and validation that names the file, line and key of
// every mistake.
package config

import (
	"path/filepath"
	"time"

	"github.com/switchboard-voice/switchboard/config/schedule"
)

// Config is one node's whole configuration.
type Config struct {
	Node            Node                `mapstructure:"node" yaml:"node"`
	SIP             SIP                 `mapstructure:"sip" yaml:"sip"`
	RTP             RTP                 `mapstructure:"rtp" yaml:"rtp"`
	HTTP            HTTP                `mapstructure:"http" yaml:"http"`
	Storage         Storage             `mapstructure:"storage" yaml:"storage"`
	Log             Log                 `mapstructure:"log" yaml:"log"`
	ShutdownTimeout time.Duration       `mapstructure:"shutdown_timeout" yaml:"shutdown_timeout"`
	Trunks          []Trunk             `mapstructure:"trunks" yaml:"trunks"`
	Routes          []Route             `mapstructure:"routes" yaml:"routes"`
	Flows           map[string][]Action `mapstructure:"flows" yaml:"flows"`
	Schedules       []schedule.Schedule `mapstructure:"schedules" yaml:"schedules"`
	// WaitingStrategies are what callers hear while they wait in a queue, by name.
	WaitingStrategies map[string]WaitingStrategy `mapstructure:"waiting_strategies" yaml:"waiting_strategies"`
	Prompts           Prompts                    `mapstructure:"prompts" yaml:"prompts"`
	// Contact center: queues, agents, the ACD, API keys, the WebRTC gateway.
	Queues  []Queue `mapstructure:"queues" yaml:"queues"`
	Agents  []Agent `mapstructure:"agents" yaml:"agents"`
	ACD     ACD     `mapstructure:"acd" yaml:"acd"`
	API     API     `mapstructure:"api" yaml:"api"`
	Gateway Gateway `mapstructure:"gateway" yaml:"gateway"`
	// Hold is what a caller on hold hears in a queue without a hold of its
	// own (Queue.Hold).
	Hold Hold `mapstructure:"hold" yaml:"hold"`
	// Transfers configures blind transfers: what the caller hears while the
	// target rings, the ring time-out, and which numbers may be dialled.
	Transfers Transfers `mapstructure:"transfers" yaml:"transfers"`
	// Contacts is the phone book; external transfers (and REFER targets)
	// go only to numbers of contacts tagged external_number.
	Contacts []Contact `mapstructure:"contacts" yaml:"contacts"`
	// VoiceNumbers are the numbers the switch calls customers from.
	VoiceNumbers []VoiceNumber `mapstructure:"voice_numbers" yaml:"voice_numbers"`
	// Callbacks configures callbacks by name: who calls the customer back,
	// how often, and what the customer hears when asking for one.
	Callbacks map[string]CallbackConfig `mapstructure:"callbacks" yaml:"callbacks"`

	// File is the path the configuration was loaded from ("" when built in code).
	File string `mapstructure:"-" yaml:"-"`
	// Warnings are what Load or Validate found that may be wrong but is
	// accepted (Problem.Warning): a flow naming a queue or waiting strategy
	// the file does not declare, which may live in the database.
	Warnings Problems `mapstructure:"-" yaml:"-"`
}

// Node names this switch instance.
type Node struct {
	// Name identifies the node (logs, metrics, default digest realm); default: the host name.
	Name string `mapstructure:"name" yaml:"name"`
	// Region is a free-form label, e.g. eu-central.
	Region string `mapstructure:"region" yaml:"region"`
}

// SIP configures the signalling edge.
type SIP struct {
	// Listen holds transport URLs: udp://host:port, tcp://host:port, tls://host:port.
	Listen []string `mapstructure:"listen" yaml:"listen"`
	// ExternalIP is advertised in Via/Contact instead of the listen address (NAT).
	ExternalIP string `mapstructure:"external_ip" yaml:"external_ip"`
	// MaxCPS limits new inbound calls per second node-wide; 0 = unlimited.
	MaxCPS float64 `mapstructure:"max_cps" yaml:"max_cps"`
	// TLS certificate and key (PEM files), needed when a tls:// listener is configured.
	TLS TLS `mapstructure:"tls" yaml:"tls"`
	// UserAgent is sent in User-Agent and Server headers.
	UserAgent string `mapstructure:"user_agent" yaml:"user_agent"`
	// RingTimeout bounds how long an outbound leg may ring before the call fails with 408/480.
	RingTimeout time.Duration `mapstructure:"ring_timeout" yaml:"ring_timeout"`
	// NonceTTL is how long a digest challenge nonce stays valid (stale=true after).
	NonceTTL time.Duration `mapstructure:"nonce_ttl" yaml:"nonce_ttl"`
	// RetryAfter is the Retry-After value (seconds) sent with 503 when over capacity or draining.
	RetryAfter int `mapstructure:"retry_after" yaml:"retry_after"`

	// Doors of the TCP and TLS listeners.
	// TLSHandshakeTimeout closes an accepted TLS connection whose handshake
	// has not completed in time.
	TLSHandshakeTimeout time.Duration `mapstructure:"tls_handshake_timeout" yaml:"tls_handshake_timeout"`
	// TCPFirstRequestTimeout closes an accepted TCP/TLS connection that has
	// not sent a whole, valid SIP message in time (after the TLS handshake).
	TCPFirstRequestTimeout time.Duration `mapstructure:"tcp_first_request_timeout" yaml:"tcp_first_request_timeout"`
	// TCPIdleTimeout closes a TCP/TLS connection without SIP traffic for
	// this long, unless a live dialog or a transaction uses it.
	TCPIdleTimeout time.Duration `mapstructure:"tcp_idle_timeout" yaml:"tcp_idle_timeout"`
	// MaxConns caps the open TCP/TLS connections accepted, per listener
	// transport; 0 derives it from the process's file descriptor limit,
	// after the RTP port range's sockets.
	MaxConns int `mapstructure:"max_conns" yaml:"max_conns"`
	// MaxConnsPerIP caps the open TCP/TLS connections accepted from one
	// source IP address, per listener transport.
	MaxConnsPerIP int `mapstructure:"max_conns_per_ip" yaml:"max_conns_per_ip"`
	// UnknownSources is what happens to an INVITE or REGISTER from a source
	// no trunk accepts: "reject" (stateless 403) or "drop" (no answer).
	UnknownSources string `mapstructure:"unknown_sources" yaml:"unknown_sources"`
	// PerSourceCPS limits initial INVITEs plus REGISTERs per second from one
	// source IP address; 0 = unlimited. A source over it is banned for PerSourceBan,
	// unless it lies in a trunk's inbound.allow: that one gets a 503 per request over it.
	PerSourceCPS float64 `mapstructure:"per_source_cps" yaml:"per_source_cps"`
	// PerSourceBan is how long a source over PerSourceCPS has its requests dropped.
	PerSourceBan time.Duration `mapstructure:"per_source_ban" yaml:"per_source_ban"`
	// MaxTransactions caps SIP state: live server transactions plus calls in
	// progress. Beyond it new requests get a stateless 503. 0 = derived from the machine.
	MaxTransactions int `mapstructure:"max_transactions" yaml:"max_transactions"`
}

// Unknown-source policies (SIP.UnknownSources).
const (
	UnknownSourcesReject = "reject"
	UnknownSourcesDrop   = "drop"
)

// TLS holds certificate paths for the tls:// listener.
type TLS struct {
	// Cert is the PEM certificate (chain) file.
	Cert string `mapstructure:"cert" yaml:"cert"`
	// Key is the PEM private key file.
	Key string `mapstructure:"key" yaml:"key"`
}

// RTP configures the media relay.
type RTP struct {
	// Ports is the UDP range "MIN-MAX" for RTP (even) and RTCP (odd) sockets.
	Ports string `mapstructure:"ports" yaml:"ports"`
	// ExternalIP is advertised in SDP c= lines instead of the bind address.
	ExternalIP string `mapstructure:"external_ip" yaml:"external_ip"`
	// BindIP is the local address RTP sockets bind to; defaults to the first SIP listen host.
	BindIP string `mapstructure:"bind_ip" yaml:"bind_ip"`
	// MediaTimeout hangs up a call whose leg has sent no RTP for this long
	// (a leg on hold excepted).
	MediaTimeout time.Duration `mapstructure:"media_timeout" yaml:"media_timeout"`
	// RTCPInterval is how often the switch sends RTCP reports on each leg.
	RTCPInterval time.Duration `mapstructure:"rtcp_interval" yaml:"rtcp_interval"`

	// PortMin and PortMax are parsed from Ports by Load.
	PortMin int `mapstructure:"-" yaml:"-"`
	PortMax int `mapstructure:"-" yaml:"-"`
}

// HTTP configures the HTTP server (health, metrics, later API).
type HTTP struct {
	// Listen is the host:port to serve on; an empty host means every interface.
	Listen string `mapstructure:"listen" yaml:"listen"`
	// Pprof serves Go's profiler under /debug/pprof/ on the HTTP listener
	// (keep the listener on loopback when this is on); it needs a
	// supervisor's API key.
	Pprof bool `mapstructure:"pprof" yaml:"pprof"`
	// MetricsPublic serves /metrics without credentials; off, a scrape
	// needs a supervisor's API key (Authorization: Bearer KEY).
	MetricsPublic bool `mapstructure:"metrics_public" yaml:"metrics_public"`
	// ReadHeaderTimeout bounds reading a request's headers, ReadTimeout
	// the whole request (headers and body), WriteTimeout writing the
	// answer (the agents' event WebSockets are excepted), IdleTimeout how
	// long a keep-alive connection may wait for its next request.
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout" yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `mapstructure:"read_timeout" yaml:"read_timeout"`
	WriteTimeout      time.Duration `mapstructure:"write_timeout" yaml:"write_timeout"`
	IdleTimeout       time.Duration `mapstructure:"idle_timeout" yaml:"idle_timeout"`
	// MaxConns caps the listener's open connections, MaxConnsPerIP those
	// of one client address; beyond them a new connection is closed at
	// once. 0 = no cap.
	MaxConns      int `mapstructure:"max_conns" yaml:"max_conns"`
	MaxConnsPerIP int `mapstructure:"max_conns_per_ip" yaml:"max_conns_per_ip"`
}

// Storage names where state and recordings live.
type Storage struct {
	// Database is the state store URL, e.g. sqlite://data/switchboard.db.
	Database string `mapstructure:"database" yaml:"database"`
	// Recordings is where recordings are written, e.g. file://data/recordings.
	Recordings string `mapstructure:"recordings" yaml:"recordings"`
}

// Log configures structured logging.
type Log struct {
	Level  string `mapstructure:"level" yaml:"level"`   // debug | info | warn | error
	Format string `mapstructure:"format" yaml:"format"` // json | text
}

// Trunk is one carrier or BYOC connection.
type Trunk struct {
	// Name is unique among trunks: lowercase letters, digits, '-' and '_'.
	Name        string    `mapstructure:"name" yaml:"name"`
	Inbound     *Inbound  `mapstructure:"inbound" yaml:"inbound"`
	Outbound    *Outbound `mapstructure:"outbound" yaml:"outbound"`
	Codecs      []string  `mapstructure:"codecs" yaml:"codecs"`             // preference order: PCMU, PCMA, opus
	DTMF        string    `mapstructure:"dtmf" yaml:"dtmf"`                 // rfc4733 | info
	SRTP        string    `mapstructure:"srtp" yaml:"srtp"`                 // off | optional | required
	Opus        Opus      `mapstructure:"opus" yaml:"opus"`                 // encoder settings towards this trunk
	MaxChannels int       `mapstructure:"max_channels" yaml:"max_channels"` // 0 = unlimited
	MaxCPS      float64   `mapstructure:"max_cps" yaml:"max_cps"`           // 0 = unlimited
	// FollowRedirects makes the switch follow a 3xx from this trunk's far
	// end, but only to a Contact on the trunk's own outbound host.
	FollowRedirects bool `mapstructure:"follow_redirects" yaml:"follow_redirects"`
	// SessionTimers sets RFC 4028 session timers on this trunk's legs.
	SessionTimers SessionTimers `mapstructure:"session_timers" yaml:"session_timers"`
	// Refer says what a REFER from this trunk's legs gets: reject (the
	// default, 603 Decline) or allow (a blind transfer to its Refer-To).
	Refer string `mapstructure:"refer" yaml:"refer"`
}

// SessionTimers are RFC 4028 session timers on a trunk's legs: outbound
// INVITEs ask for them, inbound ones are honoured, and a leg whose refresh
// is missed is ended with BYE.
type SessionTimers struct {
	// Enabled turns session timers on (the default) or off for the trunk.
	Enabled *bool `mapstructure:"enabled" yaml:"enabled"`
	// Expires is the session interval in seconds the switch asks for
	// (Session-Expires); default 1800.
	Expires int `mapstructure:"expires" yaml:"expires"`
	// MinSE is the shortest interval in seconds the switch accepts (Min-SE,
	// answered 422 below it) and sends in its INVITEs; default 90.
	MinSE int `mapstructure:"min_se" yaml:"min_se"`
}

// On tells whether session timers are enabled.
func (s SessionTimers) On() bool { return s.Enabled == nil || *s.Enabled }

// Opus sets the Opus encoder the switch uses when it transcodes towards a
// trunk.
type Opus struct {
	// Complexity is libopus's complexity, 0 (cheapest) to 10; default 5.
	Complexity *int `mapstructure:"complexity" yaml:"complexity"`
	// Bitrate in bits/s, 6000–510000; 0 lets the switch choose by sample
	// rate (24000 at 8 kHz, 32000 above).
	Bitrate int `mapstructure:"bitrate" yaml:"bitrate"`
}

// Inbound says how calls from this trunk are recognised.
type Inbound struct {
	// Allow lists source CIDRs (or bare IPs) the trunk's INVITEs come from.
	Allow []string `mapstructure:"allow" yaml:"allow"`
	// Numbers lists served DIDs; '*' matches any run of characters, '?' one character.
	// Empty means every number.
	Numbers []string `mapstructure:"numbers" yaml:"numbers"`
	// Auth, when set, makes the switch challenge INVITEs (digest, RFC 7616/2617).
	Auth *Auth `mapstructure:"auth" yaml:"auth"`
	// NAT says the trunk's callers are behind NAT: the switch's in-dialog
	// requests on a caller's leg (BYE, re-INVITE, UPDATE, INFO) go to the
	// address the caller's INVITE came from, not to its Contact, and the
	// responses to its requests go back to their source address (symmetric
	// signalling).
	NAT bool `mapstructure:"nat" yaml:"nat"`
}

// Auth holds digest credentials.
type Auth struct {
	Username string `mapstructure:"username" yaml:"username"`
	Password string `mapstructure:"password" yaml:"password"`
	// Realm used in challenges (inbound); default: the node name.
	Realm string `mapstructure:"realm" yaml:"realm"`
	// Challenge is the status inbound INVITEs are challenged with: 401
	// (WWW-Authenticate, the default) or 407 (Proxy-Authenticate).
	Challenge int `mapstructure:"challenge" yaml:"challenge"`
}

// Outbound says how the switch sends calls to this trunk.
type Outbound struct {
	// URI is the target, e.g. sip:sip.carrier.example:5060;transport=udp.
	URI  string `mapstructure:"uri" yaml:"uri"`
	Auth *Auth  `mapstructure:"auth" yaml:"auth"`
	// Register makes the switch REGISTER to the trunk and keep the binding fresh.
	Register        bool          `mapstructure:"register" yaml:"register"`
	RegisterExpires time.Duration `mapstructure:"register_expires" yaml:"register_expires"`
	// CallerID replaces the caller's number in From when set.
	CallerID     string       `mapstructure:"caller_id" yaml:"caller_id"`
	NumberFormat NumberFormat `mapstructure:"number_format" yaml:"number_format"`
	// OptionsPing is the OPTIONS keep-alive interval; 0 turns it off (trunk then always up).
	OptionsPing time.Duration `mapstructure:"options_ping" yaml:"options_ping"`
}

// NumberFormat rewrites called and calling numbers sent to an outbound trunk.
type NumberFormat struct {
	Plus       bool     `mapstructure:"plus" yaml:"plus"`               // leading '+' kept/added (true) or removed (false)
	TechPrefix string   `mapstructure:"tech_prefix" yaml:"tech_prefix"` // prepended after stripping
	Strip      []string `mapstructure:"strip" yaml:"strip"`             // prefixes removed (first match)
}

// Route matches an incoming call and names the flow that runs it. First match wins.
type Route struct {
	Name  string     `mapstructure:"name" yaml:"name"`
	Match RouteMatch `mapstructure:"match" yaml:"match"`
	Flow  string     `mapstructure:"flow" yaml:"flow"`
	// Outbound, instead of Flow, makes the route one for the switch's own
	// calls (external transfers, REFER targets, agents' outbound calls,
	// callbacks): a number matching Match.To leaves through this outbound
	// trunk. Such a route matches only on To.
	Outbound string `mapstructure:"outbound" yaml:"outbound"`
}

// RouteMatch patterns: empty matches anything; '*' and '?' are wildcards;
// a pattern between slashes is a regular expression.
type RouteMatch struct {
	Trunk string `mapstructure:"trunk" yaml:"trunk"`
	From  string `mapstructure:"from" yaml:"from"`
	To    string `mapstructure:"to" yaml:"to"`
	// Schedule, when set, matches only while that schedule is open at the
	// time of the call.
	Schedule string `mapstructure:"schedule" yaml:"schedule"`
}

// Prompts configures how messages are prepared for playing.
type Prompts struct {
	// CacheDir keeps rendered speech and converted audio files, so each is
	// prepared once.
	CacheDir string `mapstructure:"cache_dir" yaml:"cache_dir"`
	// Dirs are the directories audio files named in the configuration
	// (play, gather prompts, waiting strategies) must lie under, relative to
	// the configuration file; default: the configuration file's directory.
	Dirs []string `mapstructure:"dirs" yaml:"dirs"`
	// UploadDir keeps the audio files uploaded through the API
	// (POST /api/v1/prompts), converted, named by their ids; default: the
	// "uploads" directory in CacheDir (Prompts.Uploads).
	UploadDir string `mapstructure:"upload_dir" yaml:"upload_dir"`
}

// Uploads is the directory uploaded prompts are kept in: UploadDir, or
// "uploads" in CacheDir.
func (p Prompts) Uploads() string {
	if p.UploadDir != "" {
		return p.UploadDir
	}
	return filepath.Join(p.CacheDir, "uploads")
}

// Action is one step of a flow; exactly one field is set.
type Action struct {
	Answer       *AnswerAction       `mapstructure:"answer" yaml:"answer"`
	EarlyMedia   *AnswerAction       `mapstructure:"early_media" yaml:"early_media"`
	Play         *PlayAction         `mapstructure:"play" yaml:"play"`
	Say          *SayAction          `mapstructure:"say" yaml:"say"`
	WorkingHours *WorkingHoursAction `mapstructure:"working_hours" yaml:"working_hours"`
	Goto         *GotoAction         `mapstructure:"goto" yaml:"goto"`
	Gather       *GatherAction       `mapstructure:"gather" yaml:"gather"`
	Queue        *QueueAction        `mapstructure:"queue" yaml:"queue"`
	Dial         *DialAction         `mapstructure:"dial" yaml:"dial"`
	Hangup       *HangupAction       `mapstructure:"hangup" yaml:"hangup"`
	// Set gives the call variables (name → value; values may use {{name}}).
	Set map[string]string `mapstructure:"set" yaml:"set"`
}

// AnswerAction answers the call (200 OK) with the switch's own media, or,
// as early_media, sends 183 with SDP so that prompts play before an answer.
type AnswerAction struct {
	// Ring, when set, sends 180 Ringing and waits this long first.
	Ring time.Duration `mapstructure:"ring" yaml:"ring"`
}

// PlayAction plays an audio file to the caller.
type PlayAction struct {
	// File is a .wav .mp3 .mp2 .ircam .m4a .m4r .voc or .vox file, at most
	// 4 MB; relative paths are relative to the configuration file.
	File string `mapstructure:"file" yaml:"file"`
	// Duration stops (or loops the file until) this long; 0 plays it once.
	Duration time.Duration `mapstructure:"duration" yaml:"duration"`
}

// SayAction speaks text with espeak-ng.
type SayAction struct {
	Text     string `mapstructure:"text" yaml:"text"`
	Language string `mapstructure:"language" yaml:"language"` // espeak-ng voice language, default en
	Voice    string `mapstructure:"voice" yaml:"voice"`       // variant, e.g. f3; optional
	Rate     int    `mapstructure:"rate" yaml:"rate"`         // words per minute, default 160
}

// WorkingHoursAction checks a schedule: when closed, the call goes to the
// closed flow; when open, to the open flow, or on with the next action.
type WorkingHoursAction struct {
	Schedule string `mapstructure:"schedule" yaml:"schedule"`
	Open     string `mapstructure:"open" yaml:"open"`
	Closed   string `mapstructure:"closed" yaml:"closed"`
}

// GatherAction collects keys from the caller (a menu), optionally over a
// prompt that stops at the first key, and branches on the result.
type GatherAction struct {
	// Prompt is an audio file played while waiting (see PlayAction.File).
	Prompt string `mapstructure:"prompt" yaml:"prompt"`
	// MaxDigits ends the input when reached; default 1.
	MaxDigits int `mapstructure:"max_digits" yaml:"max_digits"`
	// Terminator ends the input early (not part of it); default "#".
	Terminator string `mapstructure:"terminator" yaml:"terminator"`
	// Timeout is how long to wait for the first key after the prompt; default 5s.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout"`
	// InterDigitTimeout is how long to wait for each next key; default 3s.
	InterDigitTimeout time.Duration `mapstructure:"inter_digit_timeout" yaml:"inter_digit_timeout"`
	// Branches maps what was keyed to the flow to run, or to a callback
	// request ({callback: NAME}, see ResponseCode).
	Branches map[string]ResponseCode `mapstructure:"branches" yaml:"branches"`
	// Default is the flow for input no branch matches; "" goes on with the
	// next action.
	Default string `mapstructure:"default" yaml:"default"`
	// NoInput is the flow when nothing was keyed; "" goes on with the next action.
	NoInput string `mapstructure:"no_input" yaml:"no_input"`
}

// QueueAction puts the caller in a queue under a waiting strategy until an
// agent is found (the call is then connected), the caller leaves with a
// response code, or the maximum wait is reached.
type QueueAction struct {
	Name            string `mapstructure:"name" yaml:"name"`
	WaitingStrategy string `mapstructure:"waiting_strategy" yaml:"waiting_strategy"`
}

// WaitingStrategy is what a caller hears while waiting. Each part is on
// when set.
type WaitingStrategy struct {
	// Greeting plays once, first.
	Greeting string `mapstructure:"greeting" yaml:"greeting"`
	// Music loops after the greeting.
	Music string `mapstructure:"music" yaml:"music"`
	// Announcement repeats over the music (the music ducked).
	Announcement Announcement `mapstructure:"announcement" yaml:"announcement"`
	// MaxWait drops the caller (or sends them to MaxWaitFlow) after this
	// long in the queue; 0 = no limit.
	MaxWait time.Duration `mapstructure:"max_wait" yaml:"max_wait"`
	// MaxWaitMessage plays just before.
	MaxWaitMessage string `mapstructure:"max_wait_message" yaml:"max_wait_message"`
	// MaxWaitFlow runs after the message; "" hangs up with 480.
	MaxWaitFlow string `mapstructure:"max_wait_flow" yaml:"max_wait_flow"`
}

// Announcement is a message repeated while the caller waits, with keys the
// caller may press while it plays and shortly after.
type Announcement struct {
	File  string        `mapstructure:"file" yaml:"file"`
	Every time.Duration `mapstructure:"every" yaml:"every"`
	// ResponseCodes maps a key to the flow it leads to (another flow,
	// leaving the queue) or to a callback request ({callback: NAME}, see
	// ResponseCode).
	ResponseCodes map[string]ResponseCode `mapstructure:"response_codes" yaml:"response_codes"`
	// WaitForResponse keeps the keys live this long after the
	// announcement ends; default 5s.
	WaitForResponse time.Duration `mapstructure:"wait_for_response" yaml:"wait_for_response"`
}

// GotoAction continues with another flow.
type GotoAction struct {
	Flow string `mapstructure:"flow" yaml:"flow"`
}

// DialAction bridges the caller to a trunk, or to the first of several
// trunks that takes the call (fail-over).
type DialAction struct {
	// Trunk is the one trunk to dial; Trunks lists several, tried in order.
	// Exactly one of the two is given.
	Trunk  string   `mapstructure:"trunk" yaml:"trunk"`
	Trunks []string `mapstructure:"trunks" yaml:"trunks"`
	// Number overrides the dialled number (default: the called number).
	Number string `mapstructure:"number" yaml:"number"`
	// Timeout overrides sip.ring_timeout for this dial.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout"`
}

// TrunkList is the trunks a dial action tries, in order.
func (d *DialAction) TrunkList() []string {
	if len(d.Trunks) > 0 {
		return d.Trunks
	}
	if d.Trunk != "" {
		return []string{d.Trunk}
	}
	return nil
}

// HangupAction rejects or ends the call with a SIP status.
type HangupAction struct {
	Code   int    `mapstructure:"code" yaml:"code"`
	Reason string `mapstructure:"reason" yaml:"reason"`
}
