package codec

import (
	"fmt"
	"testing"

	"github.com/hraban/opus"
	"github.com/switchboard-voice/switchboard/media/tone"
)

// Benchmarks per 20 ms frame at 8000 Hz: Opus with FEC on (10 % loss hint)
// at the default bit rate, transcoding through this package against libopus
// called directly through github.com/hraban/opus with the same settings.

const (
	benchRate   = 8000
	benchFrames = 50
	benchLoss   = 10
)

var benchComplexities = []int{5, 1}

// benchPCM returns one second of a two-tone signal in 20 ms frames.
func benchPCM() [][]int16 {
	a := tone.NewGenerator(benchRate, 440, 0.3)
	b := tone.NewGenerator(benchRate, 1300, 0.2)
	frames := make([][]int16, benchFrames)
	for i := range frames {
		frames[i] = make([]int16, FrameSamples(benchRate))
		a.Fill(frames[i])
		b.Add(frames[i])
	}
	return frames
}

func benchOptions(complexity int) Options {
	return Options{Complexity: complexity, FEC: true, PacketLossPerc: benchLoss}
}

func rawEncoder(b *testing.B, complexity int) *opus.Encoder {
	enc, err := opus.NewEncoder(benchRate, 1, opus.AppVoIP)
	if err != nil {
		b.Fatal(err)
	}
	for _, err := range []error{
		enc.SetComplexity(complexity),
		enc.SetBitrate(defaultBitrate(benchRate)),
		enc.SetInBandFEC(true),
		enc.SetPacketLossPerc(benchLoss),
	} {
		if err != nil {
			b.Fatal(err)
		}
	}
	return enc
}

func BenchmarkTranscodePCMUToOpus(b *testing.B) {
	pcm := benchPCM()
	ulaw, err := NewEncoder("PCMU", benchRate, Options{})
	if err != nil {
		b.Fatal(err)
	}
	in := encodeAll(b, ulaw, pcm)
	for _, c := range benchComplexities {
		b.Run(fmt.Sprintf("complexity=%d", c), func(b *testing.B) {
			dec, err := NewDecoder("PCMU", benchRate)
			if err != nil {
				b.Fatal(err)
			}
			enc, err := NewEncoder("opus", benchRate, benchOptions(c))
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]int16, MaxFrameSamples(benchRate))
			out := make([]byte, 1500)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				n, err := dec.Decode(in[i%benchFrames], buf)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := enc.Encode(buf[:n], out); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkRawLibopusEncode(b *testing.B) {
	pcm := benchPCM()
	for _, c := range benchComplexities {
		b.Run(fmt.Sprintf("complexity=%d", c), func(b *testing.B) {
			enc := rawEncoder(b, c)
			out := make([]byte, 1500)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := enc.Encode(pcm[i%benchFrames], out); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// opusPackets encodes the benchmark signal with raw libopus at complexity c.
func opusPackets(b *testing.B, c int) [][]byte {
	enc := rawEncoder(b, c)
	pcm := benchPCM()
	out := make([][]byte, len(pcm))
	buf := make([]byte, 1500)
	for i, f := range pcm {
		n, err := enc.Encode(f, buf)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = append([]byte(nil), buf[:n]...)
	}
	return out
}

func BenchmarkTranscodeOpusToPCMU(b *testing.B) {
	for _, c := range benchComplexities {
		b.Run(fmt.Sprintf("complexity=%d", c), func(b *testing.B) {
			in := opusPackets(b, c)
			dec, err := NewDecoder("opus", benchRate)
			if err != nil {
				b.Fatal(err)
			}
			enc, err := NewEncoder("PCMU", benchRate, Options{})
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]int16, MaxFrameSamples(benchRate))
			out := make([]byte, 1500)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				n, err := dec.Decode(in[i%benchFrames], buf)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := enc.Encode(buf[:n], out); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkRawLibopusDecode(b *testing.B) {
	for _, c := range benchComplexities {
		b.Run(fmt.Sprintf("complexity=%d", c), func(b *testing.B) {
			in := opusPackets(b, c)
			dec, err := opus.NewDecoder(benchRate, 1)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]int16, MaxFrameSamples(benchRate))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := dec.Decode(in[i%benchFrames], buf); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkG711Conceal(b *testing.B) {
	dec, err := NewDecoder("PCMU", benchRate)
	if err != nil {
		b.Fatal(err)
	}
	ulaw, _ := NewEncoder("PCMU", benchRate, Options{})
	in := encodeAll(b, ulaw, benchPCM())
	buf := make([]int16, MaxFrameSamples(benchRate))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		// One loss every other frame: each Conceal estimates the pitch.
		_, _ = dec.Decode(in[i%benchFrames], buf)
		_, _ = dec.Conceal(nil, buf, FrameSamples(benchRate))
		i++
	}
}
