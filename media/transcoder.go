package media

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-voice/switchboard/media/codec"
	"github.com/switchboard-voice/switchboard/media/jitter"
)

// frameInterval is the switch's audio frame: 20 ms of PCM.
const frameInterval = codec.FrameDuration

// Transcoder joins two sockets whose legs use different audio codecs (G.711
// and Opus): each direction goes through a jitter buffer, is decoded (lost
// packets concealed: G.711 PLC, Opus PLC or in-band FEC), re-encoded in the
// other leg's codec and sent as a stream of 20 ms packets.
//
// PCM runs at the lowest rate both codecs need: 8 kHz whenever a leg is
// G.711, so Opus is opened at 8 kHz and nothing is resampled. The media
// clock (clock.go) plays both directions once every 20 ms, from one of a few
// worker goroutines shared by all transcoders; the sockets' reader goroutines
// only copy packets into the jitter buffers. Telephone-events are
// not transcoded: the socket reports digits (Socket.OnDTMF) and the call
// sends them on the other leg (Socket.SendDTMF).
type Transcoder struct {
	a, b *Socket
	dirs [2]*transcodeDir // AToB, BToA
	rate int
	// built from these; Connect keeps the transcoder while they hold
	ca, cb StreamConfig

	clk      *clockMember
	stopOnce sync.Once
	// blocked directions take no packets (Block): their out stream is
	// silent, as when the party sends nothing.
	blocked [2]atomic.Bool
}

// transcodeDir is one way through a transcoder. Its fields are owned by the
// media clock's worker playing the transcoder, except jb (safe for one pusher
// and one popper).
type transcodeDir struct {
	from, to *Socket
	inPT     uint8
	jb       *jitter.Buffer
	dec      codec.Decoder
	enc      codec.Encoder
	frame    int // PCM samples per 20 ms frame
	popEvery int // the in leg's packet time in frames: pop once per popEvery ticks
	tick     int

	out frameStream // the packets sent towards the out leg

	pcm  []int16 // one decode
	fifo []int16 // decoded PCM not yet encoded
	pkt  [bufSize]byte
}

// TranscodeRate is the PCM sample rate a transcoder between codecs a and b
// works at: 8000 when either is G.711 (or any 8 kHz codec), else the lower
// of the two codecs' rates (Opus: 48000).
func TranscodeRate(a, b Codec) int {
	r := func(c Codec) int {
		if c.Is("opus") {
			return 48000
		}
		return int(c.ClockRate)
	}
	return min(r(a), r(b))
}

// NewTranscoder builds a transcoder between a and b from their stream
// configurations and installs it as the sink of both. Stop it with Stop.
func NewTranscoder(a, b *Socket) (*Transcoder, error) {
	ca, cb := a.Config(), b.Config()
	if ca.Audio.Name == "" || cb.Audio.Name == "" {
		return nil, fmt.Errorf("media: transcoder needs both legs' codecs (have %q and %q)", ca.Audio.Name, cb.Audio.Name)
	}
	rate := TranscodeRate(ca.Audio, cb.Audio)
	t := &Transcoder{a: a, b: b, rate: rate, ca: ca, cb: cb}
	var err error
	if t.dirs[AToB], err = newTranscodeDir(a, b, ca, cb, rate); err != nil {
		return nil, err
	}
	if t.dirs[BToA], err = newTranscodeDir(b, a, cb, ca, rate); err != nil {
		return nil, err
	}
	a.SetSink(t)
	b.SetSink(t)
	t.clk = transcoderClock(a, b).register(t.tick)
	return t, nil
}

// transcoderClock is the media clock that paces a transcoder between a and
// b: the node's (the clock of the PortAllocator either socket came from,
// a's first), else a's own (two sockets of NewSocket).
func transcoderClock(a, b *Socket) *mediaClock {
	if a.alloc == nil && b.alloc != nil {
		return b.clock
	}
	return a.clock
}

// A stream is steady when its socket received this many packets with less
// interarrival jitter than this.
const (
	steadyPackets = 50
	steadyJitter  = 5 * time.Millisecond
)

func newTranscodeDir(from, to *Socket, in, out StreamConfig, rate int) (*transcodeDir, error) {
	dec, err := codec.NewDecoder(in.Audio.Name, rate)
	if err != nil {
		return nil, fmt.Errorf("media: transcoder: %w", err)
	}
	enc, err := codec.NewEncoder(out.Audio.Name, rate, out.Encoder)
	if err != nil {
		return nil, fmt.Errorf("media: transcoder: %w", err)
	}
	ptime := time.Duration(in.Ptime) * time.Millisecond
	if ptime < frameInterval || ptime%frameInterval != 0 {
		ptime = frameInterval
	}
	d := &transcodeDir{
		from:     from,
		to:       to,
		inPT:     in.Audio.PayloadType,
		dec:      dec,
		enc:      enc,
		frame:    codec.FrameSamples(rate),
		popEvery: int(ptime / frameInterval),
		out:      newFrameStream(out.Audio.PayloadType, out.Audio.ClockRate/50),
		pcm:      make([]int16, codec.MaxFrameSamples(rate)),
	}
	d.fifo = make([]int16, 0, codec.MaxFrameSamples(rate)+d.frame)
	jo := jitter.Options{ClockRate: int(in.Audio.ClockRate), Frame: ptime}
	// A stream the socket has measured steady for a second starts playing
	// half a frame sooner (a caller answered by the switch, now bridged to
	// an agent: the agent hears them sooner).
	if n, j := from.Quality().Received(); n >= steadyPackets && j < steadyJitter {
		jo.FirstHold = ptime / 2
	}
	d.jb = jitter.New(jo)
	return d, nil
}

// fits reports whether the transcoder still serves a and b as configured:
// same sockets, codecs, payload types, packet times and encoder settings.
func (t *Transcoder) fits(a, b *Socket) bool {
	same := func(x, y StreamConfig) bool {
		return x.Audio == y.Audio && x.Ptime == y.Ptime && x.Encoder == y.Encoder
	}
	return t.a == a && t.b == b && same(t.ca, a.Config()) && same(t.cb, b.Config())
}

// Block implements [Bridge]: packets received for d are dropped while on.
func (t *Transcoder) Block(d RelayDirection, on bool) {
	if d <= BToA {
		t.blocked[d].Store(on)
	}
}

// Transcoding reports true: packets are decoded and re-encoded.
func (t *Transcoder) Transcoding() bool { return true }

// Rate is the PCM sample rate the transcoder works at.
func (t *Transcoder) Rate() int { return t.rate }

// JitterStats returns the jitter buffer statistics of the direction d.
func (t *Transcoder) JitterStats(d RelayDirection) jitter.Stats { return t.dirs[d].jb.Stats() }

// Stop detaches the transcoder from both sockets and takes it off the media
// clock: when Stop returns, no frame of it is being played or will be.
func (t *Transcoder) Stop() {
	t.stopOnce.Do(func() {
		t.a.replaceSink(t, nil)
		t.b.replaceSink(t, nil)
		t.clk.unregister()
	})
}

// HandleRTP queues an audio packet from either leg in its direction's jitter
// buffer. Other payload types (telephone-event, comfort noise) are not
// transcoded.
func (t *Transcoder) HandleRTP(pkt []byte, from *Socket) {
	var d *transcodeDir
	switch {
	case from == t.a && !t.blocked[AToB].Load():
		d = t.dirs[AToB]
	case from == t.b && !t.blocked[BToA].Load():
		d = t.dirs[BToA]
	default:
		return
	}
	if pkt[1]&0x7f != d.inPT {
		return
	}
	d.jb.Push(binary.BigEndian.Uint16(pkt[2:]), binary.BigEndian.Uint32(pkt[4:]),
		binary.BigEndian.Uint32(pkt[8:]), rtpPayload(pkt), time.Now())
}

// tick plays one frame of both directions; the media clock calls it every
// 20 ms, catching up on late ticks (see clock.go).
func (t *Transcoder) tick(now time.Time) {
	t.dirs[AToB].process(now)
	t.dirs[BToA].process(now)
}

// process plays out one frame of a direction: pop, decode or conceal,
// encode, send.
func (d *transcodeDir) process(now time.Time) {
	d.tick++
	if d.tick >= d.popEvery {
		d.tick = 0
		f := d.jb.Pop(now)
		n := 0
		switch f.Status {
		case jitter.Ready:
			var err error
			if n, err = d.dec.Decode(f.Payload, d.pcm); err != nil {
				n, _ = d.dec.Conceal(nil, d.pcm, d.frame*d.popEvery)
			}
		case jitter.Lost:
			n, _ = d.dec.Conceal(f.Next, d.pcm, d.frame*d.popEvery)
			d.from.stats.FramesConcealed.Add(1)
		}
		if n > 0 && len(d.fifo)+n <= cap(d.fifo) {
			d.fifo = append(d.fifo, d.pcm[:n]...)
		}
	}
	if len(d.fifo) < d.frame {
		// Nothing to play (not started, or the party stopped sending):
		// time goes on for the out stream.
		d.out.skip()
		return
	}
	n, err := d.enc.Encode(d.fifo[:d.frame], d.pkt[rtpHeaderLen:])
	copy(d.fifo, d.fifo[d.frame:])
	d.fifo = d.fifo[:len(d.fifo)-d.frame]
	if err != nil || n == 0 {
		d.out.skip()
		return
	}
	if d.to.WriteRTP(d.out.packet(d.pkt[:], n)) == nil {
		d.to.stats.PacketsTranscoded.Add(1)
	}
}
