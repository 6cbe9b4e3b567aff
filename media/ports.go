package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// ErrNoPorts is returned by [PortAllocator.Open] when every port pair in the
// range is in use, by this allocator or by another process.
var ErrNoPorts = errors.New("media: no free RTP port pair")

// PortAllocatorOptions configure a [PortAllocator].
type PortAllocatorOptions struct {
	// IP is the local address sockets bind to (IPv4 or IPv6; may be
	// unspecified, 0.0.0.0, to bind all addresses of that family).
	IP netip.Addr
	// Min and Max bound the ports used, both included (config rtp.ports,
	// e.g. 20000-29999). RTP takes even ports, RTCP the odd port after, so
	// Min is rounded up to even and a pair is used only if both fit.
	Min, Max int
	// Stats receives the counters of every socket opened; nil gives the
	// allocator counters of its own.
	Stats *Stats
	// RTCPInterval is how often each socket sends an RTCP report to its
	// peer (config rtp.rtcp_interval); 0 sends none.
	RTCPInterval time.Duration
}

// PortAllocator hands out RTP/RTCP port pairs from a range and opens
// [Socket]s on them. Pairs are taken round robin, so a port just freed is
// the last to be reused (late packets of an old call do not reach a new one).
// It is safe for concurrent use.
type PortAllocator struct {
	ip      netip.Addr
	network string
	min     int // first RTP port (even)
	pairs   int
	stats   *Stats

	rtcpInterval time.Duration
	clock        mediaClock // paces the transcoders of the allocator's sockets

	mu    sync.Mutex
	used  []bool // by slot: RTP port min+2*slot; true while reserved or open
	next  int    // slot where the round-robin search starts
	inUse int    // open sockets
}

// NewPortAllocator checks o and returns an allocator. It opens nothing yet.
func NewPortAllocator(o PortAllocatorOptions) (*PortAllocator, error) {
	if !o.IP.IsValid() {
		return nil, errors.New("media: port allocator needs an IP address")
	}
	if o.Min < 1 || o.Max > 65535 || o.Min > o.Max {
		return nil, fmt.Errorf("media: bad RTP port range %d-%d (want 1 <= min <= max <= 65535)", o.Min, o.Max)
	}
	first := o.Min + o.Min%2
	pairs := (o.Max - first + 1) / 2
	if pairs < 1 {
		return nil, fmt.Errorf("media: RTP port range %d-%d holds no even/odd port pair", o.Min, o.Max)
	}
	ip := o.IP.Unmap()
	network := "udp4"
	if ip.Is6() {
		network = "udp6"
	}
	stats := o.Stats
	if stats == nil {
		stats = new(Stats)
	}
	return &PortAllocator{
		ip:      ip,
		network: network,
		min:     first,
		pairs:   pairs,
		stats:   stats,
		used:    make([]bool, pairs),

		rtcpInterval: o.RTCPInterval,
	}, nil
}

// Stats returns the counters shared by the allocator's sockets.
func (a *PortAllocator) Stats() *Stats { return a.stats }

// Open binds the next free pair: RTP on an even port, RTCP on the port after.
// A pair some other process holds (EADDRINUSE on either port) is skipped.
// When no pair is left it fails with an error that wraps ErrNoPorts.
func (a *PortAllocator) Open() (*Socket, error) {
	for tries := 0; tries < a.pairs; tries++ {
		slot, ok := a.reserve()
		if !ok {
			break
		}
		port := a.min + 2*slot
		rtp, rtcp, err := a.bind(port)
		if err != nil {
			a.unreserve(slot)
			if errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return nil, err
		}
		a.mu.Lock()
		a.inUse++
		a.mu.Unlock()
		o := SocketOptions{RTP: rtp, RTCP: rtcp, Local: netip.AddrPortFrom(a.ip, uint16(port)), Stats: a.stats, RTCPInterval: a.rtcpInterval}
		return newSocket(o, a, slot, &a.clock), nil
	}
	a.stats.PortsExhausted.Add(1)
	return nil, fmt.Errorf("media: %s ports %d-%d: %w", a.ip, a.min, a.min+2*a.pairs-1, ErrNoPorts)
}

// InUse is the number of port pairs held by open sockets.
func (a *PortAllocator) InUse() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inUse
}

// reserve marks the next free slot after the last one handed out.
func (a *PortAllocator) reserve() (int, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := 0; i < a.pairs; i++ {
		slot := (a.next + i) % a.pairs
		if !a.used[slot] {
			a.used[slot] = true
			a.next = (slot + 1) % a.pairs
			return slot, true
		}
	}
	return 0, false
}

// unreserve frees a slot whose bind failed.
func (a *PortAllocator) unreserve(slot int) {
	a.mu.Lock()
	a.used[slot] = false
	a.mu.Unlock()
}

// release frees the slot of a closed socket.
func (a *PortAllocator) release(slot int) {
	a.mu.Lock()
	a.used[slot] = false
	a.inUse--
	a.mu.Unlock()
}

// bind opens the UDP sockets of one pair. Binding happens outside the lock,
// so concurrent Opens do not queue behind each other's system calls.
func (a *PortAllocator) bind(port int) (rtp, rtcp *net.UDPConn, err error) {
	rtp, err = net.ListenUDP(a.network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.ip, uint16(port))))
	if err != nil {
		return nil, nil, fmt.Errorf("media: bind RTP port %d: %w", port, err)
	}
	rtcp, err = net.ListenUDP(a.network, net.UDPAddrFromAddrPort(netip.AddrPortFrom(a.ip, uint16(port+1))))
	if err != nil {
		rtp.Close()
		return nil, nil, fmt.Errorf("media: bind RTCP port %d: %w", port+1, err)
	}
	return rtp, rtcp, nil
}
