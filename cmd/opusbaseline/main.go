// Command opusbaseline measures what raw libopus (through
// github.com/hraban/opus, no Switchboard code) costs for the work of one
// transcoded PCMU <-> Opus call: the baseline that the transcoding phase of
// `make loadtest` (scripts/loadtest.sh, docs/loadtest.md) compares the switch
// with.
//
// A call through the switch between a G.711 caller and an Opus far end runs
// two Opus codecs: an encoder (caller -> far end) and a decoder (far end ->
// caller), each doing one 20 ms frame every 20 ms. The baseline uses the
// switch's settings for that path: 8000 Hz mono, OPUS_APPLICATION_VOIP,
// complexity -complexity, bit rate 24 kbit/s (the switch's automatic rate at
// 8 kHz), in-band FEC on with a 5 % loss hint (what the switch sets when the
// far end's fmtp has useinbandfec=1). The audio is the load test's own: the
// 1 kHz PCMU tone of testdata/sipp/tone_1000hz.pcmu, expanded to linear PCM;
// the decoder decodes what the encoder produced (the far end echoes the
// switch's packets).
//
// Two measurements per complexity, CPU time from getrusage(RUSAGE_SELF) (all
// threads, user + system):
//
//   - loop: one goroutine encodes, then decodes, frames back to back for
//     -loop seconds: the pure codec cost, µs per encode and per decode;
//   - paced: -calls goroutines, each like one transcoded call: a timer every
//     20 ms, one encode and one decode per tick, for -seconds seconds, started
//     at spread-out phases: µs of CPU per call-second (50 encodes + 50
//     decodes) with Go's timers and scheduling included, and the share of
//     ticks that ran late by more than 20 ms.
//
// Output: one line per complexity and measurement, key=value pairs, e.g.
//
//	loop complexity=5 encode_us=25.1 decode_us=9.8 frame_bytes=60.0
//	paced complexity=5 calls=200 seconds=10.00 cpu_pct=36.2 us_per_call_second=3620 us_per_codec_frame=36.2 late_pct=0.00
//
// Usage:
//
//	opusbaseline -tone testdata/sipp/tone_1000hz.pcmu -complexity 5,1 -loop 3 -calls 200 -seconds 10
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hraban/opus"
)

const (
	rate       = 8000
	frame      = rate / 50 // samples per 20 ms
	bitrate    = 24000     // the switch's automatic bit rate at 8 kHz
	lossHint   = 5         // the switch's loss hint when the peer asks for in-band FEC
	tick       = 20 * time.Millisecond
	maxPayload = 1500
)

func main() {
	tonePath := flag.String("tone", "testdata/sipp/tone_1000hz.pcmu", "PCMU (µ-law, 8 kHz) file: the audio to encode")
	complexities := flag.String("complexity", "5,1", "comma-separated Opus complexities to measure")
	loopSecs := flag.Float64("loop", 3, "seconds of the back-to-back loop per complexity (0: skip)")
	calls := flag.Int("calls", 200, "paced goroutines (calls) (0: skip the paced measurement)")
	seconds := flag.Float64("seconds", 10, "seconds of the paced measurement per complexity")
	fec := flag.Bool("fec", true, "in-band FEC (with a 5 % loss hint), as the switch towards a useinbandfec=1 peer")
	flag.Parse()

	raw, err := os.ReadFile(*tonePath)
	if err != nil {
		fatal(err)
	}
	if len(raw) < frame {
		fatal(fmt.Errorf("%s: %d bytes, want at least one 20 ms frame (%d)", *tonePath, len(raw), frame))
	}
	frames := make([][]int16, len(raw)/frame)
	for i := range frames {
		frames[i] = make([]int16, frame)
		for j := range frame {
			frames[i][j] = ulaw(raw[i*frame+j])
		}
	}
	for _, s := range strings.Split(*complexities, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 0 || c > 10 {
			fatal(fmt.Errorf("complexity %q: want 0-10", s))
		}
		if *loopSecs > 0 {
			loop(c, *fec, frames, time.Duration(*loopSecs*float64(time.Second)))
		}
		if *calls > 0 && *seconds > 0 {
			paced(c, *fec, frames, *calls, time.Duration(*seconds*float64(time.Second)))
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "opusbaseline:", err)
	os.Exit(1)
}

// ulaw expands one G.711 µ-law byte to linear PCM.
func ulaw(b byte) int16 {
	b = ^b
	t := (int(b&0x0f) << 3) + 0x84
	t <<= (b & 0x70) >> 4
	if b&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

func newEncoder(complexity int, fec bool) *opus.Encoder {
	enc, err := opus.NewEncoder(rate, 1, opus.AppVoIP)
	if err != nil {
		fatal(err)
	}
	loss := 0
	if fec {
		loss = lossHint
	}
	for _, err := range []error{
		enc.SetComplexity(complexity),
		enc.SetBitrate(bitrate),
		enc.SetInBandFEC(fec),
		enc.SetPacketLossPerc(loss),
	} {
		if err != nil {
			fatal(err)
		}
	}
	return enc
}

func newDecoder() *opus.Decoder {
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		fatal(err)
	}
	return dec
}

// cpu is the process's user + system CPU time.
func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop encodes and decodes back to back: the codec cost alone.
func loop(complexity int, fec bool, frames [][]int16, d time.Duration) {
	enc, dec := newEncoder(complexity, fec), newDecoder()
	pkts := make([][]byte, len(frames))
	buf := make([]byte, maxPayload)
	bytes := 0
	for i, f := range frames {
		n, err := enc.Encode(f, buf)
		if err != nil {
			fatal(err)
		}
		pkts[i] = append([]byte(nil), buf[:n]...)
		bytes += n
	}
	pcm := make([]int16, frame)
	// Alternate blocks of encodes and decodes, timing each kind separately.
	const block = 250
	var encCPU, decCPU time.Duration
	var encN, decN int
	end := time.Now().Add(d)
	i := 0
	for time.Now().Before(end) {
		c0 := cpu()
		for k := 0; k < block; k++ {
			if _, err := enc.Encode(frames[(i+k)%len(frames)], buf); err != nil {
				fatal(err)
			}
		}
		c1 := cpu()
		for k := 0; k < block; k++ {
			if _, err := dec.Decode(pkts[(i+k)%len(pkts)], pcm); err != nil {
				fatal(err)
			}
		}
		c2 := cpu()
		encCPU += c1 - c0
		decCPU += c2 - c1
		encN += block
		decN += block
		i += block
	}
	fmt.Printf("loop complexity=%d encode_us=%.2f decode_us=%.2f frame_bytes=%.1f\n", complexity,
		us(encCPU)/float64(encN), us(decCPU)/float64(decN), float64(bytes)/float64(len(frames)))
}

// paced runs calls goroutines, each encoding one frame and decoding one
// packet every 20 ms, like the switch's transcoder goroutine of one call.
func paced(complexity int, fec bool, frames [][]int16, calls int, d time.Duration) {
	type call struct {
		enc *opus.Encoder
		dec *opus.Decoder
	}
	cs := make([]call, calls)
	for i := range cs {
		cs[i] = call{newEncoder(complexity, fec), newDecoder()}
	}
	var frameCount, late atomic.Int64
	var measuring atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cs {
		wg.Add(1)
		go func(c call, phase time.Duration, first int) {
			defer wg.Done()
			buf := make([]byte, maxPayload)
			pcm := make([]int16, frame)
			timer := time.NewTimer(phase)
			defer timer.Stop()
			next := start.Add(phase)
			k := first
			for {
				select {
				case <-timer.C:
				case <-stop:
					return
				}
				n, err := c.enc.Encode(frames[k%len(frames)], buf)
				if err != nil {
					fatal(err)
				}
				if _, err := c.dec.Decode(buf[:n], pcm); err != nil {
					fatal(err)
				}
				k++
				if measuring.Load() {
					frameCount.Add(1)
					if time.Since(next) > tick {
						late.Add(1)
					}
				}
				next = next.Add(tick)
				wait := time.Until(next)
				if wait < -5*tick { // as the switch: catch up at most 100 ms
					next = time.Now()
					wait = 0
				}
				timer.Reset(max(wait, 0))
			}
		}(cs[i], time.Duration(i)*tick/time.Duration(calls), i)
	}
	time.Sleep(time.Second) // every goroutine running, encoders warmed up
	c0, t0 := cpu(), time.Now()
	measuring.Store(true)
	time.Sleep(d)
	measuring.Store(false)
	c1, t1 := cpu(), time.Now()
	close(stop)
	wg.Wait()
	wall := t1.Sub(t0).Seconds()
	used := us(c1 - c0)
	callSeconds := float64(calls) * wall
	n := frameCount.Load()
	fmt.Printf("paced complexity=%d calls=%d seconds=%.2f cpu_pct=%.1f us_per_call_second=%.1f us_per_codec_frame=%.2f late_pct=%.2f ticks=%d expected_ticks=%.0f\n",
		complexity, calls, wall, 100*used/1e6/wall, used/callSeconds, used/float64(2*max(n, 1)),
		100*float64(late.Load())/float64(max(n, 1)), n, callSeconds*50)
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
