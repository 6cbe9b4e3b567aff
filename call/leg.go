// Package call holds what a call is regardless of signalling: its legs, its
// state, the media between legs and its call detail record. It knows nothing
// of SIP or WebRTC: SIP legs (package sip) and WebRTC legs (package gateway)
// implement Leg.
//
// # The model
//
// A call is an anchor leg (the customer) plus parties that join and leave.
// New takes any leg as anchor: the caller's Inbound leg for a carrier's
// call, or a leg the switch placed. Only the anchor leaving, or End, ends
// the call; a party (an agent, a far end, a transfer's target) may leave
// (Release), be joined (Join), be placed (Dial, DialParty) or be parked
// while a REFER's target rings, and the call goes on. A REFER from the
// anchor hands the call to its party: the party becomes the anchor and the
// REFER's sender is the one parked.
//
// One goroutine owns a call's signalling once a party is dialled: the
// bridge loop. It reads both legs' events and every command (hold, release,
// join, dial a party) from one select, so a leg is never left unread while
// the other is waited for; lifecycle is never lost (a leg's end is its Done
// channel and Cause, not an event), while notifications (progress, DTMF)
// travel on bounded channels.
//
// Each leg negotiates its own SDP with its own trunk: a re-offer on one leg
// is answered on that leg from its own codecs; the other leg is re-offered
// only what must change for it (a far end is told the caller's hold; an
// agent's leg, joined with KeepHold, is not). After every change the media
// is re-joined: a relay when the codecs match (or are the two G.711 laws), a
// transcoder otherwise, or, while no party's media may reach the anchor
// (nobody joined, the party held by the switch, a target ringing without
// early media), a Music the call plays to the anchor (hold music, transfer
// music). Recording taps and video streams are meant to join the same
// junction (see media's Sink).
//
// Contexts flow from the request that made the call (the SIP server's, an
// HTTP handler's) without their cancellation; the call's own work runs
// under the context New was given.
package call

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-voice/switchboard/media"
)

// Cause says why a leg or call ended or failed. Code is a SIP status code,
// the common currency of the switch (200 = normal clearing); WebRTC legs map
// their own reasons onto it.
//
// Q850, when not 0, is the ITU-T Q.850 cause value a party gave for it
// (in SIP, a Reason header, RFC 3326), with its text: a far end's cause
// is passed on to the other legs as given.
type Cause struct {
	Code     int
	Reason   string
	Q850     int
	Q850Text string
}

func (c Cause) String() string {
	if c.Q850 != 0 {
		return fmt.Sprintf("%d %s (Q.850 %d)", c.Code, c.Reason, c.Q850)
	}
	return fmt.Sprintf("%d %s", c.Code, c.Reason)
}

// Error makes a Cause usable as an error for failed set-ups.
func (c Cause) Error() string { return "call failed: " + c.String() }

// Common causes.
var (
	Normal        = Cause{Code: 200, Reason: "Normal call clearing"}
	Cancelled     = Cause{Code: 487, Reason: "Request Terminated"}
	NoAnswer      = Cause{Code: 480, Reason: "Temporarily Unavailable"}
	Timeout       = Cause{Code: 408, Reason: "Request Timeout"}
	Busy          = Cause{Code: 486, Reason: "Busy Here"}
	Unavailable   = Cause{Code: 503, Reason: "Service Unavailable"}
	BadGateway    = Cause{Code: 502, Reason: "Bad Gateway"}
	NotAcceptable = Cause{Code: 488, Reason: "Not Acceptable Here"}
	ServerError   = Cause{Code: 500, Reason: "Server Internal Error"}
	Shutdown      = Cause{Code: 503, Reason: "Switch shutting down"}
)

// Leg is one party of a call as seen from the switch: its own signalling
// dialog and its own media socket. Ringing, answering, hold, re-offers and
// hang-up look the same whatever the leg's technology.
type Leg interface {
	// ID identifies the leg in logs and records (for SIP, its Call-ID).
	ID() string
	// Socket is the switch's media endpoint facing this leg's party.
	Socket() *media.Socket
	// Events delivers notifications of what the party does: progress,
	// answer, re-offers, DTMF. It is bounded and never blocks the leg: when
	// its owner does not read, a notification is dropped and logged (a
	// dropped Reoffer is refused to the party). It is never closed; the
	// leg's end is not an event but Done.
	Events() <-chan Event
	// Done is closed exactly once, when the leg is over, whoever ended it
	// (its party, Hangup, a time-out, the switch shutting down). It is never
	// lost: an owner selects on it next to Events.
	Done() <-chan struct{}
	// Cause is why the leg ended, once Done is closed (the cause of the
	// first end wins: the party's BYE or final response and its Q.850
	// reason, or the cause given to Hangup).
	Cause() Cause
	// Update sends a new offer to the party (hold, resume) and returns its
	// answer, once the leg's socket uses it. An offer without codecs asks
	// only for offer.Direction: the leg re-offers its own codecs, those it
	// agreed with its party (each leg negotiates its own SDP; the call never
	// passes one leg's codec list to another).
	Update(ctx context.Context, offer media.Description) (media.Description, error)
	// Hangup ends the leg with cause: a final response or CANCEL before answer,
	// a BYE after. It is idempotent; Done closes once the leg is over.
	Hangup(ctx context.Context, cause Cause) error
	// SendDTMF sends one digit to the party the way its trunk wants it
	// (RFC 4733 telephone-events, or SIP INFO) and returns once it is sent.
	SendDTMF(ctx context.Context, digit rune, d time.Duration) error
}

// Party is a caller or callee identity.
type Party struct {
	Number string // user part, e.g. +15551234
	Name   string // display name
}

// Inbound is a leg the switch answers: the caller's.
type Inbound interface {
	Leg
	// Trunk is the name of the trunk the call came in on.
	Trunk() string
	From() Party
	To() Party
	// MaxForwards is how many hops legs placed for this call may still take.
	MaxForwards() int
	// Offer is the caller's media offer; nil when the INVITE had none (late
	// offer), in which case Answer carries the switch's offer.
	Offer() *media.Description
	// Progress sends 180 Ringing, or 183 with early media when early is set.
	Progress(ctx context.Context, ringing bool, early *media.Description) error
	// Answer accepts the call with d (the answer, or the switch's offer for a
	// late-offer call). It returns the description finally agreed with the
	// caller once the call is confirmed (ACK received).
	Answer(ctx context.Context, d media.Description) (media.Description, error)
}

// Event is something a leg's party did.
type Event interface{ event() }

// Progress: the party is ringing, or sends early media (Early != nil).
type Progress struct {
	Ringing bool
	Early   *media.Description
}

// Answered: the party answered with Answer.
type Answered struct{ Answer media.Description }

// Reoffer: the party sent a new offer (re-INVITE). Offer is nil when it asks
// the switch to offer. The owner must send exactly one OfferReply on Reply,
// which has room for it (sending never blocks the owner);
// the answer is the leg's own (its codecs, from Offer) and the leg applies
// it to its socket. Applied, when not nil, is closed once the leg's socket
// uses the reply (or the leg gave up on it): the owner re-joins media then.
type Reoffer struct {
	Offer   *media.Description
	Reply   chan<- OfferReply
	Applied <-chan struct{}
}

// OfferReply answers a Reoffer: an answer, or an error cause (e.g. 488).
type OfferReply struct {
	Answer media.Description
	Err    *Cause
}

// DTMF: the party pressed a key. InBand is true for RFC 4733
// telephone-events (which a relay may already have forwarded), false for
// SIP INFO.
type DTMF struct {
	Digit    rune
	Duration time.Duration
	InBand   bool
}

// Refer: the party asked, with a REFER (RFC 3515), that the call be
// transferred to Target, and leaves it when the transfer succeeds (a blind
// transfer). The leg has answered 202 Accepted and holds the implicit
// subscription; the owner reports the transfer's progress with Notify, a
// SIP status line of the target's leg (100 Trying, 180 Ringing, 200 OK,
// 486 Busy Here...). A final status (>= 200) ends the subscription; Notify
// is safe from any goroutine, never blocks, and does nothing once the
// subscription ended. A leg whose trunk refuses REFER answers it 603 and
// never emits Refer.
type Refer struct {
	// Target is the number the Refer-To URI names (the user part of a sip:
	// or sips: URI, or a tel: URI's number), as sent: the owner checks it
	// like any number it dials.
	Target string
	// URI is the Refer-To URI as sent.
	URI string
	// ReferredBy is the Referred-By URI (RFC 3892), "" when absent.
	ReferredBy string
	// Notify reports the transfer's progress to the party.
	Notify func(code int, reason string)
}

func (Progress) event() {}
func (Answered) event() {}
func (Reoffer) event()  {}
func (DTMF) event()     {}
func (Refer) event()    {}

// DialRequest asks a Dialer for a new outgoing leg.
type DialRequest struct {
	Trunk string
	To    string // number to call, before the trunk's number format
	From  Party
	// Offer to send; nil makes the dialer offer its trunk's codecs (the
	// caller sent a late offer).
	Offer *media.Description
	// CallID of the call, for logs only (it never reaches the other leg).
	CallID string
	// MaxForwards left for the new leg's request (already decremented).
	MaxForwards int
	// Timeout bounds ringing; 0 = the dialer's default.
	Timeout time.Duration
	// KeepHold: the caller's own hold (its sendonly or inactive re-offer)
	// is answered on the caller's leg alone, never re-offered to this
	// party (an agent's leg: it just hears silence).
	KeepHold bool
}

// Assignment is the agent a queue found for a caller: the leg to bridge
// the caller to, placed by Dialer (nil: the dialplan's own dialer, i.e. a SIP
// trunk) with Request. A WebRTC agent's Dialer hands back the leg the agent
// already answered.
type Assignment struct {
	Agent   string
	Dialer  Dialer
	Request DialRequest
}

// Dialer creates outgoing legs. Dial returns as soon as the leg's request is
// sent; its Events report progress and answer, its Done and Cause failure.
type Dialer interface {
	Dial(ctx context.Context, r DialRequest) (Leg, error)
}
