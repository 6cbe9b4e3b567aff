package sip

import (
	"strings"
	"unicode"
)

const (
	paramsStateNone = iota
	paramsStateKey
	paramsStateEqual
	paramsStateValue
	paramsStateQuote
	paramsStateAfterQuote // Switchboard fork
)

func UnmarshalHeaderParams(s string, seperator rune, ending rune, p *HeaderParams) (n int, err error) {
	var start, sep, quote int = 0, 0, -1
	state := paramsStateKey

	s = strings.TrimLeftFunc(s, unicode.IsSpace) // Remove trailing spaces
	n = len(s)
	// Switchboard fork: LWS is allowed around ";" and "=" (RFC 3261 §25.1,
	// RFC 4475 wsinv: "tag    = 1918181833n"); upstream kept it in the
	// name and value, so such a tag was never found.
	// A quoted value is kept as is, and the separator after its closing
	// quote starts the next parameter (upstream took the rest of the
	// string as the name, and lost the parameters after it).
	add := func(k, v string) {
		if k = strings.TrimSpace(k); k != "" {
			p.Add(k, strings.TrimSpace(v))
		}
	}
	for i, c := range s {
		if c == ending {
			n = i
			break
		}

		switch state {
		case paramsStateKey:
			sep = 0
			start = i
			state = paramsStateEqual

		case paramsStateEqual:
			if c == seperator {
				// Add support for empty values
				add(s[start:i], "")
				state = paramsStateKey
				continue
			}

			if c != '=' {
				continue
			}

			sep = i
			state = paramsStateValue

		case paramsStateValue:
			switch c {
			case '"':
				state = paramsStateQuote
				quote = i
			case seperator:
				add(s[start:sep], s[sep+1:i])
				start = sep + 1
				state = paramsStateKey
			}
		case paramsStateQuote:
			if c != '"' {
				//End quoute
				continue
			}
			if k := strings.TrimSpace(s[start:sep]); k != "" {
				p.Add(k, s[quote+1:i])
			}
			start, sep = i+1, 0
			state = paramsStateAfterQuote
		case paramsStateAfterQuote:
			if c == seperator {
				start = i + 1
				state = paramsStateKey
			}
		}
	}

	// Do the last one
	if sep > 0 && n >= 0 && (start < sep) {
		add(s[start:sep], s[sep+1:n])
	}
	// No seperator
	if sep == 0 && start < n && n >= 0 && state != paramsStateAfterQuote {
		add(s[start:n], "")
	}

	return n, nil
}
