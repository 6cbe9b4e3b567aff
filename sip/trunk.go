package sip

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/config"
)

// TrunkState is an outbound trunk's reachability from OPTIONS keep-alives.
type TrunkState int32

// Trunk states. A trunk without keep-alive is always Up.
const (
	TrunkUp TrunkState = iota
	TrunkDown
)

func (s TrunkState) String() string {
	if s == TrunkDown {
		return "down"
	}
	return "up"
}

// RegState is an outbound registration's state.
type RegState int32

// Registration states.
const (
	RegNone RegState = iota // registration not configured
	RegPending
	RegRegistered
	RegFailed
)

func (s RegState) String() string {
	return [...]string{"none", "pending", "registered", "failed"}[s]
}

// Trunk is a configured trunk at run time: its matchers, limits and state.
type Trunk struct {
	Config config.Trunk

	allow   []netip.Prefix
	format  NumberFormat
	target  *sip.Uri // outbound target, nil when inbound only
	limiter *RateLimiter

	channels atomic.Int64
	state    atomic.Int32 // TrunkState

	mu        sync.Mutex // guards the registration fields
	reg       RegState
	regDetail string
	regUntil  time.Time
}

// NewTrunk prepares a trunk from configuration (already validated).
func NewTrunk(c config.Trunk) (*Trunk, error) {
	t := &Trunk{Config: c, limiter: NewRateLimiter(c.MaxCPS)}
	if c.Inbound != nil {
		for _, a := range c.Inbound.Allow {
			p, err := parsePrefix(a)
			if err != nil {
				return nil, fmt.Errorf("trunk %s: allow %q: %w", c.Name, a, err)
			}
			t.allow = append(t.allow, p)
		}
	}
	if c.Outbound != nil {
		var u sip.Uri
		if err := sip.ParseUri(c.Outbound.URI, &u); err != nil {
			return nil, fmt.Errorf("trunk %s: outbound uri %q: %w", c.Name, c.Outbound.URI, err)
		}
		t.target = &u
		nf := c.Outbound.NumberFormat
		t.format = NumberFormat{Plus: nf.Plus, TechPrefix: nf.TechPrefix, Strip: nf.Strip}
		if c.Outbound.Register {
			t.reg = RegPending
		}
	}
	return t, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Name is the trunk's configured name.
func (t *Trunk) Name() string { return t.Config.Name }

// Allows reports whether src is in the trunk's inbound source CIDRs.
func (t *Trunk) Allows(src netip.Addr) bool {
	src = src.Unmap()
	for _, p := range t.allow {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// Serves reports whether the trunk's inbound side serves number.
func (t *Trunk) Serves(number string) bool {
	if t.Config.Inbound == nil || len(t.Config.Inbound.Numbers) == 0 {
		return true
	}
	for _, p := range t.Config.Inbound.Numbers {
		if call.MatchNumber(p, number) {
			return true
		}
	}
	return false
}

// Refusal is the SIP edge's answer to an INVITE it turns away before the
// dialplan sees it.
type Refusal struct {
	Code   int    // SIP status code
	Status string // its reason phrase
	Why    string // what the log (and `switchboard route test`) says
}

// CheckNumber is the edge's decision on the called number of an INVITE that
// came in on t: nil when it is a number or a plain name
// (call.ValidDestination: never a wildcard or a URI parameter) that t
// serves, else the refusal the edge sends (484 for what is neither, 404 for
// one not served).
func (t *Trunk) CheckNumber(number string) *Refusal {
	if err := call.ValidDestination(number); err != nil {
		return &Refusal{Code: 484, Status: "Address Incomplete", Why: "called number refused: " + err.Error()}
	}
	if t.Serves(number) {
		return nil
	}
	return &Refusal{Code: 404, Status: "Not Found", Why: fmt.Sprintf("number %s is not in trunk %s's inbound.numbers: %s",
		number, t.Name(), strings.Join(t.Config.Inbound.Numbers, ", "))}
}

// AcquireChannel takes one of the trunk's channels; false when all are in use.
func (t *Trunk) AcquireChannel() bool {
	max := int64(t.Config.MaxChannels)
	for {
		n := t.channels.Load()
		if max > 0 && n >= max {
			return false
		}
		if t.channels.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// ReleaseChannel gives a channel back.
func (t *Trunk) ReleaseChannel() { t.channels.Add(-1) }

// Channels is the number of channels in use.
func (t *Trunk) Channels() int { return int(t.channels.Load()) }

// AllowCall applies the trunk's CPS limit.
func (t *Trunk) AllowCall() bool { return t.limiter.Allow() }

// State is the trunk's keep-alive state.
func (t *Trunk) State() TrunkState { return TrunkState(t.state.Load()) }

func (t *Trunk) setState(s TrunkState) (changed bool) {
	return TrunkState(t.state.Swap(int32(s))) != s
}

// Registration returns the registration state and a detail line.
func (t *Trunk) Registration() (RegState, string, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reg, t.regDetail, t.regUntil
}

func (t *Trunk) setRegistration(s RegState, detail string, until time.Time) {
	t.mu.Lock()
	t.reg = s
	t.regDetail = detail
	t.regUntil = until
	t.mu.Unlock()
}

// Format applies the trunk's outbound number format.
func (t *Trunk) Format(number string) string { return t.format.Apply(number) }

// DialNumber is the called number sent to t for number: number must be
// valid (call.ValidNumber), and so must the trunk's formatting of it, after
// its configured tech prefix. Wildcards, '#' and URI parameters never reach
// a trunk.
func (t *Trunk) DialNumber(number string) (string, error) {
	if err := call.ValidNumber(number); err != nil {
		return "", err
	}
	out := t.Format(number)
	if err := t.checkFormatted(out); err != nil {
		return "", fmt.Errorf("%q formatted for trunk %s: %w", number, t.Name(), err)
	}
	return out, nil
}

// checkFormatted checks a number in the trunk's format: its tech prefix,
// then a valid number (call.ValidNumber).
func (t *Trunk) checkFormatted(out string) error {
	rest, ok := strings.CutPrefix(out, t.format.TechPrefix)
	if !ok {
		return fmt.Errorf("%w: %q lacks the tech prefix %q", call.ErrNumberFormat, out, t.format.TechPrefix)
	}
	return call.ValidNumber(rest)
}

// RateLimiter is a token bucket allowing rate events per second with a burst
// of one second's worth. A zero rate allows everything.
type RateLimiter struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// NewRateLimiter makes a limiter for rate events per second (0 = unlimited).
func NewRateLimiter(rate float64) *RateLimiter {
	return &RateLimiter{rate: rate, tokens: max(rate, 1), now: time.Now}
}

// Allow takes a token if one is available.
func (l *RateLimiter) Allow() bool {
	if l == nil || l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() {
		l.tokens += now.Sub(l.last).Seconds() * l.rate
		if burst := max(l.rate, 1); l.tokens > burst {
			l.tokens = burst
		}
	}
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
