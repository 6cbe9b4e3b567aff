package store

import (
	"context"
	"testing"
)

func TestContacts(t *testing.T) {
	eachDB(t, func(t *testing.T, s *SQLite) {
		ctx := context.Background()
		esc := Contact{ID: "c1", Name: "Escalations", Numbers: []string{"+15550142", "+15550143"},
			Tags: []string{"external_number", "vip"}, Managed: true}
		must(t, s.PutContact(ctx, esc))
		must(t, s.PutContact(ctx, Contact{ID: "c2", Name: "Acme billing", Numbers: []string{"+442071234567"}}))
		must(t, s.PutContact(ctx, Contact{ID: "c3", Name: "100%_sure", Numbers: []string{"+33123456789"}, Tags: []string{"vip"}}))

		got, err := s.GetContact(ctx, "c1")
		must(t, err)
		want := esc
		want.CreatedAt, want.UpdatedAt = t0, t0
		wantEqual(t, "contact c1", got, want)

		byNumber, err := s.ContactByNumber(ctx, "+15550143")
		must(t, err)
		wantEqual(t, "contact of +15550143", byNumber.ID, "c1")
		_, err = s.ContactByNumber(ctx, "+15550144")
		wantErr(t, err, ErrNotFound)

		ids := func(f ContactFilter) []string {
			t.Helper()
			list, err := s.ListContacts(ctx, f)
			must(t, err)
			out := []string{}
			for _, c := range list {
				out = append(out, c.ID)
			}
			return out
		}
		wantEqual(t, "all, by name", ids(ContactFilter{}), []string{"c3", "c2", "c1"})
		wantEqual(t, "name substring, any case", ids(ContactFilter{Query: "ESCAL"}), []string{"c1"})
		wantEqual(t, "number substring", ids(ContactFilter{Query: "5550"}), []string{"c1"})
		wantEqual(t, "number substring, second number", ids(ContactFilter{Query: "0143"}), []string{"c1"})
		wantEqual(t, "wildcards are literal", ids(ContactFilter{Query: "%_"}), []string{"c3"})
		wantEqual(t, "_ is literal", ids(ContactFilter{Query: "e_c"}), []string{})
		wantEqual(t, "tag", ids(ContactFilter{Tag: "vip"}), []string{"c3", "c1"})
		wantEqual(t, "tag and query", ids(ContactFilter{Tag: "vip", Query: "+1"}), []string{"c1"})
		wantEqual(t, "unknown tag", ids(ContactFilter{Tag: "nope"}), []string{})

		// A number of another contact is a conflict, and the contact is
		// left as it was.
		err = s.PutContact(ctx, Contact{ID: "c2", Name: "Acme", Numbers: []string{"+442071234567", "+15550142"}})
		wantErr(t, err, ErrConflict)
		c2, err := s.GetContact(ctx, "c2")
		must(t, err)
		wantEqual(t, "c2 after a refused put", []any{c2.Name, c2.Numbers, c2.Tags}, []any{"Acme billing", []string{"+442071234567"}, []string{}})

		// Replacing keeps CreatedAt and replaces the lists, in order.
		must(t, s.PutContact(ctx, Contact{ID: "c1", Name: "Escalations desk", Numbers: []string{"+15550199", "+15550142"},
			Tags: []string{"external_number"}}))
		got, err = s.GetContact(ctx, "c1")
		must(t, err)
		wantEqual(t, "replaced c1", []any{got.Name, got.Numbers, got.Tags, got.Managed, got.CreatedAt},
			[]any{"Escalations desk", []string{"+15550199", "+15550142"}, []string{"external_number"}, false, t0})
		_, err = s.ContactByNumber(ctx, "+15550143")
		wantErr(t, err, ErrNotFound)

		must(t, s.DeleteContact(ctx, "c1"))
		wantErr(t, s.DeleteContact(ctx, "c1"), ErrNotFound)
		_, err = s.GetContact(ctx, "c1")
		wantErr(t, err, ErrNotFound)
		wantEqual(t, "numbers left of c1", count(t, s, `SELECT count(*) FROM contact_numbers WHERE contact_id = 'c1'`), 0)
		wantEqual(t, "tags left of c1", count(t, s, `SELECT count(*) FROM contact_tags WHERE contact_id = 'c1'`), 0)
		// Its numbers are free again.
		must(t, s.PutContact(ctx, Contact{ID: "c4", Name: "New", Numbers: []string{"+15550142"}}))
		if err := s.PutContact(ctx, Contact{Name: "no id"}); err == nil {
			t.Error("PutContact without an id succeeded")
		}
	})
}
