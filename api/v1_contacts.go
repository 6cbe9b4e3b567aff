package api

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/store"
)

// ContactInput creates or changes a phone-book contact; absent fields keep
// their value (a new contact needs a name and numbers).
type ContactInput struct {
	Name    *string   `json:"name,omitempty"`
	Numbers *[]string `json:"numbers,omitempty"`
	Tags    *[]string `json:"tags,omitempty"`
}

// maxContactQuery bounds ?q= of a contact search.
const maxContactQuery = 64

// config is the input over cur as the configuration's contact (and its
// checks) sees it.
func (in ContactInput) config(cur config.Contact) config.Contact {
	if in.Name != nil {
		cur.Name = strings.TrimSpace(*in.Name)
	}
	if in.Numbers != nil {
		cur.Numbers = *in.Numbers
	}
	if in.Tags != nil {
		cur.Tags = *in.Tags
	}
	return cur
}

// unchecked is the fields to check: those of fields the body has (every
// one when seen is nil) without a problem already (a field of the wrong
// type is not checked again).
func unchecked(ps problems, seen map[string]bool, fields ...string) map[string]bool {
	out := map[string]bool{}
	for _, f := range fields {
		if (seen == nil || seen[f]) && !ps.has(f) {
			out[f] = true
		}
	}
	return out
}

func configContact(c store.Contact) config.Contact {
	return config.Contact{Name: c.Name, Numbers: c.Numbers, Tags: c.Tags}
}

func (v *v1) listContacts(w http.ResponseWriter, r *http.Request, p principal) {
	q := r.URL.Query()
	f := store.ContactFilter{Query: strings.TrimSpace(q.Get("q")), Tag: q.Get("tag")}
	var ps problems
	if len(f.Query) > maxContactQuery || !utf8.ValidString(f.Query) {
		ps.add("q", "must be valid text of at most %d bytes", maxContactQuery)
	}
	if f.Tag != "" {
		if msg := config.TagProblem(f.Tag); msg != "" {
			ps.add("tag", "%s", msg)
		}
	}
	if ps.reply(w) {
		return
	}
	cs, err := v.c.ACD.Contacts(ctx(r), f)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, cs)
}

func (v *v1) getContact(w http.ResponseWriter, r *http.Request, p principal) {
	c, err := v.c.ACD.Contact(ctx(r), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (v *v1) createContact(w http.ResponseWriter, r *http.Request, p principal) {
	var in ContactInput
	ps, _, ok := readBody(w, r, &in)
	if !ok {
		return
	}
	c := in.config(config.Contact{})
	ps.addConfig(c.Check(), nil, unchecked(ps, nil, "name", "numbers", "tags"))
	if ps.reply(w) {
		return
	}
	created, err := v.c.ACD.CreateContact(ctx(r), store.Contact{Name: c.Name, Numbers: c.Numbers, Tags: c.Tags})
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/contacts/"+created.ID)
	writeJSON(w, http.StatusCreated, created)
}

func (v *v1) patchContact(w http.ResponseWriter, r *http.Request, p principal) {
	cur, err := v.c.ACD.Contact(ctx(r), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	var in ContactInput
	ps, seen, ok := readBody(w, r, &in)
	if !ok {
		return
	}
	c := in.config(configContact(cur))
	ps.addConfig(c.Check(), nil, unchecked(ps, seen, "name", "numbers", "tags"))
	if ps.reply(w) {
		return
	}
	updated, err := v.c.ACD.UpdateContact(ctx(r), store.Contact{ID: cur.ID, Name: c.Name, Numbers: c.Numbers, Tags: c.Tags})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, updated)
}

func (v *v1) deleteContact(w http.ResponseWriter, r *http.Request, p principal) {
	if err := v.c.ACD.DeleteContact(ctx(r), r.PathValue("id")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
