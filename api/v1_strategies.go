package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/switchboard-voice/switchboard/store"
)

// WaitingStrategy is what callers hear in a queue (the configuration's
// waiting_strategies entries, with durations in seconds).
type WaitingStrategy struct {
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	Greeting       string        `json:"greeting"`
	Music          string        `json:"music"`
	Announcement   *Announcement `json:"announcement,omitempty"`
	MaxWait        float64       `json:"max_wait"`
	MaxWaitMessage string        `json:"max_wait_message"`
	MaxWaitFlow    string        `json:"max_wait_flow"`
	Managed        bool          `json:"managed"`
}

// Announcement is repeated over the music, with response codes.
type Announcement struct {
	File            string            `json:"file"`
	Every           float64           `json:"every"`
	ResponseCodes   map[string]string `json:"response_codes,omitempty"`
	WaitForResponse float64           `json:"wait_for_response"`
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
	if err := json.Unmarshal(s.Spec, &w); err != nil {
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

// findStrategy looks a strategy up by id or name: managed first.
func (v *v1) findStrategy(r *http.Request, ref string) (WaitingStrategy, error) {
	for _, m := range v.managedStrategies() {
		if m.ID == ref || m.Name == ref {
			return m, nil
		}
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

// saveStrategy validates ws and stores it (created when existing is nil).
func (v *v1) saveStrategy(w http.ResponseWriter, r *http.Request, ws WaitingStrategy, code int) {
	if v.c.Strategies == nil {
		writeError(w, http.StatusServiceUnavailable, "no database for waiting strategies")
		return
	}
	var problems []FieldProblem
	if v.c.CheckStrategy != nil {
		problems = v.c.CheckStrategy(ws)
	}
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.Field + ": " + p.Problem
		}
		writeJSON(w, http.StatusBadRequest, apiError{Error: strings.Join(msgs, "; "), Field: problems[0].Field, Problems: problems})
		return
	}
	if m, ok := v.managedStrategies()[ws.Name]; ok && m.ID != ws.ID {
		writeError(w, http.StatusConflict, "managed by config: waiting strategy "+quote(ws.Name)+" is declared in the YAML")
		return
	}
	spec := ws
	spec.ID, spec.Managed = "", false
	raw, err := json.Marshal(spec)
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
	var ws WaitingStrategy
	if !decode(w, r, &ws) {
		return
	}
	if ws.Managed {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "managed: only the configuration makes managed strategies", Field: "managed"})
		return
	}
	if _, err := v.findStrategy(r, ws.Name); err == nil {
		writeError(w, http.StatusConflict, "a waiting strategy named "+quote(ws.Name)+" exists")
		return
	}
	if ws.ID == "" {
		ws.ID = uuid.NewString()
	}
	v.saveStrategy(w, r, ws, http.StatusCreated)
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
	var ws WaitingStrategy
	if !decode(w, r, &ws) {
		return
	}
	if ws.ID != "" && ws.ID != cur.ID {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "id: cannot be changed", Field: "id"})
		return
	}
	if ws.Name != cur.Name {
		if _, err := v.findStrategy(r, ws.Name); err == nil {
			writeError(w, http.StatusConflict, "a waiting strategy named "+quote(ws.Name)+" exists")
			return
		}
	}
	ws.ID, ws.Managed = cur.ID, false
	v.saveStrategy(w, r, ws, http.StatusOK)
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
