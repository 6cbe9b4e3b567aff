package codec

import (
	"strconv"
	"strings"
)

// OpusFmtp holds the Opus format parameters of an SDP a=fmtp line (RFC 7587,
// section 6.1) that the switch acts on. Zero values mean "not set".
type OpusFmtp struct {
	// MaxPlaybackRate is maxplaybackrate: the highest sample rate the
	// receiver will play, in Hz (see Options.MaxPlaybackRate).
	MaxPlaybackRate int
	// UseInbandFEC is useinbandfec=1: the receiver can use in-band FEC.
	UseInbandFEC bool
	// Stereo is stereo=1: the receiver prefers stereo.
	Stereo bool
	// MaxAverageBitrate is maxaveragebitrate, in bits/s.
	MaxAverageBitrate int
	// UseDTX is usedtx=1: the receiver prefers DTX.
	UseDTX bool
}

// ParseOpusFmtp parses the parameters of an Opus fmtp line, such as
// "minptime=10;useinbandfec=1;maxplaybackrate=16000" (without the
// "a=fmtp:<pt> " prefix). Keys are case-insensitive, spaces around
// separators are ignored, and unknown keys or malformed values are skipped.
func ParseOpusFmtp(s string) OpusFmtp {
	var f OpusFmtp
	for p := range strings.SplitSeq(s, ";") {
		key, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		switch key {
		case "maxplaybackrate":
			if n, err := strconv.Atoi(val); err == nil && n > 0 {
				f.MaxPlaybackRate = n
			}
		case "maxaveragebitrate":
			if n, err := strconv.Atoi(val); err == nil && n > 0 {
				f.MaxAverageBitrate = n
			}
		case "useinbandfec":
			f.UseInbandFEC = val == "1"
		case "stereo":
			f.Stereo = val == "1"
		case "usedtx":
			f.UseDTX = val == "1"
		}
	}
	return f
}

// String renders the set parameters in fmtp syntax, e.g.
// "useinbandfec=1;maxplaybackrate=8000"; it returns "" when none is set.
func (f OpusFmtp) String() string {
	var b []byte
	add := func(key string, v int) {
		if len(b) > 0 {
			b = append(b, ';')
		}
		b = append(b, key...)
		b = append(b, '=')
		b = strconv.AppendInt(b, int64(v), 10)
	}
	if f.UseInbandFEC {
		add("useinbandfec", 1)
	}
	if f.UseDTX {
		add("usedtx", 1)
	}
	if f.Stereo {
		add("stereo", 1)
	}
	if f.MaxPlaybackRate > 0 {
		add("maxplaybackrate", f.MaxPlaybackRate)
	}
	if f.MaxAverageBitrate > 0 {
		add("maxaveragebitrate", f.MaxAverageBitrate)
	}
	return string(b)
}
