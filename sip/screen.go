package sip

import (
	"hash/fnv"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-voice/switchboard/config"
)

// Overload control, before any transaction state (Kamailio's pike and
// ratelimit, RFC 5853 SBC practice). sipgo calls Server.screenRequest for
// every request that matches no live server transaction, before it creates
// one (the fork's RequestScreen, third_party/sipgo/README.switchboard.md).
// In order:
//
//  1. Source ACL, for initial INVITEs, REGISTERs and unmatched ACKs: a
//     source no trunk accepts (in no inbound.allow, and no trunk takes digest
//     from any source) gets a stateless 403, or nothing with
//     sip.unknown_sources: drop (an ACK matching none of our dialogs, such
//     as the ACK of that 403, is dropped).
//  2. State cap, for every out-of-dialog request but ACK and CANCEL: with
//     sip.max_transactions server transactions plus calls alive, a stateless
//     503 with Retry-After.
//  3. Per-source rate, for initial INVITEs and REGISTERs: over
//     sip.per_source_cps a source gets one stateless 503 with Retry-After and
//     is banned for sip.per_source_ban; while banned its requests are dropped.
//     A source inside a trunk's inbound.allow is never banned: its address
//     is a real carrier's, and over UDP anyone can spoof it to have the
//     carrier banned. Over its rate it gets a stateless 503 with Retry-After
//     per request, and is served again as soon as its budget refills.
//
// The per-trunk and node-wide CPS budgets are charged later, in onInvite,
// once the trunk is identified (by address or by digest): a source that is
// not a trunk's cannot spend them.

// Screen reasons, the reason label of switchboard_sip_screened_total.
const (
	screenUnknown = "unknown_source"
	screenState   = "state_cap"
	screenRate    = "source_rate"
	screenBanned  = "banned"
	// screenThrottled: over the rate from a trunk's allowed address, not
	// banned.
	screenThrottled = "source_throttled"
)

// screenLogEvery bounds the log lines about one source: one per interval,
// with the count of what was not logged.
const screenLogEvery = time.Minute

// maxTrackedSources bounds the per-source table (rate, ban, log limiting).
const maxTrackedSources = 1 << 16

// sourceACL says, without any state, whether some trunk may accept a source.
type sourceACL struct {
	allow     []netip.Prefix
	anySource bool // a trunk takes digest-authenticated calls from anywhere
}

func newSourceACL(trunks []*Trunk) sourceACL {
	var a sourceACL
	for _, t := range trunks {
		in := t.Config.Inbound
		if in == nil {
			continue
		}
		if len(in.Allow) == 0 {
			if in.Auth != nil {
				a.anySource = true
			}
			continue
		}
		a.allow = append(a.allow, t.allow...)
	}
	return a
}

func (a sourceACL) known(src netip.Addr) bool {
	return a.anySource || a.allowed(src)
}

// allowed reports whether src lies in some trunk's inbound.allow: the
// address of a real carrier, which the screen never bans.
func (a sourceACL) allowed(src netip.Addr) bool {
	src = src.Unmap()
	for _, p := range a.allow {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// sourceTable holds what the screen remembers per source address: its
// token bucket, its ban, and when it was last logged. Entries decay: a
// source quiet for longer than its ban and the log interval is forgotten.
type sourceTable struct {
	rate float64
	ban  time.Duration
	now  func() time.Time

	mu        sync.Mutex
	sources   map[netip.Addr]*sourceState
	lastSweep time.Time
	// unknown limits the log lines about sources no trunk accepts: one
	// for all of them per interval, so that spoofed addresses neither fill
	// the table nor the log.
	unknown sourceState
	// nbanned counts the bans in force, read by banned (the gauge) without
	// a scan. Every ban lasts ban, so they end in the order they began:
	// bans holds them in that order, and expire drops the ended ones from
	// its front.
	nbanned int
	bans    []banEntry
	bansAt  int // bans[:bansAt] are ended and counted off
}

// banEntry is one ban, in sourceTable.bans.
type banEntry struct {
	st    *sourceState
	until time.Time
}

type sourceState struct {
	tokens      float64
	last        time.Time // last refill of tokens
	seen        time.Time // last request seen: a quiet entry decays
	bannedUntil time.Time
	loggedAt    time.Time
	unlogged    int
}

// verdicts of sourceTable.charge
const (
	sourcePass = iota
	sourceOver // over the rate: answer 503, now banned
	sourceBanned
	sourceUntracked // the table is full of live sources
	sourceThrottled // a trusted source over the rate: answer 503, no ban
)

func newSourceTable(rate float64, ban time.Duration) *sourceTable {
	return &sourceTable{rate: rate, ban: ban, now: time.Now, sources: map[netip.Addr]*sourceState{}}
}

// entry returns src's state, creating it; nil when the table is full. Call
// with mu held.
func (t *sourceTable) entry(src netip.Addr, now time.Time) *sourceState {
	if st := t.sources[src]; st != nil {
		return st
	}
	if len(t.sources) >= maxTrackedSources {
		// A full sweep at most once a second: a table full of live
		// sources must not cost a scan per request.
		if now.Sub(t.lastSweep) >= time.Second {
			t.lastSweep = now
			t.sweep(now)
		}
		if len(t.sources) >= maxTrackedSources {
			return nil
		}
	}
	st := &sourceState{tokens: max(t.rate, 1), last: now, seen: now}
	t.sources[src] = st
	return st
}

// sweep forgets the sources whose ban has decayed and that have been quiet
// for a log interval. Call with mu held.
func (t *sourceTable) sweep(now time.Time) {
	idle := max(t.ban, screenLogEvery)
	for src, st := range t.sources {
		if now.After(st.bannedUntil) && now.Sub(st.seen) > idle {
			delete(t.sources, src)
		}
	}
}

// charge takes one request from src's budget (admit without the log
// decision).
func (t *sourceTable) charge(src netip.Addr, trusted bool) int {
	v, _, _ := t.admit(src, trusted)
	return v
}

// admit takes one request from src's budget and, when it is refused, says
// whether a line about it may be logged now and how many were held back
// since the last (shouldLog's answer), all under one lock: this runs for
// every out-of-dialog request of a flood. A trusted source (in a trunk's
// inbound.allow) over its rate is throttled, never banned: a spoofed flood
// from a carrier's address must not lock the carrier out.
func (t *sourceTable) admit(src netip.Addr, trusted bool) (verdict int, log bool, held int) {
	if t.rate <= 0 {
		return sourcePass, false, 0
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(now)
	st := t.entry(src, now)
	if st == nil {
		// The table is full of live sources (a spoofed flood from
		// addresses a trunk accepts): this one passes, and the trunk's
		// and the node's max_cps and the state cap still apply.
		return sourceUntracked, false, 0
	}
	st.seen = now
	verdict = t.chargeLocked(st, now, trusted)
	if verdict != sourcePass {
		log, held = st.logLocked(now)
	}
	return verdict, log, held
}

// chargeLocked is admit's verdict for st. Call with mu held.
func (t *sourceTable) chargeLocked(st *sourceState, now time.Time, trusted bool) int {
	if now.Before(st.bannedUntil) {
		if !trusted {
			return sourceBanned
		}
		// Banned before a reload put it in an allow list: the ban ends
		// now (its entry in bans no longer matches, expire skips it).
		st.bannedUntil = time.Time{}
		t.nbanned--
	}
	burst := max(t.rate, 1)
	st.tokens = min(burst, st.tokens+now.Sub(st.last).Seconds()*t.rate)
	st.last = now
	if st.tokens < 1 && trusted {
		return sourceThrottled
	}
	if st.tokens < 1 {
		// The ban decays by itself; the bucket starts full after it.
		st.bannedUntil = now.Add(t.ban)
		st.tokens = burst
		t.bans = append(t.bans, banEntry{st: st, until: st.bannedUntil})
		t.nbanned++
		return sourceOver
	}
	st.tokens--
	return sourcePass
}

// expire counts off the bans that have ended, from the front of bans
// (amortised O(1): each ban is counted on and off once), and lets the
// slice's array go once half of it is spent. Call with mu held.
func (t *sourceTable) expire(now time.Time) {
	for t.bansAt < len(t.bans) {
		b := t.bans[t.bansAt]
		if now.Before(b.until) {
			break
		}
		if b.st.bannedUntil.Equal(b.until) {
			t.nbanned-- // not ended early (chargeLocked counted that off)
		}
		t.bans[t.bansAt] = banEntry{}
		t.bansAt++
	}
	if t.bansAt > 0 && t.bansAt >= len(t.bans)/2 {
		n := copy(t.bans, t.bans[t.bansAt:])
		clear(t.bans[n:])
		t.bans, t.bansAt = t.bans[:n], 0
	}
}

// logLocked is shouldLog for st. Call with mu held.
func (st *sourceState) logLocked(now time.Time) (bool, int) {
	if !st.loggedAt.IsZero() && now.Sub(st.loggedAt) < screenLogEvery {
		st.unlogged++
		return false, 0
	}
	n := st.unlogged
	st.loggedAt, st.unlogged = now, 0
	return true, n
}

// shouldLog reports whether a line about src may be logged now, and how
// many were held back since the last one. Sources no trunk accepts (known
// false) share one limit and get no entry.
func (t *sourceTable) shouldLog(src netip.Addr, known bool) (bool, int) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	st := &t.unknown
	if known {
		if st = t.entry(src, now); st == nil {
			return false, 0
		}
		st.seen = now
	}
	return st.logLocked(now)
}

// banned counts the sources banned now, in O(1) (the gauge's scrape).
func (t *sourceTable) banned() int {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expire(now)
	return t.nbanned
}

// stateCap returns sip.max_transactions, or the one derived from the
// machine: 32,768 per CPU, between 16,384 and 262,144, and no more than a
// quarter of the memory at 16 kB each. This machine holds about 250 calls
// per second per core (issue 12: 500 CPS on 2 cores), and over UDP each call
// keeps two server transactions (the INVITE's, RFC 6026 Timer L, and the
// BYE's, Timer J) for 32 s after it is answered or ended: 16,000 per core
// at full load; the cap doubles that. 16 kB is what a transaction and the
// goroutine working on it were seen to cost under a flood. The memory is
// the process's: a cgroup's limit when lower than the machine's.
func stateCap(c *config.Config) int {
	if c.SIP.MaxTransactions > 0 {
		return c.SIP.MaxTransactions
	}
	return derivedStateCap(runtime.NumCPU(), memLimit(procMeminfo, cgroupV2MemMax, cgroupV1MemLimit))
}

// derivedStateCap is stateCap's default for cpus and mem bytes (0: unknown).
func derivedStateCap(cpus int, mem uint64) int {
	n := min(max(32768*cpus, 16384), 262144)
	if mem > 0 {
		n = max(min(n, int(min(mem/4/(16<<10), 1<<30))), 1024)
	}
	return n
}

// Where the memory the process may use is read (Linux).
const (
	procMeminfo      = "/proc/meminfo"
	cgroupV2MemMax   = "/sys/fs/cgroup/memory.max"                   // "max" or bytes
	cgroupV1MemLimit = "/sys/fs/cgroup/memory/memory.limit_in_bytes" // bytes; huge when unlimited
)

// memLimit is the memory the process may use, in bytes: the machine's
// (MemTotal in the meminfo file), or the lowest cgroup limit found in the
// cgroups files when lower (a container's memory.max, v2, or
// memory.limit_in_bytes, v1). 0 when none is known.
func memLimit(meminfo string, cgroups ...string) uint64 {
	mem := memTotal(meminfo)
	for _, p := range cgroups {
		if l := cgroupMemLimit(p); l > 0 && (mem == 0 || l < mem) {
			mem = l
		}
	}
	return mem
}

// memTotal is the machine's memory in bytes read from a meminfo file, 0
// when unknown.
func memTotal(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseUint(f[0], 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 0
}

// cgroupMemLimit reads a cgroup memory limit file: bytes, or 0 when there
// is no limit ("max", v2), the file is absent, or it does not parse. v1's
// "unlimited" is a number near 2^63: larger than any machine, memLimit
// ignores it.
func cgroupMemLimit(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// stateInUse is the SIP state the cap bounds: live server transactions plus
// legs (calls in progress, each side).
func (s *Server) stateInUse() int {
	return s.ua.TransactionLayer().ServerTransactions() + s.ActiveLegs()
}

// screenRequest is the fork's RequestScreen: it lets a request through to
// the transaction layer, answers it statelessly, or drops it.
func (s *Server) screenRequest(req *sip.Request) (*sip.Response, bool) {
	outOfDialog := true
	if to := req.To(); to != nil {
		if tag, _ := to.Params.Get("tag"); tag != "" {
			outOfDialog = false
		}
	}
	method := req.Method
	if method == sip.CANCEL {
		// sipgo matched every CANCEL of a live INVITE before the screen:
		// this one matches none (RFC 3261 §9.2: 481), answered without a
		// transaction; from a source no trunk accepts, dropped.
		src, ok := sourceAddr(req)
		if !ok || !s.acl.known(src) {
			s.screened(req, src, false, screenUnknown, false)
			return nil, false
		}
		return s.statelessResponse(req, 481, "Call/Transaction Does Not Exist"), false
	}
	if method == sip.ACK {
		// An ACK is never answered. sipgo matched the ACK of every non-2xx
		// it sent before the screen; a 2xx's ACK belongs to one of our
		// dialogs, possibly from another address of the carrier (it goes
		// to our Contact). Any other (the ACK of a stateless answer, or a
		// forged one) is dropped, from whatever source.
		return nil, s.findDialog(req) != nil
	}
	// A request with a To tag but no dialog of ours (forged, or stale) is
	// screened like an initial one: source ACL and rate. Requests in a live
	// dialog never are.
	forged := !outOfDialog && s.findDialog(req) == nil
	limited := forged || outOfDialog && (method == sip.INVITE || method == sip.REGISTER)
	if limited {
		src, ok := sourceAddr(req)
		if !ok {
			return nil, true // the handler answers 400
		}
		if !s.acl.known(src) {
			drop := s.cfg.SIP.UnknownSources == config.UnknownSourcesDrop
			s.screened(req, src, false, screenUnknown, !drop)
			if drop {
				return nil, false
			}
			return s.statelessResponse(req, 403, "Forbidden"), false
		}
	}
	if outOfDialog {
		if n := s.stateInUse(); n >= s.maxState {
			src, _ := sourceAddr(req)
			s.screened(req, src, s.acl.known(src), screenState, true)
			return s.statelessResponse(req, 503, "Service Unavailable", s.retryAfter()), false
		}
	}
	if !outOfDialog && !forged {
		return nil, true // in a live dialog
	}
	// Every other request is charged to its source: INVITE, REGISTER and
	// forged in-dialog requests from trunks' sources, and out-of-dialog
	// OPTIONS, MESSAGE... from anyone (those get no ACL: carriers ping
	// from addresses in no inbound.allow).
	src, ok := sourceAddr(req)
	if !ok {
		return nil, true
	}
	verdict, log, held := s.sources.admit(src, s.acl.allowed(src))
	switch verdict {
	case sourceOver:
		s.screenedAs(req, screenRate, true, log, held)
		return s.statelessResponse(req, 503, "Service Unavailable", s.retryAfter()), false
	case sourceThrottled:
		// The trunk's own max_cps still applies to what passes (onInvite).
		s.screenedAs(req, screenThrottled, true, log, held)
		return s.statelessResponse(req, 503, "Service Unavailable", s.retryAfter()), false
	case sourceBanned:
		s.screenedAs(req, screenBanned, false, log, held)
		return nil, false
	}
	return nil, true
}

// screened counts a screened request and logs it, at most once per source
// per screenLogEvery.
func (s *Server) screened(req *sip.Request, src netip.Addr, known bool, reason string, answered bool) {
	ok, held := s.sources.shouldLog(src, known)
	s.screenedAs(req, reason, answered, ok, held)
}

// screenedAs counts a screened request, and logs it when log says so (the
// source table's decision, with held lines held back since the last).
func (s *Server) screenedAs(req *sip.Request, reason string, answered, log bool, held int) {
	if s.metrics != nil {
		s.metrics.screened(string(req.Method), reason, answered)
	}
	if !log {
		return
	}
	s.log.Warn("request screened", "reason", reason, "method", string(req.Method),
		"source", req.Source(), "answered", answered, "call_id", callIDOf(req),
		"not_logged_since_last", held)
}

func callIDOf(req *sip.Request) string {
	if c := req.CallID(); c != nil {
		return c.Value()
	}
	return ""
}

// statelessResponse builds a response sent without a transaction.
func (s *Server) statelessResponse(req *sip.Request, code int, reason string, hdrs ...sip.Header) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if to := res.To(); to != nil && to.Params != nil {
		if tag, _ := req.To().Params.Get("tag"); tag == "" {
			// RFC 3261 §8.2.7: a stateless UAS gives a retransmitted
			// request the same To tag: one derived from the request
			// (NewResponseFromRequest's is random).
			to.Params.Add("tag", statelessTag(req))
		}
	}
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	res.AppendHeader(sip.NewHeader("Server", s.userAgent()))
	return res
}

// statelessTag is the To tag of a stateless response: a hash of the
// request's Call-ID, From tag and top Via branch, the same for each
// retransmission of the request.
func statelessTag(req *sip.Request) string {
	h := fnv.New64a()
	h.Write([]byte(callIDOf(req)))
	if f := req.From(); f != nil {
		tag, _ := f.Params.Get("tag")
		h.Write([]byte(tag))
	}
	if v := req.Via(); v != nil {
		branch, _ := v.Params.Get("branch")
		h.Write([]byte(branch))
	}
	return "sb" + strconv.FormatUint(h.Sum64(), 36)
}
