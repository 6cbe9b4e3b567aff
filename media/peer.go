package media

import (
	"net/netip"
	"sync/atomic"
)

// peer is where a socket sends, and whether that address was learnt from a
// received packet (latched). Values are immutable: a change swaps the pointer,
// so the reader goroutine and any writer agree without a lock and the hot path
// (already latched, same source) allocates nothing.
type peer struct {
	addr    netip.AddrPort // invalid or unspecified: send nothing
	latched bool           // addr is the source of a received packet
	fixed   bool           // RTCP only: addr was given by SetRemoteRTCP, not derived from RTP
}

// sendable reports whether a is an address packets can go to: not the zero
// value, not 0.0.0.0 or :: (SDP hold), not port 0.
func sendable(a netip.AddrPort) bool {
	return a.IsValid() && !a.Addr().IsUnspecified() && a.Port() != 0
}

// normalize turns an IPv4-mapped IPv6 address into plain IPv4, the form the
// kernel reports sources in on an IPv4 socket, so comparisons hold.
func normalize(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// latch checks a packet's source against p. Before latching any source is
// accepted and becomes the peer; after, only that source is. It reports
// whether the packet is accepted and whether it latched.
func latch(p *atomic.Pointer[peer], from netip.AddrPort) (ok, latched bool) {
	for {
		cur := p.Load()
		if cur.latched {
			return cur.addr == from, false
		}
		// Compare-and-swap so that a concurrent SetRemote (which re-arms)
		// is never overwritten by a latch decided on the old state.
		if p.CompareAndSwap(cur, &peer{addr: from, latched: true, fixed: cur.fixed}) {
			return true, true
		}
	}
}

// latchRTCP is latch for the RTCP port, which latches only to the party:
// before latching, a packet is accepted only from the IP address of the RTP
// peer (its latched source, or the address SDP gave) or of the SDP's a=rtcp
// address (p's fixed address); its port may differ (NAT). Anything else is
// foreign, so a stranger spraying the port never takes it.
func latchRTCP(p *atomic.Pointer[peer], rtp, from netip.AddrPort) (ok, latched bool) {
	for {
		cur := p.Load()
		if cur.latched {
			return cur.addr == from, false
		}
		party := sendable(rtp) && rtp.Addr() == from.Addr() ||
			cur.fixed && sendable(cur.addr) && cur.addr.Addr() == from.Addr()
		if !party {
			return false, false
		}
		if p.CompareAndSwap(cur, &peer{addr: from, latched: true, fixed: cur.fixed}) {
			return true, true
		}
	}
}
