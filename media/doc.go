// Package media moves a call's audio and video: RTP/RTCP sockets, the port
// allocator that hands them out, and the relay that joins two legs.
//
// The switch is a B2BUA: it puts one of its own RTP addresses in each leg's
// SDP and forwards packets between the legs. When both legs use the same
// codec a [Relay] copies RTP and RTCP from one [Socket] to the other without
// decoding them; this is the hot path and it allocates nothing per packet.
//
// Each Socket has one reader goroutine per UDP socket (RTP and RTCP) and hands
// every valid packet to its [Sink]. The sink can be swapped at run time with
// [Socket.SetSink], which is how a relay, a transcoder, a recorder tap or a
// player takes over a leg's media.
//
// A Socket usually runs over two UDP sockets from a [PortAllocator], but
// any [PacketConn] will do: [NewSocket] makes one over other transports
// (the WebRTC gateway runs its legs' sockets over a PeerConnection's
// tracks), and relays, transcoders and DTMF work the same on it.
//
// Sockets follow symmetric RTP: they send to the address from SDP until the
// first packet arrives, then latch onto that packet's source address (the
// peer may sit behind NAT) and drop packets from any other source until the
// remote address is set again.
package media
