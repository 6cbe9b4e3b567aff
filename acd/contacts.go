package acd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/switchboard-voice/switchboard/call"
	"github.com/switchboard-voice/switchboard/store"
)

// The phone book: contacts with numbers and tags, kept in the store.
// Contacts of the configuration are managed (ApplyContacts) and read-only
// through the API. External transfers dial only numbers of contacts tagged
// TagExternalNumber, unless manual numbers are allowed (CheckExternalNumber).

// TagExternalNumber marks the contacts whose numbers external transfers may
// dial (config.TagExternalNumber).
const TagExternalNumber = "external_number"

// phoneBook is the ACD's phone-book state: the store holds the contacts.
type phoneBook struct {
	// mu serialises writes, so that a managed check and the write it
	// guards see the same contact.
	mu     sync.Mutex
	manual atomic.Bool
}

// SetAllowManualNumbers sets transfers.allow_manual_numbers (on reload).
func (a *ACD) SetAllowManualNumbers(on bool) { a.book.manual.Store(on) }

// AllowManualNumbers reports whether external transfers may dial numbers
// that are in no contact tagged external_number.
func (a *ACD) AllowManualNumbers() bool { return a.book.manual.Load() }

// Contacts lists the contacts f selects, by name.
func (a *ACD) Contacts(ctx context.Context, f store.ContactFilter) ([]store.Contact, error) {
	cs, err := a.st.ListContacts(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("acd: list contacts: %w", err)
	}
	return cs, nil
}

// Contact returns the contact id; ErrNotFound when there is none.
func (a *ACD) Contact(ctx context.Context, id string) (store.Contact, error) {
	c, err := a.st.GetContact(ctx, id)
	return stored(c, err, "contact", id)
}

// CreateContact adds a contact to the phone book with a new id. A number
// another contact has is ErrConflict; a contact that is not valid
// (CheckContact) is ErrInvalid.
func (a *ACD) CreateContact(ctx context.Context, c store.Contact) (store.Contact, error) {
	if err := normalizeContact(&c); err != nil {
		return store.Contact{}, err
	}
	a.book.mu.Lock()
	defer a.book.mu.Unlock()
	now := a.now()
	c.ID, c.Managed, c.CreatedAt, c.UpdatedAt = newID(), false, now, now
	if err := a.putContact(ctx, c); err != nil {
		return store.Contact{}, err
	}
	a.log.Info("contact created", "contact_id", c.ID, "contact", c.Name)
	return c, nil
}

// UpdateContact replaces the name, numbers and tags of the contact c.ID.
// A managed contact is ErrManaged.
func (a *ACD) UpdateContact(ctx context.Context, c store.Contact) (store.Contact, error) {
	if err := normalizeContact(&c); err != nil {
		return store.Contact{}, err
	}
	a.book.mu.Lock()
	defer a.book.mu.Unlock()
	old, err := a.Contact(ctx, c.ID)
	if err != nil {
		return store.Contact{}, err
	}
	if old.Managed {
		return store.Contact{}, fmt.Errorf("%w: contact %q", ErrManaged, old.Name)
	}
	c.Managed, c.CreatedAt, c.UpdatedAt = false, old.CreatedAt, a.now()
	if err := a.putContact(ctx, c); err != nil {
		return store.Contact{}, err
	}
	a.log.Info("contact updated", "contact_id", c.ID, "contact", c.Name)
	return c, nil
}

// DeleteContact removes a contact; a managed one is ErrManaged.
func (a *ACD) DeleteContact(ctx context.Context, id string) error {
	a.book.mu.Lock()
	defer a.book.mu.Unlock()
	old, err := a.Contact(ctx, id)
	if err != nil {
		return err
	}
	if old.Managed {
		return fmt.Errorf("%w: contact %q", ErrManaged, old.Name)
	}
	if err := a.st.DeleteContact(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("acd: delete contact: %w", err)
	}
	a.log.Info("contact deleted", "contact_id", id, "contact", old.Name)
	return nil
}

// putContact writes c, naming the contact that has a number c wants.
func (a *ACD) putContact(ctx context.Context, c store.Contact) error {
	for _, n := range c.Numbers {
		other, err := a.st.ContactByNumber(ctx, n)
		if err == nil && other.ID != c.ID {
			return fmt.Errorf("%w: number %s is a number of contact %q", ErrConflict, n, other.Name)
		}
	}
	if err := a.st.PutContact(ctx, c); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("%w: a number of contact %q belongs to another contact: %w", ErrConflict, c.Name, err)
		}
		return fmt.Errorf("acd: store contact: %w", err)
	}
	return nil
}

// ApplyContacts makes contacts (the configuration's, at start and on
// reload) the managed ones: each is created, or updated in place when a
// contact of the same name exists (one the API created is taken over);
// managed contacts no longer listed are removed. A number the
// configuration gives a contact is taken from any other contact that has
// it (one left with no number is removed). Everything is validated before
// anything is written.
func (a *ACD) ApplyContacts(ctx context.Context, contacts []store.Contact) error {
	want := make([]store.Contact, 0, len(contacts))
	names, numbers := map[string]bool{}, map[string]string{}
	for i, c := range contacts {
		if err := normalizeContact(&c); err != nil {
			return fmt.Errorf("contacts[%d] %q: %w", i, c.Name, err)
		}
		if names[c.Name] {
			return fmt.Errorf("contacts[%d] %q: %w", i, c.Name, invalid("name", "declared twice"))
		}
		names[c.Name] = true
		for _, n := range c.Numbers {
			if other, dup := numbers[n]; dup {
				return fmt.Errorf("contacts[%d] %q: %w", i, c.Name, invalid("numbers", "%s is already a number of %q", n, other))
			}
			numbers[n] = c.Name
		}
		want = append(want, c)
	}

	a.book.mu.Lock()
	defer a.book.mu.Unlock()
	all, err := a.st.ListContacts(ctx, store.ContactFilter{})
	if err != nil {
		return fmt.Errorf("acd: list contacts: %w", err)
	}
	byName := map[string]store.Contact{}
	for _, c := range all {
		if old, ok := byName[c.Name]; !ok || (c.Managed && !old.Managed) {
			byName[c.Name] = c
		}
	}
	now := a.now()
	ids := map[string]bool{}
	for i := range want {
		c := &want[i]
		c.ID, c.CreatedAt = newID(), now
		if old, ok := byName[c.Name]; ok {
			c.ID, c.CreatedAt = old.ID, old.CreatedAt
		}
		c.Managed, c.UpdatedAt = true, now
		ids[c.ID] = true
	}
	// Remove what is no longer the configuration's, and free the numbers
	// the configuration gives, before writing.
	for _, c := range all {
		if ids[c.ID] {
			continue
		}
		if c.Managed {
			if err := a.st.DeleteContact(ctx, c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("acd: delete contact %q: %w", c.Name, err)
			}
			a.log.Info("contact removed with the configuration", "contact_id", c.ID, "contact", c.Name)
			continue
		}
		kept := slices.DeleteFunc(slices.Clone(c.Numbers), func(n string) bool { return numbers[n] != "" })
		if len(kept) == len(c.Numbers) {
			continue
		}
		a.log.Warn("numbers taken by the configuration's contacts", "contact_id", c.ID, "contact", c.Name,
			"numbers", len(c.Numbers)-len(kept))
		if len(kept) == 0 {
			err = a.st.DeleteContact(ctx, c.ID)
		} else {
			c.Numbers = kept
			err = a.st.PutContact(ctx, c)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("acd: contact %q: %w", c.Name, err)
		}
	}
	// Managed contacts swapping numbers: clear them first.
	for _, c := range want {
		if old, ok := byName[c.Name]; ok && old.ID == c.ID {
			cleared := old
			cleared.Numbers = nil
			if err := a.st.PutContact(ctx, cleared); err != nil {
				return fmt.Errorf("acd: store contact %q: %w", c.Name, err)
			}
		}
	}
	for _, c := range want {
		if err := a.st.PutContact(ctx, c); err != nil {
			return fmt.Errorf("acd: store contact %q: %w", c.Name, err)
		}
	}
	return nil
}

// CheckExternalNumber says whether an external transfer (or a REFER) may
// dial number. The number must be E.164 ('+', then 8 to 15 digits), else
// the error wraps ErrInvalid; it must be a number of a contact tagged
// TagExternalNumber, else the error wraps ErrForbidden. With manual numbers
// allowed (SetAllowManualNumbers), a number in no contact is accepted and
// added to the phone book as a contact tagged TagExternalNumber, named by
// the number; a number of a contact without the tag is accepted as it is.
func (a *ACD) CheckExternalNumber(ctx context.Context, number string) error {
	add, err := a.externalNumber(ctx, number)
	if err == nil && add {
		err = a.addManualNumber(ctx, number)
	}
	return err
}

// externalNumber is CheckExternalNumber without its write: add reports a
// manual number to add to the phone book once the call or transfer that
// dials it is accepted (a refused one adds nothing).
func (a *ACD) externalNumber(ctx context.Context, number string) (add bool, err error) {
	if msg := e164Problem(number); msg != "" {
		return false, invalid("number", "%s", msg)
	}
	c, err := a.st.ContactByNumber(ctx, number)
	switch {
	case err == nil && slices.Contains(c.Tags, TagExternalNumber):
		return false, nil
	case err == nil && a.AllowManualNumbers():
		return false, nil
	case err == nil:
		return false, fmt.Errorf("%w: number %s (contact %q) is not tagged %s in the phone book", ErrForbidden, number, c.Name, TagExternalNumber)
	case !errors.Is(err, store.ErrNotFound):
		return false, fmt.Errorf("acd: find number %s: %w", number, err)
	case !a.AllowManualNumbers():
		return false, fmt.Errorf("%w: number %s is in no contact tagged %s in the phone book", ErrForbidden, number, TagExternalNumber)
	}
	return true, nil
}

// addManualNumber adds number to the phone book, tagged external_number
// and named by the number.
func (a *ACD) addManualNumber(ctx context.Context, number string) error {
	_, err := a.CreateContact(ctx, store.Contact{Name: number, Numbers: []string{number}, Tags: []string{TagExternalNumber}})
	if errors.Is(err, ErrConflict) {
		return nil // added meanwhile by another call or transfer
	}
	return err
}

// Bounds of a contact, as config checks them.
const (
	maxContactName    = 200
	maxContactNumbers = 20
	maxContactTags    = 20
	maxTagLength      = 64
)

// normalizeContact trims c's name, drops repeated numbers and tags, and
// checks it: a name, 1 to maxContactNumbers E.164 numbers, tags that are
// lowercase words. The API checks a body with config.Contact.Check, which
// says the same with every problem listed.
func normalizeContact(c *store.Contact) error {
	c.Name = strings.TrimSpace(c.Name)
	switch {
	case c.Name == "":
		return invalid("name", "is required")
	case len(c.Name) > maxContactName:
		return invalid("name", "is too long: use at most %d characters", maxContactName)
	case strings.ContainsFunc(c.Name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return invalid("name", "must not contain control characters")
	}
	c.Numbers, c.Tags = dedupeKeepOrder(c.Numbers), dedupeKeepOrder(c.Tags)
	if len(c.Numbers) == 0 || len(c.Numbers) > maxContactNumbers {
		return invalid("numbers", "give 1 to %d numbers", maxContactNumbers)
	}
	for _, n := range c.Numbers {
		if msg := e164Problem(n); msg != "" {
			return invalid("numbers", "%s", msg)
		}
	}
	if len(c.Tags) > maxContactTags {
		return invalid("tags", "give at most %d tags", maxContactTags)
	}
	for _, t := range c.Tags {
		if !isTag(t) {
			return invalid("tags", "invalid tag %q: use a lowercase word (letters, digits and '_', starting with a letter)", t)
		}
	}
	return nil
}

// e164Problem says why n is not an E.164 number (call.ValidE164), or "".
func e164Problem(n string) string {
	if err := call.ValidE164(n); err != nil {
		_, msg, _ := strings.Cut(err.Error(), ": ")
		return msg
	}
	return ""
}

// isTag reports whether t is a lowercase word of at most maxTagLength.
func isTag(t string) bool {
	if t == "" || len(t) > maxTagLength || t[0] < 'a' || t[0] > 'z' {
		return false
	}
	return strings.Trim(t, "abcdefghijklmnopqrstuvwxyz0123456789_") == ""
}

// dedupeKeepOrder is list without repeats, in its order; never nil.
func dedupeKeepOrder(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
