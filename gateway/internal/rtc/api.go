// Package rtc holds what the gateway and its Go agent client share on top of
// pion/webrtc: the audio-only media engine (Opus and telephone-event), the
// ICE settings (loopback-only for tests, NAT 1:1 and a port range for real
// deployments) and Track, a local track that sends raw RTP as it is given,
// payload type included.
package rtc

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// Opus as WebRTC negotiates it: always opus/48000/2 in SDP, even for mono
// (RFC 7587), with in-band FEC and packets of 10 ms and up.
const (
	OpusFmtp        = "minptime=10;useinbandfec=1"
	OpusPayloadType = 111
	// EventPayloadType is telephone-event/48000 when the switch offers
	// (the agent client); an answer keeps the offer's numbers.
	EventPayloadType = 110
	// ClockRate is the RTP clock of both audio formats.
	ClockRate = 48000
)

// MimeTypeTelephoneEvent is RFC 4733's media type as pion names codecs.
const MimeTypeTelephoneEvent = "audio/telephone-event"

// Config is how peers of an API gather ICE candidates.
type Config struct {
	// LoopbackOnly restricts ICE to 127.0.0.1 over UDP/IPv4 (tests): loopback
	// candidates included, every other interface and address filtered out,
	// mDNS off, short ICE time-outs.
	LoopbackOnly bool
	// NAT1To1IPs are public addresses to advertise instead of the host's own
	// (a server behind 1:1 NAT). Ignored with LoopbackOnly.
	NAT1To1IPs []string
	// PortMin and PortMax bound the UDP ports ICE listens on; 0, 0 = any.
	PortMin, PortMax uint16
	// DisconnectedTimeout and FailedTimeout are ICE's: without traffic for
	// the first, a connection is disconnected; for the second, failed.
	// Zero picks pion's defaults (5 s, 25 s), or 2 s and 5 s with
	// LoopbackOnly.
	DisconnectedTimeout, FailedTimeout time.Duration
}

// NewAPI returns a pion API for audio-only peers with c's ICE settings: Opus
// and telephone-event/48000 as the only codecs, RTCP sender and receiver
// reports as the only interceptors (no NACK, TWCC or header extensions:
// audio needs none of them).
func NewAPI(c Config) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, p := range []webrtc.RTPCodecParameters{OpusCodec(OpusPayloadType), EventCodec(EventPayloadType)} {
		if err := m.RegisterCodec(p, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("rtc: register %s: %w", p.MimeType, err)
		}
	}
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, fmt.Errorf("rtc: RTCP reports: %w", err)
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	disc, failed := c.DisconnectedTimeout, c.FailedTimeout
	if c.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(isLoopbackInterface)
		se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) })
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		if disc == 0 {
			disc = 2 * time.Second
		}
		if failed == 0 {
			failed = 5 * time.Second
		}
	} else if len(c.NAT1To1IPs) > 0 {
		err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        c.NAT1To1IPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
		})
		if err != nil {
			return nil, fmt.Errorf("rtc: NAT 1:1 addresses %v: %w", c.NAT1To1IPs, err)
		}
	}
	if disc > 0 || failed > 0 {
		if disc == 0 {
			disc = 5 * time.Second
		}
		if failed == 0 {
			failed = 25 * time.Second
		}
		se.SetICETimeouts(disc, failed, disc/4)
	}
	if c.PortMin != 0 || c.PortMax != 0 {
		if c.PortMin == 0 || c.PortMax < c.PortMin {
			return nil, fmt.Errorf("rtc: bad ICE port range %d-%d", c.PortMin, c.PortMax)
		}
		if err := se.SetEphemeralUDPPortRange(c.PortMin, c.PortMax); err != nil {
			return nil, fmt.Errorf("rtc: ICE port range %d-%d: %w", c.PortMin, c.PortMax, err)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

func isLoopbackInterface(name string) bool {
	ifc, err := net.InterfaceByName(name)
	return err == nil && ifc.Flags&net.FlagLoopback != 0
}

// OpusCodec is Opus with payload type pt.
func OpusCodec(pt uint8) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: ClockRate, Channels: 2, SDPFmtpLine: OpusFmtp},
		PayloadType:        webrtc.PayloadType(pt),
	}
}

// EventCodec is telephone-event/48000 (digits 0-9, *, #, A-D and flash)
// with payload type pt.
func EventCodec(pt uint8) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: MimeTypeTelephoneEvent, ClockRate: ClockRate, SDPFmtpLine: "0-16"},
		PayloadType:        webrtc.PayloadType(pt),
	}
}

// ErrNoOpus is returned by Negotiated when Opus was not agreed.
var ErrNoOpus = errors.New("rtc: Opus not negotiated")

// Negotiated finds Opus and, if agreed, telephone-event/48000 among the
// codecs of a transceiver (RTPSender.GetParameters().Codecs), with the
// payload types the session uses. event is the zero value without it.
func Negotiated(codecs []webrtc.RTPCodecParameters) (opus, event webrtc.RTPCodecParameters, err error) {
	found := false
	for _, c := range codecs {
		switch {
		case strings.EqualFold(c.MimeType, webrtc.MimeTypeOpus) && !found:
			opus, found = c, true
		case strings.EqualFold(c.MimeType, MimeTypeTelephoneEvent) && c.ClockRate == ClockRate && event.MimeType == "":
			event = c
		}
	}
	if !found {
		return opus, event, ErrNoOpus
	}
	return opus, event, nil
}
