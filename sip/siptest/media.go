package siptest

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/switchboard-voice/switchboard/media/codec"
	"github.com/switchboard-voice/switchboard/media/dtmf"
	"github.com/switchboard-voice/switchboard/media/sdes"
	"github.com/switchboard-voice/switchboard/media/tone"
)

const (
	frameDuration = 20 * time.Millisecond

	// ToneAmplitude is the peak of the tones a UA sends, as a fraction of full
	// scale (-6 dBFS).
	ToneAmplitude = 0.5

	// DetectWindow is how much received audio ReceivedTone and Hears look at.
	DetectWindow = time.Second

	// minHeard is how much received audio it takes before Hears reports a
	// tone.
	minHeard = 100 * time.Millisecond

	// maxCatchUp bounds how many late frames the sender sends at once after a
	// stall before it gives up on the missed time and starts afresh.
	maxCatchUp = 10

	// maxDelayed bounds the packets held back by an Impairment's jitter;
	// beyond it packets leave at once.
	maxDelayed = 1024

	// lossBlock is the block of packets over which an Impairment's loss is
	// exact: Loss·lossBlock of them (the fraction carried over) are dropped,
	// at random positions.
	lossBlock = 50

	// maxJitter bounds Impairment.Jitter.
	maxJitter = 5 * time.Second

	// rtpBufSize is large enough for any packet the UA sends or accepts.
	rtpBufSize = 1500
)

// Digit is a DTMF digit received on a call.
type Digit struct {
	// Digit is the key: '0'-'9', '*', '#', 'A'-'D', or 'F' for flash.
	Digit rune
	// Via is how it came: "rfc4733" (telephone-event RTP) or "info" (SIP
	// INFO).
	Via string
	// Duration is the duration the sender gave: the event's total duration
	// for RFC 4733, the Duration field of an application/dtmf-relay INFO
	// (0 when absent).
	Duration time.Duration
}

// Ways a Digit can arrive.
const (
	ViaRFC4733 = "rfc4733"
	ViaINFO    = "info"
)

// Impairment degrades the RTP a call sends, to exercise the far end's jitter
// buffer, packet loss concealment and quality measures. The zero value sends
// every packet at once.
type Impairment struct {
	// Loss is the fraction of RTP packets dropped (0..1), at random
	// positions but exactly: of every 50 packets sent, Loss·50 are dropped
	// (the fraction carried over to the next 50), so that a few seconds of
	// media show the loss asked for whatever the seed.
	Loss float64
	// Jitter delays each packet by a uniform random 0..Jitter (so arrivals
	// reorder). At most 5 s.
	Jitter time.Duration
	// Seed seeds the random source (PCG), for reproducible runs.
	Seed uint64
}

// Pause is what a UA's RTP stream does while the UA does not send (the call
// is on hold, or it holds): real UAs differ, and the far end must take each
// for a pause, not for loss.
type Pause int

const (
	// PauseClock stops sending; the timestamps follow the clock and the
	// sequence numbers carry on from the last packet sent (RFC 3550's
	// sender in silence). The default.
	PauseClock Pause = iota
	// PauseFreeze stops sending; timestamps and sequence numbers carry on
	// where they stopped, as if no time had passed.
	PauseFreeze
	// PauseSkip numbers the frames it does not send, as if they were sent
	// and lost: sequence numbers and timestamps jump on resume.
	PauseSkip
)

// media is one call's RTP session: a UDP socket on the RTP IP (and, when
// port+1 was free, an RTCP socket on port+1), a sender paced by the clock
// that sends 20 ms frames of a tone (or RFC 4733 events) to the address in
// the peer's SDP, and a receiver that decrypts, decodes what arrives and
// feeds a Goertzel detector and a DTMF detector. The mutex guards the fields
// below it; the counters are atomic.
type media struct {
	log         *slog.Logger
	conn        *net.UDPConn
	rtcpConn    *net.UDPConn // nil when port+1 could not be bound
	requireSRTP bool         // drop everything until an SRTP session is set
	done        chan struct{}
	wg          sync.WaitGroup
	once        sync.Once
	dtmfJobs    chan *dtmfJob

	sent, received, dropped, rtcpReceived atomic.Int64

	mu         sync.Mutex
	remote     *net.UDPAddr // where to send; nil = nowhere yet
	sendFmt    format       // codec we send, with the peer's payload type
	teFmt      format       // telephone-event we send, if hasTE
	hasTE      bool
	sending    bool // direction allows us to send
	srtp       *sdes.Session
	localFmts  []format // the formats of our SDP: the peer sends with these
	remoteFmts []format
	toneHz     float64
	gen        *tone.Generator // at genRate
	genRate    int
	det        *tone.Detector // at detRate
	detRate    int
	lastRecv   time.Time
	lastSrc    *net.UDPAddr
	imp        Impairment
	impGen     uint64 // bumped by each setImpairment
	pause      Pause
	muted      bool

	digitMu sync.Mutex
	digits  []Digit
	digitCh chan struct{} // closed and replaced when a digit is added
}

// dtmfJob is a digit SendDTMF hands to the sender.
type dtmfJob struct {
	ctx   context.Context // a job whose caller gave up before it started is skipped
	digit rune
	d     time.Duration
	done  chan error // buffered 1
}

func newMedia(ip string, toneHz float64, requireSRTP bool, log *slog.Logger) (*media, error) {
	conn, rtcpConn, err := listenRTP(ip)
	if err != nil {
		return nil, err
	}
	m := &media{
		log:         log,
		conn:        conn,
		rtcpConn:    rtcpConn,
		requireSRTP: requireSRTP,
		done:        make(chan struct{}),
		dtmfJobs:    make(chan *dtmfJob, 16),
		toneHz:      toneHz,
		gen:         tone.NewGenerator(8000, toneHz, ToneAmplitude),
		genRate:     8000,
		det:         tone.NewDetector(8000, DetectWindow),
		detRate:     8000,
		digitCh:     make(chan struct{}),
	}
	m.wg.Add(2)
	go m.receive()
	go m.send()
	if rtcpConn != nil {
		m.wg.Add(1)
		go m.receiveRTCP()
	}
	return m, nil
}

// listenRTP binds an RTP socket on a free port of ip and, if it can find a
// pair within a few tries, an RTCP socket on the next port (the default RTCP
// port, RFC 3550). Without a pair it returns the RTP socket alone.
func listenRTP(ip string) (rtpConn, rtcpConn *net.UDPConn, err error) {
	addr, err := net.ResolveUDPAddr("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, nil, fmt.Errorf("rtp address %q: %w", ip, err)
	}
	var fallback *net.UDPConn // the last RTP socket without a pair
	for range 16 {
		conn, err := net.ListenUDP("udp", addr)
		if err != nil {
			if fallback != nil {
				return fallback, nil, nil
			}
			return nil, nil, fmt.Errorf("rtp listen: %w", err)
		}
		la := conn.LocalAddr().(*net.UDPAddr)
		if la.Port < 65535 {
			rc, err := net.ListenUDP("udp", &net.UDPAddr{IP: la.IP, Port: la.Port + 1, Zone: la.Zone})
			if err == nil {
				if fallback != nil {
					fallback.Close()
				}
				return conn, rc, nil
			}
		}
		if fallback != nil {
			fallback.Close()
		}
		fallback = conn
	}
	return fallback, nil, nil
}

// port returns the local RTP port.
func (m *media) port() int { return m.conn.LocalAddr().(*net.UDPAddr).Port }

// ip returns the local RTP IP.
func (m *media) ip() string { return m.conn.LocalAddr().(*net.UDPAddr).IP.String() }

// sendParams is what the sender needs from the negotiation.
type sendParams struct {
	addr    *net.UDPAddr
	codec   format
	te      format
	hasTE   bool
	sending bool
	srtp    *sdes.Session // nil: plain RTP
	remote  []format      // the peer's formats (receive fallback)
}

// setRemote sets where to send, in which codec, whether to send at all and
// the SRTP session.
func (m *media) setRemote(p sendParams) {
	m.mu.Lock()
	m.remote, m.sendFmt, m.teFmt, m.hasTE, m.sending = p.addr, p.codec, p.te, p.hasTE, p.sending
	m.srtp = p.srtp
	m.remoteFmts = p.remote
	m.mu.Unlock()
}

// setRemoteAddr changes only where and whether to send.
func (m *media) setRemoteAddr(addr *net.UDPAddr, sending bool) {
	m.mu.Lock()
	m.remote, m.sending = addr, sending
	m.mu.Unlock()
}

// setLocalFormats records the formats of our SDP: what the peer sends with.
func (m *media) setLocalFormats(fs []format) {
	m.mu.Lock()
	m.localFmts = fs
	m.mu.Unlock()
}

func (m *media) setTone(hz float64) {
	m.mu.Lock()
	m.toneHz = hz
	m.gen.SetFrequency(hz)
	m.mu.Unlock()
}

func (m *media) setImpairment(imp Impairment) {
	imp.Loss = min(max(imp.Loss, 0), 1)
	imp.Jitter = min(max(imp.Jitter, 0), maxJitter)
	m.mu.Lock()
	m.imp = imp
	m.impGen++
	m.mu.Unlock()
}

func (m *media) setMuted(on bool) {
	m.mu.Lock()
	m.muted = on
	m.mu.Unlock()
}

func (m *media) setPause(p Pause) {
	m.mu.Lock()
	m.pause = p
	m.mu.Unlock()
}

func (m *media) srtpActive() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.srtp != nil
}

func (m *media) telephoneEvent() (format, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.teFmt, m.hasTE
}

// formatLocked returns the format of a received payload type: as in our SDP
// (what the peer must use), else as in the peer's, else a static one.
func (m *media) formatLocked(pt uint8) (format, bool) {
	for _, f := range m.localFmts {
		if f.pt == pt {
			return f, true
		}
	}
	for _, f := range m.remoteFmts {
		if f.pt == pt {
			return f, true
		}
	}
	f, ok := staticFormats[pt]
	return f, ok
}

// relativePower returns the detector's reading for hz, or 0 when nothing was
// received during the last DetectWindow.
func (m *media) relativePower(hz float64) (float64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lastRecv.IsZero() || time.Since(m.lastRecv) > DetectWindow {
		return 0, false
	}
	enough := m.det.Len() >= int(minHeard.Seconds()*float64(m.detRate))
	return m.det.RelativePower(hz), enough && m.det.Present(hz)
}

func (m *media) resetAudio() {
	m.mu.Lock()
	m.det.Reset()
	m.lastRecv = time.Time{}
	m.mu.Unlock()
}

func (m *media) addDigit(d Digit) {
	m.digitMu.Lock()
	m.digits = append(m.digits, d)
	close(m.digitCh)
	m.digitCh = make(chan struct{})
	m.digitMu.Unlock()
}

// digitsSnapshot returns the digits so far and a channel closed when the
// next one arrives.
func (m *media) digitsSnapshot() ([]Digit, <-chan struct{}) {
	m.digitMu.Lock()
	defer m.digitMu.Unlock()
	return append([]Digit(nil), m.digits...), m.digitCh
}

func (m *media) close() {
	m.once.Do(func() {
		close(m.done)
		m.conn.Close()
		if m.rtcpConn != nil {
			m.rtcpConn.Close()
		}
		m.wg.Wait()
	})
}

// delayed is a packet held back by an Impairment's jitter.
type delayed struct {
	due  time.Time
	seq  uint64 // tie-break: FIFO among equal due times
	addr *net.UDPAddr
	data []byte
}

// delayQueue is a min-heap of delayed packets by due time.
type delayQueue []*delayed

func (q delayQueue) Len() int { return len(q) }
func (q delayQueue) Less(i, j int) bool {
	if q[i].due.Equal(q[j].due) {
		return q[i].seq < q[j].seq
	}
	return q[i].due.Before(q[j].due)
}
func (q delayQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *delayQueue) Push(x any)   { *q = append(*q, x.(*delayed)) }
func (q *delayQueue) Pop() any {
	old := *q
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return d
}

// sender is the state of the sending goroutine (touched by it alone).
type sender struct {
	m        *media
	hdr      rtp.Header
	ts       uint32 // the stream's RTP timestamp (current frame)
	pcm      []int16
	payload  []byte
	pktBuf   []byte
	srtpBuf  []byte
	teBuf    [dtmf.PayloadSize]byte
	encoders map[string]codec.Encoder

	job      *dtmfJob
	dgen     *dtmf.Generator
	dgenRate int

	rng       *rand.Rand
	impGen    uint64
	blockLeft int     // packets left in the current loss block
	dropLeft  int     // of which to drop
	lossAcc   float64 // fraction of a drop carried over
	queue     delayQueue
	qseq      uint64
	free      [][]byte
}

// send paces 20 ms frames by the clock: frame n is due at start + n·20 ms.
// After a stall it sends the missed frames at once (up to maxCatchUp), so
// the far end gets no gap; beyond that it starts afresh from now. The same
// loop releases the packets an Impairment delayed, when they are due.
func (m *media) send() {
	defer m.wg.Done()
	s := &sender{
		m:        m,
		hdr:      rtp.Header{Version: 2, SSRC: rand.Uint32(), SequenceNumber: uint16(rand.Uint32()), Marker: true},
		ts:       rand.Uint32(),
		pcm:      make([]int16, codec.FrameSamples(48000)),
		payload:  make([]byte, rtpBufSize),
		pktBuf:   make([]byte, rtpBufSize),
		srtpBuf:  make([]byte, rtpBufSize+64),
		encoders: map[string]codec.Encoder{},
	}
	defer func() {
		if s.job != nil {
			s.job.done <- ErrEnded
		}
	}()
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-timer.C:
		}
		now := time.Now()
		s.flush(now)
		for n := 0; !next.After(now) && n < maxCatchUp; n++ {
			s.frame(now)
			next = next.Add(frameDuration)
		}
		if now.Sub(next) > frameDuration {
			next = now.Add(frameDuration)
		}
		wait := time.Until(next)
		if len(s.queue) > 0 {
			wait = min(wait, time.Until(s.queue[0].due))
		}
		timer.Reset(max(wait, 0))
	}
}

// frame sends one 20 ms frame: audio, or a telephone-event packet while a
// digit is being sent.
func (s *sender) frame(now time.Time) {
	m := s.m
	if s.job == nil {
		select {
		case s.job = <-m.dtmfJobs:
			if err := s.job.ctx.Err(); err != nil {
				s.job.done <- err
				s.job = nil
			}
		default:
		}
	}
	m.mu.Lock()
	remote, f, te, hasTE, sess := m.remote, m.sendFmt, m.teFmt, m.hasTE, m.srtp
	sending := m.sending && remote != nil
	if f.clock == 0 { // not negotiated: G.711 clock
		f = supportedCodecs["PCMU"]
	}
	samples := f.frameSamples()
	audio := sending && !m.muted && s.job == nil
	if audio {
		if m.genRate != f.clock {
			m.gen = tone.NewGenerator(f.clock, m.toneHz, ToneAmplitude)
			m.genRate = f.clock
		}
		m.gen.Fill(s.pcm[:samples])
	}
	imp, impGen, pause := m.imp, m.impGen, m.pause
	m.mu.Unlock()
	if s.rng == nil || impGen != s.impGen {
		s.rng = rand.New(rand.NewPCG(imp.Seed, imp.Seed^0x9e3779b97f4a7c15))
		s.impGen = impGen
		s.blockLeft, s.dropLeft, s.lossAcc = 0, 0, 0
	}
	if s.job != nil {
		s.sendEvent(now, remote, te, hasTE && sending, sess, imp)
		s.ts += uint32(samples)
		return
	}
	if !audio {
		switch pause {
		case PauseClock:
			s.ts += uint32(samples)
		case PauseSkip:
			s.ts += uint32(samples)
			s.hdr.SequenceNumber++
		}
		return
	}
	defer func() { s.ts += uint32(samples) }()
	enc := s.encoders[f.codec()]
	if enc == nil {
		var err error
		name := f.codec()
		if name == "" {
			name = "PCMU"
		}
		if enc, err = codec.NewEncoder(name, f.clock, codec.Options{}); err != nil {
			m.log.Debug("rtp encoder", "codec", f.name, "error", err)
			return
		}
		s.encoders[f.codec()] = enc
	}
	n, err := enc.Encode(s.pcm[:samples], s.payload)
	if err != nil {
		m.log.Debug("rtp encode failed", "error", err)
		return
	}
	s.hdr.PayloadType = f.pt
	s.hdr.Timestamp = s.ts
	s.write(now, remote, sess, imp, s.payload[:n])
	s.hdr.Marker = false
}

// sendEvent sends the next packet of the digit being sent.
func (s *sender) sendEvent(now time.Time, remote *net.UDPAddr, te format, ok bool, sess *sdes.Session, imp Impairment) {
	if !ok {
		s.job.done <- errors.New("siptest: DTMF: not sending, or telephone-event not negotiated")
		s.job, s.dgen = nil, nil
		return
	}
	if s.dgen == nil || !s.dgen.Busy() {
		if s.dgen == nil || s.dgenRate != te.clock {
			s.dgen, s.dgenRate = dtmf.NewGenerator(te.clock, frameDuration), te.clock
		}
		if err := s.dgen.Start(s.job.digit, s.job.d, s.ts); err != nil {
			s.job.done <- fmt.Errorf("siptest: DTMF: %w", err)
			s.job = nil
			return
		}
	}
	payload, marker, ts, done := s.dgen.Next(s.teBuf[:])
	if payload != nil {
		s.hdr.PayloadType = te.pt
		s.hdr.Marker = marker
		s.hdr.Timestamp = ts
		s.write(now, remote, sess, imp, payload)
		s.hdr.Marker = false
	}
	if done {
		s.job.done <- nil
		s.job = nil
	}
}

// write marshals the packet with s.hdr and payload, encrypts it, and sends,
// drops or delays it as the impairment says.
func (s *sender) write(now time.Time, remote *net.UDPAddr, sess *sdes.Session, imp Impairment, payload []byte) {
	m := s.m
	pkt := rtp.Packet{Header: s.hdr, Payload: payload}
	size, err := pkt.MarshalTo(s.pktBuf)
	s.hdr.SequenceNumber++
	if err != nil {
		m.log.Debug("rtp marshal failed", "error", err)
		return
	}
	data := s.pktBuf[:size]
	if sess != nil {
		if data, err = sess.EncryptRTP(s.srtpBuf[:0], data); err != nil {
			m.log.Debug("srtp encrypt failed", "error", err)
			return
		}
	}
	if s.lose(imp.Loss) {
		m.dropped.Add(1)
		return
	}
	if imp.Jitter > 0 && len(s.queue) < maxDelayed {
		if d := time.Duration(s.rng.Int64N(int64(imp.Jitter) + 1)); d > 0 {
			var b []byte
			if n := len(s.free); n > 0 {
				b, s.free = s.free[n-1][:0], s.free[:n-1]
			}
			s.qseq++
			heap.Push(&s.queue, &delayed{due: now.Add(d), seq: s.qseq, addr: remote, data: append(b, data...)})
			return
		}
	}
	m.writeTo(data, remote)
}

// lose decides whether to drop the next packet: sampling without
// replacement, so that each block of lossBlock packets loses exactly its
// share.
func (s *sender) lose(loss float64) bool {
	if loss <= 0 {
		return false
	}
	if s.blockLeft == 0 {
		s.lossAcc += loss * lossBlock
		s.dropLeft = min(int(s.lossAcc+1e-9), lossBlock)
		s.lossAcc = max(s.lossAcc-float64(s.dropLeft), 0)
		s.blockLeft = lossBlock
	}
	drop := s.rng.IntN(s.blockLeft) < s.dropLeft
	s.blockLeft--
	if drop {
		s.dropLeft--
	}
	return drop
}

// flush sends the delayed packets that are due.
func (s *sender) flush(now time.Time) {
	for len(s.queue) > 0 && !s.queue[0].due.After(now) {
		d := heap.Pop(&s.queue).(*delayed)
		s.m.writeTo(d.data, d.addr)
		s.free = append(s.free, d.data)
	}
}

func (m *media) writeTo(data []byte, addr *net.UDPAddr) {
	if _, err := m.conn.WriteToUDP(data, addr); err != nil {
		if !errors.Is(err, net.ErrClosed) {
			m.log.Debug("rtp send failed", "error", err)
		}
		return
	}
	m.sent.Add(1)
}

// isRTCP tells RTCP from RTP on a muxed port (RFC 5761 §4): RTCP packet
// types 192..223 fall where RTP would have payload types 64..95.
func isRTCP(b []byte) bool { return len(b) >= 8 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223 }

// countRTCP counts an RTCP (or SRTCP) packet that verifies.
func (m *media) countRTCP(b []byte) {
	if !isRTCP(b) {
		return
	}
	m.mu.Lock()
	sess, require := m.srtp, m.requireSRTP
	m.mu.Unlock()
	if sess != nil {
		if _, err := sess.DecryptRTCP(b); err != nil {
			return
		}
	} else if require {
		return
	}
	m.rtcpReceived.Add(1)
}

func (m *media) receiveRTCP() {
	defer m.wg.Done()
	buf := make([]byte, rtpBufSize)
	for {
		n, _, err := m.rtcpConn.ReadFromUDP(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				m.log.Debug("rtcp read failed", "error", err)
			}
			return
		}
		m.countRTCP(buf[:n])
	}
}

func (m *media) receive() {
	defer m.wg.Done()
	buf := make([]byte, rtpBufSize)
	pcm := make([]int16, codec.MaxFrameSamples(48000))
	decoders := map[string]codec.Decoder{}
	var (
		pkt      rtp.Packet
		det      *dtmf.Detector
		detClock int
		detSSRC  uint32
		lastTE   time.Time
	)
	report := func(r dtmf.Report) {
		if r.End {
			m.addDigit(Digit{Digit: r.Digit, Via: ViaRFC4733, Duration: r.Duration})
		}
	}
	for {
		n, src, err := m.conn.ReadFromUDP(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				m.log.Debug("rtp read failed", "error", err)
			}
			return
		}
		data := buf[:n]
		if isRTCP(data) {
			m.countRTCP(data)
			continue
		}
		m.mu.Lock()
		sess := m.srtp
		m.mu.Unlock()
		if sess != nil {
			if data, err = sess.DecryptRTP(data); err != nil {
				continue // not ours, tampered, replayed or plain
			}
		} else if m.requireSRTP {
			continue // no keys yet
		}
		if err := pkt.Unmarshal(data); err != nil || pkt.Version != 2 {
			continue
		}
		m.received.Add(1)
		m.mu.Lock()
		f, ok := m.formatLocked(pkt.PayloadType)
		m.mu.Unlock()
		if !ok {
			continue // e.g. comfort noise
		}
		if f.isTE() {
			if det == nil || detClock != f.clock || detSSRC != pkt.SSRC {
				if det != nil && det.Open() {
					if r, ok := det.Expire(time.Hour); ok {
						report(r)
					}
				}
				det, detClock, detSSRC = dtmf.NewDetector(f.clock), f.clock, pkt.SSRC
			}
			lastTE = time.Now()
			reports, k := det.Feed(pkt.Marker, pkt.Timestamp, pkt.Payload)
			for _, r := range reports[:k] {
				report(r)
			}
			continue
		}
		if det != nil && det.Open() {
			// Audio again: an event whose end packets were all lost ends
			// after the detector's timeout.
			if r, ok := det.Expire(time.Since(lastTE)); ok {
				report(r)
			}
		}
		name := f.codec()
		if name == "" || len(pkt.Payload) == 0 {
			continue
		}
		dec := decoders[name]
		if dec == nil {
			if dec, err = codec.NewDecoder(name, f.clock); err != nil {
				m.log.Debug("rtp decoder", "codec", name, "error", err)
				continue
			}
			decoders[name] = dec
		}
		k, err := dec.Decode(pkt.Payload, pcm)
		if err != nil {
			continue
		}
		rate := dec.SampleRate()
		m.mu.Lock()
		if m.detRate != rate {
			m.det = tone.NewDetector(rate, DetectWindow)
			m.detRate = rate
		}
		m.det.Write(pcm[:k])
		m.lastRecv = time.Now()
		m.lastSrc = src
		m.mu.Unlock()
	}
}
