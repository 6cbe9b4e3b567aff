package media

import (
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"
)

// The benchmarks below push one RTP stream (172-byte G.711 packets) over
// loopback with a window of benchWindow packets in flight, through:
//
//   - BenchmarkDirectUDP: no forwarder at all (cost of the harness itself);
//   - BenchmarkBareUDPRelay: a minimal Go forwarder, one goroutine reading a
//     socket and calling WriteToUDPAddrPort to a fixed address;
//   - BenchmarkRelay: peer → Socket A → Relay → Socket B → peer.
//
// Besides ns/op they report cpu-ns/op: the process's user+system CPU time per
// packet. The forwarder's own CPU cost per packet is cpu-ns/op minus that of
// BenchmarkDirectUDP; the relay's target is at most 1.5× the bare one's.
const benchWindow = 16

func BenchmarkDirectUDP(b *testing.B) {
	src, dst := listenPeer(b), listenPeer(b)
	runForwardBench(b, src, addrOf(dst), dst)
}

func BenchmarkBareUDPRelay(b *testing.B) {
	src, dst := listenPeer(b), listenPeer(b)
	in, out := listenPeer(b), listenPeer(b)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		bareForward(in, out, addrOf(dst))
	}()
	runForwardBench(b, src, addrOf(in), dst)
	in.Close()
	wg.Wait()
}

func BenchmarkRelay(b *testing.B) {
	alloc, _ := newTestAllocator(b, 2)
	sa, sb := openSocket(b, alloc), openSocket(b, alloc)
	src, dst := listenPeer(b), listenPeer(b)
	sa.SetRemote(addrOf(src))
	sb.SetRemote(addrOf(dst))
	r := NewRelay(sa, sb)
	defer r.Stop()
	runForwardBench(b, src, sa.LocalAddr(), dst)
}

// bareForward is the reference: the least a Go UDP forwarder can do.
func bareForward(in, out *net.UDPConn, to netip.AddrPort) {
	buf := make([]byte, bufSize)
	for {
		n, _, err := in.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		out.WriteToUDPAddrPort(buf[:n], to)
	}
}

// runForwardBench sends b.N packets from src to to and reads them on dst.
func runForwardBench(b *testing.B, src *net.UDPConn, to netip.AddrPort, dst *net.UDPConn) {
	pkt := mkRTP(b, 0, 0, false)
	buf := make([]byte, bufSize)
	dst.SetReadDeadline(time.Now().Add(time.Minute))
	// Warm up: the first packet latches, and lets the reader goroutines settle.
	for i := 0; i < 2*benchWindow; i++ {
		if _, err := src.WriteToUDPAddrPort(pkt, to); err != nil {
			b.Fatal(err)
		}
		if _, _, err := dst.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	sent, got := 0, 0
	for got < b.N {
		for sent < b.N && sent-got < benchWindow {
			pkt[2], pkt[3] = byte(sent>>8), byte(sent) // sequence number
			if _, err := src.WriteToUDPAddrPort(pkt, to); err != nil {
				b.Fatal(err)
			}
			sent++
		}
		if _, _, err := dst.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatalf("after %d of %d packets: %v", got, b.N, err)
		}
		got++
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// The Parallel variants run many streams at once (4 per GOMAXPROCS), each
// through its own relay or bare forwarder: the shape of many calls on one
// machine, where node-wide counters are shared between cores.
const benchStreamsPerProc = 4

func BenchmarkBareUDPRelayParallel(b *testing.B) {
	runParallelForwardBench(b, func(tb testing.TB) (src *net.UDPConn, to netip.AddrPort, dst *net.UDPConn) {
		src, dst = listenPeer(tb), listenPeer(tb)
		in, out := listenPeer(tb), listenPeer(tb)
		go bareForward(in, out, addrOf(dst)) // ends when cleanup closes in
		return src, addrOf(in), dst
	})
}

func BenchmarkRelayParallel(b *testing.B) {
	alloc, _ := newTestAllocator(b, 4*benchStreamsPerProc*runtime.GOMAXPROCS(0))
	runParallelForwardBench(b, func(tb testing.TB) (src *net.UDPConn, to netip.AddrPort, dst *net.UDPConn) {
		sa, sb := openSocket(tb, alloc), openSocket(tb, alloc)
		src, dst = listenPeer(tb), listenPeer(tb)
		sa.SetRemote(addrOf(src))
		sb.SetRemote(addrOf(dst))
		NewRelay(sa, sb)
		return src, sa.LocalAddr(), dst
	})
}

// runParallelForwardBench sets up one stream per parallel goroutine with
// setup (before the timer starts) and sends b.N packets in all.
func runParallelForwardBench(b *testing.B, setup func(testing.TB) (*net.UDPConn, netip.AddrPort, *net.UDPConn)) {
	type stream struct {
		src, dst *net.UDPConn
		to       netip.AddrPort
	}
	streams := make(chan stream, 256)
	for i := 0; i < benchStreamsPerProc*runtime.GOMAXPROCS(0); i++ {
		src, to, dst := setup(b)
		streams <- stream{src, dst, to}
	}
	pkt := mkRTP(b, 0, 0, false)
	b.SetParallelism(benchStreamsPerProc)
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		s := <-streams
		p := append([]byte(nil), pkt...)
		buf := make([]byte, bufSize)
		s.dst.SetReadDeadline(time.Now().Add(time.Minute))
		inflight := 0
		for pb.Next() {
			if _, err := s.src.WriteToUDPAddrPort(p, s.to); err != nil {
				b.Error(err)
				return
			}
			if inflight++; inflight < benchWindow {
				continue
			}
			if _, _, err := s.dst.ReadFromUDPAddrPort(buf); err != nil {
				b.Error(err)
				return
			}
			inflight--
		}
		for ; inflight > 0; inflight-- {
			if _, _, err := s.dst.ReadFromUDPAddrPort(buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}
