package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits checked by Validate.
const (
	minRTPPort   = 1024  // lowest port of rtp.ports
	maxRTPPort   = 65535 // highest port of rtp.ports
	minRTPPorts  = 4     // smallest size of rtp.ports (two calls' RTP+RTCP)
	minErrorCode = 400   // lowest hangup.code
	maxErrorCode = 699   // highest hangup.code
)

// Validate checks c as it is and returns every problem found, as Problems,
// or nil. What may be wrong but is accepted goes to c.Warnings. It does not
// apply defaults: a Config built in code should start from Default or call
// ApplyDefaults first. Problems carry keys (and c.File) but no lines; Load
// adds the lines.
func (c *Config) Validate() error {
	v := c.check()
	c.Warnings = v.warns
	return v.list.err()
}

// check runs every check on c.
func (c *Config) check() *collector {
	v := &collector{file: c.File}
	if c.Node.Name == "" {
		v.add("node.name", "is required")
	}
	c.SIP.validate(v)
	c.RTP.validate(v)
	c.HTTP.validate(v)
	c.Storage.validate(v)
	c.Log.validate(v)
	if c.ShutdownTimeout < 0 {
		v.add("shutdown_timeout", "must not be negative")
	}
	trunks := c.validateTrunks(v)
	schedules := c.validateSchedules(v)
	c.validateRoutes(v, trunks, schedules)
	c.validateFlows(v, trunks, schedules)
	c.validateWaitingStrategies(v)
	c.validateContact(v)
	c.validateTransfers(v)
	c.validateCallbacks(v, schedules)
	c.flowLoops(v)
	return v
}

func (s *SIP) validate(v *collector) {
	if len(s.Listen) == 0 {
		v.add("sip.listen", "needs at least one listener")
	}
	seen := map[string]int{}
	for i, l := range s.Listen {
		key := fmt.Sprintf("sip.listen[%d]", i)
		if msg := listenProblem(l); msg != "" {
			v.add(key, "%s", msg)
			continue
		}
		if j, dup := seen[l]; dup {
			v.add(key, "%q is already listed at sip.listen[%d]", l, j)
		}
		seen[l] = i
		if u, _ := url.Parse(l); u.Scheme == "tls" {
			s.TLS.validate(v, key)
		}
	}
	if s.ExternalIP != "" && !isIP(s.ExternalIP) {
		v.add("sip.external_ip", "%q is not an IP address", s.ExternalIP)
	}
	if s.MaxCPS < 0 {
		v.add("sip.max_cps", "must not be negative")
	}
	if s.UserAgent == "" {
		v.add("sip.user_agent", "is required")
	}
	if s.RingTimeout <= 0 {
		v.add("sip.ring_timeout", "must be positive")
	}
	if s.NonceTTL <= 0 {
		v.add("sip.nonce_ttl", "must be positive")
	}
	if s.RetryAfter < 0 {
		v.add("sip.retry_after", "must not be negative")
	}
	if s.TLSHandshakeTimeout <= 0 {
		v.add("sip.tls_handshake_timeout", "must be positive")
	}
	if s.TCPFirstRequestTimeout <= 0 {
		v.add("sip.tcp_first_request_timeout", "must be positive")
	}
	if s.TCPIdleTimeout <= 0 {
		v.add("sip.tcp_idle_timeout", "must be positive")
	}
	if s.MaxConns < 0 {
		v.add("sip.max_conns", "must not be negative (0 derives it from the file descriptor limit)")
	}
	if s.MaxConnsPerIP <= 0 {
		v.add("sip.max_conns_per_ip", "must be positive")
	} else if s.MaxConns > 0 && s.MaxConnsPerIP > s.MaxConns {
		v.add("sip.max_conns_per_ip", "%d is above sip.max_conns (%d)", s.MaxConnsPerIP, s.MaxConns)
	}
	if s.UnknownSources != UnknownSourcesReject && s.UnknownSources != UnknownSourcesDrop {
		v.add("sip.unknown_sources", "must be reject or drop, not %q", s.UnknownSources)
	}
	if s.PerSourceCPS < 0 {
		v.add("sip.per_source_cps", "must not be negative")
	}
	if s.PerSourceBan <= 0 {
		v.add("sip.per_source_ban", "must be positive")
	}
	if s.MaxTransactions < 0 {
		v.add("sip.max_transactions", "must not be negative")
	}
}

// validate checks the certificate files a tls listener (at key) needs.
// Each file is reported once however many tls listeners there are.
func (t *TLS) validate(v *collector, listener string) {
	for _, f := range []struct{ key, path string }{{"sip.tls.cert", t.Cert}, {"sip.tls.key", t.Key}} {
		if slices.ContainsFunc(v.list, func(p Problem) bool { return p.Key == f.key }) {
			continue
		}
		if f.path == "" {
			v.add(f.key, "is required by the tls listener %s", listener)
			continue
		}
		if msg := fileProblem(f.path); msg != "" {
			v.add(f.key, "%s", msg)
		}
	}
}

func (r *RTP) validate(v *collector) {
	if _, _, err := parsePorts(r.Ports); err != nil {
		v.add("rtp.ports", "%v", err)
	}
	if r.ExternalIP != "" && !isIP(r.ExternalIP) {
		v.add("rtp.external_ip", "%q is not an IP address", r.ExternalIP)
	}
	if r.BindIP != "" && !validHost(r.BindIP) {
		v.add("rtp.bind_ip", "%q is not an IP address or host name", r.BindIP)
	}
	if r.MediaTimeout < time.Second {
		v.add("rtp.media_timeout", "must be at least 1s")
	}
	if r.RTCPInterval < 100*time.Millisecond || r.RTCPInterval > time.Minute {
		v.add("rtp.rtcp_interval", "must be between 100ms and 1m")
	}
}

func (s *Storage) validate(v *collector) {
	for _, f := range []struct{ key, value, example string }{
		{"storage.database", s.Database, DefaultDatabase},
		{"storage.recordings", s.Recordings, DefaultRecordings},
	} {
		scheme, rest, ok := strings.Cut(f.value, "://")
		if !ok || scheme == "" || rest == "" {
			v.add(f.key, "%q is not a URL such as %s", f.value, f.example)
		}
	}
}

func (l *Log) validate(v *collector) {
	if !oneOf(l.Level, "debug", "info", "warn", "error") {
		v.add("log.level", "must be debug, info, warn or error, not %q", l.Level)
	}
	if !oneOf(l.Format, "json", "text") {
		v.add("log.format", "must be json or text, not %q", l.Format)
	}
}

// validateTrunks checks every trunk and returns the trunks by name (the
// first one of each name).
func (c *Config) validateTrunks(v *collector) map[string]*Trunk {
	byName := map[string]*Trunk{}
	first := map[string]int{}
	for i := range c.Trunks {
		t := &c.Trunks[i]
		key := fmt.Sprintf("trunks[%d]", i)
		if j, dup := first[t.Name]; dup && t.Name != "" {
			v.add(key+".name", "duplicate trunk name %q (first at trunks[%d])", t.Name, j)
		} else if t.Name != "" {
			first[t.Name], byName[t.Name] = i, t
		}
		t.validate(v, key)
	}
	return byName
}

// validate checks Opus encoder settings (a trunk's, the gateway's).
func (o Opus) validate(v *collector, key string) {
	if c := o.Complexity; c != nil && (*c < 0 || *c > 10) {
		v.add(key+".complexity", "must be between 0 and 10, not %d", *c)
	}
	if b := o.Bitrate; b != 0 && (b < 6000 || b > 510000) {
		v.add(key+".bitrate", "must be 0 (automatic) or between 6000 and 510000, not %d", b)
	}
}

func (t *Trunk) validate(v *collector, key string) {
	if msg := NameProblem(t.Name); msg != "" {
		v.add(key+".name", "%s", msg)
	}
	if t.Inbound == nil && t.Outbound == nil {
		v.add(key, "needs an inbound or an outbound section")
	}
	if t.Inbound != nil {
		t.Inbound.validate(v, key+".inbound")
	}
	if t.Outbound != nil {
		t.Outbound.validate(v, key+".outbound")
	}
	validateCodecs(v, key+".codecs", t.Codecs)
	if !oneOf(t.DTMF, "rfc4733", "info") {
		v.add(key+".dtmf", "must be rfc4733 or info, not %q", t.DTMF)
	}
	if !oneOf(t.SRTP, "off", "optional", "required") {
		v.add(key+".srtp", "must be off, optional or required, not %q", t.SRTP)
	}
	t.Opus.validate(v, key+".opus")
	if t.MaxChannels < 0 {
		v.add(key+".max_channels", "must not be negative")
	}
	if t.MaxCPS < 0 {
		v.add(key+".max_cps", "must not be negative")
	}
	t.SessionTimers.validate(v, key+".session_timers")
	if !oneOf(t.Refer, ReferReject, ReferAllow) {
		v.add(key+".refer", "must be reject or allow, not %q", t.Refer)
	}
}

// maxSessionExpires bounds session_timers.expires (a day).
const maxSessionExpires = 86400

// validate checks a trunk's session timers. Defaults are filled already.
func (s SessionTimers) validate(v *collector, key string) {
	if s.MinSE < 1 || s.MinSE > maxSessionExpires {
		v.add(key+".min_se", "must be between 1 and %d seconds, not %d", maxSessionExpires, s.MinSE)
		return
	}
	if s.Expires < s.MinSE || s.Expires > maxSessionExpires {
		v.add(key+".expires", "must be between min_se (%d) and %d seconds, not %d", s.MinSE, maxSessionExpires, s.Expires)
	}
}

func (in *Inbound) validate(v *collector, key string) {
	if len(in.Allow) == 0 && in.Auth == nil {
		v.add(key, "needs allow or auth, or the trunk would take calls from anyone")
	}
	for i, a := range in.Allow {
		if !isIP(a) && !isPrefix(a) {
			v.add(fmt.Sprintf("%s.allow[%d]", key, i), "%q is not an IP address or CIDR", a)
		}
	}
	for i, n := range in.Numbers {
		if msg := patternProblem(n); msg != "" {
			v.add(fmt.Sprintf("%s.numbers[%d]", key, i), "%s", msg)
		}
	}
	if in.Auth != nil {
		in.Auth.validate(v, key+".auth")
		if c := in.Auth.Challenge; c != 0 && c != 401 && c != 407 {
			v.add(key+".auth.challenge", "must be 401 or 407, not %d", c)
		}
	}
}

func (a *Auth) validate(v *collector, key string) {
	if a.Username == "" {
		v.add(key+".username", "is required")
	}
	if a.Password == "" {
		v.add(key+".password", "is required")
	}
}

func (o *Outbound) validate(v *collector, key string) {
	if o.URI == "" {
		v.add(key+".uri", "is required")
	} else if msg := sipURIProblem(o.URI); msg != "" {
		v.add(key+".uri", "%s", msg)
	}
	if o.Auth != nil {
		o.Auth.validate(v, key+".auth")
		if o.Auth.Challenge != 0 {
			v.add(key+".auth.challenge", "applies to inbound auth only")
		}
	}
	if o.RegisterExpires < 0 {
		v.add(key+".register_expires", "must not be negative")
	}
	if o.CallerID != "" && !isNumber(o.CallerID) {
		v.add(key+".caller_id", "%q is not a number (digits with an optional leading '+')", o.CallerID)
	}
	if o.OptionsPing < 0 {
		v.add(key+".options_ping", "must not be negative")
	}
	o.NumberFormat.validate(v, key+".number_format")
}

func (f *NumberFormat) validate(v *collector, key string) {
	if strings.Trim(f.TechPrefix, "0123456789*#") != "" {
		v.add(key+".tech_prefix", "%q may hold only digits, '*' and '#'", f.TechPrefix)
	}
	for i, s := range f.Strip {
		if s == "" || !isNumber(s) {
			v.add(fmt.Sprintf("%s.strip[%d]", key, i), "%q is not a number prefix (digits with an optional leading '+')", s)
		}
	}
}

// validateCodecs checks a codec preference list.
func validateCodecs(v *collector, key string, codecs []string) {
	if len(codecs) == 0 {
		v.add(key, "needs at least one codec")
	}
	seen := map[string]bool{}
	for i, name := range codecs {
		canon := canonicalCodec(name)
		switch {
		case !oneOf(canon, "PCMU", "PCMA", "opus"):
			v.add(fmt.Sprintf("%s[%d]", key, i), "unknown codec %q (want PCMU, PCMA or opus)", name)
		case seen[canon]:
			v.add(fmt.Sprintf("%s[%d]", key, i), "codec %s is listed twice", canon)
		}
		seen[canon] = true
	}
}

func (c *Config) validateRoutes(v *collector, trunks map[string]*Trunk, schedules map[string]bool) {
	for i, r := range c.Routes {
		key := fmt.Sprintf("routes[%d]", i)
		if r.Match.Schedule != "" && !schedules[r.Match.Schedule] {
			v.add(key+".match.schedule", "unknown schedule %q", r.Match.Schedule)
		}
		switch {
		case r.Flow != "" && r.Outbound != "":
			v.add(key, "has both flow and outbound: use one (flow for calls that come in, outbound for the switch's own calls)")
		case r.Outbound != "":
			r.validateOutbound(v, key, trunks)
			continue
		case r.Flow == "":
			v.add(key+".flow", "is required")
		default:
			if _, ok := c.Flows[r.Flow]; !ok {
				v.add(key+".flow", "unknown flow %q", r.Flow)
			}
		}
		if r.Match.Trunk != "" {
			if t, ok := trunks[r.Match.Trunk]; !ok {
				v.add(key+".match.trunk", "unknown trunk %q", r.Match.Trunk)
			} else if t.Inbound == nil {
				v.add(key+".match.trunk", "trunk %q has no inbound section", r.Match.Trunk)
			}
		}
		for _, m := range []struct{ name, pattern string }{{"from", r.Match.From}, {"to", r.Match.To}} {
			if m.pattern == "" {
				continue
			}
			if msg := routePatternProblem(m.pattern); msg != "" {
				v.add(key+".match."+m.name, "%s", msg)
			}
		}
	}
}

// validateOutbound checks a route for the switch's own calls: it names a
// trunk with an outbound section and matches only on the called number.
func (r Route) validateOutbound(v *collector, key string, trunks map[string]*Trunk) {
	if t, ok := trunks[r.Outbound]; !ok {
		v.add(key+".outbound", "unknown trunk %q", r.Outbound)
	} else if t.Outbound == nil {
		v.add(key+".outbound", "trunk %q has no outbound section", r.Outbound)
	}
	for _, m := range []struct{ name, pattern string }{
		{"trunk", r.Match.Trunk}, {"from", r.Match.From}, {"schedule", r.Match.Schedule}} {
		if m.pattern != "" {
			v.add(key+".match."+m.name, "an outbound route matches only on to")
		}
	}
	if r.Match.To == "" {
		v.add(key+".match.to", "is required on an outbound route (\"*\" for every number)")
	} else if msg := routePatternProblem(r.Match.To); msg != "" {
		v.add(key+".match.to", "%s", msg)
	}
}

// IsRegexPattern reports whether a route pattern is a regular expression,
// written between slashes: "/^\+44(20|79)/".
func IsRegexPattern(p string) bool {
	return len(p) >= 2 && strings.HasPrefix(p, "/") && strings.HasSuffix(p, "/")
}

// routePatternProblem checks a route's number pattern: exact, wildcard, or
// a regular expression between slashes.
func routePatternProblem(p string) string {
	if IsRegexPattern(p) {
		if _, err := regexp.Compile(p[1 : len(p)-1]); err != nil {
			return fmt.Sprintf("invalid regular expression %s: %v", p, err)
		}
		return ""
	}
	return patternProblem(p)
}

func (c *Config) validateFlows(v *collector, trunks map[string]*Trunk, schedules map[string]bool) {
	vars := c.setVars()
	names := make([]string, 0, len(c.Flows))
	for name := range c.Flows {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		key := joinKey("flows", name)
		if msg := NameProblem(name); msg != "" {
			v.add(key, "%s", msg)
		}
		actions := c.Flows[name]
		if len(actions) == 0 {
			v.add(key, "has no actions")
		}
		for i, a := range actions {
			a.validate(v, fmt.Sprintf("%s[%d]", key, i), c, trunks, schedules, vars)
		}
	}
}

// actionNames lists the actions in the order the reference documents them.
var actionNames = "answer, early_media, play, say, working_hours, goto, gather, queue, dial, set, hangup"

func (a *Action) validate(v *collector, key string, c *Config, trunks map[string]*Trunk, schedules map[string]bool, vars map[string]bool) {
	set := 0
	for _, p := range []bool{a.Answer != nil, a.EarlyMedia != nil, a.Play != nil, a.Say != nil,
		a.WorkingHours != nil, a.Goto != nil, a.Gather != nil, a.Queue != nil, a.Dial != nil, a.Hangup != nil, a.Set != nil} {
		if p {
			set++
		}
	}
	switch {
	case set == 0:
		v.add(key, "needs one of %s", actionNames)
	case set > 1:
		v.add(key, "must have only one of %s", actionNames)
	}
	flowRef := func(k, name string, required bool) {
		if name == "" {
			if required {
				v.add(k, "is required")
			}
			return
		}
		if _, ok := c.Flows[name]; !ok {
			v.add(k, "unknown flow %q", name)
		}
	}
	for _, ans := range []struct {
		name string
		a    *AnswerAction
	}{{"answer", a.Answer}, {"early_media", a.EarlyMedia}} {
		if ans.a != nil && ans.a.Ring < 0 {
			v.add(key+"."+ans.name+".ring", "must not be negative")
		}
	}
	if p := a.Play; p != nil {
		if p.File == "" {
			v.add(key+".play.file", "is required")
		}
		if p.Duration < 0 {
			v.add(key+".play.duration", "must not be negative")
		}
	}
	if sy := a.Say; sy != nil {
		if strings.TrimSpace(sy.Text) == "" {
			v.add(key+".say.text", "is required")
		}
		checkVarRefs(v, key+".say.text", sy.Text, vars)
		if sy.Rate != 0 && (sy.Rate < 80 || sy.Rate > 450) {
			v.add(key+".say.rate", "must be 0 (160) or between 80 and 450 words per minute, not %d", sy.Rate)
		}
	}
	if w := a.WorkingHours; w != nil {
		if w.Schedule == "" {
			v.add(key+".working_hours.schedule", "is required")
		} else if !schedules[w.Schedule] {
			v.add(key+".working_hours.schedule", "unknown schedule %q", w.Schedule)
		}
		flowRef(key+".working_hours.open", w.Open, false)
		flowRef(key+".working_hours.closed", w.Closed, true)
	}
	if g := a.Goto; g != nil {
		flowRef(key+".goto.flow", g.Flow, true)
	}
	if g := a.Gather; g != nil {
		if g.MaxDigits < 0 || g.MaxDigits > 32 {
			v.add(key+".gather.max_digits", "must be 0 (1) to 32, not %d", g.MaxDigits)
		}
		if len(g.Terminator) > 1 || (g.Terminator != "" && !strings.ContainsAny(g.Terminator, "0123456789*#ABCD")) {
			v.add(key+".gather.terminator", "must be one key (0-9, *, #, A-D), not %q", g.Terminator)
		}
		if g.Timeout < 0 {
			v.add(key+".gather.timeout", "must not be negative")
		}
		if g.InterDigitTimeout < 0 {
			v.add(key+".gather.inter_digit_timeout", "must not be negative")
		}
		for _, digits := range slices.Sorted(maps.Keys(g.Branches)) {
			if digits == "" || strings.Trim(digits, "0123456789*#ABCD") != "" {
				v.add(joinKey(key+".gather.branches", digits), "%q is not a key sequence (0-9, *, #, A-D)", digits)
			}
			c.checkResponseCode(v, joinKey(key+".gather.branches", digits), g.Branches[digits])
		}
		flowRef(key+".gather.default", g.Default, false)
		flowRef(key+".gather.no_input", g.NoInput, false)
	}
	if q := a.Queue; q != nil {
		// A queue or waiting strategy the file does not declare may be
		// created through the API: validation cannot see the database, so
		// it warns, and a call fails at run time if the queue is missing.
		if msg := NameProblem(q.Name); msg != "" {
			v.add(key+".queue.name", "%s", msg)
		} else if !c.queueNames()[q.Name] {
			v.warn(key+".queue.name", "queue %q is not under queues: it must be created through the API "+
				"(POST /api/v1/queues) before a call reaches it, or the call fails with 480", q.Name)
		}
		if q.WaitingStrategy != "" {
			if msg := NameProblem(q.WaitingStrategy); msg != "" {
				v.add(key+".queue.waiting_strategy", "%s", msg)
			} else if _, ok := c.WaitingStrategies[q.WaitingStrategy]; !ok {
				v.warn(key+".queue.waiting_strategy", "waiting strategy %q is not under waiting_strategies: "+
					"it must be created through the API (POST /api/v1/waiting-strategies), or the caller waits in silence",
					q.WaitingStrategy)
			}
		}
	}
	if a.Dial != nil {
		a.Dial.validate(v, key+".dial", trunks)
		checkVarRefs(v, key+".dial.number", a.Dial.Number, vars)
	}
	if a.Hangup != nil {
		if a.Hangup.Code < minErrorCode || a.Hangup.Code > maxErrorCode {
			v.add(key+".hangup.code", "must be a SIP status from %d to %d, not %d", minErrorCode, maxErrorCode, a.Hangup.Code)
		}
		checkVarRefs(v, key+".hangup.reason", a.Hangup.Reason, vars)
	}
	if a.Set != nil {
		validateSet(v, key+".set", a.Set, vars)
	}
}

// validateWaitingStrategies checks each strategy's parts.
func (c *Config) validateWaitingStrategies(v *collector) {
	for _, name := range slices.Sorted(maps.Keys(c.WaitingStrategies)) {
		w := c.WaitingStrategies[name]
		key := joinKey("waiting_strategies", name)
		if msg := NameProblem(name); msg != "" {
			v.add(key, "%s", msg)
		}
		a := w.Announcement
		if a.File != "" && a.Every <= 0 {
			v.add(key+".announcement.every", "is required with an announcement file (e.g. 30s)")
		}
		if a.File == "" && (a.Every != 0 || len(a.ResponseCodes) > 0) {
			v.add(key+".announcement.file", "is required with every or response_codes")
		}
		if a.WaitForResponse < 0 {
			v.add(key+".announcement.wait_for_response", "must not be negative")
		}
		for _, k := range slices.Sorted(maps.Keys(a.ResponseCodes)) {
			ck := joinKey(key+".announcement.response_codes", k)
			if len(k) != 1 || !strings.ContainsAny(k, "0123456789*#ABCD") {
				v.add(ck, "%q is not one key (0-9, *, #, A-D)", k)
			}
			c.checkResponseCode(v, ck, a.ResponseCodes[k])
		}
		if w.MaxWait < 0 {
			v.add(key+".max_wait", "must not be negative")
		}
		if w.MaxWait == 0 && (w.MaxWaitMessage != "" || w.MaxWaitFlow != "") {
			v.add(key+".max_wait", "is required with max_wait_message or max_wait_flow")
		}
		if w.MaxWaitFlow != "" {
			if _, ok := c.Flows[w.MaxWaitFlow]; !ok {
				v.add(key+".max_wait_flow", "unknown flow %q", w.MaxWaitFlow)
			}
		}
	}
}

// validateSchedules checks each working-hours schedule and returns the
// names defined.
func (c *Config) validateSchedules(v *collector) map[string]bool {
	names := map[string]bool{}
	for i, sc := range c.Schedules {
		key := fmt.Sprintf("schedules[%d]", i)
		if sc.Name == "" {
			v.add(key+".name", "is required")
		} else if msg := NameProblem(sc.Name); msg != "" {
			v.add(key+".name", "%s", msg)
		} else if names[sc.Name] {
			v.add(key+".name", "schedule %q is defined twice", sc.Name)
		}
		names[sc.Name] = true
		for _, p := range sc.Validate() {
			v.add(key+"."+p.Key, "%s", p.Msg)
		}
	}
	return names
}

// flowLoops reports flows that reach themselves through goto and
// working_hours branches: such a flow never ends. Branches taken on the
// caller's keys (gather) may loop back (a menu repeated): the caller ends
// those.
func (c *Config) flowLoops(v *collector) {
	next := func(name string) []string {
		var out []string
		for _, a := range c.Flows[name] {
			switch {
			case a.Goto != nil:
				out = append(out, a.Goto.Flow)
			case a.WorkingHours != nil:
				out = append(out, a.WorkingHours.Open, a.WorkingHours.Closed)
			}
		}
		return out
	}
	names := make([]string, 0, len(c.Flows))
	for name := range c.Flows {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, start := range names {
		// Depth-first from start; a path back to start is a loop.
		var path []string
		seen := map[string]bool{}
		var walk func(n string) bool
		walk = func(n string) bool {
			for _, m := range next(n) {
				if m == "" {
					continue
				}
				if m == start {
					path = append(path, m)
					return true
				}
				if seen[m] {
					continue
				}
				seen[m] = true
				path = append(path, m)
				if walk(m) {
					return true
				}
				path = path[:len(path)-1]
			}
			return false
		}
		if walk(start) {
			v.add(joinKey("flows", start), "never ends: %s → %s", start, strings.Join(path, " → "))
		}
	}
}

func (d *DialAction) validate(v *collector, key string, trunks map[string]*Trunk) {
	outbound := func(k, name string) {
		if t, ok := trunks[name]; name == "" {
			v.add(k, "is required")
		} else if !ok {
			v.add(k, "unknown trunk %q", name)
		} else if t.Outbound == nil {
			v.add(k, "trunk %q has no outbound section", name)
		}
	}
	switch {
	case d.Trunk != "" && len(d.Trunks) > 0:
		v.add(key+".trunks", "give trunk or trunks, not both")
	case len(d.Trunks) > 0:
		seen := map[string]int{}
		for i, name := range d.Trunks {
			k := fmt.Sprintf("%s.trunks[%d]", key, i)
			if j, dup := seen[name]; dup && name != "" {
				v.add(k, "trunk %q is listed twice (first at %s.trunks[%d])", name, key, j)
				continue
			}
			seen[name] = i
			outbound(k, name)
		}
	default:
		outbound(key+".trunk", d.Trunk)
	}
	if d.Number != "" && !strings.Contains(d.Number, "{{") && !isNumber(d.Number) {
		v.add(key+".number", "%q is not a number (digits with an optional leading '+')", d.Number)
	}
	if d.Timeout < 0 {
		v.add(key+".timeout", "must not be negative")
	}
}

// parsePorts parses an RTP port range "MIN-MAX".
func parsePorts(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	lo, errLo := strconv.Atoi(strings.TrimSpace(a))
	hi, errHi := strconv.Atoi(strings.TrimSpace(b))
	switch {
	case !ok || errLo != nil || errHi != nil:
		return 0, 0, fmt.Errorf("%q is not a port range MIN-MAX", s)
	case lo < minRTPPort || hi > maxRTPPort:
		return 0, 0, fmt.Errorf("%q must lie within %d-%d", s, minRTPPort, maxRTPPort)
	case lo >= hi:
		return 0, 0, fmt.Errorf("%q: MIN must be below MAX", s)
	case hi-lo+1 < minRTPPorts:
		return 0, 0, fmt.Errorf("%q holds %d ports, at least %d are needed", s, hi-lo+1, minRTPPorts)
	}
	return lo, hi, nil
}

func formatPorts(lo, hi int) string { return fmt.Sprintf("%d-%d", lo, hi) }

// listenProblem checks a SIP listen URL transport://host:port.
func listenProblem(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Opaque != "" || u.Host == "" {
		return fmt.Sprintf("%q is not a listen URL such as udp://127.0.0.1:5060", s)
	}
	if !oneOf(u.Scheme, "udp", "tcp", "tls") {
		return fmt.Sprintf("%q: unknown transport %q (want udp, tcp or tls)", s, u.Scheme)
	}
	if u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Sprintf("%q must be transport://host:port with nothing more", s)
	}
	if msg := hostPortProblem(u.Host, true); msg != "" {
		return fmt.Sprintf("%q: %s", s, msg)
	}
	return ""
}

// hostPortProblem checks "host:port"; an empty host is allowed unless
// needHost; port 0 asks the system for a free port.
func hostPortProblem(s string, needHost bool) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Sprintf("%q is not host:port", s)
	}
	if (needHost || host != "") && !validHost(host) {
		return fmt.Sprintf("%q has an invalid host", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("%q has an invalid port", s)
	}
	return ""
}

// sipURIProblem checks an outbound target: sip: or sips:, a host, an
// optional port and an optional transport parameter.
func sipURIProblem(s string) string {
	scheme, rest, _ := strings.Cut(s, ":")
	scheme = strings.ToLower(scheme)
	if scheme != "sip" && scheme != "sips" {
		return fmt.Sprintf("%q is not a sip: or sips: URI", s)
	}
	if strings.ContainsAny(rest, "?") {
		return fmt.Sprintf("%q: headers (?...) are not allowed", s)
	}
	hostport, params, _ := strings.Cut(rest, ";")
	if at := strings.LastIndexByte(hostport, '@'); at >= 0 {
		hostport = hostport[at+1:]
	}
	if msg := uriHostPortProblem(hostport); msg != "" {
		return fmt.Sprintf("%q: %s", s, msg)
	}
	for p := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(p, "=")
		if !strings.EqualFold(name, "transport") {
			continue
		}
		if !oneOf(value, "udp", "tcp", "tls") {
			return fmt.Sprintf("%q: unknown transport %q (want udp, tcp or tls)", s, value)
		}
		if scheme == "sips" && strings.EqualFold(value, "udp") {
			return fmt.Sprintf("%q: a sips: URI cannot use transport=udp", s)
		}
	}
	return ""
}

// uriHostPortProblem checks the host[:port] part of a SIP URI.
func uriHostPortProblem(hp string) string {
	host, port := hp, ""
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "unterminated IPv6 address"
		}
		host, port = hp[1:end], strings.TrimPrefix(hp[end+1:], ":")
		if !isIP(host) {
			return fmt.Sprintf("invalid IPv6 address %q", host)
		}
	} else if h, p, ok := strings.Cut(hp, ":"); ok {
		host, port = h, p
	}
	if host == "" {
		return "host is missing"
	}
	if !validHost(host) {
		return fmt.Sprintf("invalid host %q", host)
	}
	if n, err := strconv.Atoi(port); port != "" && (err != nil || n < 1 || n > 65535) {
		return fmt.Sprintf("invalid port %q", port)
	}
	return ""
}

// fileProblem says why path is not a readable regular file, or "".
func fileProblem(path string) string {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Sprintf("file %q does not exist", path)
	case err != nil:
		return err.Error()
	case info.IsDir():
		return fmt.Sprintf("%q is a directory, not a file", path)
	}
	return ""
}

// MaxNameLength bounds a name (NameProblem).
const MaxNameLength = 64

// NamePattern is the regular expression a name matches (NameProblem), for
// documents such as the API's OpenAPI schema.
var NamePattern = fmt.Sprintf("^[a-z0-9_-]{1,%d}$", MaxNameLength)

// NameProblem checks a name: the name of a trunk, flow, schedule, waiting
// strategy or API key, and the id of a queue or agent, whether it comes from
// the configuration or the REST API. A name is 1 to MaxNameLength lowercase
// letters, digits, '-' and '_'. It returns what is wrong, or "".
func NameProblem(name string) string {
	if name == "" {
		return "is required"
	}
	if strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return fmt.Sprintf("invalid name %q: use lowercase letters, digits, '-' and '_'", name)
	}
	if len(name) > MaxNameLength {
		return fmt.Sprintf("invalid name %q: use at most %d characters", name, MaxNameLength)
	}
	return ""
}

// patternProblem checks a number pattern: digits, '+', '*' and '?'.
func patternProblem(p string) string {
	if p == "" {
		return "empty number pattern"
	}
	if strings.Trim(p, "0123456789+*?") != "" {
		return fmt.Sprintf("invalid number pattern %q: use digits, '+', '*' and '?'", p)
	}
	return ""
}

// isNumber reports whether s is digits with an optional leading '+'.
func isNumber(s string) bool {
	digits := strings.TrimPrefix(s, "+")
	return digits != "" && strings.Trim(digits, "0123456789") == ""
}

// validHost reports whether s is an IP address or a DNS host name.
func validHost(s string) bool {
	if isIP(s) {
		return true
	}
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") ||
			strings.Trim(strings.ToLower(label), "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return false
		}
	}
	return true
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func isPrefix(s string) bool {
	_, err := netip.ParsePrefix(s)
	return err == nil
}

// oneOf reports whether s equals one of choices, ignoring case.
func oneOf(s string, choices ...string) bool {
	return slices.ContainsFunc(choices, func(c string) bool { return strings.EqualFold(s, c) })
}

// validate checks the HTTP listener's timeouts and caps.
func (h HTTP) validate(v *collector) {
	if msg := hostPortProblem(h.Listen, false); msg != "" {
		v.add("http.listen", "%s", msg)
	}
	for _, d := range []struct {
		key string
		val time.Duration
	}{{"read_header_timeout", h.ReadHeaderTimeout}, {"read_timeout", h.ReadTimeout},
		{"write_timeout", h.WriteTimeout}, {"idle_timeout", h.IdleTimeout}} {
		if d.val < 0 {
			v.add("http."+d.key, "must not be negative (0 means the default)")
		}
	}
	if h.ReadTimeout > 0 && h.ReadHeaderTimeout > h.ReadTimeout {
		v.add("http.read_header_timeout", "is %s, longer than http.read_timeout (%s), which bounds the headers too", h.ReadHeaderTimeout, h.ReadTimeout)
	}
	if h.MaxConns < 0 {
		v.add("http.max_conns", "must not be negative (0 = no cap)")
	}
	if h.MaxConnsPerIP < 0 {
		v.add("http.max_conns_per_ip", "must not be negative (0 = no cap)")
	}
	if h.MaxConns > 0 && h.MaxConnsPerIP > h.MaxConns {
		v.add("http.max_conns_per_ip", "is %d, more than http.max_conns (%d)", h.MaxConnsPerIP, h.MaxConns)
	}
}
