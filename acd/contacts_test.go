package acd

import (
	"errors"
	"reflect"
	"testing"

	"github.com/switchboard-voice/switchboard/store"
)

func contactNames(t *testing.T, e *env, f store.ContactFilter) []string {
	t.Helper()
	cs, err := e.a.Contacts(e.ctx, f)
	e.must(err)
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestContactsCRUD(t *testing.T) {
	e := newEnv(t)
	c, err := e.a.CreateContact(e.ctx, store.Contact{Name: "  Acme  ", Numbers: []string{"+442071234567", "+442071234567"},
		Tags: []string{"vip", "vip"}})
	e.must(err)
	if c.ID == "" || c.Name != "Acme" || !reflect.DeepEqual(c.Numbers, []string{"+442071234567"}) ||
		!reflect.DeepEqual(c.Tags, []string{"vip"}) || c.Managed || !c.CreatedAt.Equal(t0) {
		t.Fatalf("created %+v, want a new id, the name trimmed, repeats dropped, not managed, created now", c)
	}
	got, err := e.a.Contact(e.ctx, c.ID)
	e.must(err)
	if got.Name != "Acme" || !reflect.DeepEqual(got.Numbers, c.Numbers) {
		t.Errorf("Contact(%s) = %+v, want the created contact", c.ID, got)
	}

	for _, bad := range []store.Contact{
		{Name: "", Numbers: []string{"+15550100"}},
		{Name: "No numbers"},
		{Name: "Local", Numbers: []string{"5550100"}},
		{Name: "Short", Numbers: []string{"+1555"}},
		{Name: "Tag", Numbers: []string{"+15550100"}, Tags: []string{"Not A Word"}},
	} {
		if _, err := e.a.CreateContact(e.ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateContact(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	_, err = e.a.CreateContact(e.ctx, store.Contact{Name: "Copy", Numbers: []string{"+442071234567"}})
	wantErr(t, err, ErrConflict)

	c.Name, c.Numbers = "Acme Ltd", []string{"+442071234568"}
	up, err := e.a.UpdateContact(e.ctx, c)
	e.must(err)
	if up.Name != "Acme Ltd" || !up.CreatedAt.Equal(t0) {
		t.Errorf("updated %+v", up)
	}
	if names := contactNames(t, e, store.ContactFilter{Query: "4568"}); !reflect.DeepEqual(names, []string{"Acme Ltd"}) {
		t.Errorf("search by the new number = %v", names)
	}
	_, err = e.a.UpdateContact(e.ctx, store.Contact{ID: "nope", Name: "x", Numbers: []string{"+15550100"}})
	wantErr(t, err, ErrNotFound)
	e.must(e.a.DeleteContact(e.ctx, c.ID))
	wantErr(t, e.a.DeleteContact(e.ctx, c.ID), ErrNotFound)
}

func TestApplyContacts(t *testing.T) {
	e := newEnv(t)
	api, err := e.a.CreateContact(e.ctx, store.Contact{Name: "Old desk", Numbers: []string{"+15550142", "+15550150"}})
	e.must(err)
	taken, err := e.a.CreateContact(e.ctx, store.Contact{Name: "Sales", Numbers: []string{"+15550160"}})
	e.must(err)
	e.must(e.a.ApplyContacts(e.ctx, []store.Contact{
		{Name: "Escalations", Numbers: []string{"+15550142"}, Tags: []string{TagExternalNumber}},
		{Name: "Sales", Numbers: []string{"+15550161"}},
	}))
	esc, err := e.a.st.ContactByNumber(e.ctx, "+15550142")
	e.must(err)
	if esc.Name != "Escalations" || !esc.Managed {
		t.Fatalf("+15550142 belongs to %+v, want the managed Escalations", esc)
	}
	// The API's contact lost the number the configuration gives; the one
	// of the same name was taken over.
	old, err := e.a.Contact(e.ctx, api.ID)
	e.must(err)
	if !reflect.DeepEqual(old.Numbers, []string{"+15550150"}) || old.Managed {
		t.Errorf("old desk = %+v, want +15550150 only, not managed", old)
	}
	sales, err := e.a.Contact(e.ctx, taken.ID)
	e.must(err)
	if !sales.Managed || !reflect.DeepEqual(sales.Numbers, []string{"+15550161"}) {
		t.Errorf("sales = %+v, want taken over: managed, numbers of the configuration", sales)
	}
	// Managed contacts are read-only.
	esc.Name = "Renamed"
	_, err = e.a.UpdateContact(e.ctx, esc)
	wantErr(t, err, ErrManaged)
	wantErr(t, e.a.DeleteContact(e.ctx, esc.ID), ErrManaged)

	// A reload: Escalations keeps its id and swaps numbers with nothing
	// lost; Sales is no longer declared and goes.
	e.must(e.a.ApplyContacts(e.ctx, []store.Contact{
		{Name: "Escalations", Numbers: []string{"+15550143", "+15550142"}, Tags: []string{TagExternalNumber}},
	}))
	again, err := e.a.Contact(e.ctx, esc.ID)
	e.must(err)
	if !reflect.DeepEqual(again.Numbers, []string{"+15550143", "+15550142"}) {
		t.Errorf("Escalations after reload = %+v", again)
	}
	_, err = e.a.Contact(e.ctx, taken.ID)
	wantErr(t, err, ErrNotFound)
	if names := contactNames(t, e, store.ContactFilter{}); !reflect.DeepEqual(names, []string{"Escalations", "Old desk"}) {
		t.Errorf("contacts after reload = %v", names)
	}

	// A bad list writes nothing.
	err = e.a.ApplyContacts(e.ctx, []store.Contact{
		{Name: "A", Numbers: []string{"+15550170"}}, {Name: "B", Numbers: []string{"+15550170"}}})
	wantErr(t, err, ErrInvalid)
	if names := contactNames(t, e, store.ContactFilter{}); !reflect.DeepEqual(names, []string{"Escalations", "Old desk"}) {
		t.Errorf("contacts after a refused apply = %v", names)
	}
}

func TestCheckExternalNumber(t *testing.T) {
	e := newEnv(t)
	e.must(e.a.ApplyContacts(e.ctx, []store.Contact{
		{Name: "Escalations", Numbers: []string{"+15550142"}, Tags: []string{TagExternalNumber}},
	}))
	_, err := e.a.CreateContact(e.ctx, store.Contact{Name: "Friend", Numbers: []string{"+15550144"}})
	e.must(err)

	e.must(e.a.CheckExternalNumber(e.ctx, "+15550142"))
	for _, n := range []string{"15550142", "+1555", "+0155501420", "+1555014x", "sip:+15550142@x", ""} {
		wantErr(t, e.a.CheckExternalNumber(e.ctx, n), ErrInvalid)
	}
	wantErr(t, e.a.CheckExternalNumber(e.ctx, "+15550144"), ErrForbidden) // a contact without the tag
	wantErr(t, e.a.CheckExternalNumber(e.ctx, "+15550199"), ErrForbidden) // in no contact
	if _, err := e.a.st.ContactByNumber(e.ctx, "+15550199"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a denied number was added to the phone book (%v)", err)
	}

	e.a.SetAllowManualNumbers(true)
	e.must(e.a.CheckExternalNumber(e.ctx, "+15550199"))
	c, err := e.a.st.ContactByNumber(e.ctx, "+15550199")
	e.must(err)
	if c.Name != "+15550199" || !reflect.DeepEqual(c.Tags, []string{TagExternalNumber}) || c.Managed {
		t.Errorf("manual number added as %+v, want a contact named by it, tagged external_number", c)
	}
	e.must(e.a.CheckExternalNumber(e.ctx, "+15550199")) // again: it is in the phone book now
	e.must(e.a.CheckExternalNumber(e.ctx, "+15550144"))
	wantErr(t, e.a.CheckExternalNumber(e.ctx, "+1555"), ErrInvalid)

	e.a.SetAllowManualNumbers(false)
	wantErr(t, e.a.CheckExternalNumber(e.ctx, "+15550198"), ErrForbidden)
	e.must(e.a.CheckExternalNumber(e.ctx, "+15550199")) // kept, with its tag
}

func TestAllowManualNumbersOption(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AllowManualNumbers = true })
	if !e.a.AllowManualNumbers() {
		t.Fatal("Options.AllowManualNumbers not applied")
	}
	e.must(e.a.CheckExternalNumber(e.ctx, "+15550197"))
}
