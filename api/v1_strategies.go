package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/store"
)

// WaitingStrategyInput is what callers hear in a queue, as a request gives
// it (the configuration's waiting_strategies entries, with durations in
// seconds). Its name is its id.
type WaitingStrategyInput struct {
	Name           string        `json:"name"`
	Greeting       string        `json:"greeting"`
	Music          string        `json:"music"`
	Announcement   *Announcement `json:"announcement,omitempty"`
	MaxWait        float64       `json:"max_wait"`
	MaxWaitMessage string        `json:"max_wait_message"`
	MaxWaitFlow    string        `json:"max_wait_flow"`
}

// WaitingStrategy is a waiting strategy as the API shows it.
type WaitingStrategy struct {
	ID string `json:"id"`
	WaitingStrategyInput
	Managed bool `json:"managed"`
}

// Announcement is repeated over the music, with response codes: each key
// leads to a flow ("1": "sales") or requests a callback
// ("1": {"callback": "support-callback"}).
type Announcement struct {
	File            string                         `json:"file"`
	Every           float64                        `json:"every"`
	ResponseCodes   map[string]config.ResponseCode `json:"response_codes,omitempty"`
	WaitForResponse float64                        `json:"wait_for_response"`
}

func quote(s string) string { return strconv.Quote(s) }

func (v *v1) managedStrategies() map[string]WaitingStrategy {
	if v.c.ManagedStrategies == nil {
		return nil
	}
	return v.c.ManagedStrategies()
}

// fromStore decodes a stored strategy.
func fromStore(s store.WaitingStrategy) (WaitingStrategy, error) {
	var w WaitingStrategy
	if err := json.Unmarshal(s.Spec, &w.WaitingStrategyInput); err != nil {
		return w, err
	}
	w.ID, w.Name, w.Managed = s.ID, s.Name, false
	return w, nil
}

func (v *v1) listStrategies(w http.ResponseWriter, r *http.Request, p principal) {
	out := []WaitingStrategy{}
	for _, m := range v.managedStrategies() {
		out = append(out, m)
	}
	if v.c.Strategies != nil {
		list, err := v.c.Strategies.ListWaitingStrategies(ctx(r))
		if err != nil {
			writeErr(w, err)
			return
		}
		for _, s := range list {
			ws, err := fromStore(s)
			if err != nil {
				writeErr(w, err)
				return
			}
			out = append(out, ws)
		}
	}
	slices.SortFunc(out, func(a, b WaitingStrategy) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, out)
}

// findStrategy looks a strategy up by id (its name): the configuration's
// first. Strategies stored before ids were names are found by name too.
func (v *v1) findStrategy(r *http.Request, ref string) (WaitingStrategy, error) {
	if m, ok := v.managedStrategies()[ref]; ok {
		return m, nil
	}
	if v.c.Strategies == nil {
		return WaitingStrategy{}, store.ErrNotFound
	}
	s, err := v.c.Strategies.GetWaitingStrategy(ctx(r), ref)
	if errors.Is(err, store.ErrNotFound) {
		list, lerr := v.c.Strategies.ListWaitingStrategies(ctx(r))
		if lerr != nil {
			return WaitingStrategy{}, lerr
		}
		for _, x := range list {
			if x.Name == ref {
				s, err = x, nil
			}
		}
	}
	if err != nil {
		return WaitingStrategy{}, err
	}
	return fromStore(s)
}

func (v *v1) getStrategy(w http.ResponseWriter, r *http.Request, p principal) {
	ws, err := v.findStrategy(r, r.PathValue("id"))
	if err != nil {
		writeNotFound(w, err, "waiting strategy "+quote(r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, ws)
}

func writeNotFound(w http.ResponseWriter, err error, what string) {
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not found: "+what)
		return
	}
	writeErr(w, err)
}

// checkStrategy adds what is wrong with in to ps: its name, then (when the
// name is good) everything the configuration checks of a strategy.
func (v *v1) checkStrategy(ps *problems, r *http.Request, in WaitingStrategyInput) {
	if msg := config.NameProblem(in.Name); msg != "" {
		ps.add("name", "%s", msg)
		return
	}
	v.checkPrompts(ps, r, in)
	if v.c.CheckStrategy != nil {
		for _, p := range v.c.CheckStrategy(in) {
			if !slices.ContainsFunc(*ps, func(q FieldProblem) bool { return q.Field == p.Field }) {
				*ps = append(*ps, p) // not what the body's decoding said already
			}
		}
	}
}

// saveStrategy stores ws, answering code (201 or 200) with it.
func (v *v1) saveStrategy(w http.ResponseWriter, r *http.Request, ws WaitingStrategy, code int) {
	raw, err := json.Marshal(ws.WaitingStrategyInput)
	if err != nil {
		writeErr(w, err)
		return
	}
	if err := v.c.Strategies.PutWaitingStrategy(ctx(r), store.WaitingStrategy{ID: ws.ID, Name: ws.Name, Spec: raw}); err != nil {
		writeErr(w, err)
		return
	}
	if code == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/waiting-strategies/"+ws.ID)
	}
	writeJSON(w, code, ws)
}

func (v *v1) createStrategy(w http.ResponseWriter, r *http.Request, p principal) {
	if v.c.Strategies == nil {
		writeError(w, http.StatusServiceUnavailable, "no database for waiting strategies")
		return
	}
	var in WaitingStrategyInput
	ps, _, ok := readBody(w, r, &in)
	if !ok {
		return
	}
	v.checkStrategy(&ps, r, in)
	if ps.reply(w) {
		return
	}
	if cur, err := v.findStrategy(r, in.Name); err == nil {
		if cur.Managed {
			writeError(w, http.StatusConflict, "managed by config: waiting strategy "+quote(in.Name)+" is declared in the YAML")
			return
		}
		writeError(w, http.StatusConflict, "a waiting strategy named "+quote(in.Name)+" exists")
		return
	}
	v.saveStrategy(w, r, WaitingStrategy{ID: in.Name, WaitingStrategyInput: in}, http.StatusCreated)
}

func (v *v1) putStrategy(w http.ResponseWriter, r *http.Request, p principal) {
	cur, err := v.findStrategy(r, r.PathValue("id"))
	if err != nil {
		writeNotFound(w, err, "waiting strategy "+quote(r.PathValue("id")))
		return
	}
	if cur.Managed {
		writeError(w, http.StatusConflict, "managed by config: waiting strategy "+quote(cur.Name)+"; change it in the YAML and reload")
		return
	}
	if v.c.Strategies == nil {
		writeError(w, http.StatusServiceUnavailable, "no database for waiting strategies")
		return
	}
	var in WaitingStrategyInput
	ps, seen, ok := readBody(w, r, &in)
	if !ok {
		return
	}
	switch {
	case !seen["name"]:
		in.Name = cur.Name
	case in.Name != cur.Name:
		ps.add("name", "cannot be changed: a waiting strategy's name is its id (create another one)")
		in.Name = cur.Name
	}
	v.checkStrategy(&ps, r, in)
	if ps.reply(w) {
		return
	}
	v.saveStrategy(w, r, WaitingStrategy{ID: cur.ID, WaitingStrategyInput: in}, http.StatusOK)
}

func (v *v1) deleteStrategy(w http.ResponseWriter, r *http.Request, p principal) {
	cur, err := v.findStrategy(r, r.PathValue("id"))
	if err != nil {
		writeNotFound(w, err, "waiting strategy "+quote(r.PathValue("id")))
		return
	}
	if cur.Managed {
		writeError(w, http.StatusConflict, "managed by config: waiting strategy "+quote(cur.Name)+"; remove it from the YAML and reload")
		return
	}
	for _, q := range v.c.ACD.ListQueues() {
		if q.WaitingStrategy == cur.Name {
			writeError(w, http.StatusConflict, "queue "+quote(q.Name)+" uses waiting strategy "+quote(cur.Name))
			return
		}
	}
	if err := v.c.Strategies.DeleteWaitingStrategy(ctx(r), cur.ID); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
