package sip

import (
	"github.com/switchboard-voice/switchboard/call"
)

// MapFailure turns a far-end final failure response into the cause the
// caller gets. The aim is that a carrier sees what it would see from the far
// end itself, without leaking the other leg's internals:
//   - 3xx the switch did not follow (follow_redirects off, or a Contact
//     off the trunk's host: toll-fraud guard; topology hiding) → 480;
//   - 401/407 after the switch's own credentials failed → 403 (the trunk
//     refused us, the caller can do nothing about it);
//   - other 4xx and 6xx pass through (486 stays 486);
//   - 503 stays 503 (the far end is overloaded: the caller may fail over);
//     every other 5xx becomes 502 Bad Gateway.
func MapFailure(code int, reason string) call.Cause {
	switch {
	case code >= 300 && code < 400:
		return call.Cause{Code: 480, Reason: "Temporarily Unavailable"}
	case code == 401 || code == 407:
		return call.Cause{Code: 403, Reason: "Forbidden (trunk authentication failed)"}
	case code >= 400 && code < 500, code >= 600 && code < 700:
		if reason == "" {
			reason = defaultReason(code)
		}
		return call.Cause{Code: code, Reason: reason}
	case code == 503:
		return call.Unavailable
	case code >= 500 && code < 600:
		return call.BadGateway
	}
	return call.ServerError
}

// defaultReason is the RFC 3261 reason phrase for common codes.
func defaultReason(code int) string {
	switch code {
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 407:
		return "Proxy Authentication Required"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 481:
		return "Call/Transaction Does Not Exist"
	case 483:
		return "Too Many Hops"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 488:
		return "Not Acceptable Here"
	case 491:
		return "Request Pending"
	case 500:
		return "Server Internal Error"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	}
	return "Error"
}
