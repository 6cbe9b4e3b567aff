package api

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-voice/switchboard/store"
)

// contactNames lists the names of a JSON list of contacts.
func contactNames(t *testing.T, body string) []string {
	t.Helper()
	var cs []store.Contact
	if err := json.Unmarshal([]byte(body), &cs); err != nil {
		t.Fatalf("not a list of contacts: %v: %s", err, body)
	}
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// TestAPIContacts: supervisors create, change and delete contacts; agents
// and supervisors read and search them; contacts of the configuration are
// read-only (409); a number belongs to one contact only (409).
func TestAPIContacts(t *testing.T) {
	srv, a := contactServer(t)
	if err := a.ApplyContacts(context.Background(), []store.Contact{
		{Name: "Escalations", Numbers: []string{"+15550142"}, Tags: []string{"external_number"}}}); err != nil {
		t.Fatal(err)
	}
	code, body := request(t, srv, "POST", "/api/v1/contacts", testKey,
		`{"name":"Acme billing","numbers":["+442071234567","+442071234568"],"tags":["vip"]}`)
	var acme store.Contact
	if err := json.Unmarshal([]byte(body), &acme); code != 201 || err != nil || acme.ID == "" || acme.Managed ||
		!reflect.DeepEqual(acme.Numbers, []string{"+442071234567", "+442071234568"}) {
		t.Fatalf("create contact: %d %s", code, body)
	}
	if code, body := request(t, srv, "POST", "/api/v1/contacts", "agent1-token", `{"name":"X","numbers":["+15550100"]}`); code != 403 {
		t.Errorf("an agent created a contact: %d %s", code, body)
	}

	for _, tc := range []struct {
		query, token string
		want         []string
	}{
		{"", "agent1-token", []string{"Acme billing", "Escalations"}},
		{"?q=acme", "agent1-token", []string{"Acme billing"}},
		{"?q=" + url.QueryEscape("+1555"), testKey, []string{"Escalations"}},
		{"?q=4568", testKey, []string{"Acme billing"}},
		{"?tag=external_number", "agent2-token", []string{"Escalations"}},
		{"?tag=vip&q=escal", testKey, []string{}},
	} {
		code, body := request(t, srv, "GET", "/api/v1/contacts"+tc.query, tc.token, "")
		if code != 200 {
			t.Errorf("GET /api/v1/contacts%s: %d %s", tc.query, code, body)
			continue
		}
		if got := contactNames(t, body); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("GET /api/v1/contacts%s = %v, want %v", tc.query, got, tc.want)
		}
	}
	if code, body := request(t, srv, "GET", "/api/v1/contacts?tag=Not+A+Tag", testKey, ""); code != 400 || !strings.Contains(body, `"field":"tag"`) {
		t.Errorf("search with a bad tag: %d %s, want 400 on tag", code, body)
	}
	if code, body := request(t, srv, "GET", "/api/v1/contacts/"+acme.ID, "agent1-token", ""); code != 200 || !strings.Contains(body, "Acme billing") {
		t.Errorf("get contact: %d %s", code, body)
	}

	// PATCH changes what it names; a number of another contact is 409.
	code, body = request(t, srv, "PATCH", "/api/v1/contacts/"+acme.ID, testKey, `{"tags":["vip","external_number"]}`)
	var patched store.Contact
	if err := json.Unmarshal([]byte(body), &patched); code != 200 || err != nil || patched.Name != "Acme billing" ||
		!reflect.DeepEqual(patched.Tags, []string{"vip", "external_number"}) || len(patched.Numbers) != 2 {
		t.Errorf("patch contact: %d %s", code, body)
	}
	if code, body := request(t, srv, "PATCH", "/api/v1/contacts/"+acme.ID, testKey, `{"numbers":["+15550142"]}`); code != 409 || !strings.Contains(body, "Escalations") {
		t.Errorf("patch with another contact's number: %d %s, want 409 naming Escalations", code, body)
	}
	if code, body := request(t, srv, "PATCH", "/api/v1/contacts/"+acme.ID, "agent1-token", `{"name":"Mine"}`); code != 403 {
		t.Errorf("an agent changed a contact: %d %s", code, body)
	}

	// The configuration's contact is read-only.
	var esc store.Contact
	_, body = request(t, srv, "GET", "/api/v1/contacts?q=escal", testKey, "")
	var list []store.Contact
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != 1 || !list[0].Managed {
		t.Fatalf("Escalations: %s, want one managed contact", body)
	}
	esc = list[0]
	for _, tc := range []struct{ method, body string }{{"PATCH", `{"name":"Renamed"}`}, {"DELETE", ""}} {
		if code, body := request(t, srv, tc.method, "/api/v1/contacts/"+esc.ID, testKey, tc.body); code != 409 || !strings.Contains(body, "managed by config") {
			t.Errorf("%s a managed contact: %d %s, want 409 managed by config", tc.method, code, body)
		}
	}

	if code, body := request(t, srv, "DELETE", "/api/v1/contacts/"+acme.ID, testKey, ""); code != 204 {
		t.Errorf("delete contact: %d %s", code, body)
	}
	if code, _ := request(t, srv, "GET", "/api/v1/contacts/"+acme.ID, testKey, ""); code != 404 {
		t.Errorf("deleted contact: %d, want 404", code)
	}
	if code, _ := request(t, srv, "DELETE", "/api/v1/contacts/"+acme.ID, testKey, ""); code != 404 {
		t.Errorf("delete again: %d, want 404", code)
	}
}

// TestAPIContactProblems: every problem of a contact's body is listed in
// one 400.
func TestAPIContactProblems(t *testing.T) {
	srv, _ := contactServer(t)
	for _, tc := range []struct {
		body string
		want []FieldProblem
	}{
		{`{"name":"  ","numbers":["15550142","+1555","+15550143","+15550143"],"tags":["VIP","ok"],"colour":"red"}`,
			[]FieldProblem{
				{"colour", "unknown field"},
				{"name", "is required"},
				{"numbers[0]", `invalid number "15550142": an E.164 number starts with '+' (e.g. +15550142)`},
				{"numbers[1]", `invalid number "+1555": an E.164 number has 8 to 15 digits after '+'`},
				{"numbers[3]", "number +15550143 is listed twice"},
				{"tags[0]", `invalid tag "VIP": use a lowercase word (letters, digits and '_', starting with a letter)`},
			}},
		{`{"name":"Nobody","numbers":"+15550142"}`,
			[]FieldProblem{
				{"numbers", "must be a list of strings, not string"},
			}},
	} {
		code, body := request(t, srv, "POST", "/api/v1/contacts", testKey, tc.body)
		var e apiError
		if err := json.Unmarshal([]byte(body), &e); err != nil || code != 400 {
			t.Errorf("POST %s: %d %s, want 400", tc.body, code, body)
			continue
		}
		if !reflect.DeepEqual(e.Problems, tc.want) {
			t.Errorf("POST %s:\n got %+v\nwant %+v", tc.body, e.Problems, tc.want)
		}
	}
	// PATCH checks only what it changes, over the contact as it is.
	code, body := request(t, srv, "POST", "/api/v1/contacts", testKey, `{"name":"Ann","numbers":["+15550150"]}`)
	var c store.Contact
	if err := json.Unmarshal([]byte(body), &c); code != 201 || err != nil {
		t.Fatalf("create: %d %s", code, body)
	}
	code, body = request(t, srv, "PATCH", "/api/v1/contacts/"+c.ID, testKey, `{"numbers":[],"tags":["a b"]}`)
	var e apiError
	_ = json.Unmarshal([]byte(body), &e)
	want := []FieldProblem{
		{"numbers", "needs at least one number (E.164, e.g. +15550142)"},
		{"tags[0]", `invalid tag "a b": use a lowercase word (letters, digits and '_', starting with a letter)`},
	}
	if code != 400 || !reflect.DeepEqual(e.Problems, want) {
		t.Errorf("PATCH: %d %+v, want 400 %+v", code, e.Problems, want)
	}
}
