package config

import (
	"fmt"
	"strings"
	"time"
)

// Hold, transfers and the phone book: their defaults and checks. The types
// are in contact.go.

// Bounds of hold and transfer settings.
const (
	// MinMessageEvery and MaxMessageEvery bound how often a hold
	// announcement or a transfer message repeats.
	MinMessageEvery = time.Second
	MaxMessageEvery = time.Hour
	// MinTransferTimeout and MaxTransferTimeout bound transfers.timeout.
	MinTransferTimeout = time.Second
	MaxTransferTimeout = 10 * time.Minute
	// MaxContactName bounds a contact's name, in bytes.
	MaxContactName = 200
	// MaxContactNumbers and MaxContactTags bound a contact's lists.
	MaxContactNumbers = 20
	MaxContactTags    = 20
	// MaxTagLength bounds a tag.
	MaxTagLength = 64
)

// Trunk REFER policies (Trunk.Refer).
const (
	ReferReject = "reject"
	ReferAllow  = "allow"
	// DefaultRefer is the policy of a trunk that sets none.
	DefaultRefer = ReferReject
)

// applyTransferDefaults fills hold and transfer settings: the time-out, and
// the interval of a message that is set but has none.
func (c *Config) applyTransferDefaults() {
	setDuration(&c.Transfers.Timeout, DefaultTransferTimeout)
	c.Transfers.Message.applyDefaults(DefaultTransferMessageEvery)
	c.Hold.Announcement.applyDefaults(DefaultHoldAnnouncementEvery)
	for i := range c.Queues {
		if h := c.Queues[i].Hold; h != nil {
			h.Announcement.applyDefaults(DefaultHoldAnnouncementEvery)
		}
	}
}

// applyDefaults gives a message that is set the default interval.
func (m *Message) applyDefaults(every time.Duration) {
	if m.Set() {
		setDuration(&m.Every, every)
	}
}

// validateTransfers checks the hold, transfers and contacts sections. The
// files they name are checked by the dialplan (confined to prompts.dirs).
func (c *Config) validateTransfers(v *collector) {
	c.Hold.validate(v, "hold")
	for i, q := range c.Queues {
		if q.Hold != nil {
			q.Hold.validate(v, fmt.Sprintf("queues[%d].hold", i))
		}
	}
	c.Transfers.Message.validate(v, "transfers.message")
	if t := c.Transfers.Timeout; t < MinTransferTimeout || t > MaxTransferTimeout {
		v.add("transfers.timeout", "must be from %v to %v, not %v", MinTransferTimeout, MaxTransferTimeout, t)
	}
	owner, ownerIndex := map[string]string{}, map[string]int{}
	names := map[string]int{}
	for i, ct := range c.Contacts {
		key := fmt.Sprintf("contacts[%d]", i)
		v.addAll(key, ct.Check())
		// The name identifies a contact of the configuration across reloads.
		name := strings.TrimSpace(ct.Name)
		if j, dup := names[name]; dup && name != "" {
			v.add(key+".name", "contact %q is declared twice (first at contacts[%d])", name, j)
		} else if name != "" {
			names[name] = i
		}
		for j, n := range ct.Numbers {
			if E164Problem(n) != "" {
				continue
			}
			if first, dup := owner[n]; dup && ownerIndex[n] != i {
				v.add(fmt.Sprintf("%s.numbers[%d]", key, j), "number %s is already a number of contact %q", n, first)
			} else if !dup {
				owner[n], ownerIndex[n] = ct.Name, i
			}
		}
	}
}

// validate checks a hold's announcement.
func (h *Hold) validate(v *collector, key string) {
	h.Announcement.validate(v, key+".announcement")
}

// validate checks a message: a file or a text, not both, and an interval
// within bounds when it is set.
func (m Message) validate(v *collector, key string) {
	if m.File != "" && m.Say != "" {
		v.add(key, "has both file and say: use one")
	}
	if strings.TrimSpace(m.Say) == "" && m.Say != "" {
		v.add(key+".say", "is blank")
	}
	switch {
	case !m.Set() && m.Every != 0:
		v.add(key+".every", "needs a file or say to repeat")
	case m.Set() && (m.Every < MinMessageEvery || m.Every > MaxMessageEvery):
		v.add(key+".every", "must be from %v to %v, not %v", MinMessageEvery, MaxMessageEvery, m.Every)
	}
}

// Check checks ct's own settings, the same for a contact of the
// configuration and one of the REST API: each problem's Key is the setting
// ("numbers[1]"). Whether its numbers belong to another contact is for the
// caller to check.
func (ct *Contact) Check() Problems {
	v := &collector{}
	switch name := strings.TrimSpace(ct.Name); {
	case name == "":
		v.add("name", "is required")
	case len(ct.Name) > MaxContactName:
		v.add("name", "is too long: use at most %d characters", MaxContactName)
	case strings.ContainsFunc(ct.Name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		v.add("name", "must not contain control characters")
	}
	switch {
	case len(ct.Numbers) == 0:
		v.add("numbers", "needs at least one number (E.164, e.g. +15550142)")
	case len(ct.Numbers) > MaxContactNumbers:
		v.add("numbers", "has %d numbers: at most %d", len(ct.Numbers), MaxContactNumbers)
	}
	seen := map[string]bool{}
	for i, n := range ct.Numbers {
		key := fmt.Sprintf("numbers[%d]", i)
		if msg := E164Problem(n); msg != "" {
			v.add(key, "%s", msg)
		} else if seen[n] {
			v.add(key, "number %s is listed twice", n)
		}
		seen[n] = true
	}
	if len(ct.Tags) > MaxContactTags {
		v.add("tags", "has %d tags: at most %d", len(ct.Tags), MaxContactTags)
	}
	for i, t := range ct.Tags {
		if msg := TagProblem(t); msg != "" {
			v.add(fmt.Sprintf("tags[%d]", i), "%s", msg)
		}
	}
	return v.list
}

// E164Problem checks an E.164 number: '+' then 8 to 15 digits, the first
// not 0. It returns what is wrong, or "".
func E164Problem(n string) string {
	digits, ok := strings.CutPrefix(n, "+")
	switch {
	case !ok:
		return fmt.Sprintf("invalid number %q: an E.164 number starts with '+' (e.g. +15550142)", n)
	case digits == "" || strings.Trim(digits, "0123456789") != "":
		return fmt.Sprintf("invalid number %q: use '+' and digits only", n)
	case len(digits) < 8 || len(digits) > 15:
		return fmt.Sprintf("invalid number %q: an E.164 number has 8 to 15 digits after '+'", n)
	case digits[0] == '0':
		return fmt.Sprintf("invalid number %q: a country code does not start with 0", n)
	}
	return ""
}

// TagPattern is the regular expression a contact's tag matches (TagProblem),
// for documents such as the API's OpenAPI schema.
var TagPattern = fmt.Sprintf("^[a-z][a-z0-9_]{0,%d}$", MaxTagLength-1)

// TagProblem checks a contact's tag: a lowercase word (letters, digits and
// '_', starting with a letter), at most MaxTagLength characters. It returns
// what is wrong, or "".
func TagProblem(tag string) string {
	switch {
	case tag == "":
		return "empty tag"
	case len(tag) > MaxTagLength:
		return fmt.Sprintf("invalid tag %q: use at most %d characters", tag, MaxTagLength)
	case tag[0] < 'a' || tag[0] > 'z' || strings.Trim(tag, "abcdefghijklmnopqrstuvwxyz0123456789_") != "":
		return fmt.Sprintf("invalid tag %q: use a lowercase word (letters, digits and '_', starting with a letter)", tag)
	}
	return ""
}
