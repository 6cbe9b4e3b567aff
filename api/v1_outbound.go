package api

import (
	"net/http"

	"github.com/switchboard-voice/switchboard/acd"
)

// OutboundInput is an agent's call to a customer.
type OutboundInput struct {
	To    string `json:"to"`
	From  string `json:"from"`
	Queue string `json:"queue,omitempty"`
}

// VoiceNumber is a number the switch calls customers from.
type VoiceNumber struct {
	Number string `json:"number"`
	Trunk  string `json:"trunk,omitempty"`
}

// outboundRoutes are the operations of agents' calls to customers.
func (v *v1) outboundRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/calls", summary: "Call a customer", who: "agent",
			body: "OutboundInput", reply: "OutboundCall", code: 201, errs: []int{403, 409, 503}, handler: v.placeCall,
			desc: "The agent calls the customer from its media session (POST /whip first): the switch dials to through the " +
				"voice number's trunk (else the outbound routes) with from as the caller ID. While it rings the agent hears " +
				"a ringback tone, or the network's early media, and the customer hears nothing of the agent until it " +
				"answers. Events: call.dialing, call.ringing, call.early_media, call.answered, call.failed (with the SIP " +
				"status), call.ended; wrap-up follows an answered call. POST /api/v1/calls/{id}/hangup before the answer " +
				"cancels it. The call joins the customer's open conversation (unassigned or the agent's) or starts one. " +
				"400 for a number that is not E.164; 403 for a from that is not a voice number, a to the phone book does " +
				"not allow (contacts tagged external_number, unless transfers.allow_manual_numbers) or a queue the agent " +
				"is not in; 409 when the customer's open conversation is assigned to another agent (named) or the agent " +
				"has a call; 503 when no route leads to the number."},
		{method: "GET", path: "/api/v1/voice-numbers", summary: "List voice numbers", who: "both",
			reply: "VoiceNumberList", code: 200, handler: v.voiceNumbers,
			desc: "The numbers agents call customers from (voice_numbers), with the trunk each leaves through."},
		{method: "POST", path: "/api/v1/callbacks/{id}/call", summary: "Call a manual callback's customer", who: "agent",
			reply: "OutboundCall", code: 201, errs: []int{403, 409, 503}, handler: v.callCallback,
			desc: "The agent the manual request is assigned to (POST /api/v1/callbacks/{id}/assign) calls the customer, as " +
				"POST /api/v1/calls does, from the configuration's caller ID; the request is active. The answer sets it " +
				"done once the call ends; no answer sets it no_reply, back in_queue after its retry delay while retries " +
				"remain. 409 when it is not assigned to the agent, or the agent has a call."},
	}
}

func (v *v1) placeCall(w http.ResponseWriter, r *http.Request, p principal) {
	var in OutboundInput
	ps, _, ok := readBody(w, r, &in)
	if !ok {
		return
	}
	if in.To == "" {
		ps.add("to", "is required")
	}
	if in.From == "" {
		ps.add("from", "is required")
	}
	if ps.reply(w) {
		return
	}
	c, err := v.c.ACD.PlaceCall(ctx(r), p.agent, acd.OutboundRequest{To: in.To, From: in.From, Queue: in.Queue})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (v *v1) voiceNumbers(w http.ResponseWriter, r *http.Request, p principal) {
	out := []VoiceNumber{}
	if v.c.VoiceNumbers != nil {
		for _, n := range v.c.VoiceNumbers() {
			out = append(out, VoiceNumber{Number: n.Number, Trunk: n.Trunk})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (v *v1) callCallback(w http.ResponseWriter, r *http.Request, p principal) {
	c, err := v.c.ACD.CallCallback(ctx(r), p.agent, r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}
