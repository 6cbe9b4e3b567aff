package codec

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/switchboard-voice/switchboard/media/tone"
	"github.com/zaf/g711"
)

const amplitude = 0.5

// toneFrames returns n consecutive 20 ms frames of a hz tone at rate.
func toneFrames(rate int, hz float64, n int) [][]int16 {
	g := tone.NewGenerator(rate, hz, amplitude)
	frames := make([][]int16, n)
	for i := range frames {
		frames[i] = make([]int16, FrameSamples(rate))
		g.Fill(frames[i])
	}
	return frames
}

// encodeAll encodes frames into payloads.
func encodeAll(t testing.TB, enc Encoder, frames [][]int16) [][]byte {
	t.Helper()
	out := make([][]byte, len(frames))
	buf := make([]byte, 1500)
	for i, f := range frames {
		n, err := enc.Encode(f, buf)
		if err != nil {
			t.Fatalf("Encode frame %d: %v", i, err)
		}
		out[i] = append([]byte(nil), buf[:n]...)
	}
	return out
}

func rms(s []int16) float64 {
	if len(s) == 0 {
		return 0
	}
	var e float64
	for _, v := range s {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(len(s)))
}

// maxStep returns the largest absolute difference between adjacent samples.
func maxStep(s []int16) int {
	m := 0
	for i := 1; i < len(s); i++ {
		d := int(s[i]) - int(s[i-1])
		m = max(m, d, -d)
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		rate int
	}{
		{"PCMU", 8000}, {"PCMA", 8000}, {"pcmu", 8000},
		{"opus", 8000}, {"OPUS", 16000}, {"opus", 48000},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%d", c.name, c.rate), func(t *testing.T) {
			enc, err := NewEncoder(c.name, c.rate, Options{})
			if err != nil {
				t.Fatal(err)
			}
			dec, err := NewDecoder(c.name, c.rate)
			if err != nil {
				t.Fatal(err)
			}
			if enc.SampleRate() != c.rate || dec.SampleRate() != c.rate {
				t.Fatalf("SampleRate = %d/%d, want %d", enc.SampleRate(), dec.SampleRate(), c.rate)
			}
			payloads := encodeAll(t, enc, toneFrames(c.rate, 1000, 50))
			det := tone.NewDetector(c.rate, 400*time.Millisecond)
			pcm := make([]int16, MaxFrameSamples(c.rate))
			for i, p := range payloads {
				n, err := dec.Decode(p, pcm)
				if err != nil {
					t.Fatalf("Decode frame %d: %v", i, err)
				}
				if n != FrameSamples(c.rate) {
					t.Fatalf("Decode frame %d: %d samples, want %d", i, n, FrameSamples(c.rate))
				}
				det.Write(pcm[:n])
			}
			if !det.Present(1000) {
				t.Errorf("1000 Hz not detected (relative power %.3f, level %.0f)", det.RelativePower(1000), det.Level())
			}
			if det.Present(1500) {
				t.Errorf("1500 Hz detected (relative power %.3f)", det.RelativePower(1500))
			}
			if p := det.RelativePower(1000); p < 0.8 {
				t.Errorf("1000 Hz relative power %.3f, want >= 0.8", p)
			}
			if l := det.Level(); l < 0.5*amplitude*math.MaxInt16/math.Sqrt2 {
				t.Errorf("level %.0f, want about %.0f", l, amplitude*math.MaxInt16/math.Sqrt2)
			}
		})
	}
}

func TestLawConversion(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	a := make([]byte, 256)
	PCMUToPCMA(a, all)
	u := make([]byte, 256)
	PCMAToPCMU(u, all)
	for i := range 256 {
		if want := g711.EncodeAlawFrame(g711.DecodeUlawFrame(uint8(i))); a[i] != want {
			t.Errorf("PCMUToPCMA(%#02x) = %#02x, want %#02x", i, a[i], want)
		}
		if want := g711.EncodeUlawFrame(g711.DecodeAlawFrame(uint8(i))); u[i] != want {
			t.Errorf("PCMAToPCMU(%#02x) = %#02x, want %#02x", i, u[i], want)
		}
		// Same sign and about the same level through the other law.
		lin, via := int(g711.DecodeUlawFrame(uint8(i))), int(g711.DecodeAlawFrame(a[i]))
		if d := abs(lin - via); d > 16+abs(lin)/16 {
			t.Errorf("u-law %#02x = %d, via A-law %#02x = %d", i, lin, a[i], via)
		}
	}
	// Silence maps to silence.
	if a[0xFF] != 0xD5 || a[0x7F] != 0xD5 {
		t.Errorf("silence: u 0xFF -> a %#02x, u 0x7F -> a %#02x, want 0xd5", a[0xFF], a[0x7F])
	}
	// In place.
	buf := append([]byte(nil), all...)
	PCMUToPCMA(buf, buf)
	if string(buf) != string(a) {
		t.Error("in-place PCMUToPCMA differs")
	}
	PCMAToPCMU(buf[:10], all) // shorter dst: converts 10 bytes only
	if string(buf[:10]) != string(u[:10]) || string(buf[10:]) != string(a[10:]) {
		t.Error("PCMAToPCMU with short dst wrote the wrong bytes")
	}
}

func abs(x int) int { return max(x, -x) }

func TestOpusFEC(t *testing.T) {
	const rate, lost = 8000, 25
	enc, err := NewEncoder("opus", rate, Options{FEC: true, PacketLossPerc: 20})
	if err != nil {
		t.Fatal(err)
	}
	payloads := encodeAll(t, enc, toneFrames(rate, 1000, 40))

	// conceal decodes up to the lost packet, conceals it with next, decodes
	// the packet after it, and returns the concealed frame and the rms of
	// the frames either side.
	conceal := func(next []byte) (frame []int16, before, after float64) {
		dec, err := NewDecoder("opus", rate)
		if err != nil {
			t.Fatal(err)
		}
		pcm := make([]int16, MaxFrameSamples(rate))
		for i := range lost {
			n, err := dec.Decode(payloads[i], pcm)
			if err != nil {
				t.Fatal(err)
			}
			before = rms(pcm[:n])
		}
		n, err := dec.Conceal(next, pcm, FrameSamples(rate))
		if err != nil || n != FrameSamples(rate) {
			t.Fatalf("Conceal = %d, %v", n, err)
		}
		frame = append(frame, pcm[:n]...)
		if n, err = dec.Decode(payloads[lost+1], pcm); err != nil {
			t.Fatal(err)
		}
		return frame, before, rms(pcm[:n])
	}
	detect := func(name string, frame []int16) {
		det := tone.NewDetector(rate, FrameDuration)
		det.Write(frame)
		if !det.Present(1000) {
			t.Errorf("%s: 1000 Hz not detected in concealed frame (relative power %.3f)", name, det.RelativePower(1000))
		}
	}

	fec, before, after := conceal(payloads[lost+1])
	detect("FEC", fec)
	r := rms(fec)
	t.Logf("FEC: rms before %.0f, concealed %.0f, after %.0f", before, r, after)
	for _, ref := range []float64{before, after} {
		if r < 0.7*ref || r > 1.4*ref { // within 3 dB
			t.Errorf("FEC: concealed rms %.0f, neighbour %.0f", r, ref)
		}
	}

	plc, before, _ := conceal(nil)
	detect("PLC", plc)
	r = rms(plc)
	t.Logf("PLC: rms before %.0f, concealed %.0f", before, r)
	if r < 0.3*before {
		t.Errorf("PLC: concealed rms %.0f, frame before %.0f", r, before)
	}

	// The FEC frame is rebuilt from data in the next packet, not
	// extrapolated: it differs from what PLC makes of the same history.
	d := make([]int16, len(fec))
	for i := range d {
		d[i] = fec[i] - plc[i]
	}
	t.Logf("rms(FEC - PLC) %.0f", rms(d))
	if rms(d) < 0.05*rms(fec) {
		t.Errorf("FEC frame equals PLC frame (rms difference %.0f): no FEC data used", rms(d))
	}
}

// g711Run decodes tone frames through a G.711 decoder, concealing the frames
// whose index is in lost, and returns the output stream and the clean decode.
func g711Run(t *testing.T, law string, hz float64, frames int, lost map[int]bool) (out, clean []int16) {
	t.Helper()
	enc, err := NewEncoder(law, 8000, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := NewDecoder(law, 8000)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, MaxFrameSamples(8000))
	for i, p := range encodeAll(t, enc, toneFrames(8000, hz, frames)) {
		var n int
		if lost[i] {
			n, err = dec.Conceal(nil, pcm, len(p))
		} else {
			n, err = dec.Decode(p, pcm)
		}
		if err != nil || n != len(p) {
			t.Fatalf("frame %d: %d samples, %v", i, n, err)
		}
		out = append(out, pcm[:n]...)
		for _, b := range p {
			if law == "PCMA" {
				clean = append(clean, g711.DecodeAlawFrame(b))
			} else {
				clean = append(clean, g711.DecodeUlawFrame(b))
			}
		}
	}
	return out, clean
}

func TestG711Conceal(t *testing.T) {
	const fs = 160
	for _, law := range []string{"PCMU", "PCMA"} {
		// 730 and 440 Hz have no period of a whole number of samples: the
		// repeated pitch period drifts in phase against the real tone, and
		// the cross-fades must still avoid a click.
		for _, hz := range []float64{1000, 730, 440} {
			t.Run(fmt.Sprintf("%s/%gHz", law, hz), func(t *testing.T) {
				out, clean := g711Run(t, law, hz, 30, map[int]bool{20: true, 21: true})
				// No click: no step between samples is more than 20 %
				// above the largest step of the clean tone. (Without
				// the cross-fades 730 Hz reaches 1.7 times, 440 Hz 1.3.)
				if s, ref := maxStep(out), maxStep(clean[:20*fs]); s > ref*6/5 {
					t.Errorf("max step %d, clean tone %d: click", s, ref)
				}
				gap := out[20*fs : 22*fs]
				if r, ref := rms(gap), rms(clean[:20*fs]); r < 0.4*ref {
					t.Errorf("concealed rms %.0f, clean %.0f", r, ref)
				}
				det := tone.NewDetector(8000, 2*FrameDuration)
				det.Write(gap)
				if !det.Present(hz) {
					t.Errorf("%v Hz not detected in concealment (relative power %.3f)", hz, det.RelativePower(hz))
				}
				if hz == 1000 {
					// A whole number of periods fits in the pitch lag: the
					// first 10 ms continue the tone almost exactly.
					d := make([]int16, 80)
					for i := range d {
						d[i] = out[20*fs+i] - clean[20*fs+i]
					}
					if r := rms(d); r > 0.05*amplitude*math.MaxInt16 {
						t.Errorf("first 10 ms of concealment off the tone by rms %.0f", r)
					}
				}
			})
		}
	}
}

func TestG711ConcealFadesOut(t *testing.T) {
	out, clean := g711Run(t, "PCMU", 1000, 30, map[int]bool{10: true, 11: true, 12: true, 13: true, 14: true})
	const fs = 160
	// 60 ms into the loss (frame 13) the output is silent.
	for i, v := range out[13*fs : 15*fs] {
		if v != 0 {
			t.Fatalf("sample %d ms after 60 ms of loss = %d, want silence", i/8, v)
		}
	}
	if r := rms(out[12*fs : 13*fs]); r == 0 || r > 0.5*rms(clean[:10*fs]) {
		t.Errorf("frame 40-60 ms into the loss: rms %.0f, want fading", r)
	}
	if s, ref := maxStep(out), maxStep(clean); s > ref*6/5 {
		t.Errorf("max step %d, clean tone %d: click on resume", s, ref)
	}
	if r, ref := rms(out[16*fs:]), rms(clean[16*fs:]); math.Abs(r-ref) > 0.05*ref {
		t.Errorf("after resume rms %.0f, want %.0f", r, ref)
	}
}

func TestG711ConcealBeforeAudio(t *testing.T) {
	dec, err := NewDecoder("PCMA", 8000)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = 1234
	}
	if n, err := dec.Conceal(nil, pcm, 160); err != nil || n != 160 {
		t.Fatalf("Conceal = %d, %v", n, err)
	}
	if r := rms(pcm); r != 0 {
		t.Errorf("concealment with no history: rms %.0f, want silence", r)
	}
}

func TestOpusFmtp(t *testing.T) {
	cases := []struct {
		in   string
		want OpusFmtp
		str  string
	}{
		{"", OpusFmtp{}, ""},
		{"minptime=10;useinbandfec=1;maxplaybackrate=16000",
			OpusFmtp{UseInbandFEC: true, MaxPlaybackRate: 16000}, "useinbandfec=1;maxplaybackrate=16000"},
		{" MaxPlaybackRate = 8000 ; UseInBandFEC=1; foo=bar;;junk",
			OpusFmtp{UseInbandFEC: true, MaxPlaybackRate: 8000}, "useinbandfec=1;maxplaybackrate=8000"},
		{"stereo=1;sprop-stereo=1;maxaveragebitrate=20000;usedtx=1;useinbandfec=0",
			OpusFmtp{Stereo: true, MaxAverageBitrate: 20000, UseDTX: true}, "usedtx=1;stereo=1;maxaveragebitrate=20000"},
		{"maxplaybackrate=abc;maxaveragebitrate=-5;stereo=0", OpusFmtp{}, ""},
	}
	for _, c := range cases {
		got := ParseOpusFmtp(c.in)
		if got != c.want {
			t.Errorf("ParseOpusFmtp(%q) = %+v, want %+v", c.in, got, c.want)
		}
		if s := got.String(); s != c.str {
			t.Errorf("%+v.String() = %q, want %q", got, s, c.str)
		}
		if back := ParseOpusFmtp(got.String()); back != got {
			t.Errorf("ParseOpusFmtp(%q) = %+v, want %+v", got.String(), back, got)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		rate int
		want error
	}{
		{"G729", 8000, ErrUnknownCodec},
		{"", 8000, ErrUnknownCodec},
		{"PCMU", 16000, ErrUnsupportedRate},
		{"PCMA", 48000, ErrUnsupportedRate},
		{"opus", 44100, ErrUnsupportedRate},
		{"opus", 0, ErrUnsupportedRate},
	} {
		if _, err := NewDecoder(c.name, c.rate); !errors.Is(err, c.want) {
			t.Errorf("NewDecoder(%q, %d) error %v, want %v", c.name, c.rate, err, c.want)
		}
		if _, err := NewEncoder(c.name, c.rate, Options{}); !errors.Is(err, c.want) {
			t.Errorf("NewEncoder(%q, %d) error %v, want %v", c.name, c.rate, err, c.want)
		}
	}
	for _, o := range []Options{
		{Complexity: 11}, {Bitrate: 100}, {Bitrate: 1 << 20}, {PacketLossPerc: -1},
		{PacketLossPerc: 101}, {MaxPlaybackRate: -1},
	} {
		if _, err := NewEncoder("opus", 8000, o); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("NewEncoder(opus, %+v) error %v, want ErrInvalidOption", o, err)
		}
	}
	for _, o := range []Options{
		{Complexity: -1}, {Complexity: 10}, {Bitrate: 6000}, {DTX: true},
		{MaxPlaybackRate: 12000}, {MaxPlaybackRate: 48000},
	} {
		if _, err := NewEncoder("opus", 48000, o); err != nil {
			t.Errorf("NewEncoder(opus, %+v): %v", o, err)
		}
	}

	// G.711 buffers.
	u, _ := NewDecoder("PCMU", 8000)
	if _, err := u.Decode(make([]byte, 160), make([]int16, 80)); !errors.Is(err, ErrBufferTooSmall) {
		t.Errorf("PCMU Decode into short pcm: %v", err)
	}
	if _, err := u.Conceal(nil, make([]int16, 80), 160); !errors.Is(err, ErrBufferTooSmall) {
		t.Errorf("PCMU Conceal into short pcm: %v", err)
	}
	ue, _ := NewEncoder("PCMU", 8000, Options{})
	if _, err := ue.Encode(make([]int16, 160), make([]byte, 100)); !errors.Is(err, ErrBufferTooSmall) {
		t.Errorf("PCMU Encode into short payload: %v", err)
	}

	// Opus.
	enc, _ := NewEncoder("opus", 8000, Options{})
	dec, _ := NewDecoder("opus", 8000)
	if _, err := enc.Encode(make([]int16, 100), make([]byte, 1500)); err == nil {
		t.Error("Opus Encode of 12.5 ms: no error")
	}
	if _, err := enc.Encode(make([]int16, 160), nil); !errors.Is(err, ErrBufferTooSmall) {
		t.Errorf("Opus Encode into nil: %v", err)
	}
	good := encodeAll(t, enc, toneFrames(8000, 1000, 1))[0]
	if _, err := dec.Decode(good, make([]int16, 80)); !errors.Is(err, ErrBufferTooSmall) {
		t.Errorf("Opus Decode of 20 ms into 10 ms: %v", err)
	}
	for _, p := range [][]byte{
		nil,
		{0x03},                   // code 3 without a frame count byte
		{0x03, 0x00},             // code 3 with zero frames
		{0x03, 0x3f},             // code 3, 63 frames: over 120 ms
		{0x01, 0x01, 0x02, 0x03}, // code 1: two equal frames need an even length
	} {
		if _, err := dec.Decode(p, make([]int16, 960)); !errors.Is(err, ErrCorruptPayload) {
			t.Errorf("Opus Decode(% x) error %v, want ErrCorruptPayload", p, err)
		}
	}
	for _, n := range []int{0, -160, 150, 2000} {
		if _, err := dec.Conceal(nil, make([]int16, 2000), n); err == nil {
			t.Errorf("Opus Conceal of %d samples: no error", n)
		}
	}
	if _, err := dec.Conceal(nil, make([]int16, 80), 160); !errors.Is(err, ErrBufferTooSmall) {
		t.Errorf("Opus Conceal into short pcm: %v", err)
	}
	// A corrupt next packet falls back to PLC.
	if n, err := dec.Conceal([]byte{0x03, 0x00}, make([]int16, 160), 160); err != nil || n != 160 {
		t.Errorf("Opus Conceal with corrupt next = %d, %v", n, err)
	}
	// Random payloads return an error or decode; they never panic.
	rng := rand.New(rand.NewPCG(1, 2))
	pcm := make([]int16, MaxFrameSamples(8000))
	for range 2000 {
		p := make([]byte, 1+rng.IntN(200))
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		n, err := dec.Decode(p, pcm)
		if err == nil && (n <= 0 || n > len(pcm)) {
			t.Fatalf("Decode(% x) = %d samples", p, n)
		}
		if err != nil && !errors.Is(err, ErrCorruptPayload) {
			t.Fatalf("Decode(% x) error %v, want ErrCorruptPayload", p, err)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, name := range []string{"PCMU", "PCMA", "opus"} {
		enc, err := NewEncoder(name, 8000, Options{FEC: true, PacketLossPerc: 10})
		if err != nil {
			t.Fatal(err)
		}
		dec, err := NewDecoder(name, 8000)
		if err != nil {
			t.Fatal(err)
		}
		frame := toneFrames(8000, 1000, 1)[0]
		payload := make([]byte, 1500)
		pcm := make([]int16, MaxFrameSamples(8000))
		n, _ := enc.Encode(frame, payload)
		p := payload[:n]
		for what, f := range map[string]func(){
			"Encode":      func() { _, _ = enc.Encode(frame, payload) },
			"Decode":      func() { _, _ = dec.Decode(p, pcm) },
			"Conceal":     func() { _, _ = dec.Conceal(nil, pcm, 160) },
			"ConcealNext": func() { _, _ = dec.Conceal(p, pcm, 160) },
			"DecodeAfterLoss": func() {
				_, _ = dec.Conceal(nil, pcm, 160)
				_, _ = dec.Decode(p, pcm)
			},
		} {
			if a := testing.AllocsPerRun(100, f); a != 0 {
				t.Errorf("%s %s: %v allocs, want 0", name, what, a)
			}
		}
	}
	src, dst := make([]byte, 160), make([]byte, 160)
	if a := testing.AllocsPerRun(100, func() { PCMUToPCMA(dst, src); PCMAToPCMU(dst, src) }); a != 0 {
		t.Errorf("PCMUToPCMA/PCMAToPCMU: %v allocs, want 0", a)
	}
}

// TestSupportedMatchesConstructors: Supported agrees with NewDecoder and
// NewEncoder for every name they know and some they do not.
func TestSupportedMatchesConstructors(t *testing.T) {
	for _, name := range []string{"PCMU", "pcma", "OPUS", "opus", "G729", "telephone-event", ""} {
		_, derr := NewDecoder(name, 8000)
		_, eerr := NewEncoder(name, 8000, Options{})
		if got, want := Supported(name), derr == nil && eerr == nil; got != want {
			t.Errorf("Supported(%q) = %v, constructors say %v", name, got, want)
		}
	}
}

// TestOpusSettings: a configured complexity 0 is the cheapest (not the
// default), none is the default, others pass; the bit rate passes.
func TestOpusSettings(t *testing.T) {
	zero, five := 0, 5
	for _, tc := range []struct {
		c    *int
		want int
	}{{nil, 0}, {&zero, -1}, {&five, 5}} {
		if o := OpusSettings(tc.c, 24000); o.Complexity != tc.want || o.Bitrate != 24000 {
			t.Errorf("OpusSettings(%v) = %+v, want complexity %d", tc.c, o, tc.want)
		}
	}
}
