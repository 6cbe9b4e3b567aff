package api

import (
	"context"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/switchboard-voice/switchboard/acd"
)

// eventWriteTimeout drops an agent's socket that cannot take an event.
const eventWriteTimeout = 5 * time.Second

// events streams the agent's events over a WebSocket: JSON objects with a
// type (call.offered, call.answered, call.ended, quality.warning,
// wrapup.started, wrapup.ended, status.changed). The first is the agent's
// current status.
func (v *v1) events(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	if !p.self(w, id) {
		return
	}
	info, err := v.c.ACD.GetAgent(id)
	if err != nil {
		writeErr(w, err)
		return
	}
	ch, cancel := v.c.ACD.Subscribe(id)
	defer cancel()
	// The socket stays open past the listener's read and write timeouts
	// (net/http also clears them when Accept hijacks the connection); each
	// event's write has eventWriteTimeout.
	longLived(w)
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept answered the request
	}
	defer conn.CloseNow()
	// The client sends nothing; reading notices when it goes.
	cctx := conn.CloseRead(r.Context())
	send := func(ev acd.Event) bool {
		wctx, done := context.WithTimeout(cctx, eventWriteTimeout)
		defer done()
		return wsjson.Write(wctx, conn, ev) == nil
	}
	if !send(acd.Event{Type: acd.EventStatusChanged, At: time.Now(),
		Data: acd.StatusData{Status: info.Status, System: info.State.System}}) {
		return
	}
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				conn.Close(websocket.StatusGoingAway, "the switch is stopping")
				return
			}
			if !send(ev) {
				return
			}
		case <-cctx.Done():
			return
		}
	}
}
