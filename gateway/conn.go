package gateway

import (
	"net"
	"net/netip"
	"sync"
)

// slotSize holds any RTP or RTCP packet pion hands out (its receive MTU is
// 1460 bytes).
const slotSize = 1500

// queueSlots is how many packets wait for a leg's socket reader: 640 ms of
// 20 ms audio; more means the reader is stuck and packets are dropped.
const queueSlots = 32

type slot struct {
	n int
	b [slotSize]byte
}

// packetQueue hands packets from a session's pump goroutine (which reads
// pion) to a leg socket's reader goroutine, through a fixed set of
// preallocated slots: nothing is allocated per packet.
type packetQueue struct {
	free, full chan *slot
}

func newPacketQueue(n int) *packetQueue {
	q := &packetQueue{free: make(chan *slot, n), full: make(chan *slot, n)}
	for range n {
		q.free <- new(slot)
	}
	return q
}

// put copies p into a free slot and queues it; false when every slot is
// full (the packet is dropped) or p is too long.
func (q *packetQueue) put(p []byte) bool {
	if len(p) > slotSize {
		return false
	}
	select {
	case s := <-q.free:
		s.n = copy(s.b[:], p)
		q.full <- s // never blocks: at most n slots exist
		return true
	default:
		return false
	}
}

// get waits for a packet and copies it into b; false once done is closed.
func (q *packetQueue) get(b []byte, done <-chan struct{}) (int, bool) {
	select {
	case s := <-q.full:
		n := copy(b, s.b[:s.n])
		q.free <- s
		return n, true
	case <-done:
		return 0, false
	}
}

// trackConn is a media.PacketConn over a session's WebRTC tracks, for one
// leg: what the session's pumps read from pion arrives through in (from
// the fixed address remote, so the socket's latching holds), and what the
// socket writes goes to send (nil: dropped, as RTCP the switch would send:
// pion makes the reports of the WebRTC session itself).
type trackConn struct {
	in     *packetQueue
	remote netip.AddrPort
	send   func(pkt []byte) error

	closeOnce sync.Once
	closed    chan struct{}
}

func newTrackConn(remote netip.AddrPort, send func([]byte) error) *trackConn {
	return &trackConn{in: newPacketQueue(queueSlots), remote: remote, send: send, closed: make(chan struct{})}
}

// deliver queues a packet read from pion for the socket; false if dropped.
func (c *trackConn) deliver(p []byte) bool {
	select {
	case <-c.closed:
		return false
	default:
	}
	return c.in.put(p)
}

// ReadFromUDPAddrPort waits for the next packet delivered; after Close it
// returns net.ErrClosed.
func (c *trackConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	n, ok := c.in.get(b, c.closed)
	if !ok {
		return 0, netip.AddrPort{}, net.ErrClosed
	}
	return n, c.remote, nil
}

// WriteToUDPAddrPort sends b on the track (the address is the socket's
// idea of the peer: the track has only one).
func (c *trackConn) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	if c.send == nil {
		return len(b), nil
	}
	if err := c.send(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Close ends reads and writes; it is idempotent.
func (c *trackConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}
