package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voice/switchboard/media"
)

type nodeState struct {
	draining bool
	legs     int
}

func (n *nodeState) Draining() bool  { return n.draining }
func (n *nodeState) ActiveLegs() int { return n.legs }

type trunkList []TrunkStatus

func (t trunkList) TrunkStatuses() []TrunkStatus { return t }

func TestHealthzAndTrunks(t *testing.T) {
	st := &nodeState{legs: 4}
	reg := prometheus.NewRegistry()
	stats := &media.Stats{}
	stats.PacketsRelayed.Add(7)
	reg.MustRegister(RTPCollector{Stats: stats})
	s := New(Options{Gatherer: reg, Health: st, Node: "n1", Version: "v1",
		Keys:   func() map[string]string { return map[string]string{testKey: "ops"} },
		Trunks: trunkList{{Name: "carrier", Inbound: true, State: "up", Channels: 2, MaxChannels: 30}}})

	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+testKey)
		s.Handler().ServeHTTP(rec, req)
		return rec
	}
	rec := get("/healthz")
	var h health
	if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil || rec.Code != 200 || h.Status != "ok" || h.ActiveLegs != 4 || h.Node != "n1" {
		t.Fatalf("healthz: %d %s (%v)", rec.Code, rec.Body, err)
	}
	st.draining = true
	if rec := get("/healthz"); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "draining") {
		t.Fatalf("healthz while draining: %d %s", rec.Code, rec.Body)
	}
	var trunks []TrunkStatus
	if err := json.Unmarshal(get("/trunks").Body.Bytes(), &trunks); err != nil || len(trunks) != 1 || trunks[0].Channels != 2 {
		t.Fatalf("trunks: %+v %v", trunks, err)
	}
	if body := get("/metrics").Body.String(); !strings.Contains(body, "switchboard_rtp_packets_relayed_total 7") {
		t.Fatalf("metrics lack the relay counter:\n%s", body)
	}
	if rec := get("/nope"); rec.Code != http.StatusNotFound {
		t.Fatalf("unknown path: %d", rec.Code)
	}
}
