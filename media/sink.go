package media

// Sink receives the packets a [Socket] reads. A Relay is a Sink; transcoders,
// recorder taps and players are others. Install one with [Socket.SetSink].
//
// HandleRTP runs on the socket's RTP reader goroutine, so it must not block
// and should not allocate. RTCP never reaches a sink: the socket terminates
// it (see [Socket.Quality]). pkt is valid only
// during the call: copy what must outlive it. A sink may modify pkt in place
// (a relay rewrites the payload type before forwarding). A sink must not call
// from.Close: Close waits for the reader goroutines, so it would wait for
// itself; hand the work to another goroutine instead.
type Sink interface {
	// HandleRTP receives one RTP packet read by from (decrypted, when the
	// stream uses SRTP).
	HandleRTP(pkt []byte, from *Socket)
}

// sinkRef boxes a Sink so that it can be swapped with atomic.Pointer.
type sinkRef struct{ sink Sink }
