package quality

import (
	"testing"
	"time"
)

func BenchmarkObserve(b *testing.B) {
	m := newTestMonitor()
	at := t0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		at = at.Add(ptime)
		m.Observe(uint16(i), uint32(i*tsPerPacket), remoteSSRC, false, 160, at)
	}
}

func BenchmarkSent(b *testing.B) {
	m := newTestMonitor()
	at := t0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		at = at.Add(ptime)
		m.Sent(uint32(i*tsPerPacket), 160, at)
	}
}

func BenchmarkReport(b *testing.B) {
	m := newTestMonitor()
	m.Observe(1, 0, remoteSSRC, false, 160, t0)
	buf := make([]byte, 0, 1500)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now := t0.Add(time.Duration(i) * time.Second)
		m.Sent(uint32(i), 160, now)
		buf, _ = m.Report(buf[:0], now)
	}
}
