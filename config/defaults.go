package config

import (
	"net/url"
	"os"
	"strings"
	"time"
)

// Default values. Per-trunk defaults apply to every trunk (and its outbound
// section) that leaves the key out.
const (
	DefaultListen         = "udp://127.0.0.1:5060"
	DefaultUserAgent      = "Switchboard"
	DefaultRingTimeout    = 60 * time.Second
	DefaultNonceTTL       = 5 * time.Minute
	DefaultRetryAfter     = 5
	DefaultUnknownSources = UnknownSourcesReject
	DefaultPerSourceBan   = 10 * time.Second
	// DefaultPerSourceCPS keeps one source (a flood from a trunk's own
	// address) to well under what a node holds (about 500 CPS on 2 cores).
	DefaultPerSourceCPS    = 200
	DefaultRTPPorts        = "20000-29999"
	DefaultHTTPListen      = "127.0.0.1:8080"
	DefaultDatabase        = "sqlite://data/switchboard.db"
	DefaultRecordings      = "file://data/recordings"
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "json"
	DefaultShutdownTimeout = 30 * time.Second
	DefaultDTMF            = "rfc4733"
	DefaultSRTP            = "off"
	DefaultRegisterExpires = 3600 * time.Second
	// RFC 4028 session timers: the interval asked for, and the floor
	// (RFC 4028 §4: Min-SE is never below 90 s on the wire).
	DefaultSessionExpires = 1800
	DefaultMinSE          = 90
	DefaultOptionsPing    = 30 * time.Second
	DefaultMediaTimeout   = 30 * time.Second
	DefaultRTCPInterval   = 5 * time.Second
	DefaultOpusComplexity = 5
	DefaultPromptCache    = "data/prompts"
	// DefaultNodeName is used when the host name cannot be read.
	DefaultNodeName = "switchboard"
)

// Defaults of the HTTP listener's doors: timeouts and connection caps.
const (
	DefaultHTTPReadHeaderTimeout = 5 * time.Second
	DefaultHTTPReadTimeout       = 30 * time.Second
	DefaultHTTPWriteTimeout      = 60 * time.Second
	DefaultHTTPIdleTimeout       = 60 * time.Second
	DefaultHTTPMaxConns          = 2048
	DefaultHTTPMaxConnsPerIP     = 512
)

// Doors of the SIP TCP/TLS listeners.
const (
	DefaultTLSHandshakeTimeout    = 10 * time.Second
	DefaultTCPFirstRequestTimeout = 10 * time.Second
	DefaultTCPIdleTimeout         = 5 * time.Minute
	DefaultMaxConnsPerIP          = 100
)

// DefaultCodecs returns the codec preference used by trunks that list none.
func DefaultCodecs() []string { return []string{"PCMU", "PCMA"} }

// Default returns a configuration with every default applied and no trunks,
// routes or flows: a starting point for configurations built in code.
func Default() *Config {
	c := &Config{ShutdownTimeout: DefaultShutdownTimeout,
		HTTP: HTTP{MaxConns: DefaultHTTPMaxConns, MaxConnsPerIP: DefaultHTTPMaxConnsPerIP}}
	c.SIP.PerSourceCPS = DefaultPerSourceCPS
	c.ApplyDefaults()
	return c
}

// ApplyDefaults fills the unset (zero) fields of c whose zero value has no
// meaning of its own with their defaults, normalises the spelling of enums
// and codec names, derives RTP.BindIP from the first SIP listener and the
// realm of inbound digest auth from Node.Name, and parses RTP.Ports into
// RTP.PortMin and RTP.PortMax. Calling it twice changes nothing more.
//
// Fields where zero is meaningful are left as they are: SIP.MaxCPS,
// SIP.PerSourceCPS, ShutdownTimeout, HTTP.MaxConns, HTTP.MaxConnsPerIP, and per trunk MaxChannels, MaxCPS,
// Outbound.OptionsPing and Outbound.NumberFormat.Plus. Load sets those
// defaults itself, because only the YAML tells an absent key from a zero one.
func (c *Config) ApplyDefaults() {
	c.applyGlobalDefaults()
	c.applyContactDefaults()
	c.applyTransferDefaults()
	c.applyCallbackDefaults()
	for i := range c.Trunks {
		c.Trunks[i].applyDefaults(c.Node.Name)
	}
}

func (c *Config) applyGlobalDefaults() {
	setString(&c.Node.Name, hostname())
	if len(c.SIP.Listen) == 0 {
		c.SIP.Listen = []string{DefaultListen}
	}
	setString(&c.SIP.UserAgent, DefaultUserAgent)
	setDuration(&c.SIP.RingTimeout, DefaultRingTimeout)
	setDuration(&c.SIP.NonceTTL, DefaultNonceTTL)
	if c.SIP.RetryAfter == 0 {
		c.SIP.RetryAfter = DefaultRetryAfter
	}
	setDuration(&c.SIP.TLSHandshakeTimeout, DefaultTLSHandshakeTimeout)
	setDuration(&c.SIP.TCPFirstRequestTimeout, DefaultTCPFirstRequestTimeout)
	setDuration(&c.SIP.TCPIdleTimeout, DefaultTCPIdleTimeout)
	if c.SIP.MaxConnsPerIP == 0 {
		c.SIP.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	c.SIP.UnknownSources = strings.ToLower(strings.TrimSpace(c.SIP.UnknownSources))
	setString(&c.SIP.UnknownSources, DefaultUnknownSources)
	setDuration(&c.SIP.PerSourceBan, DefaultPerSourceBan)
	c.applyRTPDefaults()
	setString(&c.HTTP.Listen, DefaultHTTPListen)
	setDuration(&c.HTTP.ReadHeaderTimeout, DefaultHTTPReadHeaderTimeout)
	setDuration(&c.HTTP.ReadTimeout, DefaultHTTPReadTimeout)
	setDuration(&c.HTTP.WriteTimeout, DefaultHTTPWriteTimeout)
	setDuration(&c.HTTP.IdleTimeout, DefaultHTTPIdleTimeout)
	setString(&c.Storage.Database, DefaultDatabase)
	setString(&c.Storage.Recordings, DefaultRecordings)
	setString(&c.Log.Level, DefaultLogLevel)
	setString(&c.Log.Format, DefaultLogFormat)
	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.Format = strings.ToLower(c.Log.Format)
}

func (c *Config) applyRTPDefaults() {
	if c.RTP.Ports == "" && c.RTP.PortMin > 0 && c.RTP.PortMax > 0 {
		c.RTP.Ports = formatPorts(c.RTP.PortMin, c.RTP.PortMax)
	}
	setString(&c.RTP.Ports, DefaultRTPPorts)
	if lo, hi, err := parsePorts(c.RTP.Ports); err == nil {
		c.RTP.PortMin, c.RTP.PortMax = lo, hi
	}
	setString(&c.Prompts.CacheDir, DefaultPromptCache)
	if c.RTP.MediaTimeout == 0 {
		c.RTP.MediaTimeout = DefaultMediaTimeout
	}
	if c.RTP.RTCPInterval == 0 {
		c.RTP.RTCPInterval = DefaultRTCPInterval
	}
	if c.RTP.BindIP == "" && len(c.SIP.Listen) > 0 {
		if u, err := url.Parse(c.SIP.Listen[0]); err == nil {
			c.RTP.BindIP = u.Hostname()
		}
	}
}

// applyDefaults fills a trunk's defaults; realm is the default realm of
// inbound digest challenges.
func (t *Trunk) applyDefaults(realm string) {
	if len(t.Codecs) == 0 {
		t.Codecs = DefaultCodecs()
	}
	for i, name := range t.Codecs {
		t.Codecs[i] = canonicalCodec(name)
	}
	setString(&t.DTMF, DefaultDTMF)
	if t.Opus.Complexity == nil {
		c := DefaultOpusComplexity
		t.Opus.Complexity = &c
	}
	setString(&t.SRTP, DefaultSRTP)
	t.Refer = strings.ToLower(strings.TrimSpace(t.Refer))
	setString(&t.Refer, DefaultRefer)
	if t.SessionTimers.Enabled == nil {
		on := true
		t.SessionTimers.Enabled = &on
	}
	if t.SessionTimers.Expires == 0 {
		t.SessionTimers.Expires = DefaultSessionExpires
	}
	if t.SessionTimers.MinSE == 0 {
		t.SessionTimers.MinSE = DefaultMinSE
	}
	t.DTMF = strings.ToLower(t.DTMF)
	t.SRTP = strings.ToLower(t.SRTP)
	if t.Inbound != nil && t.Inbound.Auth != nil {
		setString(&t.Inbound.Auth.Realm, realm)
		if t.Inbound.Auth.Challenge == 0 {
			t.Inbound.Auth.Challenge = 401
		}
	}
	if t.Outbound != nil {
		setDuration(&t.Outbound.RegisterExpires, DefaultRegisterExpires)
	}
}

// canonicalCodec returns the canonical spelling of a known codec name
// (PCMU, PCMA, opus) and any other name unchanged.
func canonicalCodec(name string) string {
	for _, known := range []string{"PCMU", "PCMA", "opus"} {
		if strings.EqualFold(name, known) {
			return known
		}
	}
	return name
}

func hostname() string {
	name, err := os.Hostname()
	if err != nil || name == "" {
		return DefaultNodeName
	}
	return name
}

func setString(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

func setDuration(p *time.Duration, def time.Duration) {
	if *p == 0 {
		*p = def
	}
}
