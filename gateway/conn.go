package gateway

import (
	"net"
	"net/netip"
	"sync"
)

// trackConn is the write side of a leg's media.Socket over the session's
// WebRTC track: what the socket writes goes to send (nil: dropped, as RTCP
// the switch would send: pion makes the reports of the WebRTC session
// itself). The socket is Pushed: the session's pumps, which read pion,
// hand it what arrives (media.Socket.ReceiveRTP), so nothing reads here.
type trackConn struct {
	send func(pkt []byte) error

	closeOnce sync.Once
	closed    chan struct{}
}

func newTrackConn(send func([]byte) error) *trackConn {
	return &trackConn{send: send, closed: make(chan struct{})}
}

// ReadFromUDPAddrPort is never called on a Pushed socket's transport; it
// waits for Close and returns net.ErrClosed.
func (c *trackConn) ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error) {
	<-c.closed
	return 0, netip.AddrPort{}, net.ErrClosed
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
