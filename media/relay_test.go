package media

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// relayFixture is a relay between sockets a and b with a far end on each:
// pa talks to a, pb talks to b.
type relayFixture struct {
	alloc  *PortAllocator
	stats  *Stats
	a, b   *Socket
	pa, pb *net.UDPConn
	relay  *Relay
}

func newRelayFixture(t *testing.T) *relayFixture {
	t.Helper()
	alloc, st := newTestAllocator(t, 2)
	f := &relayFixture{alloc: alloc, stats: st, a: openSocket(t, alloc), b: openSocket(t, alloc)}
	f.pa, f.pb = listenPeer(t), listenPeer(t)
	f.a.SetRemote(addrOf(f.pa))
	f.b.SetRemote(addrOf(f.pb))
	f.relay = NewRelay(f.a, f.b)
	return f
}

// stream sends n RTP packets from src to dst and checks that they arrive
// at sink from out intact and in order, with at most 8 in flight. It runs on
// its own goroutine, so it reports instead of failing the test.
func stream(t *testing.T, src *net.UDPConn, dst *Socket, sink *net.UDPConn, out *Socket, seq0 uint16, n int) error {
	pkts := make([][]byte, n)
	for i := range pkts {
		pkts[i] = mkRTP(t, 0, seq0+uint16(i), i == 0)
	}
	credits := make(chan struct{}, 8)
	for i := 0; i < cap(credits); i++ {
		credits <- struct{}{}
	}
	errc := make(chan error, 1)
	go func() {
		for _, p := range pkts {
			<-credits
			if _, err := src.WriteToUDPAddrPort(p, dst.LocalAddr()); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	buf := make([]byte, bufSize)
	for i, want := range pkts {
		sink.SetReadDeadline(time.Now().Add(testTimeout))
		k, from, err := sink.ReadFromUDPAddrPort(buf)
		if err != nil {
			return fmt.Errorf("packet %d: %w", i, err)
		}
		if !bytes.Equal(buf[:k], want) {
			return fmt.Errorf("packet %d changed or out of order", i)
		}
		if from != out.LocalAddr() {
			return fmt.Errorf("packet %d came from %s, want %s", i, from, out.LocalAddr())
		}
		credits <- struct{}{}
	}
	return <-errc
}

func TestRelayBothWaysIntactInOrder(t *testing.T) {
	f := newRelayFixture(t)
	const n = 200
	var wg sync.WaitGroup
	var errAB, errBA error
	wg.Add(2)
	go func() { defer wg.Done(); errAB = stream(t, f.pa, f.a, f.pb, f.b, 1000, n) }()
	go func() { defer wg.Done(); errBA = stream(t, f.pb, f.b, f.pa, f.a, 5000, n) }()
	wg.Wait()
	if errAB != nil {
		t.Fatalf("a->b: %v", errAB)
	}
	if errBA != nil {
		t.Fatalf("b->a: %v", errBA)
	}
	// Counters move just after the send that delivered the packet: wait for them.
	waitFor(t, "relay counters", func() bool { return f.stats.PacketsRelayed.Load() == 2*n })
	snap := f.stats.Snapshot()
	if snap.PacketsRelayed != 2*n || snap.PacketsReceived != 2*n || snap.PacketsDropped != 0 {
		t.Errorf("stats %+v, want %d received and relayed, none dropped", snap, 2*n)
	}
	if want := uint64(2 * n * len(mkRTP(t, 0, 0, false))); snap.BytesRelayed != want {
		t.Errorf("BytesRelayed = %d, want %d", snap.BytesRelayed, want)
	}
}

func TestRelayLatchesOntoNATSource(t *testing.T) {
	f := newRelayFixture(t)
	nat := listenPeer(t) // a's far end really sends from here, not from its SDP address
	send(t, nat, mkRTP(t, 0, 1, false), f.a.LocalAddr())
	if got, _ := recvPacket(t, f.pb); parseRTP(t, got).SequenceNumber != 1 {
		t.Fatal("first packet not relayed")
	}
	send(t, f.pb, mkRTP(t, 0, 2, false), f.b.LocalAddr())
	got, from := recvPacket(t, nat)
	if parseRTP(t, got).SequenceNumber != 2 || from != f.a.LocalAddr() {
		t.Fatalf("b->a went to the NAT source as seq %d from %s", parseRTP(t, got).SequenceNumber, from)
	}
	expectSilence(t, f.pa)
}

func TestRelayDropsHijackerAndSetRemoteRearms(t *testing.T) {
	f := newRelayFixture(t)
	hijacker := listenPeer(t)
	send(t, f.pa, mkRTP(t, 0, 1, false), f.a.LocalAddr())
	recvPacket(t, f.pb)

	send(t, hijacker, mkRTP(t, 0, 666, false), f.a.LocalAddr())
	waitFor(t, "a foreign drop", func() bool { return f.stats.DroppedForeign.Load() == 1 })
	send(t, f.pa, mkRTP(t, 0, 2, false), f.a.LocalAddr())
	if got, _ := recvPacket(t, f.pb); parseRTP(t, got).SequenceNumber != 2 {
		t.Fatalf("b's peer got seq %d, want 2", parseRTP(t, got).SequenceNumber)
	}
	send(t, f.pb, mkRTP(t, 0, 3, false), f.b.LocalAddr())
	recvPacket(t, f.pa)
	expectSilence(t, hijacker)

	// Re-INVITE from a's side with a new address: the relay follows it.
	moved := listenPeer(t)
	f.a.SetRemote(addrOf(moved))
	send(t, f.pb, mkRTP(t, 0, 4, false), f.b.LocalAddr())
	if got, _ := recvPacket(t, moved); parseRTP(t, got).SequenceNumber != 4 {
		t.Fatal("b->a not sent to the new SDP address")
	}
	send(t, moved, mkRTP(t, 0, 5, false), f.a.LocalAddr())
	if got, _ := recvPacket(t, f.pb); parseRTP(t, got).SequenceNumber != 5 {
		t.Fatal("new peer's packet not relayed")
	}
	send(t, f.pa, mkRTP(t, 0, 6, false), f.a.LocalAddr())
	waitFor(t, "the old peer dropped", func() bool { return f.stats.DroppedForeign.Load() == 2 })
	expectSilence(t, f.pb)
}

func TestRelayPayloadTypeMap(t *testing.T) {
	f := newRelayFixture(t)
	// a's leg calls telephone-event 101, b's leg 96.
	if err := f.relay.SetPayloadTypeMap(AToB, 101, 96); err != nil {
		t.Fatal(err)
	}
	if err := f.relay.SetPayloadTypeMap(BToA, 96, 101); err != nil {
		t.Fatal(err)
	}
	send(t, f.pa, mkRTP(t, 101, 1, true), f.a.LocalAddr())
	got, _ := recvPacket(t, f.pb)
	p := parseRTP(t, got)
	if p.PayloadType != 96 || !p.Marker || p.SequenceNumber != 1 {
		t.Fatalf("a->b: PT %d marker %v seq %d, want PT 96, marker, seq 1", p.PayloadType, p.Marker, p.SequenceNumber)
	}
	if want := mkRTP(t, 101, 1, true); !bytes.Equal(p.Payload, want[12:]) {
		t.Fatal("payload changed")
	}
	send(t, f.pa, mkRTP(t, 0, 2, false), f.a.LocalAddr())
	if got, _ := recvPacket(t, f.pb); parseRTP(t, got).PayloadType != 0 {
		t.Fatal("unmapped payload type changed")
	}
	send(t, f.pb, mkRTP(t, 96, 3, false), f.b.LocalAddr())
	if got, _ := recvPacket(t, f.pa); parseRTP(t, got).PayloadType != 101 {
		t.Fatal("b->a: PT not mapped back to 101")
	}

	// Removing the entry restores pass-through.
	if err := f.relay.SetPayloadTypeMap(AToB, 101, 101); err != nil {
		t.Fatal(err)
	}
	send(t, f.pa, mkRTP(t, 101, 4, false), f.a.LocalAddr())
	if got, _ := recvPacket(t, f.pb); parseRTP(t, got).PayloadType != 101 {
		t.Fatal("PT rewritten after the mapping was removed")
	}

	for _, bad := range [][3]uint8{{0, 128, 0}, {0, 0, 200}, {2, 0, 8}} {
		if err := f.relay.SetPayloadTypeMap(RelayDirection(bad[0]), bad[1], bad[2]); !errors.Is(err, ErrPayloadType) {
			t.Errorf("SetPayloadTypeMap%v = %v, want ErrPayloadType", bad, err)
		}
	}
}

func TestRelayRTCP(t *testing.T) {
	f := newRelayFixture(t)
	paRTCP, pbRTCP := listenPeer(t), listenPeer(t)
	f.a.SetRemoteRTCP(addrOf(paRTCP))
	f.b.SetRemoteRTCP(addrOf(pbRTCP))
	rr, bye := mkRR(t, 1), mkRR(t, 2)

	send(t, paRTCP, rr, f.a.LocalRTCPAddr())
	if got, from := recvPacket(t, pbRTCP); !bytes.Equal(got, rr) || from != f.b.LocalRTCPAddr() {
		t.Fatalf("a->b RTCP: %x from %s", got, from)
	}
	send(t, pbRTCP, bye, f.b.LocalRTCPAddr())
	if got, from := recvPacket(t, paRTCP); !bytes.Equal(got, bye) || from != f.a.LocalRTCPAddr() {
		t.Fatalf("b->a RTCP: %x from %s", got, from)
	}

	// a's peer muxes RTCP on its RTP port; b's does not: it still gets RTCP on its RTCP port.
	send(t, f.pa, rr, f.a.LocalAddr())
	if got, _ := recvPacket(t, pbRTCP); !bytes.Equal(got, rr) {
		t.Fatal("muxed RTCP from a not relayed to b's RTCP port")
	}
	// And when b muxes too, it gets RTCP on its RTP port from b's RTP port.
	f.b.SetRTCPMux(true)
	send(t, f.pa, rr, f.a.LocalAddr())
	if got, from := recvPacket(t, f.pb); !bytes.Equal(got, rr) || from != f.b.LocalAddr() {
		t.Fatalf("muxed RTCP: %x from %s", got, from)
	}
	waitFor(t, "RTCP counters", func() bool { return f.stats.RTCPRelayed.Load() == 4 })
	if got := f.stats.Snapshot(); got.RTCPRelayed != 4 || got.RTCPReceived != 4 || got.PacketsRelayed != 0 {
		t.Errorf("stats %+v, want 4 RTCP received and relayed, no RTP", got)
	}
}

func TestRelayStopDetaches(t *testing.T) {
	f := newRelayFixture(t)
	other := newCaptureSink()
	f.b.SetSink(other) // someone (a recorder, a player) took b over
	f.relay.Stop()
	send(t, f.pa, mkRTP(t, 0, 1, false), f.a.LocalAddr())
	waitFor(t, "a no-sink drop", func() bool { return f.stats.DroppedNoSink.Load() == 1 })
	send(t, f.pb, mkRTP(t, 0, 2, false), f.b.LocalAddr())
	if parseRTP(t, next(t, other.rtp)).SequenceNumber != 2 {
		t.Fatal("Stop removed a sink it did not install")
	}
	expectSilence(t, f.pb)
}

func TestRelayCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	f := newRelayFixture(t)
	send(t, f.pa, mkRTP(t, 0, 1, false), f.a.LocalAddr())
	recvPacket(t, f.pb)
	f.relay.Stop()
	if err := errors.Join(f.a.Close(), f.b.Close()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reader goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
	if n := f.alloc.InUse(); n != 0 {
		t.Errorf("InUse = %d, want 0", n)
	}
}

func TestRelayForwardingDoesNotAllocate(t *testing.T) {
	f := newRelayFixture(t)
	if err := f.relay.SetPayloadTypeMap(AToB, 0, 8); err != nil {
		t.Fatal(err)
	}
	pkt := mkRTP(t, 0, 1, false)
	from := addrOf(f.pa)
	allocs := testing.AllocsPerRun(200, func() {
		pkt[1] = 0
		if classify(pkt) != kindRTP {
			t.Fatal("not RTP")
		}
		if ok, _ := latch(&f.a.rtpPeer, from); !ok {
			t.Fatal("not accepted")
		}
		f.relay.HandleRTP(pkt, f.a)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per relayed packet, want 0", allocs)
	}
}
