package siptest

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/zaf/g711"

	"github.com/switchboard-voice/switchboard/media/tone"
)

const (
	sampleRate    = 8000
	frameDuration = 20 * time.Millisecond
	frameSamples  = sampleRate / 50 // 160 samples in 20 ms at 8 kHz

	// ToneAmplitude is the peak of the tones a UA sends, as a fraction of full
	// scale (-6 dBFS).
	ToneAmplitude = 0.5

	// DetectWindow is how much received audio ReceivedTone and Hears look at.
	DetectWindow = time.Second

	// minHeard is how much received audio (100 ms) it takes before Hears
	// reports a tone.
	minHeard = sampleRate / 10

	// maxCatchUp bounds how many late frames the sender sends at once after a
	// stall before it gives up on the missed time and starts afresh.
	maxCatchUp = 10
)

// Payload types of the codecs the UA speaks.
const (
	ptPCMU uint8 = 0
	ptPCMA uint8 = 8
)

var codecPT = map[string]uint8{"PCMU": ptPCMU, "PCMA": ptPCMA}
var ptCodec = map[uint8]string{ptPCMU: "PCMU", ptPCMA: "PCMA"}

// media is one call's RTP session: a UDP socket on the RTP IP, a sender
// paced by the clock that sends 20 ms G.711 frames of a tone to the address
// in the peer's SDP, and a receiver that decodes what arrives and feeds a
// Goertzel detector. The mutex guards the fields below it; the counters are
// atomic.
type media struct {
	log  *slog.Logger
	conn *net.UDPConn
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	sent, received atomic.Int64

	mu       sync.Mutex
	remote   *net.UDPAddr // where to send; nil = nowhere yet
	pt       uint8        // payload type we send
	sending  bool         // direction allows us to send
	gen      *tone.Generator
	det      *tone.Detector
	lastRecv time.Time
	lastSrc  *net.UDPAddr
}

func newMedia(ip string, toneHz float64, log *slog.Logger) (*media, error) {
	addr, err := net.ResolveUDPAddr("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, fmt.Errorf("rtp address %q: %w", ip, err)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("rtp listen: %w", err)
	}
	m := &media{
		log:  log,
		conn: conn,
		done: make(chan struct{}),
		gen:  tone.NewGenerator(sampleRate, toneHz, ToneAmplitude),
		det:  tone.NewDetector(sampleRate, DetectWindow),
	}
	m.wg.Add(2)
	go m.receive()
	go m.send()
	return m, nil
}

// port returns the local RTP port.
func (m *media) port() int { return m.conn.LocalAddr().(*net.UDPAddr).Port }

// ip returns the local RTP IP.
func (m *media) ip() string { return m.conn.LocalAddr().(*net.UDPAddr).IP.String() }

// setRemote sets where to send, in which codec, and whether to send at all.
func (m *media) setRemote(addr *net.UDPAddr, pt uint8, sending bool) {
	m.mu.Lock()
	m.remote, m.pt, m.sending = addr, pt, sending
	m.mu.Unlock()
}

func (m *media) setSending(sending bool) {
	m.mu.Lock()
	m.sending = sending
	m.mu.Unlock()
}

func (m *media) setTone(hz float64) {
	m.mu.Lock()
	m.gen.SetFrequency(hz)
	m.mu.Unlock()
}

// relativePower returns the detector's reading for hz, or 0 when nothing was
// received during the last DetectWindow.
func (m *media) relativePower(hz float64) (float64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lastRecv.IsZero() || time.Since(m.lastRecv) > DetectWindow {
		return 0, false
	}
	return m.det.RelativePower(hz), m.det.Len() >= minHeard && m.det.Present(hz)
}

func (m *media) resetAudio() {
	m.mu.Lock()
	m.det.Reset()
	m.lastRecv = time.Time{}
	m.mu.Unlock()
}

func (m *media) close() {
	m.once.Do(func() {
		close(m.done)
		m.conn.Close()
		m.wg.Wait()
	})
}

// send paces 20 ms frames by the clock: frame n is due at start + n·20 ms.
// After a stall it sends the missed frames at once (up to maxCatchUp), so
// the far end gets no gap; beyond that it starts afresh from now.
func (m *media) send() {
	defer m.wg.Done()
	var (
		pcm     [frameSamples]int16
		payload [frameSamples]byte
		buf     [12 + frameSamples]byte
	)
	pkt := rtp.Packet{
		Header:  rtp.Header{Version: 2, SSRC: rand.Uint32(), SequenceNumber: uint16(rand.Uint32()), Timestamp: rand.Uint32(), Marker: true},
		Payload: payload[:],
	}
	hdr := &pkt.Header
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
		for n := 0; !next.After(now) && n < maxCatchUp; n++ {
			m.mu.Lock()
			remote, pt, sending := m.remote, m.pt, m.sending && m.remote != nil
			if sending {
				m.gen.Fill(pcm[:])
			}
			m.mu.Unlock()
			if sending {
				encode(pt, pcm[:], payload[:])
				hdr.PayloadType = pt
				size, err := pkt.MarshalTo(buf[:])
				if err == nil {
					if _, err = m.conn.WriteToUDP(buf[:size], remote); err == nil {
						m.sent.Add(1)
					}
				}
				if err != nil && !errors.Is(err, net.ErrClosed) {
					m.log.Debug("rtp send failed", "error", err)
				}
				hdr.SequenceNumber++
				hdr.Marker = false
			}
			hdr.Timestamp += frameSamples
			next = next.Add(frameDuration)
		}
		if now.Sub(next) > frameDuration {
			next = now.Add(frameDuration)
		}
		timer.Reset(time.Until(next))
	}
}

func (m *media) receive() {
	defer m.wg.Done()
	buf := make([]byte, 1500)
	pcm := make([]int16, 1500)
	var pkt rtp.Packet
	for {
		n, src, err := m.conn.ReadFromUDP(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				m.log.Debug("rtp read failed", "error", err)
			}
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil || pkt.Version != 2 {
			continue
		}
		m.received.Add(1)
		pt := pkt.PayloadType
		if pt != ptPCMU && pt != ptPCMA {
			continue // e.g. telephone-event or comfort noise
		}
		samples := pcm[:len(pkt.Payload)]
		decode(pt, pkt.Payload, samples)
		m.mu.Lock()
		m.det.Write(samples)
		m.lastRecv = time.Now()
		m.lastSrc = src
		m.mu.Unlock()
	}
}

// encode and decode use zaf/g711's per-sample functions (its whole-buffer
// functions allocate).
func encode(pt uint8, pcm []int16, out []byte) {
	if pt == ptPCMA {
		for i, s := range pcm {
			out[i] = g711.EncodeAlawFrame(s)
		}
		return
	}
	for i, s := range pcm {
		out[i] = g711.EncodeUlawFrame(s)
	}
}

func decode(pt uint8, in []byte, pcm []int16) {
	if pt == ptPCMA {
		for i, b := range in {
			pcm[i] = g711.DecodeAlawFrame(b)
		}
		return
	}
	for i, b := range in {
		pcm[i] = g711.DecodeUlawFrame(b)
	}
}
