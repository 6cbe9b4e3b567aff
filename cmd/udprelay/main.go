// Command udprelay is a bare Go UDP relay: the baseline that `make loadtest`
// compares the switch's media relay (media.Relay) with. It is deliberately
// minimal: one goroutine per socket, a preallocated buffer, ReadFromUDPAddrPort
// and WriteToUDPAddrPort, no parsing of the packets.
//
// Usage:
//
//	udprelay -ip 127.0.0.1 -ports 30000-31999
//	udprelay -listen-a 127.0.0.1:30000 -listen-b 127.0.0.1:30002
//
// Pairing. -ports LO-HI is cut into blocks of four ports starting at LO
// (rounded up to even). Block k relays leg A on port LO+4k with leg B on port
// LO+4k+2; the odd ports between (RTCP in the switch's layout) are not
// opened. A block whose B port would be above HI is not used. So
// -ports 30000-31999 relays 500 pairs: 30000↔30002, 30004↔30006, …,
// 31996↔31998. This is the layout of the switch too: its port allocator hands
// out even RTP ports round robin, so the two legs of a call sit on two
// consecutive even ports. -listen-a and -listen-b relay one explicit pair
// instead of -ports.
//
// Latching. Each socket latches onto the source address of the first packet
// it receives and keeps it. A packet received on A is sent out of B to B's
// latched peer, and the other way round. Until B's peer has sent a packet,
// packets received on A are dropped (and counted), so both far ends must
// send (a load test sends both ways anyway). There is no anti-hijack check:
// after latching, packets from any source are relayed.
//
// On SIGINT or SIGTERM it prints the packets relayed and dropped and exits.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

func main() {
	ip := flag.String("ip", "127.0.0.1", "address to bind the -ports range on")
	ports := flag.String("ports", "30000-31999", "port range LO-HI: pairs LO+4k <-> LO+4k+2")
	listenA := flag.String("listen-a", "", "one pair instead of -ports: leg A address (host:port)")
	listenB := flag.String("listen-b", "", "one pair instead of -ports: leg B address (host:port)")
	flag.Parse()

	pairs, err := plan(*ip, *ports, *listenA, *listenB)
	if err != nil {
		fmt.Fprintln(os.Stderr, "udprelay:", err)
		os.Exit(2)
	}
	var legs []*leg
	for _, p := range pairs {
		a, err := listen(p[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, "udprelay:", err)
			os.Exit(1)
		}
		b, err := listen(p[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "udprelay:", err)
			os.Exit(1)
		}
		go a.run(b)
		go b.run(a)
		legs = append(legs, a, b)
	}
	fmt.Fprintf(os.Stderr, "udprelay: relaying %d pairs, first %s<->%s\n", len(pairs), pairs[0][0], pairs[0][1])

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	var relayed, dropped uint64
	for _, l := range legs {
		relayed += l.relayed.Load()
		dropped += l.dropped.Load()
	}
	fmt.Printf("relayed %d dropped %d\n", relayed, dropped)
}

// plan returns the address pairs to relay.
func plan(ip, ports, listenA, listenB string) ([][2]netip.AddrPort, error) {
	if listenA != "" || listenB != "" {
		a, err := netip.ParseAddrPort(listenA)
		if err != nil {
			return nil, fmt.Errorf("-listen-a: %w", err)
		}
		b, err := netip.ParseAddrPort(listenB)
		if err != nil {
			return nil, fmt.Errorf("-listen-b: %w", err)
		}
		return [][2]netip.AddrPort{{a, b}}, nil
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return nil, fmt.Errorf("-ip: %w", err)
	}
	los, his, ok := strings.Cut(ports, "-")
	lo, err1 := strconv.Atoi(los)
	hi, err2 := strconv.Atoi(his)
	if !ok || err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return nil, fmt.Errorf("-ports %q: want LO-HI within 1-65535", ports)
	}
	lo += lo % 2
	var pairs [][2]netip.AddrPort
	for p := lo; p+2 <= hi; p += 4 {
		pairs = append(pairs, [2]netip.AddrPort{
			netip.AddrPortFrom(addr, uint16(p)),
			netip.AddrPortFrom(addr, uint16(p+2)),
		})
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("-ports %q holds no pair", ports)
	}
	return pairs, nil
}

// leg is one socket of a pair and the peer it latched onto.
type leg struct {
	conn    *net.UDPConn
	peer    atomic.Pointer[netip.AddrPort] // nil until the first packet
	relayed atomic.Uint64                  // packets received here and sent on
	dropped atomic.Uint64                  // packets received here with nowhere to go
}

func listen(a netip.AddrPort) (*leg, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(a))
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", a, err)
	}
	return &leg{conn: c}, nil
}

// run reads l's socket and sends every packet out of other's socket to
// other's latched peer.
func (l *leg) run(other *leg) {
	buf := make([]byte, 2048)
	for {
		n, from, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if l.peer.Load() == nil {
			latched := from
			l.peer.Store(&latched)
		}
		to := other.peer.Load()
		if to == nil {
			l.dropped.Add(1)
			continue
		}
		if _, err := other.conn.WriteToUDPAddrPort(buf[:n], *to); err != nil {
			l.dropped.Add(1)
			continue
		}
		l.relayed.Add(1)
	}
}
