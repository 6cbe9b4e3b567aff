package media

import "sync/atomic"

// Stats are node-wide media counters, safe for concurrent use. One Stats is
// shared by every socket of a [PortAllocator]; /metrics reads it through
// [Stats.Snapshot]. The zero value is ready to use.
//
// Every packet the switch drops is counted once in PacketsDropped and once in
// exactly one of the Dropped* reasons or WriteErrors.
type Stats struct {
	// PacketsReceived and BytesReceived count valid RTP packets accepted from a peer.
	PacketsReceived atomic.Uint64
	BytesReceived   atomic.Uint64
	// PacketsRelayed and BytesRelayed count RTP packets a Relay sent out of the other leg.
	PacketsRelayed atomic.Uint64
	BytesRelayed   atomic.Uint64
	// RTCPReceived counts valid RTCP packets accepted from a peer (muxed or not).
	RTCPReceived atomic.Uint64
	// PacketsTranscoded counts RTP packets a Transcoder encoded and sent.
	PacketsTranscoded atomic.Uint64
	// FramesConcealed counts 20 ms frames a Transcoder made up for lost
	// packets (G.711 PLC, Opus PLC or in-band FEC).
	FramesConcealed atomic.Uint64
	// RTCPSent counts the RTCP reports the switch sent (RTCP is not relayed:
	// every leg is its own RTP session).
	RTCPSent atomic.Uint64
	// DTMFReceived counts RFC 4733 digits received (once per digit).
	DTMFReceived atomic.Uint64
	// DroppedSRTP counts SRTP/SRTCP packets that failed authentication or replay checks.
	DroppedSRTP atomic.Uint64

	// PacketsDropped counts every packet received or offered for sending that went nowhere.
	PacketsDropped atomic.Uint64
	// DroppedInvalid counts received packets that are neither RTP nor RTCP.
	DroppedInvalid atomic.Uint64
	// DroppedForeign counts packets from a source other than the latched peer.
	DroppedForeign atomic.Uint64
	// DroppedNoSink counts packets received while a socket had no sink.
	DroppedNoSink atomic.Uint64
	// DroppedNoRemote counts packets not sent because the peer address is
	// unknown or on hold (0.0.0.0) and nothing has latched yet.
	DroppedNoRemote atomic.Uint64
	// WriteErrors counts packets the kernel refused to send.
	WriteErrors atomic.Uint64

	// Latches counts peers latched onto (first packet after open or SetRemote).
	Latches atomic.Uint64
	// PortsExhausted counts PortAllocator.Open calls that failed with ErrNoPorts.
	PortsExhausted atomic.Uint64
}

// StatsSnapshot is a point-in-time copy of [Stats].
type StatsSnapshot struct {
	PacketsReceived   uint64
	BytesReceived     uint64
	PacketsRelayed    uint64
	BytesRelayed      uint64
	RTCPReceived      uint64
	RTCPSent          uint64
	PacketsTranscoded uint64
	FramesConcealed   uint64
	DTMFReceived      uint64
	DroppedSRTP       uint64
	PacketsDropped    uint64
	DroppedInvalid    uint64
	DroppedForeign    uint64
	DroppedNoSink     uint64
	DroppedNoRemote   uint64
	WriteErrors       uint64
	Latches           uint64
	PortsExhausted    uint64
}

// Snapshot reads every counter. Counters are read one by one, so a snapshot
// taken under traffic is not an atomic cut across counters.
func (s *Stats) Snapshot() StatsSnapshot {
	return StatsSnapshot{
		PacketsReceived:   s.PacketsReceived.Load(),
		BytesReceived:     s.BytesReceived.Load(),
		PacketsRelayed:    s.PacketsRelayed.Load(),
		BytesRelayed:      s.BytesRelayed.Load(),
		RTCPReceived:      s.RTCPReceived.Load(),
		RTCPSent:          s.RTCPSent.Load(),
		PacketsTranscoded: s.PacketsTranscoded.Load(),
		FramesConcealed:   s.FramesConcealed.Load(),
		DTMFReceived:      s.DTMFReceived.Load(),
		DroppedSRTP:       s.DroppedSRTP.Load(),
		PacketsDropped:    s.PacketsDropped.Load(),
		DroppedInvalid:    s.DroppedInvalid.Load(),
		DroppedForeign:    s.DroppedForeign.Load(),
		DroppedNoSink:     s.DroppedNoSink.Load(),
		DroppedNoRemote:   s.DroppedNoRemote.Load(),
		WriteErrors:       s.WriteErrors.Load(),
		Latches:           s.Latches.Load(),
		PortsExhausted:    s.PortsExhausted.Load(),
	}
}

// drop counts one dropped packet under reason.
func (s *Stats) drop(reason *atomic.Uint64) {
	reason.Add(1)
	s.PacketsDropped.Add(1)
}
