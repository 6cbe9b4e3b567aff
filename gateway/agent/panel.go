package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// Panel drives an agent through the switch's REST API and events socket,
// as the agent panel in a browser does: status, heartbeats, answering,
// declining and hanging up calls, wrap-up.
type Panel struct {
	API
	id string
}

// NewPanel makes a panel for agent id at the switch's HTTP address base
// (http://127.0.0.1:8080), authenticating with the agent's token.
func NewPanel(base, id, token string) *Panel {
	return &Panel{API: NewAPI(base, token), id: id}
}

// API calls the switch's REST API with a bearer token: an agent's, or a
// supervisor's API key.
type API struct {
	base  string // http://host:port
	token string
	hc    *http.Client
}

// NewAPI makes a client of the API at base (http://127.0.0.1:8080).
func NewAPI(base, token string) API {
	return API{base: strings.TrimRight(base, "/"), token: token, hc: &http.Client{Timeout: 10 * time.Second}}
}

// WHIP is the URL of the switch's WHIP endpoint.
func (p *Panel) WHIP() string { return p.base + "/whip" }

// Token is the agent's token.
func (p *Panel) Token() string { return p.token }

// Event is one of the agent's events: call.offered, call.answered,
// call.ended, quality.warning, wrapup.started, wrapup.ended,
// status.changed.
type Event struct {
	Type string          `json:"type"`
	At   time.Time       `json:"at"`
	Data json.RawMessage `json:"data"`
}

// Field returns a string field of the event's data ("" when absent).
func (e Event) Field(name string) string {
	var m map[string]any
	_ = json.Unmarshal(e.Data, &m)
	switch v := m[name].(type) {
	case string:
		return v
	case float64:
		return fmt.Sprint(v)
	}
	return ""
}

// Do sends one API request with body (JSON, nil for none), decodes a 2xx
// answer into out (nil: ignored) and returns a *StatusError for any other.
func (p API) Do(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := p.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if res.StatusCode/100 != 2 {
		return &StatusError{Code: res.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// SetStatus sets the agent's status: available, busy, away or offline.
func (p *Panel) SetStatus(ctx context.Context, status string) error {
	return p.Do(ctx, http.MethodPut, "/api/v1/agents/"+p.id+"/status", map[string]string{"status": status}, nil)
}

// Heartbeat tells the switch the agent is there.
func (p *Panel) Heartbeat(ctx context.Context) error {
	return p.Do(ctx, http.MethodPost, "/api/v1/agents/"+p.id+"/heartbeat", nil, nil)
}

// Answer answers the call offered to the agent.
func (p *Panel) Answer(ctx context.Context, callID string) error {
	return p.Do(ctx, http.MethodPost, "/api/v1/calls/"+callID+"/answer", nil, nil)
}

// Decline declines the call offered to the agent.
func (p *Panel) Decline(ctx context.Context, callID string) error {
	return p.Do(ctx, http.MethodPost, "/api/v1/calls/"+callID+"/decline", nil, nil)
}

// Hangup ends the agent's call.
func (p *Panel) Hangup(ctx context.Context, callID string) error {
	return p.Do(ctx, http.MethodPost, "/api/v1/calls/"+callID+"/hangup", nil, nil)
}

// ExtendWrapUp adds 10 s to the agent's wrap-up and returns its new end.
func (p *Panel) ExtendWrapUp(ctx context.Context) (time.Time, error) {
	var out struct {
		EndsAt time.Time `json:"ends_at"`
	}
	err := p.Do(ctx, http.MethodPost, "/api/v1/agents/"+p.id+"/wrapup/extend", nil, &out)
	return out.EndsAt, err
}

// ClearWrapUp ends the agent's wrap-up.
func (p *Panel) ClearWrapUp(ctx context.Context) error {
	return p.Do(ctx, http.MethodDelete, "/api/v1/agents/"+p.id+"/wrapup", nil, nil)
}

// Events opens the agent's events socket; the channel closes when ctx ends
// or the switch closes the socket.
func (p *Panel) Events(ctx context.Context) (<-chan Event, error) {
	url := "ws" + strings.TrimPrefix(p.base, "http") + "/api/v1/agents/" + p.id + "/events"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + p.token}}})
	if err != nil {
		return nil, fmt.Errorf("agent %s events: %w", p.id, err)
	}
	out := make(chan Event, 64)
	go func() {
		defer close(out)
		defer conn.CloseNow()
		for {
			var ev Event
			if err := wsjson.Read(ctx, conn, &ev); err != nil {
				return
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// SetConversation sets a conversation's status (open, waiting, solved,
// closed; "" keeps it) and notes, and returns it as the switch stored it.
func (p *Panel) SetConversation(ctx context.Context, id, status, notes string) (map[string]any, error) {
	var out map[string]any
	err := p.Do(ctx, http.MethodPatch, "/api/v1/conversations/"+id, map[string]string{"status": status, "notes": notes}, &out)
	return out, err
}

// Hold puts the agent's call on hold.
func (p *Panel) Hold(ctx context.Context, callID string) error {
	return p.Do(ctx, http.MethodPost, "/api/v1/calls/"+callID+"/hold", nil, nil)
}

// Resume takes the agent's call off hold.
func (p *Panel) Resume(ctx context.Context, callID string) error {
	return p.Do(ctx, http.MethodPost, "/api/v1/calls/"+callID+"/resume", nil, nil)
}

// SendDTMF sends keys (0-9, *, #, A-D) to the caller.
func (p *Panel) SendDTMF(ctx context.Context, callID, digits string) error {
	return p.Do(ctx, http.MethodPost, "/api/v1/calls/"+callID+"/dtmf", map[string]string{"digits": digits}, nil)
}

// Transfer sends the agent's caller to target (exactly one of "agent",
// "queue" and "number", with "from" for a number) and returns the
// transfer's id.
func (p *Panel) Transfer(ctx context.Context, callID string, target map[string]string) (string, error) {
	var out struct {
		TransferID string `json:"transfer_id"`
	}
	err := p.Do(ctx, http.MethodPost, "/api/v1/calls/"+callID+"/transfer", target, &out)
	return out.TransferID, err
}

// Outbound is a call the agent placed.
type Outbound struct {
	CallID         string `json:"call_id"`
	ConversationID string `json:"conversation_id"`
}

// Call has the agent call the customer to from the voice number from
// (queue "" is the agent's first).
func (p *Panel) Call(ctx context.Context, to, from, queue string) (Outbound, error) {
	var out Outbound
	err := p.Do(ctx, http.MethodPost, "/api/v1/calls", map[string]string{"to": to, "from": from, "queue": queue}, &out)
	return out, err
}

// CallCallback has the agent call back the customer of the manual callback
// request id assigned to it.
func (p *Panel) CallCallback(ctx context.Context, id string) (Outbound, error) {
	var out Outbound
	err := p.Do(ctx, http.MethodPost, "/api/v1/callbacks/"+id+"/call", nil, &out)
	return out, err
}
