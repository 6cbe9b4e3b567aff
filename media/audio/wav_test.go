package audio

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type chunk struct {
	id    string
	data  []byte
	noPad bool // leave out the pad byte of an odd-sized chunk
}

// riff builds a RIFF/WAVE file of chunks.
func riff(chunks ...chunk) []byte {
	var b bytes.Buffer
	for _, c := range chunks {
		b.WriteString(c.id)
		binary.Write(&b, binary.LittleEndian, uint32(len(c.data)))
		b.Write(c.data)
		if len(c.data)%2 == 1 && !c.noPad {
			b.WriteByte(0)
		}
	}
	hdr := []byte("RIFF\x00\x00\x00\x00WAVE")
	binary.LittleEndian.PutUint32(hdr[4:], uint32(4+b.Len()))
	return append(hdr, b.Bytes()...)
}

func fmtChunk(format, channels, rate, bits int) chunk {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b[0:], uint16(format))
	binary.LittleEndian.PutUint16(b[2:], uint16(channels))
	binary.LittleEndian.PutUint32(b[4:], uint32(rate))
	binary.LittleEndian.PutUint32(b[8:], uint32(rate*channels*bits/8))
	binary.LittleEndian.PutUint16(b[12:], uint16(channels*bits/8))
	binary.LittleEndian.PutUint16(b[14:], uint16(bits))
	return chunk{id: "fmt ", data: b}
}

// extChunk is a WAVE_FORMAT_EXTENSIBLE fmt chunk with subformat sub.
func extChunk(sub, channels, rate, bits int) chunk {
	c := fmtChunk(0xFFFE, channels, rate, bits)
	ext := make([]byte, 24)
	binary.LittleEndian.PutUint16(ext[0:], 22)           // cbSize
	binary.LittleEndian.PutUint16(ext[2:], uint16(bits)) // valid bits
	binary.LittleEndian.PutUint32(ext[4:], 0x4)          // channel mask
	binary.LittleEndian.PutUint16(ext[8:], uint16(sub))
	copy(ext[10:], ksdataformatSubtypeTail[:])
	c.data = append(append([]byte{}, c.data...), ext...)
	return c
}

func pcm(samples ...int16) []byte {
	b := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return b
}

var testSamples = []int16{0, 1000, -1000, 32767, -32768, 12345}

func TestDecodeWAV(t *testing.T) {
	list := chunk{id: "LIST", data: []byte("INFOISFT\x05\x00\x00\x00test\x00")}
	odd := chunk{id: "junk", data: []byte("abc")}
	tests := []struct {
		name string
		file []byte
		rate int
		want []int16
	}{
		{"mono 8k", riff(fmtChunk(1, 1, 8000, 16), chunk{id: "data", data: pcm(testSamples...)}), 8000, testSamples},
		{"mono 16k", riff(fmtChunk(1, 1, 16000, 16), chunk{id: "data", data: pcm(testSamples...)}), 16000, testSamples},
		{"mono 48k", riff(fmtChunk(1, 1, 48000, 16), chunk{id: "data", data: pcm(testSamples...)}), 48000, testSamples},
		{"mono 11025", riff(fmtChunk(1, 1, 11025, 16), chunk{id: "data", data: pcm(testSamples...)}), 11025, testSamples},
		{"mono 22050", riff(fmtChunk(1, 1, 22050, 16), chunk{id: "data", data: pcm(testSamples...)}), 22050, testSamples},
		{"mono 32k", riff(fmtChunk(1, 1, 32000, 16), chunk{id: "data", data: pcm(testSamples...)}), 32000, testSamples},
		{"mono 44.1k", riff(fmtChunk(1, 1, 44100, 16), chunk{id: "data", data: pcm(testSamples...)}), 44100, testSamples},
		{
			"stereo 8k",
			riff(fmtChunk(1, 2, 8000, 16), chunk{id: "data", data: pcm(1000, 3000, -2000, -4000, 32767, 32767, -32768, -32768, 5, -5)}),
			8000, []int16{2000, -3000, 32767, -32768, 0},
		},
		{
			"stereo 48k",
			riff(fmtChunk(1, 2, 48000, 16), chunk{id: "data", data: pcm(100, 300)}),
			48000, []int16{200},
		},
		{"extensible mono 16k", riff(extChunk(1, 1, 16000, 16), chunk{id: "data", data: pcm(testSamples...)}), 16000, testSamples},
		{"extensible stereo 48k", riff(extChunk(1, 2, 48000, 16), chunk{id: "data", data: pcm(10, 20, 30, 40)}), 48000, []int16{15, 35}},
		{"LIST before fmt and data", riff(list, fmtChunk(1, 1, 8000, 16), list, chunk{id: "data", data: pcm(testSamples...)}), 8000, testSamples},
		{"odd chunk padded", riff(fmtChunk(1, 1, 8000, 16), odd, chunk{id: "data", data: pcm(testSamples...)}), 8000, testSamples},
		{"odd chunk unpadded", riff(fmtChunk(1, 1, 8000, 16), chunk{id: "junk", data: []byte("abc"), noPad: true}, chunk{id: "data", data: pcm(testSamples...)}), 8000, testSamples},
		{"odd data chunk", riff(fmtChunk(1, 1, 8000, 16), chunk{id: "data", data: append(pcm(1, 2, 3), 9)}, list), 8000, []int16{1, 2, 3}},
		{"data before fmt", riff(chunk{id: "data", data: pcm(testSamples...)}, fmtChunk(1, 1, 8000, 16)), 8000, testSamples},
		{"empty data", riff(fmtChunk(1, 1, 8000, 16), chunk{id: "data"}), 8000, []int16{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeWAV(bytes.NewReader(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if c.Rate != tt.rate {
				t.Errorf("rate %d, want %d", c.Rate, tt.rate)
			}
			if !slices.Equal(c.Samples, tt.want) {
				t.Errorf("samples %v, want %v", c.Samples, tt.want)
			}
		})
	}
}

func TestDecodeWAVErrors(t *testing.T) {
	data := chunk{id: "data", data: pcm(testSamples...)}
	truncated := riff(fmtChunk(1, 1, 8000, 16), data)
	truncated = truncated[:len(truncated)-3]
	tests := []struct {
		name, want string
		file       []byte
	}{
		{"empty", "not a WAV file", nil},
		{"not RIFF", "not a WAV file", []byte("ID3\x03\x00\x00\x00\x00\x00\x00 some mp3 data here")},
		{"RIFF not WAVE", "not a WAV file", []byte("RIFF\x04\x00\x00\x00AVI ")},
		{"8-bit", "8-bit samples not supported, want 16-bit PCM", riff(fmtChunk(1, 1, 8000, 8), data)},
		{"24-bit", "24-bit samples not supported, want 16-bit PCM", riff(fmtChunk(1, 1, 8000, 24), data)},
		{"32-bit float", "32-bit floating-point samples not supported", riff(fmtChunk(3, 1, 8000, 32), data)},
		{"extensible float", "floating-point samples not supported", riff(extChunk(3, 1, 8000, 32), data)},
		{"extensible 24-bit", "24-bit samples not supported", riff(extChunk(1, 2, 48000, 24), data)},
		{"mu-law", "µ-law samples not supported", riff(fmtChunk(7, 1, 8000, 8), data)},
		{"ADPCM", "format tag 0x0011 not supported", riff(fmtChunk(0x11, 1, 8000, 4), data)},
		{"3 channels", "3 channels not supported", riff(fmtChunk(1, 3, 8000, 16), data)},
		{"96 kHz", "sample rate 96000 Hz not supported", riff(fmtChunk(1, 1, 96000, 16), data)},
		{"4 kHz", "sample rate 4000 Hz not supported", riff(fmtChunk(1, 1, 4000, 16), data)},
		{"truncated data", "truncated data chunk: 12 bytes declared, 9 present", truncated},
		{"no data chunk", "no data chunk", riff(fmtChunk(1, 1, 8000, 16), chunk{id: "LIST", data: []byte("INFO")})},
		{"no fmt chunk", "no fmt chunk", riff(data)},
		{"short fmt", "fmt chunk too short", riff(chunk{id: "fmt ", data: []byte{1, 0, 1, 0}}, data)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeWAV(bytes.NewReader(tt.file))
			if err == nil {
				t.Fatalf("decoded %d samples, want error %q", len(c.Samples), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestDecodeWAVPrefixes feeds every prefix of a valid file (with a LIST and
// an odd chunk): each must decode or fail cleanly, never panic.
func TestDecodeWAVPrefixes(t *testing.T) {
	file := riff(
		chunk{id: "LIST", data: []byte("INFOISFT\x03\x00\x00\x00ab\x00")},
		extChunk(1, 2, 16000, 16),
		chunk{id: "junk", data: []byte("abc")},
		chunk{id: "data", data: pcm(1, 2, 3, 4, 5, 6)},
	)
	if _, err := DecodeWAV(bytes.NewReader(file)); err != nil {
		t.Fatalf("full file: %v", err)
	}
	for n := range len(file) {
		if c, err := DecodeWAV(bytes.NewReader(file[:n])); err == nil {
			t.Errorf("prefix of %d bytes decoded to %v, want an error", n, c.Samples)
		}
	}
}

func TestEncodeWAVRoundTrip(t *testing.T) {
	for _, rate := range []int{8000, 16000, 44100, 48000} {
		want := &Clip{Rate: rate, Samples: sine(rate, 1000, 0.9, 0, rate/10)}
		var b bytes.Buffer
		if err := EncodeWAV(&b, want); err != nil {
			t.Fatal(err)
		}
		if b.Len() != 44+2*len(want.Samples) {
			t.Errorf("%d Hz: %d bytes, want %d", rate, b.Len(), 44+2*len(want.Samples))
		}
		got, err := DecodeWAV(&b)
		if err != nil {
			t.Fatalf("%d Hz: %v", rate, err)
		}
		if got.Rate != rate || !slices.Equal(got.Samples, want.Samples) {
			t.Errorf("%d Hz: round trip changed the clip (rate %d)", rate, got.Rate)
		}
	}
	if err := EncodeWAV(&bytes.Buffer{}, &Clip{}); err == nil {
		t.Error("EncodeWAV of a clip without a rate: no error")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "hold.WAV")
	var b bytes.Buffer
	if err := EncodeWAV(&b, &Clip{Rate: 16000, Samples: testSamples}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rate != 16000 || !slices.Equal(c.Samples, testSamples) {
		t.Errorf("Load(%s) = %d Hz %v", good, c.Rate, c.Samples)
	}

	bad := filepath.Join(dir, "prompt.wav")
	if err := os.WriteFile(bad, riff(fmtChunk(1, 1, 8000, 24), chunk{id: "data", data: make([]byte, 30)}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	if want := bad + ": 24-bit samples not supported, want 16-bit PCM"; err == nil || err.Error() != want {
		t.Errorf("Load(%s) error %v, want %q", bad, err, want)
	}

	for _, p := range []string{filepath.Join(dir, "missing.wav"), filepath.Join(dir, "music.ogg")} {
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("Load(%s) error %v, want one naming the file", p, err)
		}
	}
	notMP3 := filepath.Join(dir, "fake.mp3")
	if err := os.WriteFile(notMP3, []byte("this is not an mp3 file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(notMP3); err == nil || !strings.Contains(err.Error(), notMP3) {
		t.Errorf("Load(%s) error %v, want one naming the file", notMP3, err)
	}
}
