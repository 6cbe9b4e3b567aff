package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// WAV format tags.
const (
	wavFormatPCM        = 0x0001
	wavFormatFloat      = 0x0003
	wavFormatALaw       = 0x0006
	wavFormatMuLaw      = 0x0007
	wavFormatExtensible = 0xFFFE
)

// Rates accepted by DecodeWAV.
const (
	minRate = 8000
	maxRate = 48000
)

// ksdataformatSubtypeTail is the part of the KSDATAFORMAT_SUBTYPE_* GUIDs
// after the format tag: xxxxxxxx-0000-0010-8000-00aa00389b71.
var ksdataformatSubtypeTail = [14]byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71}

// DecodeWAV decodes a RIFF/WAVE file of 16-bit linear PCM (format tag 1, or
// WAVE_FORMAT_EXTENSIBLE with the PCM subformat), mono or stereo, at a rate
// from 8000 to 48000 Hz. Stereo is mixed down to mono by averaging the two
// channels. Chunks other than "fmt " and "data" (LIST, fact, cue, ...) are
// skipped, odd-sized chunks with or without their pad byte are handled, and a
// trailing partial sample frame is dropped. Other sample formats, a missing
// chunk, or a data chunk cut short are reported as errors.
func DecodeWAV(r io.Reader) (*Clip, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading WAV: %w", err)
	}
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, errors.New("not a WAV file (no RIFF/WAVE header)")
	}
	var (
		fmtChunk  []byte
		dataChunk []byte
		haveData  bool
	)
	for p := 12; p < len(data); {
		if len(data)-p < 8 {
			break // trailing garbage shorter than a chunk header
		}
		id := string(data[p : p+4])
		size := int64(binary.LittleEndian.Uint32(data[p+4 : p+8]))
		p += 8
		avail := int64(len(data) - p)
		switch id {
		case "fmt ":
			if size > avail {
				return nil, fmt.Errorf("truncated fmt chunk: %d bytes declared, %d present", size, avail)
			}
			fmtChunk = data[p : p+int(size)]
		case "data":
			if size > avail {
				return nil, fmt.Errorf("truncated data chunk: %d bytes declared, %d present", size, avail)
			}
			dataChunk = data[p : p+int(size)]
			haveData = true
		}
		if size > avail {
			break // an unknown chunk runs past the end: nothing more to find
		}
		p += int(size)
		if size%2 == 1 && p < len(data) && !(isChunkID(data[p:]) && !isChunkID(data[p+1:])) {
			p++ // pad byte (some writers leave it out)
		}
		if fmtChunk != nil && haveData {
			break
		}
	}
	if fmtChunk == nil {
		return nil, errors.New("no fmt chunk")
	}
	channels, rate, err := parseFmt(fmtChunk)
	if err != nil {
		return nil, err
	}
	if !haveData {
		return nil, errors.New("no data chunk")
	}
	return &Clip{Rate: rate, Samples: toMono(dataChunk, channels)}, nil
}

// isChunkID reports whether b starts with four printable ASCII characters.
func isChunkID(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	for _, c := range b[:4] {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// parseFmt checks a "fmt " chunk and returns its channel count and rate.
func parseFmt(b []byte) (channels, rate int, err error) {
	if len(b) < 16 {
		return 0, 0, fmt.Errorf("fmt chunk too short: %d bytes, want at least 16", len(b))
	}
	format := int(binary.LittleEndian.Uint16(b[0:2]))
	channels = int(binary.LittleEndian.Uint16(b[2:4]))
	rate = int(binary.LittleEndian.Uint32(b[4:8]))
	blockAlign := int(binary.LittleEndian.Uint16(b[12:14]))
	bits := int(binary.LittleEndian.Uint16(b[14:16]))
	if format == wavFormatExtensible {
		if len(b) < 40 {
			return 0, 0, fmt.Errorf("WAVE_FORMAT_EXTENSIBLE fmt chunk too short: %d bytes, want 40", len(b))
		}
		if !bytes.Equal(b[26:40], ksdataformatSubtypeTail[:]) {
			return 0, 0, errors.New("WAVE_FORMAT_EXTENSIBLE with an unknown subformat GUID, want PCM")
		}
		format = int(binary.LittleEndian.Uint16(b[24:26]))
	}
	switch format {
	case wavFormatPCM:
	case wavFormatFloat:
		return 0, 0, fmt.Errorf("%d-bit floating-point samples not supported, want 16-bit PCM", bits)
	case wavFormatALaw:
		return 0, 0, errors.New("A-law samples not supported, want 16-bit PCM")
	case wavFormatMuLaw:
		return 0, 0, errors.New("µ-law samples not supported, want 16-bit PCM")
	default:
		return 0, 0, fmt.Errorf("format tag %#04x not supported, want 16-bit PCM (1)", format)
	}
	if bits != 16 {
		return 0, 0, fmt.Errorf("%d-bit samples not supported, want 16-bit PCM", bits)
	}
	if channels != 1 && channels != 2 {
		return 0, 0, fmt.Errorf("%d channels not supported, want mono or stereo", channels)
	}
	if blockAlign != 2*channels {
		return 0, 0, fmt.Errorf("block align %d inconsistent with %d channels of 16 bits", blockAlign, channels)
	}
	if rate < minRate || rate > maxRate {
		return 0, 0, fmt.Errorf("sample rate %d Hz not supported, want %d to %d", rate, minRate, maxRate)
	}
	return channels, rate, nil
}

// EncodeWAV writes c to w as a canonical 44-byte-header RIFF/WAVE file of
// 16-bit mono PCM, which DecodeWAV reads back unchanged.
func EncodeWAV(w io.Writer, c *Clip) error {
	if c == nil || c.Rate <= 0 {
		return errors.New("encoding WAV: clip has no sample rate")
	}
	dataLen := 2 * len(c.Samples)
	if dataLen > math.MaxUint32-36 {
		return fmt.Errorf("encoding WAV: %d samples too many for a WAV file", len(c.Samples))
	}
	buf := make([]byte, 44+dataLen)
	copy(buf[0:], "RIFF")
	binary.LittleEndian.PutUint32(buf[4:], uint32(36+dataLen))
	copy(buf[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(buf[16:], 16)
	binary.LittleEndian.PutUint16(buf[20:], wavFormatPCM)
	binary.LittleEndian.PutUint16(buf[22:], 1) // channels
	binary.LittleEndian.PutUint32(buf[24:], uint32(c.Rate))
	binary.LittleEndian.PutUint32(buf[28:], uint32(2*c.Rate)) // byte rate
	binary.LittleEndian.PutUint16(buf[32:], 2)                // block align
	binary.LittleEndian.PutUint16(buf[34:], 16)               // bits
	copy(buf[36:], "data")
	binary.LittleEndian.PutUint32(buf[40:], uint32(dataLen))
	for i, s := range c.Samples {
		binary.LittleEndian.PutUint16(buf[44+2*i:], uint16(s))
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("encoding WAV: %w", err)
	}
	return nil
}
