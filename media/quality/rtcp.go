package quality

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/pion/rtcp"
)

// RTCP packet types (RFC 3550).
const (
	typeSR    = 200
	typeRR    = 201
	typeSDES  = 202
	sdesCNAME = 1
)

// ntpEpochOffset is the number of seconds from 1900-01-01 (NTP) to
// 1970-01-01 (Unix).
const ntpEpochOffset = 2208988800

var (
	// ErrMalformed is returned (wrapped) by [Monitor.HandleRTCP] for input
	// that is not a valid RTCP compound packet.
	ErrMalformed = errors.New("quality: malformed RTCP")
	// ErrCNAMETooLong is returned (wrapped) by [Monitor.Report] when
	// [Options.CNAME] does not fit an SDES item (255 bytes).
	ErrCNAMETooLong = errors.New("quality: CNAME longer than 255 bytes")
)

// NTPTime converts t to a 64-bit NTP timestamp: seconds since 1900-01-01 UTC
// in the high 32 bits and the binary fraction of a second in the low 32.
func NTPTime(t time.Time) uint64 {
	secs := uint64(t.Unix() + ntpEpochOffset)
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return secs<<32 | frac
}

// ntpMiddle returns the middle 32 bits of t's NTP timestamp (units of
// 1/65536 s), the format of LSR and RTT arithmetic.
func ntpMiddle(t time.Time) uint32 { return uint32(NTPTime(t) >> 16) }

// Report appends to dst the RTCP compound packet to send at now and returns
// it. It starts with a sender report if we sent RTP since the previous
// Report, else with a receiver report. Once a packet has been received it
// carries one reception report block about the current source: the fraction
// lost since the previous Report, the cumulative number lost, the extended
// highest sequence number, the jitter, and LSR/DLSR from the peer's last
// sender report. An SDES packet with our CNAME follows. With a dst of
// sufficient capacity Report does not allocate.
func (m *Monitor) Report(dst []byte, now time.Time) ([]byte, error) {
	if len(m.cname) > 255 {
		return dst, fmt.Errorf("%w: %d bytes", ErrCNAMETooLong, len(m.cname))
	}

	m.ctlMu.Lock()
	ssrc, haveSR, lsr, srArrival := m.ctl.ssrc, m.ctl.haveSR, m.ctl.lsr, m.ctl.srArrival
	m.ctlMu.Unlock()

	var b block
	m.rxMu.Lock()
	rate := m.rx.clockRate
	haveBlock := m.rx.active
	if haveBlock {
		b = m.rx.src.reportBlock()
	}
	m.rxMu.Unlock()
	if haveBlock && haveSR {
		b.lsr = lsr
		d := units(now.Sub(srArrival), 1<<16)
		b.dlsr = uint32(min(max(d, 0), math.MaxUint32))
	}

	m.txMu.Lock()
	tx := m.tx
	m.tx.sentSinceReport = false
	m.txMu.Unlock()

	rc := byte(0)
	if haveBlock {
		rc = 1
	}
	if tx.sentSinceReport {
		rtpTime := tx.lastTS
		if rate > 0 {
			rtpTime += uint32(units(now.Sub(tx.lastTime), int64(rate)))
		}
		dst = appendHeader(dst, rc, typeSR, 6+6*int(rc))
		dst = binary.BigEndian.AppendUint32(dst, ssrc)
		dst = binary.BigEndian.AppendUint64(dst, NTPTime(now))
		dst = binary.BigEndian.AppendUint32(dst, rtpTime)
		dst = binary.BigEndian.AppendUint32(dst, uint32(tx.packets))
		dst = binary.BigEndian.AppendUint32(dst, uint32(tx.octets))
	} else {
		dst = appendHeader(dst, rc, typeRR, 1+6*int(rc))
		dst = binary.BigEndian.AppendUint32(dst, ssrc)
	}
	if haveBlock {
		dst = b.append(dst)
	}

	// SDES: one chunk with the CNAME item, then at least one zero octet
	// ending the item list, padded to a 32-bit boundary.
	chunk := 4 + (2+len(m.cname)+1+3)&^3
	dst = appendHeader(dst, 1, typeSDES, chunk/4)
	dst = binary.BigEndian.AppendUint32(dst, ssrc)
	dst = append(dst, sdesCNAME, byte(len(m.cname)))
	dst = append(dst, m.cname...)
	for pad := chunk - 4 - 2 - len(m.cname); pad > 0; pad-- {
		dst = append(dst, 0)
	}
	return dst, nil
}

// appendHeader appends an RTCP header; length is in 32-bit words minus one.
func appendHeader(dst []byte, count, typ byte, length int) []byte {
	return append(dst, 2<<6|count, typ, byte(length>>8), byte(length))
}

// block is one reception report block.
type block struct {
	ssrc      uint32
	fraction  uint8
	lost      int32 // 24-bit signed
	extMax    uint32
	jitter    uint32
	lsr, dlsr uint32
}

// reportBlock computes the reception report about s (RFC 3550 A.3) and
// starts a new reporting interval.
func (s *source) reportBlock() block {
	expected := s.expected()
	lost := min(max(expected-s.received, -0x800000), 0x7fffff)
	expInterval := expected - s.expectedPrior
	lostInterval := expInterval - (s.received - s.receivedPrior)
	s.expectedPrior, s.receivedPrior = expected, s.received
	var fraction uint8
	if expInterval > 0 && lostInterval > 0 {
		fraction = uint8(min(lostInterval<<8/expInterval, 255))
	}
	return block{
		ssrc:     s.ssrc,
		fraction: fraction,
		lost:     int32(lost),
		extMax:   uint32(s.extMax()),
		jitter:   uint32(min(s.jitter, math.MaxUint32)),
	}
}

func (b *block) append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, b.ssrc)
	dst = binary.BigEndian.AppendUint32(dst, uint32(b.fraction)<<24|uint32(b.lost)&0xffffff)
	dst = binary.BigEndian.AppendUint32(dst, b.extMax)
	dst = binary.BigEndian.AppendUint32(dst, b.jitter)
	dst = binary.BigEndian.AppendUint32(dst, b.lsr)
	return binary.BigEndian.AppendUint32(dst, b.dlsr)
}

// HandleRTCP processes an RTCP compound packet received from the peer at
// now. From a sender report it keeps LSR (the middle 32 bits of its NTP
// timestamp) and the arrival time for the DLSR of our next report. From the
// report blocks of sender and receiver reports about our SSRC it takes the
// peer's view of our stream (fraction lost, cumulative lost, jitter) and, when
// LSR is not zero, the round-trip time now - LSR - DLSR. Other packet types
// (SDES, BYE, APP, feedback, unknown) are skipped without parsing.
//
// Input that is not a sequence of well-framed RTCP packets, or whose sender
// or receiver report does not parse, yields an error wrapping [ErrMalformed]
// and changes nothing.
func (m *Monitor) HandleRTCP(pkt []byte, now time.Time) error {
	if err := checkFraming(pkt); err != nil {
		return err
	}
	var (
		sr      *rtcp.SenderReport
		reports []rtcp.ReceptionReport
	)
	for len(pkt) > 0 {
		n := (int(binary.BigEndian.Uint16(pkt[2:])) + 1) * 4
		p := pkt[:n]
		pkt = pkt[n:]
		switch p[1] {
		case typeSR:
			s := new(rtcp.SenderReport)
			if err := s.Unmarshal(p); err != nil {
				return fmt.Errorf("%w: sender report: %w", ErrMalformed, err)
			}
			sr = s
			reports = append(reports, s.Reports...)
		case typeRR:
			var r rtcp.ReceiverReport
			if err := r.Unmarshal(p); err != nil {
				return fmt.Errorf("%w: receiver report: %w", ErrMalformed, err)
			}
			reports = append(reports, r.Reports...)
		}
	}

	m.ctlMu.Lock()
	defer m.ctlMu.Unlock()
	c := &m.ctl
	if sr != nil {
		c.haveSR = true
		c.lsr = uint32(sr.NTPTime >> 16)
		c.srArrival = now
	}
	for _, r := range reports {
		if r.SSRC != c.ssrc {
			continue
		}
		c.haveRemote = true
		c.remoteFraction = r.FractionLost
		c.remoteLost = int32(r.TotalLost<<8) >> 8 // sign-extend 24 bits
		c.remoteJitter = r.Jitter
		if r.LastSenderReport != 0 {
			rtt := ntpMiddle(now) - r.LastSenderReport - r.Delay
			if int32(rtt) >= 0 {
				c.rtt = time.Duration(uint64(rtt) * uint64(time.Second) >> 16)
			}
		}
	}
	return nil
}

// checkFraming verifies that pkt is a non-empty sequence of RTCP packets of
// version 2 whose lengths add up to len(pkt).
func checkFraming(pkt []byte) error {
	if len(pkt) == 0 {
		return fmt.Errorf("%w: empty packet", ErrMalformed)
	}
	for off := 0; off < len(pkt); {
		rest := pkt[off:]
		if len(rest) < 4 {
			return fmt.Errorf("%w: truncated header at offset %d", ErrMalformed, off)
		}
		if rest[0]>>6 != 2 {
			return fmt.Errorf("%w: version %d at offset %d", ErrMalformed, rest[0]>>6, off)
		}
		n := (int(binary.BigEndian.Uint16(rest[2:])) + 1) * 4
		if n > len(rest) {
			return fmt.Errorf("%w: length %d exceeds the %d bytes left at offset %d",
				ErrMalformed, n, len(rest), off)
		}
		off += n
	}
	return nil
}
