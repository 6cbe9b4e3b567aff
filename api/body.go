package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/config"
)

// How the API checks a request body, the same for every object: the body is
// decoded field by field, so that every unknown field and every value of the
// wrong type is a problem, not only the first; the handler then adds what
// is wrong with the values (the configuration's own checks, shared through
// package config, and what only the switch knows, such as whether a queue
// exists); a body with any problem is answered 400 with all of them:
//
//	{"error": "capacity: must be a number, not string; token: ...",
//	 "field": "capacity",
//	 "problems": [{"field": "capacity", "problem": "must be a number, not string"}, ...]}

// problems is what is wrong with a request, in the order found.
type problems []FieldProblem

// add records a problem on field ("" for the body as a whole).
func (ps *problems) add(field, format string, args ...any) {
	*ps = append(*ps, FieldProblem{Field: field, Problem: fmt.Sprintf(format, args...)})
}

// addConfig records the problems a config check found, whose keys are
// configuration keys; rename maps a key to the API's field name where they
// differ. Only keys in only (when not nil) are kept: a PATCH is checked on
// the fields it changes.
func (ps *problems) addConfig(cps config.Problems, rename map[string]string, only map[string]bool) {
	for _, p := range cps {
		field := p.Key
		if f, ok := rename[field]; ok {
			field = f
		}
		if only != nil && !only[topField(field)] {
			continue
		}
		ps.add(field, "%s", p.Msg)
	}
}

// has reports whether field (or one of its parts) has a problem already.
func (ps problems) has(field string) bool {
	for _, p := range ps {
		if topField(p.Field) == field {
			return true
		}
	}
	return false
}

// topField is the first part of a field path: "queues" of "queues[1]",
// "announcement" of "announcement.every".
func topField(field string) string {
	if i := strings.IndexAny(field, ".["); i >= 0 {
		return field[:i]
	}
	return field
}

// reply answers 400 with every problem and reports whether there was one.
func (ps problems) reply(w http.ResponseWriter) bool {
	if len(ps) == 0 {
		return false
	}
	writeJSON(w, http.StatusBadRequest, problemsError(ps))
	return true
}

func problemsError(ps problems) apiError {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Problem
		if p.Field != "" {
			msgs[i] = p.Field + ": " + p.Problem
		}
	}
	return apiError{Error: strings.Join(msgs, "; "), Field: ps[0].Field, Problems: ps}
}

// maxBody bounds a request body.
const maxBody = 1 << 20

// readBody decodes the JSON object in r's body into dst (a pointer to a
// struct) field by field. It returns the problems found and the fields the
// body has. When the body is not a JSON object at all it answers itself
// (415 for another content type, 400 otherwise) and returns ok false.
func readBody(w http.ResponseWriter, r *http.Request, dst any) (ps problems, seen map[string]bool, ok bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "send application/json, not "+ct)
		return nil, nil, false
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		ps.add("", "the body is larger than %d bytes", maxBody)
	case err != nil:
		ps.add("", "reading the body: %v", err)
	case len(bytes.TrimSpace(raw)) == 0:
		ps.add("", "the body must be a JSON object")
	}
	if len(ps) == 0 {
		seen = map[string]bool{}
		decodeObject(raw, reflect.ValueOf(dst).Elem(), "", &ps, seen)
	}
	if ps.has("") { // not a JSON object: nothing more to check
		ps.reply(w)
		return nil, nil, false
	}
	return ps, seen, true
}

// decodeObject decodes the JSON object raw into the struct v, one field at
// a time; prefix names v's place in the body ("" at the top, "announcement."
// below). Fields are matched by their exact JSON names. seen (when not nil)
// gets the names of the fields the object has.
func decodeObject(raw []byte, v reflect.Value, prefix string, ps *problems, seen map[string]bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	where := strings.TrimSuffix(prefix, ".")
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		if err != nil {
			ps.add(where, "%s", jsonProblem(err, raw))
		} else {
			ps.add(where, "must be a JSON object")
		}
		return
	}
	fields := jsonFields(v.Type())
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			ps.add(where, "%s", jsonProblem(err, raw))
			return
		}
		key, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			ps.add(where, "%s", jsonProblem(err, raw))
			return
		}
		if seen != nil {
			seen[key] = true
		}
		idx, ok := fields[key]
		if !ok {
			ps.add(prefix+key, "unknown field")
			continue
		}
		decodeValue(value, v.FieldByIndex(idx), prefix+key, ps)
	}
	if _, err := dec.Token(); err != nil {
		ps.add(where, "%s", jsonProblem(err, raw))
		return
	}
	if prefix == "" {
		if _, err := dec.Token(); err != io.EOF {
			ps.add("", "the body must be one JSON object, with nothing after it")
		}
	}
}

var timeType = reflect.TypeFor[time.Time]()

// decodeValue decodes raw into v (field at path), recording a problem
// instead of stopping.
func decodeValue(raw json.RawMessage, v reflect.Value, path string, ps *problems) {
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		if string(raw) == "null" {
			v.Set(reflect.Zero(t))
			return
		}
		p := reflect.New(t.Elem())
		before := len(*ps)
		decodeValue(raw, p.Elem(), path, ps)
		// An object keeps the fields that decoded (their values are checked
		// too); a value of the wrong type is left absent.
		if len(*ps) == before || t.Elem().Kind() == reflect.Struct {
			v.Set(p)
		}
		return
	}
	if t.Kind() == reflect.Struct && t != timeType {
		decodeObject(raw, v, path+".", ps, nil)
		return
	}
	p := reflect.New(t)
	if err := json.Unmarshal(raw, p.Interface()); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			ps.add(path, "must be %s, not %s", jsonKind(t), typeErr.Value)
		} else {
			ps.add(path, "%v", err)
		}
		return
	}
	v.Set(p.Elem())
}

// jsonFields maps the JSON names of t's fields (those of embedded structs
// included) to their indexes.
func jsonFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "":
			// Its fields are visible on their own.
		case name != "":
			out[name] = f.Index
		}
	}
	return out
}

// jsonProblem says what is wrong with a body that is not valid JSON.
func jsonProblem(err error, raw []byte) string {
	var syntaxErr *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "invalid JSON: the body ends too early"
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("invalid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	}
	return "invalid JSON: " + err.Error()
}

// jsonKind names the JSON type of values of t.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "a list of strings"
		}
		return "a list"
	case reflect.Map:
		if t.Elem().Kind() == reflect.String {
			return "an object of strings"
		}
		return "an object"
	}
	return "a " + t.String()
}

// seconds is a duration as the API writes it.
func seconds(d time.Duration) float64 { return d.Seconds() }

// fromSeconds is a duration the API reads; values too large for a
// time.Duration are its largest.
func fromSeconds(s float64) time.Duration {
	if s*float64(time.Second) >= math.MaxInt64 {
		return math.MaxInt64
	}
	if s*float64(time.Second) <= math.MinInt64 {
		return math.MinInt64
	}
	return time.Duration(s * float64(time.Second))
}
