package media

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// testTimeout bounds every wait for a packet or a counter in these tests.
const testTimeout = 2 * time.Second

var loopback = netip.MustParseAddr("127.0.0.1")

// freePortRange finds pairs*2 consecutive loopback UDP ports (starting even,
// below Linux's ephemeral range) that can be bound now.
func freePortRange(tb testing.TB, pairs int) (lo, hi int) {
	tb.Helper()
	span := 2 * pairs
	start := 20000 + (os.Getpid()*2*span)%10000
	for try := 0; try < 400; try++ {
		base := 20000 + (start-20000+try*span)%12000
		base -= base % 2
		var held []*net.UDPConn
		ok := true
		for p := base; p < base+span; p++ {
			c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(p))))
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			return base, base + span - 1
		}
	}
	tb.Fatalf("no %d free loopback UDP ports found", span)
	return 0, 0
}

// newTestAllocator returns an allocator over a free loopback range of pairs
// pairs with its own Stats.
func newTestAllocator(tb testing.TB, pairs int) (*PortAllocator, *Stats) {
	tb.Helper()
	return newTestAllocatorRTCP(tb, pairs, 0)
}

// newTestAllocatorRTCP is newTestAllocator whose sockets send RTCP reports
// every interval (0: none).
func newTestAllocatorRTCP(tb testing.TB, pairs int, interval time.Duration) (*PortAllocator, *Stats) {
	tb.Helper()
	lo, hi := freePortRange(tb, pairs)
	st := new(Stats)
	a, err := NewPortAllocator(PortAllocatorOptions{IP: loopback, Min: lo, Max: hi, Stats: st, RTCPInterval: interval})
	if err != nil {
		tb.Fatal(err)
	}
	return a, st
}

// openSocket opens a socket that is closed when the test ends.
func openSocket(tb testing.TB, a *PortAllocator) *Socket {
	tb.Helper()
	s, err := a.Open()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// listenPeer opens a loopback UDP socket standing for a far end.
func listenPeer(tb testing.TB) *net.UDPConn {
	tb.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// addrOf is c's local address as a netip.AddrPort.
func addrOf(c *net.UDPConn) netip.AddrPort {
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// send writes b from c to to.
func send(tb testing.TB, c *net.UDPConn, b []byte, to netip.AddrPort) {
	tb.Helper()
	if _, err := c.WriteToUDPAddrPort(b, to); err != nil {
		tb.Fatal(err)
	}
}

// recvPacket reads one datagram from c or fails the test after testTimeout.
func recvPacket(tb testing.TB, c *net.UDPConn) ([]byte, netip.AddrPort) {
	tb.Helper()
	buf := make([]byte, bufSize)
	c.SetReadDeadline(time.Now().Add(testTimeout))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		tb.Fatalf("waiting for a packet on %s: %v", addrOf(c), err)
	}
	return buf[:n], from
}

// expectSilence checks that nothing arrives on c for a short while.
func expectSilence(tb testing.TB, c *net.UDPConn) {
	tb.Helper()
	buf := make([]byte, bufSize)
	c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err == nil {
		tb.Fatalf("%s got %d bytes from %s, want nothing", addrOf(c), n, from)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		tb.Fatal(err)
	}
}

// waitFor polls cond until it holds or testTimeout passes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// mkRTP marshals an RTP packet with a 160-byte payload derived from seq.
func mkRTP(tb testing.TB, pt uint8, seq uint16, marker bool) []byte {
	tb.Helper()
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(int(seq) + i)
	}
	p := rtp.Packet{
		Header: rtp.Header{
			Version:        2,
			Marker:         marker,
			PayloadType:    pt,
			SequenceNumber: seq,
			Timestamp:      uint32(seq) * 160,
			SSRC:           0x5eed,
		},
		Payload: payload,
	}
	b, err := p.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// parseRTP unmarshals b or fails the test.
func parseRTP(tb testing.TB, b []byte) rtp.Packet {
	tb.Helper()
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		tb.Fatalf("not RTP: %v", err)
	}
	return p
}

// captureSink copies the RTP packets a socket delivers into a channel.
// (RTCP never reaches a sink: the socket terminates it.)
type captureSink struct {
	rtp chan []byte
}

func newCaptureSink() *captureSink {
	return &captureSink{rtp: make(chan []byte, 64)}
}

func (c *captureSink) HandleRTP(pkt []byte, _ *Socket) { c.rtp <- append([]byte(nil), pkt...) }

// next waits for one packet on ch.
func next(tb testing.TB, ch chan []byte) []byte {
	tb.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(testTimeout):
		tb.Fatal("timed out waiting for the sink")
		return nil
	}
}

// checkRelayed reports how got, as sent out of socket out, differs from the
// packet sent was when it entered the switch, in what a relay (without
// payload type mapping) preserves: version, marker, payload type and payload.
// The SSRC must be out's own. Sequence numbers and timestamps are renumbered
// into out's stream: callers check them relative to each other.
func checkRelayed(got, sent []byte, out *Socket) error {
	var g, w rtp.Packet
	if err := g.Unmarshal(got); err != nil {
		return fmt.Errorf("not RTP: %w", err)
	}
	if err := w.Unmarshal(sent); err != nil {
		return fmt.Errorf("sent packet not RTP: %w", err)
	}
	switch {
	case g.Version != 2:
		return fmt.Errorf("version %d", g.Version)
	case g.PayloadType != w.PayloadType:
		return fmt.Errorf("payload type %d, want %d", g.PayloadType, w.PayloadType)
	case g.Marker != w.Marker:
		return fmt.Errorf("marker %v, want %v", g.Marker, w.Marker)
	case !bytes.Equal(g.Payload, w.Payload):
		return fmt.Errorf("payload changed (seq %d)", w.SequenceNumber)
	case g.SSRC != out.SSRC():
		return fmt.Errorf("SSRC %#x, want the out socket's %#x", g.SSRC, out.SSRC())
	}
	return nil
}

// mustRelayed fails the test unless checkRelayed accepts got.
func mustRelayed(tb testing.TB, got, sent []byte, out *Socket) rtp.Packet {
	tb.Helper()
	if err := checkRelayed(got, sent, out); err != nil {
		tb.Fatal(err)
	}
	return parseRTP(tb, got)
}
