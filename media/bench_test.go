package media

import (
	"encoding/binary"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hraban/opus"
	"github.com/switchboard-voice/switchboard/media/codec"
	"github.com/switchboard-voice/switchboard/media/tone"
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

// BenchmarkTranscoderFrame measures what a Transcoder does for one
// direction every 20 ms (one op = one frame): jitter buffer push and pop,
// decode, encode, packetize, renumber and send with Socket.WriteRTP to a
// peer that never reads (the kernel discards). It drives
// transcodeDir.process with a synthetic clock, so no time is spent waiting.
// Each direction runs next to the libopus call it wraps, made directly
// through github.com/hraban/opus with the same settings (8000 Hz, complexity
// 5, 24 kb/s, no FEC, no DTX), and SocketWriteRTP is the cost of the send
// alone.
func BenchmarkTranscoderFrame(b *testing.B) {
	const (
		rate       = 8000
		complexity = 5
		bitrate    = 24000 // codec's default at 8000 Hz
		frames     = 50    // one second of signal, looped
	)
	pcm := make([][]int16, frames)
	g1, g2 := tone.NewGenerator(rate, 440, 0.3), tone.NewGenerator(rate, 1300, 0.2)
	for i := range pcm {
		pcm[i] = make([]int16, codec.FrameSamples(rate))
		g1.Fill(pcm[i])
		g2.Add(pcm[i])
	}
	rawEncoder := func(b *testing.B) *opus.Encoder {
		enc, err := opus.NewEncoder(rate, 1, opus.AppVoIP)
		if err != nil {
			b.Fatal(err)
		}
		if err := enc.SetComplexity(complexity); err != nil {
			b.Fatal(err)
		}
		if err := enc.SetBitrate(bitrate); err != nil {
			b.Fatal(err)
		}
		return enc
	}
	encodeAll := func(b *testing.B, encode func([]int16, []byte) (int, error)) [][]byte {
		out := make([][]byte, frames)
		buf := make([]byte, 1500)
		for i, f := range pcm {
			n, err := encode(f, buf)
			if err != nil {
				b.Fatal(err)
			}
			out[i] = append([]byte(nil), buf[:n]...)
		}
		return out
	}
	opusCfg := StreamConfig{Audio: opus111, Encoder: codec.Options{Complexity: complexity}}
	pcmuCfg := StreamConfig{Audio: pcmu}

	// transcode runs one direction from a leg configured in to one
	// configured out, fed with payloads at in's clock.
	transcode := func(b *testing.B, in, out StreamConfig, payloads [][]byte) {
		alloc, st := newTestAllocator(b, 2)
		from, to := openSocket(b, alloc), openSocket(b, alloc)
		to.SetRemote(addrOf(listenPeer(b))) // never read: the kernel drops the overflow
		from.Configure(in)
		to.Configure(out)
		d, err := newTranscodeDir(from, to, in, out, TranscodeRate(in.Audio, out.Audio))
		if err != nil {
			b.Fatal(err)
		}
		step := in.Audio.ClockRate / 50
		now := time.Now()
		i := 0
		frame := func() {
			d.jb.Push(uint16(i), uint32(i)*step, 0xbe9c4, payloads[i%frames], now)
			d.process(now)
			now = now.Add(frameInterval)
			i++
		}
		for range 2 * frames { // warm up: playout started, encoder settled
			frame()
		}
		played0, sent0 := d.jb.Stats().Played, st.PacketsTranscoded.Load()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			frame()
		}
		b.StopTimer()
		// Every frame must have taken the whole path.
		if played, sent := d.jb.Stats().Played-played0, st.PacketsTranscoded.Load()-sent0; played != uint64(b.N) || sent != uint64(b.N) {
			b.Fatalf("%d frames: %d played from the jitter buffer, %d sent (stats %+v, jitter %+v)",
				b.N, played, sent, st.Snapshot(), d.jb.Stats())
		}
	}

	b.Run("PCMUToOpus", func(b *testing.B) {
		ulaw, err := codec.NewEncoder("PCMU", rate, codec.Options{})
		if err != nil {
			b.Fatal(err)
		}
		transcode(b, pcmuCfg, opusCfg, encodeAll(b, ulaw.Encode))
	})
	b.Run("RawOpusEncode", func(b *testing.B) {
		enc := rawEncoder(b)
		out := make([]byte, 1500)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := enc.Encode(pcm[i%frames], out); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("OpusToPCMU", func(b *testing.B) {
		transcode(b, opusCfg, pcmuCfg, encodeAll(b, rawEncoder(b).Encode))
	})
	b.Run("RawOpusDecode", func(b *testing.B) {
		in := encodeAll(b, rawEncoder(b).Encode)
		dec, err := opus.NewDecoder(rate, 1)
		if err != nil {
			b.Fatal(err)
		}
		out := make([]int16, codec.MaxFrameSamples(rate))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := dec.Decode(in[i%frames], out); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("SocketWriteRTP", func(b *testing.B) {
		alloc, _ := newTestAllocator(b, 1)
		s := openSocket(b, alloc)
		s.SetRemote(addrOf(listenPeer(b)))
		pkt := mkRTP(b, 0, 0, false)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			binary.BigEndian.PutUint16(pkt[2:], uint16(i))
			binary.BigEndian.PutUint32(pkt[4:], uint32(i)*160)
			binary.BigEndian.PutUint32(pkt[8:], 0x5eed)
			if err := s.WriteRTP(pkt); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
