package media

import (
	"bytes"
	"encoding/binary"
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
// at sink from out in order with their payload, payload type and marker
// intact, renumbered into out's stream: out's SSRC, sequence numbers and
// timestamps shifted by a constant from what src sent. At most 8 are in
// flight. It runs on its own goroutine, so it reports instead of failing
// the test.
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
	var seqDelta uint16
	var tsDelta uint32
	for i, want := range pkts {
		sink.SetReadDeadline(time.Now().Add(testTimeout))
		k, from, err := sink.ReadFromUDPAddrPort(buf)
		if err != nil {
			return fmt.Errorf("packet %d: %w", i, err)
		}
		if err := checkRelayed(buf[:k], want, out); err != nil {
			return fmt.Errorf("packet %d: %w", i, err)
		}
		seq, ts := binary.BigEndian.Uint16(buf[2:]), binary.BigEndian.Uint32(buf[4:])
		wseq, wts := binary.BigEndian.Uint16(want[2:]), binary.BigEndian.Uint32(want[4:])
		if i == 0 {
			seqDelta, tsDelta = seq-wseq, ts-wts
		} else if seq-wseq != seqDelta || ts-wts != tsDelta {
			return fmt.Errorf("packet %d: seq %d ts %d, want %d %d (order or spacing changed)",
				i, seq, ts, wseq+seqDelta, wts+tsDelta)
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
	p1 := mkRTP(t, 0, 1, false)
	send(t, nat, p1, f.a.LocalAddr())
	got, _ := recvPacket(t, f.pb)
	mustRelayed(t, got, p1, f.b)
	p2 := mkRTP(t, 0, 2, false)
	send(t, f.pb, p2, f.b.LocalAddr())
	got, from := recvPacket(t, nat)
	if from != f.a.LocalAddr() {
		t.Fatalf("b->a came from %s, want %s", from, f.a.LocalAddr())
	}
	mustRelayed(t, got, p2, f.a)
	expectSilence(t, f.pa)
}

func TestRelayDropsHijackerAndSetRemoteRearms(t *testing.T) {
	f := newRelayFixture(t)
	hijacker := listenPeer(t)
	p1 := mkRTP(t, 0, 1, false)
	send(t, f.pa, p1, f.a.LocalAddr())
	got, _ := recvPacket(t, f.pb)
	first := mustRelayed(t, got, p1, f.b)

	send(t, hijacker, mkRTP(t, 0, 666, false), f.a.LocalAddr())
	waitFor(t, "a foreign drop", func() bool { return f.stats.DroppedForeign.Load() == 1 })
	p2 := mkRTP(t, 0, 2, false)
	send(t, f.pa, p2, f.a.LocalAddr())
	got, _ = recvPacket(t, f.pb)
	// The hijacker's packet never reached b: the next one b's peer sees is
	// seq 2, right after seq 1 in b's stream.
	if p := mustRelayed(t, got, p2, f.b); p.SequenceNumber != first.SequenceNumber+1 {
		t.Fatalf("b's peer got seq %d after %d, want the next one", p.SequenceNumber, first.SequenceNumber)
	}
	p3 := mkRTP(t, 0, 3, false)
	send(t, f.pb, p3, f.b.LocalAddr())
	got, _ = recvPacket(t, f.pa)
	mustRelayed(t, got, p3, f.a)
	expectSilence(t, hijacker)

	// Re-INVITE from a's side with a new address: the relay follows it.
	moved := listenPeer(t)
	f.a.SetRemote(addrOf(moved))
	p4 := mkRTP(t, 0, 4, false)
	send(t, f.pb, p4, f.b.LocalAddr())
	got, _ = recvPacket(t, moved)
	mustRelayed(t, got, p4, f.a)
	p5 := mkRTP(t, 0, 5, false)
	send(t, moved, p5, f.a.LocalAddr())
	got, _ = recvPacket(t, f.pb)
	mustRelayed(t, got, p5, f.b)
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
	sent := mkRTP(t, 101, 1, true)
	send(t, f.pa, sent, f.a.LocalAddr())
	got, _ := recvPacket(t, f.pb)
	p := parseRTP(t, got)
	if p.PayloadType != 96 || !p.Marker || p.SSRC != f.b.SSRC() {
		t.Fatalf("a->b: PT %d marker %v SSRC %#x, want PT 96, marker, SSRC %#x", p.PayloadType, p.Marker, p.SSRC, f.b.SSRC())
	}
	if !bytes.Equal(p.Payload, sent[12:]) {
		t.Fatal("payload changed")
	}
	first := p.SequenceNumber
	send(t, f.pa, mkRTP(t, 0, 2, false), f.a.LocalAddr())
	got, _ = recvPacket(t, f.pb)
	if p := parseRTP(t, got); p.PayloadType != 0 || p.SequenceNumber != first+1 {
		t.Fatalf("unmapped payload type: PT %d seq %d, want PT 0 seq %d", p.PayloadType, p.SequenceNumber, first+1)
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

// TestRTCPTerminated: RTCP from one leg's peer is measured by the switch,
// never relayed to the other leg (each leg is its own RTP session).
func TestRTCPTerminated(t *testing.T) {
	f := newRelayFixture(t)
	paRTCP, pbRTCP := listenPeer(t), listenPeer(t)
	f.a.SetRemoteRTCP(addrOf(paRTCP))
	f.b.SetRemoteRTCP(addrOf(pbRTCP))
	send(t, paRTCP, mkRR(t, 1), f.a.LocalRTCPAddr())
	send(t, f.pa, mkRR(t, 2), f.a.LocalAddr()) // muxed on the RTP port
	waitFor(t, "RTCP received", func() bool { return f.stats.RTCPReceived.Load() == 2 })
	// A marker RTP packet goes through after the RTCP: b's peer sees it
	// and nothing before it.
	send(t, f.pa, mkRTP(t, 0, 7, false), f.a.LocalAddr())
	if got, _ := recvPacket(t, f.pb); classify(got) != kindRTP {
		t.Fatalf("b's peer got %x first, want the RTP packet", got)
	}
	if err := pbRTCP.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, _, err := pbRTCP.ReadFromUDPAddrPort(make([]byte, 1500)); err == nil {
		t.Fatalf("RTCP relayed to b's RTCP port (%d bytes)", n)
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
	if parseRTP(t, next(t, other.rtp)).SequenceNumber != 2 { // as received: not renumbered
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

// TestTapSeesPacketsBeforeTheRelay: a tap on a socket gets every packet it
// receives, as received (before the relay rewrites it), while the relay
// goes on forwarding; removed, it gets nothing more.
func TestTapSeesPacketsBeforeTheRelay(t *testing.T) {
	f := newRelayFixture(t)
	if err := f.relay.SetPayloadTypeMap(AToB, 0, 8); err != nil {
		t.Fatal(err)
	}
	tap := newCaptureSink()
	f.a.AddTap(tap)
	send(t, f.pa, mkRTP(t, 0, 1, false), f.a.LocalAddr())
	if got := parseRTP(t, next(t, tap.rtp)); got.PayloadType != 0 || got.SequenceNumber != 1 {
		t.Errorf("tap got PT %d seq %d, want the packet as received (PT 0, seq 1)", got.PayloadType, got.SequenceNumber)
	}
	relayed, _ := recvPacket(t, f.pb)
	if got := parseRTP(t, relayed); got.PayloadType != 8 {
		t.Errorf("relayed PT %d, want 8: the tap must not stop the relay", got.PayloadType)
	}
	f.a.RemoveTap(tap)
	send(t, f.pa, mkRTP(t, 0, 2, false), f.a.LocalAddr())
	recvPacket(t, f.pb)
	select {
	case <-tap.rtp:
		t.Error("a removed tap still gets packets")
	default:
	}
}

func TestRelayBlockOneWay(t *testing.T) {
	f := newRelayFixture(t)
	f.relay.Block(AToB, true)
	send(t, f.pa, mkRTP(t, 0, 1, false), f.a.LocalAddr())
	expectSilence(t, f.pb)
	// The other way still flows.
	sent := mkRTP(t, 0, 7, false)
	send(t, f.pb, sent, f.b.LocalAddr())
	got, _ := recvPacket(t, f.pa)
	mustRelayed(t, got, sent, f.a)
	f.relay.Block(AToB, false)
	sent = mkRTP(t, 0, 2, false)
	send(t, f.pa, sent, f.a.LocalAddr())
	got, _ = recvPacket(t, f.pb)
	mustRelayed(t, got, sent, f.b)
}
