package call

import "strings"

// MatchNumber reports whether number matches pattern: '*' matches any run of
// characters (including none), '?' exactly one; everything else literally.
// A pattern without '+' also matches the number's form without its leading
// '+' and vice versa, so "+4420*" and "4420*" serve the same DIDs.
func MatchNumber(pattern, number string) bool {
	if wildcard(pattern, number) {
		return true
	}
	p, n := strings.TrimPrefix(pattern, "+"), strings.TrimPrefix(number, "+")
	return wildcard(p, n)
}

// wildcard is an iterative glob match with backtracking on the last '*'.
func wildcard(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
