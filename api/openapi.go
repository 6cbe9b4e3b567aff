package api

import (
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-voice/switchboard/acd"
	"github.com/switchboard-voice/switchboard/config"
	"github.com/switchboard-voice/switchboard/store"
)

// The OpenAPI 3.1 document of /api/v1 is made from the route table the
// server registers, the Go types of the bodies (encoding/json's view of
// them) and the descriptions below. Bounds and enums come from where they
// are enforced: package config (names, capacity, ring time-out, token
// length), package store and acd (statuses, states, strategies, events).

// schemaDoc describes one schema of the document.
type schemaDoc struct {
	typ     any // a value of the Go type whose JSON this is
	desc    string
	example any // a value of typ (a slice for a list)
	// request marks a request body: only required fields are required, and
	// pointer fields may be null (absent). In a response every field
	// encoding/json always writes (no omitempty) is required.
	request  bool
	required []string
	fields   map[string]fieldDoc
	// media is a request body's content type; "" is application/json.
	media string
}

// fieldDoc describes one property.
type fieldDoc struct {
	desc      string
	enum      []string
	min, max  *float64
	pattern   string
	minLength int
	maxLength int
	format    string
	// keys is the pattern of a map's keys.
	keys string
	// items is the pattern of a list of strings' items; "": ids
	// (config.NamePattern).
	items string
}

func num(f float64) *float64 { return &f }

// nameField documents a name or id: the one rule of config.NameProblem.
func nameField(desc string) fieldDoc {
	return fieldDoc{desc: desc + " 1 to " + strconv.Itoa(config.MaxNameLength) +
		" lowercase letters, digits, '-' and '_'.", pattern: config.NamePattern, maxLength: config.MaxNameLength}
}

var (
	agentStatuses        = []string{store.StatusAvailable, store.StatusBusy, store.StatusAway, store.StatusOffline}
	systemStates         = []string{acd.SystemIdle, acd.SystemRinging, acd.SystemOnCall, acd.SystemOnHold, acd.SystemWrapUp}
	conversationStatuses = []string{store.ConversationOpen, store.ConversationWaiting, store.ConversationSolved, store.ConversationClosed}
	eventTypes           = []string{acd.EventStatusChanged, acd.EventCallOffered, acd.EventCallAnswered, acd.EventCallEnded,
		acd.EventQualityWarning, acd.EventWrapUpStarted, acd.EventWrapUpEnded}
	dtmfPattern = "^[0-9*#A-Da-d]+$"
	e164Pattern = `^\+[1-9][0-9]{7,14}$`
)

var agentFields = map[string]fieldDoc{
	"id":   nameField("The agent's id, used in paths and by the configuration's agents[].id."),
	"name": {desc: "Shown to supervisors and in the panel; absent: the id."},
	"token": {desc: "The agent's bearer token for the API and WHIP (at least " + strconv.Itoa(config.MinTokenLength) +
		" characters), stored as its SHA-256. In a request, absent: the switch makes one. In an answer, only in the " +
		"answer to POST /api/v1/agents when the switch made it: it is never shown again.", minLength: config.MinTokenLength},
	"status": {desc: "The status the agent chose: only an available agent is offered calls.", enum: agentStatuses},
	"system": {desc: "The switch's state of the agent: \"\" (idle), ringing (a call is offered), on_call, on_hold, " +
		"wrap_up (after-call work).", enum: systemStates},
	"capacity": {desc: "How many conversations not closed the agent may hold (one call at a time whatever it is); absent: " +
		strconv.Itoa(config.DefaultAgentCapacity) + ".", min: num(config.MinAgentCapacity), max: num(config.MaxAgentCapacity)},
	"wrap_up":            {desc: "The agent's own wrap-up time in seconds; 0: its queue's.", min: num(0)},
	"queues":             {desc: "Ids (names) of the queues the agent takes calls from; each must exist."},
	"managed":            {desc: "Declared in the configuration: read-only through the API (409 managed by config)."},
	"open_conversations": {desc: "Conversations assigned to the agent that are not closed (they count against capacity).", min: num(0)},
	"call_id":            {desc: "The call offered to the agent or that it is on."},
	"ringing_until":      {desc: "When the call offered to the agent stops ringing for it.", format: "date-time"},
	"wrap_up_until":      {desc: "When the agent's wrap-up ends.", format: "date-time"},
	"last_heartbeat":     {desc: "The agent's last heartbeat.", format: "date-time"},
	"calls_taken":        {desc: "Calls the agent answered (the fewest_calls strategy reads it).", min: num(0)},
	"talk_time":          {desc: "Seconds the agent spent on calls (the least_talk_time strategy reads it).", min: num(0)},
}

var queueFieldDocs = map[string]fieldDoc{
	"id": nameField("The queue's id: its name."),
	"name": nameField("The queue's name, which is its id and what a flow's queue action names " +
		"(queue: {name: sales}); it cannot change."),
	"auto_assign": {desc: "Automatic agent assignment: offer waiting callers to available agents. Off (the default), " +
		"the queue never offers a call."},
	"strategy": {desc: "How an available agent is picked: longest since its last call (default), least recently offered, " +
		"fewest calls taken, least talk time, or at random.", enum: config.QueueStrategies},
	"ring_timeout": {desc: "Seconds an offer rings before it moves to the next agent; absent: " +
		strconv.Itoa(int(config.DefaultQueueRingTimeout.Seconds())) + ".",
		min: num(config.MinQueueRingTimeout.Seconds()), max: num(config.MaxQueueRingTimeout.Seconds())},
	"wrap_up": {desc: "Seconds of after-call work before the agent takes the next call; 0 or absent: " +
		strconv.Itoa(int(config.DefaultWrapUp.Seconds())) + ".", min: num(0)},
	"waiting_strategy": {desc: "The waiting strategy of the queue's callers when the flow names none (\"\": none); " +
		"it must exist (in the configuration or created through the API).", pattern: "^$|" + config.NamePattern},
	"priority": {desc: "An agent in several queues serves the highest priority first."},
	"service_level_threshold": {desc: "Seconds: the service level counts the calls answered within this; 0 or absent: " +
		strconv.Itoa(int(config.DefaultServiceLevel.Seconds())) + ".", min: num(0)},
	"managed": {desc: "Declared in the configuration: read-only through the API (409 managed by config)."},
	"stats":   {desc: "Live and cumulative statistics."},
}

var strategyFields = map[string]fieldDoc{
	"id":               nameField("The waiting strategy's id: its name."),
	"name":             nameField("The strategy's name, which is its id and what queues and flows name; it cannot change."),
	"greeting":         {desc: promptRef + " played once when the caller enters the queue; \"\": none."},
	"music":            {desc: promptRef + " looped while the caller waits; \"\": silence."},
	"announcement":     {desc: "A message repeated over the music, with keys the caller may press; absent: none."},
	"max_wait":         {desc: "Longest wait in seconds; 0: no limit.", min: num(0)},
	"max_wait_message": {desc: promptRef + " played when the maximum wait is reached; \"\": none."},
	"max_wait_flow":    {desc: "Flow the caller goes to when the maximum wait is reached; \"\": the call ends with 480."},
	"managed":          {desc: "Declared in the configuration: read-only through the API (409 managed by config)."},
}

var contactFields = map[string]fieldDoc{
	"id":   {desc: "The contact's id, made by the switch."},
	"name": {desc: "The contact's name, shown in the phone book.", minLength: 1, maxLength: config.MaxContactName},
	"numbers": {desc: "E.164 numbers ('+', then 8 to 15 digits), 1 to " + strconv.Itoa(config.MaxContactNumbers) +
		"; a number belongs to one contact only.", items: e164Pattern},
	"tags": {desc: "Lowercase words (letters, digits and '_', starting with a letter), at most " +
		strconv.Itoa(config.MaxContactTags) + "; external_number lets external transfers dial the contact's numbers.",
		items: config.TagPattern},
	"managed":    {desc: "Declared in the configuration: read-only through the API (409 managed by config)."},
	"created_at": {desc: "When it was added.", format: "date-time"},
	"updated_at": {desc: "When it last changed.", format: "date-time"},
}

// promptRef describes a field naming a prompt.
const promptRef = "The id of a prompt uploaded with POST /api/v1/prompts (never a file path; a strategy of the " +
	"configuration shows its file as the YAML names it),"

// schemaDocs are the document's schemas; a name ending in "List" is an
// array of the name before it.
var schemaDocs = map[string]schemaDoc{
	"Agent": {typ: Agent{}, fields: agentFields,
		desc: "An agent with its state; durations are in seconds.",
		example: Agent{ID: "ann", Name: "Ann Lee", Status: store.StatusAvailable, System: acd.SystemOnCall, Capacity: 10,
			Queues: []string{"sales"}, OpenConversations: 1, CallID: "3f1c9a2e-7b6d-4e1a-9c3b-2d8e5f4a1b7c",
			LastHeartbeat: ptr(exampleTime(0)), CallsTaken: 12, TalkTime: 2710.5}},
	"AgentInput": {typ: AgentInput{}, fields: agentFields, request: true, required: []string{"id"},
		desc:    "A new agent. Without a token the switch makes one and returns it once, in the answer.",
		example: AgentInput{ID: ptr("ann"), Name: ptr("Ann Lee"), Queues: &[]string{"sales"}, Capacity: ptr(5)}},
	"AgentPatch": {typ: AgentInput{}, fields: agentFields, request: true,
		desc:    "Changes to an agent: absent fields keep their value; the id cannot change.",
		example: AgentInput{Queues: &[]string{"sales", "support"}, WrapUp: ptr(45.0)}},
	"StatusInput": {typ: StatusInput{}, fields: agentFields, request: true, required: []string{"status"},
		desc: "The status an agent chooses.", example: StatusInput{Status: store.StatusAvailable}},
	"WrapUp": {typ: WrapUp{}, desc: "When the agent's wrap-up ends.",
		fields:  map[string]fieldDoc{"ends_at": {desc: "When the wrap-up ends.", format: "date-time"}},
		example: WrapUp{EndsAt: exampleTime(40 * time.Second)}},
	"Event": {typ: acd.Event{},
		desc: "An event on the agent's WebSocket, as a JSON text message.",
		fields: map[string]fieldDoc{
			"type": {desc: "What happened.", enum: eventTypes},
			"at":   {desc: "When.", format: "date-time"},
			"data": {desc: "status.changed: {status, system}; call.offered: {call_id, conversation_id, queue_id, queue, " +
				"type (regular, transferred, callback), customer_name, customer_number, ring_timeout (s), expires_at}; " +
				"call.answered and call.ended: {call_id, conversation_id, reason}; quality.warning: {call_id, side}; " +
				"wrapup.started and wrapup.ended: {call_id, conversation_id, ends_at}."},
		},
		example: acd.Event{Type: acd.EventCallOffered, At: exampleTime(0), Data: acd.OfferData{
			CallID: "3f1c9a2e-7b6d-4e1a-9c3b-2d8e5f4a1b7c", ConversationID: "9d2b7c1e-0a4f-4b3e-8c6d-5e1f2a3b4c5d",
			QueueID: "sales", Queue: "sales", Type: acd.CallRegular, CustomerName: "Gold +15551234",
			CustomerNumber: "+15551234", RingTimeout: 30, ExpiresAt: exampleTime(30 * time.Second)}}},
	"ConversationInput": {typ: ConversationInput{}, request: true,
		desc: "A conversation's new status and notes; absent fields keep their value.",
		fields: map[string]fieldDoc{
			"status": {desc: "open, waiting, solved or closed; a conversation not closed takes the customer's next call " +
				"and counts against the agent's capacity. Absent or \"\": unchanged.", enum: append([]string{""}, conversationStatuses...)},
			"notes": {desc: "The agent's notes; absent: unchanged."},
		},
		example: ConversationInput{Status: store.ConversationClosed, Notes: ptr("asked about the invoice")}},
	"Conversation": {typ: store.Conversation{},
		desc: "A customer's thread of calls: the customer's next call joins it until it is closed.",
		fields: map[string]fieldDoc{
			"id":              {desc: "The conversation's id."},
			"customer_number": {desc: "The caller's number."},
			"customer_name":   {desc: "The caller's name, as agents see it."},
			"queue":           {desc: "The id of the queue its last call waited in."},
			"agent_id":        {desc: "The agent who answered its last call (\"\": none yet)."},
			"status":          {desc: "open, waiting, solved or closed.", enum: conversationStatuses},
			"notes":           {desc: "The agents' notes."},
			"created_at":      {desc: "When it started.", format: "date-time"},
			"updated_at":      {desc: "When it last changed.", format: "date-time"},
		},
		example: store.Conversation{ID: "9d2b7c1e-0a4f-4b3e-8c6d-5e1f2a3b4c5d", CustomerNumber: "+15551234",
			CustomerName: "Gold +15551234", Queue: "sales", AgentID: "ann", Status: store.ConversationClosed,
			Notes: "asked about the invoice", CreatedAt: exampleTime(-time.Hour), UpdatedAt: exampleTime(0)}},
	"Queue": {typ: Queue{}, fields: queueFieldDocs,
		desc: "A queue with its statistics; durations are in seconds.",
		example: Queue{ID: "sales", Name: "sales", AutoAssign: true, Strategy: acd.LongestIdle, RingTimeout: 20, WrapUp: 30,
			WaitingStrategy: "default", ServiceLevel: 20, Stats: &QueueStats{Waiting: 2, Ringing: 1, LongestWait: 41.5,
				AvailableAgents: 1, Agents: 4, Since: exampleTime(-8 * time.Hour), Offered: 120, Answered: 111, Abandoned: 6,
				ServiceLevel: 0.82, ASA: 14.2, AbandonRate: 0.05, AHT: 245.7}}},
	"QueueInput": {typ: QueueInput{}, fields: queueFieldDocs, request: true, required: []string{"name"},
		desc:    "A new queue; its name is its id. Absent fields take their defaults.",
		example: QueueInput{Name: ptr("sales"), AutoAssign: ptr(true), RingTimeout: ptr(20.0), WaitingStrategy: ptr("default")}},
	"QueuePatch": {typ: QueueInput{}, fields: queueFieldDocs, request: true,
		desc:    "Changes to a queue: absent fields keep their value; the name (its id) cannot change.",
		example: QueueInput{AutoAssign: ptr(true), Strategy: ptr(acd.RoundRobin)}},
	"QueueStats": {typ: QueueStats{},
		desc: "A queue's live figures and its cumulative ones since the switch started (or the statistics were reset).",
		fields: map[string]fieldDoc{
			"waiting":          {desc: "Callers waiting, not ringing an agent.", min: num(0)},
			"callbacks":        {desc: "Automated callback requests waiting in the queue or offered (not counted in waiting).", min: num(0)},
			"ringing":          {desc: "Callers ringing an agent.", min: num(0)},
			"longest_wait":     {desc: "Seconds the longest-waiting caller has waited.", min: num(0)},
			"available_agents": {desc: "Agents of the queue who could take a call now.", min: num(0)},
			"agents":           {desc: "Agents of the queue.", min: num(0)},
			"since":            {desc: "Since when the cumulative figures count.", format: "date-time"},
			"offered":          {desc: "Calls that entered the queue.", min: num(0)},
			"answered":         {desc: "Calls an agent answered.", min: num(0)},
			"abandoned":        {desc: "Calls whose caller left before an answer.", min: num(0)},
			"service_level":    {desc: "Share of the answered calls answered within the queue's threshold.", min: num(0), max: num(1)},
			"asa":              {desc: "Average speed of answer, in seconds.", min: num(0)},
			"abandon_rate":     {desc: "Share of the offered calls abandoned.", min: num(0), max: num(1)},
			"aht":              {desc: "Average handle time (talk and wrap-up), in seconds.", min: num(0)},
		},
		example: QueueStats{Waiting: 2, Ringing: 1, LongestWait: 41.5, AvailableAgents: 1, Agents: 4,
			Since: exampleTime(-8 * time.Hour), Offered: 120, Answered: 111, Abandoned: 6, ServiceLevel: 0.82, ASA: 14.2,
			AbandonRate: 0.05, AHT: 245.7}},
	"WaitingStrategy": {typ: WaitingStrategy{}, fields: strategyFields,
		desc:    "What callers hear while they wait in a queue; durations are in seconds.",
		example: WaitingStrategy{ID: "quiet", WaitingStrategyInput: exampleStrategy},
	},
	"WaitingStrategyInput": {typ: WaitingStrategyInput{}, fields: strategyFields, request: true, required: []string{"name"},
		desc:    "A new waiting strategy, checked like the configuration's (files exist and play, flows exist, timings); its name is its id.",
		example: exampleStrategy},
	"WaitingStrategyReplace": {typ: WaitingStrategyInput{}, fields: strategyFields, request: true,
		desc:    "A waiting strategy's new settings, all of them; the name (its id) may be left out and cannot change.",
		example: exampleStrategy},
	"Announcement": {typ: Announcement{},
		desc: "A message repeated over the music; keys pressed while it plays or shortly after lead to flows.",
		fields: map[string]fieldDoc{
			"file":  {desc: promptRef + " the message."},
			"every": {desc: "Seconds between two announcements; required (above 0) with a file.", min: num(0)},
			"response_codes": {desc: "A key (0-9, *, #, A-D) and what it leads to: a flow, by its name " +
				"({\"2\": \"voicemail\"}), or a callback request of a callback configuration " +
				"({\"1\": {\"callback\": \"support-callback\"}}: the caller hears its confirmation and the call ends normally).",
				keys: "^[0-9*#A-D]$"},
			"wait_for_response": {desc: "Seconds keys still count after the message ends; 0: 5.", min: num(0)},
		},
		example: *exampleStrategy.Announcement},
	"Prompt": {typ: Prompt{}, desc: "An uploaded audio file, kept converted; strategies name it by its id.",
		fields: map[string]fieldDoc{
			"id":         {desc: "The prompt's id, made by the switch.", pattern: PromptIDPattern},
			"name":       {desc: "The uploaded file's name (for people; never used as a path)."},
			"format":     {desc: "The uploaded file's format.", enum: []string{".mp2", ".mp3", ".ircam", ".m4a", ".m4r", ".voc", ".vox", ".wav"}},
			"size":       {desc: "Bytes uploaded.", min: num(0), max: num(4 << 20)},
			"duration":   {desc: "Length of the audio in seconds.", min: num(0)},
			"created_at": {desc: "When it was uploaded.", format: "date-time"},
		},
		example: Prompt{ID: "prompt-5f0c2a9d41b7e3c86a1d0f2e", Name: "welcome.mp3", Format: ".mp3", Size: 48213,
			Duration: 3.02, CreatedAt: exampleTime(0)}},
	"PromptUpload": {typ: PromptUpload{}, request: true, required: []string{"file"}, media: "multipart/form-data",
		desc: "The audio file, in the part named \"file\" with its file name (whose extension gives the format).",
		fields: map[string]fieldDoc{
			"file": {desc: "The audio file: .mp2 .mp3 .ircam .m4a .m4r .voc .vox .wav, at most 4 MB.", format: "binary"},
		},
		example: PromptUpload{File: "(the audio file's bytes)"}},
	"TransferInput": {typ: TransferInput{}, request: true,
		desc: "A blind transfer's target: exactly one of agent, queue and number.",
		fields: map[string]fieldDoc{
			"agent":  {desc: "An agent of the call's queue, available."},
			"queue":  {desc: "A queue with automatic assignment on."},
			"number": {desc: "An external E.164 number (the phone book's rules apply).", pattern: `^\+[1-9][0-9]{7,14}$`},
			"from":   {desc: "The caller ID the external number sees; default: the caller's number."},
		},
		example: TransferInput{Agent: "agent2"}},
	"LiveCall": {typ: acd.LiveCall{}, desc: "A call the contact center follows.",
		fields: map[string]fieldDoc{
			"call_id":         {desc: "The call's id."},
			"conversation_id": {desc: "The conversation it belongs to."},
			"queue":           {desc: "The queue's name."},
			"customer_number": {desc: "The caller's number."},
			"state":           {desc: "Where it is.", enum: []string{"waiting", "ringing", "dialing", "talking", "on_hold", "transferring"}},
			"agent":           {desc: "The agent ringing or talking, if any."},
			"enqueued_at":     {desc: "When it entered the queue.", format: "date-time"},
			"held_since":      {desc: "When the hold under way started.", format: "date-time"},
			"transfer":        {desc: "The transfer under way."},
		},
		example: acd.LiveCall{CallID: "3f1c9a2e-7b6d-4e1a-9c3b-2d8e5f4a1b7c", ConversationID: "c-41b7e3c8", Queue: "support",
			CustomerNumber: "+15551234", State: "on_hold", Agent: "agent1", Enqueued: exampleTime(0), HeldSince: ptr(exampleTime(90))}},
	"TransferInfo": {typ: acd.TransferInfo{}, desc: "A transfer under way.",
		fields: map[string]fieldDoc{
			"id":         {desc: "The transfer's id."},
			"kind":       {desc: "What it goes to.", enum: []string{"agent", "queue", "number"}},
			"target":     {desc: "The agent's id, the queue's name or the number."},
			"by":         {desc: "The transferring agent's id."},
			"started_at": {desc: "When it was asked for.", format: "date-time"},
		},
		example: acd.TransferInfo{ID: "5f0c2a9d41b7e3c8", Kind: "agent", Target: "agent2", By: "agent1", Started: exampleTime(0)}},
	"TargetAgent": {typ: acd.TargetAgent{}, desc: "An agent a call may be transferred to.",
		fields: map[string]fieldDoc{
			"id":        {desc: "The agent's id."},
			"name":      {desc: "The agent's name."},
			"status":    {desc: "The status the agent chose."},
			"system":    {desc: "The agent's state: \"\" idle, ringing, on_call, on_hold, wrap_up."},
			"available": {desc: "Whether it can take the call now."},
		},
		example: acd.TargetAgent{ID: "agent2", Name: "Agent Two", Status: "available", Available: true}},
	"TargetQueue": {typ: acd.TargetQueue{}, desc: "A queue a call may be transferred to.",
		fields:  map[string]fieldDoc{"id": {desc: "The queue's id."}, "name": {desc: "The queue's name."}},
		example: acd.TargetQueue{ID: "sales", Name: "sales"}},
	"TransferTargets": {typ: acd.TransferTargets{}, desc: "Where the agent may transfer its call.",
		fields: map[string]fieldDoc{
			"agents": {desc: "The other agents of the call's queue, available first."},
			"queues": {desc: "The queues with automatic assignment."},
			"allow_manual_numbers": {desc: "Whether the agent may transfer to a number of no contact " +
				"(transfers.allow_manual_numbers); otherwise only to numbers of contacts tagged external_number."},
		},
		example: acd.TransferTargets{Agents: []acd.TargetAgent{{ID: "agent2", Name: "Agent Two", Status: "available", Available: true}},
			Queues: []acd.TargetQueue{{ID: "sales", Name: "sales"}}}},
	"OutboundInput": {typ: OutboundInput{}, request: true, required: []string{"to", "from"},
		desc: "An agent's call to a customer.",
		fields: map[string]fieldDoc{
			"to":    {desc: "The customer's number, E.164 (the phone book's rules apply).", pattern: `^\+[1-9][0-9]{7,14}$`},
			"from":  {desc: "The caller ID: one of the voice numbers (GET /api/v1/voice-numbers)."},
			"queue": {desc: "The queue the call counts in: one of the agent's; default the agent's first."},
		},
		example: OutboundInput{To: "+15550142", From: "+15550100", Queue: "support"}},
	"OutboundCall": {typ: acd.OutboundCall{}, desc: "The call being placed; its events carry call_id.",
		fields: map[string]fieldDoc{
			"call_id":         {desc: "The call's id."},
			"conversation_id": {desc: "The conversation it joined or started."},
		},
		example: acd.OutboundCall{CallID: "3f1c9a2e-7b6d-4e1a-9c3b-2d8e5f4a1b7c", ConversationID: "c-41b7e3c8"}},
	"VoiceNumber": {typ: VoiceNumber{}, desc: "A number agents call customers from.",
		fields: map[string]fieldDoc{
			"number": {desc: "E.164."},
			"trunk":  {desc: "The trunk calls from it leave through; absent: the outbound routes decide."},
		},
		example: VoiceNumber{Number: "+15550100", Trunk: "pstn"}},
	"TransferStarted": {typ: TransferStarted{}, desc: "The transfer under way; its events carry this id.",
		fields:  map[string]fieldDoc{"transfer_id": {desc: "The transfer's id."}},
		example: TransferStarted{TransferID: "5f0c2a9d41b7e3c8"}},
	"Contact": {typ: store.Contact{}, fields: contactFields,
		desc: "A contact of the phone book.",
		example: store.Contact{ID: "0b7e4c1a-2f3d-4e5a-8b6c-9d0e1f2a3b4c", Name: "Escalations",
			Numbers: []string{"+15550142"}, Tags: []string{config.TagExternalNumber}, Managed: true,
			CreatedAt: exampleTime(-time.Hour), UpdatedAt: exampleTime(0)}},
	"ContactInput": {typ: ContactInput{}, fields: contactFields, request: true, required: []string{"name", "numbers"},
		desc:    "A new contact: a name and E.164 numbers, and tags.",
		example: ContactInput{Name: ptr("Acme billing"), Numbers: &[]string{"+442071234567"}, Tags: &[]string{config.TagExternalNumber}}},
	"ContactPatch": {typ: ContactInput{}, fields: contactFields, request: true,
		desc:    "Changes to a contact: absent fields keep their value; a list given replaces the old one.",
		example: ContactInput{Tags: &[]string{config.TagExternalNumber, "billing"}}},
	"DTMFInput": {typ: DTMFInput{}, request: true, required: []string{"digits"},
		desc:    "Keys to send to the caller.",
		fields:  map[string]fieldDoc{"digits": {desc: "DTMF digits: 0-9, *, #, A-D.", pattern: dtmfPattern, minLength: 1}},
		example: DTMFInput{Digits: "12#"}},
	"FieldProblem": {typ: FieldProblem{}, desc: "One thing wrong in a request.",
		fields: map[string]fieldDoc{
			"field":   {desc: "The body's field (\"capacity\", \"queues[1]\", \"announcement.every\"); \"\": the body as a whole."},
			"problem": {desc: "What is wrong with it."},
		},
		example: FieldProblem{Field: "capacity", Problem: "must be from 1 to 100, not 500"}},
	"CallbackConfig": {typ: CallbackConfig{}, fields: callbackConfigFields,
		desc: "A callback configuration: how requests of one kind are handled.",
		example: CallbackConfig{ID: "support-manual", Name: "support-manual", Type: "manual", Queue: "support",
			Retries: 2, RetryDelay: 300, Confirmation: Confirmation{File: "tone-1500.wav"}, CallerID: "+15550100",
			Managed: true, CreatedAt: exampleTime(-time.Hour), UpdatedAt: exampleTime(0)}},
	"CallbackConfigInput": {typ: CallbackConfigInput{}, fields: callbackConfigFields, request: true,
		required: []string{"name", "type", "queue"},
		desc:     "A callback configuration: absent settings take their default.",
		example: CallbackConfigInput{Name: "sales-callback", Type: "automated", Queue: "sales", Retries: ptr(3),
			RetryDelay: ptr(600.0), Priority: "queue_position", Confirmation: &Confirmation{Say: "We will call you back."}}},
	"Confirmation": {typ: Confirmation{}, desc: "What the customer hears once a callback is requested: a file or a text.",
		fields: map[string]fieldDoc{
			"file": {desc: "An audio file, read from prompts.dirs."},
			"say":  {desc: "Instead of file: a text spoken by espeak-ng."},
		},
		example: Confirmation{File: "tone-1500.wav"}},
	"Callback": {typ: Callback{}, fields: callbackFields,
		desc: "A request to call a customer back, with its attempts.",
		example: Callback{ID: "6a1d0f2e-5f0c-4a9d-81b7-e3c86a1d0f2e", Config: "support-manual", Type: "manual",
			Queue: "support", Retries: 2, RetryDelay: 300, Number: "+15550142", ConversationID: "9d2b7c1e-0a4f-4b3e-8c6d-5e1f2a3b4c5d",
			Enqueued: exampleTime(-2 * time.Minute), CreatedAt: exampleTime(-time.Minute), UpdatedAt: exampleTime(0),
			Status: store.CallbackNoReply, AgentID: "agent1", AttemptsMade: 1, NextAttemptAt: ptr(exampleTime(5 * time.Minute)),
			Attempts: []store.CallbackAttempt{{At: exampleTime(0), AgentID: "agent1", SIPCode: 486, Reason: "Busy Here",
				Outcome: acd.AttemptNoReply}}}},
	"CallbackAttempt": {typ: store.CallbackAttempt{}, desc: "One call placed for a callback request.",
		fields: map[string]fieldDoc{
			"at":       {desc: "When the attempt ended.", format: "date-time"},
			"agent_id": {desc: "The agent who called."},
			"sip_code": {desc: "The SIP status of the call to the customer (200: answered)."},
			"reason":   {desc: "The SIP reason phrase, or why the call failed."},
			"outcome":  {desc: "What came of it.", enum: []string{acd.AttemptAnswered, acd.AttemptNoReply}},
		},
		example: store.CallbackAttempt{At: exampleTime(0), AgentID: "agent1", SIPCode: 200, Reason: "OK", Outcome: acd.AttemptAnswered}},
	"CallbackInput": {typ: CallbackInput{}, request: true, required: []string{"config", "number"},
		desc: "A request to call a customer back.",
		fields: map[string]fieldDoc{
			"config":          nameField("The callback configuration's name."),
			"number":          {desc: "The customer's number, E.164 ('+', then 8 to 15 digits)."},
			"queue":           {desc: "The queue whose agents call back; \"\": the configuration's."},
			"conversation_id": {desc: "The customer's conversation; \"\": the customer's open one, or a new one."},
		},
		example: CallbackInput{Config: "support-manual", Number: "+15550142"}},
	"Error": {typ: apiError{},
		desc: "Every error's body. A 400 lists every problem of the request, not only the first.",
		fields: map[string]fieldDoc{
			"error":    {desc: "What went wrong, in a line (every problem of a 400, separated by \"; \")."},
			"field":    {desc: "A 400's first problem's field."},
			"problems": {desc: "A 400's problems, each with its field."},
		},
		example: problemsError(problems{{Field: "id", Problem: `invalid name "Ann Lee": use lowercase letters, digits, '-' and '_'`},
			{Field: "capacity", Problem: "must be from 1 to 100, not 500"}})},
}

// callbackConfigFields describe a callback configuration's fields.
var callbackConfigFields = map[string]fieldDoc{
	"id":   {desc: "The configuration's id: its name."},
	"name": nameField("The configuration's name, the one a response code's callback action names."),
	"type": {desc: "automated: the switch offers the callback to an available agent like a call; manual: agents pick it " +
		"from the callbacks list.", enum: config.CallbackTypes},
	"queue": {desc: "The queue whose agents call back."},
	"retries": {desc: "Attempts after the first one fails (default " + strconv.Itoa(config.DefaultCallbackRetries) + ").",
		min: num(0), max: num(config.MaxCallbackRetries)},
	"retry_delay": {desc: "Seconds between a failed attempt and the request going back in queue (default 300).",
		min: num(0), max: num(config.MaxCallbackRetryDelay.Seconds())},
	"priority": {desc: "Automated only: inbound_first (waiting calls first, the default) or queue_position (the " +
		"callback keeps its place among waiting calls); \"\" for manual."},
	"confirmation": {desc: "What the customer hears once the callback is requested."},
	"caller_id":    {desc: "The number the customer sees: one of the configuration's voice_numbers; \"\": the trunk's."},
	"schedule":     {desc: "A schedule of the configuration: callbacks are not dialled outside it; \"\": any time."},
	"managed":      {desc: "Declared in the configuration: read-only here."},
	"created_at":   {desc: "When it was created.", format: "date-time"},
	"updated_at":   {desc: "When it last changed.", format: "date-time"},
}

// callbackFields describe a callback request's fields.
var callbackFields = map[string]fieldDoc{
	"id":              {desc: "The request's id."},
	"config":          {desc: "The callback configuration it was made under."},
	"type":            {desc: "Its configuration's type when it was made.", enum: config.CallbackTypes},
	"queue":           {desc: "The queue whose agents call back."},
	"retries":         {desc: "Attempts allowed after the first (its configuration's when it was made)."},
	"retry_delay":     {desc: "Seconds between a failed attempt and the next."},
	"number":          {desc: "The customer's number."},
	"conversation_id": {desc: "The customer's conversation, which logs every status change."},
	"enqueued":        {desc: "When the customer's call started waiting.", format: "date-time"},
	"created_at":      {desc: "When the request was made.", format: "date-time"},
	"updated_at":      {desc: "When its status last changed.", format: "date-time"},
	"status": {desc: "in_queue, assigned (an agent took it), active (being called), no_reply (the last attempt " +
		"failed; back in queue at next_attempt_at, or closed when no retry remains) or done (answered).",
		enum: []string{store.CallbackInQueue, store.CallbackAssigned, store.CallbackActive, store.CallbackNoReply,
			store.CallbackDone}},
	"closed":          {desc: "No attempt is left: every one failed (status no_reply) or the customer was reached (done)."},
	"agent_id":        {desc: "The agent it is assigned to, or who called last; \"\": none."},
	"attempts_made":   {desc: "Calls placed for it so far."},
	"next_attempt_at": {desc: "When a no_reply request goes back in queue.", format: "date-time"},
	"attempts":        {desc: "The calls placed for it, in order."},
}

var exampleStrategy = WaitingStrategyInput{Name: "quiet", Greeting: "prompt-5f0c2a9d41b7e3c86a1d0f2e",
	Music:        "prompt-0b8e6f3a2c1d4e5f60718293",
	Announcement: &Announcement{File: "prompt-9a7b6c5d4e3f2a1b0c9d8e7f", Every: 30, ResponseCodes: map[string]config.ResponseCode{"1": {Callback: "support-callback"}, "2": {Flow: "voicemail"}}, WaitForResponse: 5},
	MaxWait:      300, MaxWaitMessage: "prompt-1a2b3c4d5e6f708192a3b4c5", MaxWaitFlow: "voicemail"}

func ptr[T any](v T) *T { return &v }

// exampleTime is a fixed time of the examples, moved by d.
func exampleTime(d time.Duration) time.Time {
	return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(d)
}

// tags group the operations by the path's first part.
var tags = map[string]string{
	"agents":             "Agents",
	"conversations":      "Conversations",
	"queues":             "Queues",
	"waiting-strategies": "Waiting strategies",
	"prompts":            "Prompts",
	"calls":              "Calls",
	"contacts":           "Contacts",
	"callback-configs":   "Callback configurations",
	"callbacks":          "Callbacks",
}

// idParams describe the {id} of each path's first part.
var idParams = map[string]struct{ desc, example string }{
	"agents":             {"The agent's id.", "ann"},
	"conversations":      {"The conversation's id (conversation_id of call.offered).", "9d2b7c1e-0a4f-4b3e-8c6d-5e1f2a3b4c5d"},
	"queues":             {"The queue's id: its name.", "sales"},
	"waiting-strategies": {"The waiting strategy's id: its name.", "quiet"},
	"prompts":            {"The prompt's id (made by the switch at upload).", "prompt-5f0c2a9d41b7e3c86a1d0f2e"},
	"calls":              {"The call's id (call_id of call.offered).", "3f1c9a2e-7b6d-4e1a-9c3b-2d8e5f4a1b7c"},
	"contacts":           {"The contact's id (made by the switch).", "0b7e4c1a-2f3d-4e5a-8b6c-9d0e1f2a3b4c"},
	"callback-configs":   {"The callback configuration's id: its name.", "support-manual"},
	"callbacks":          {"The callback request's id (made by the switch).", "6a1d0f2e-5f0c-4a9d-81b7-e3c86a1d0f2e"},
}

var whoDoc = map[string]string{
	"supervisor": "Who: a supervisor (API key).",
	"agent":      "Who: the agent itself (its token).",
	"both":       "Who: a supervisor (API key), or the agent itself (its token).",
}

// statusDocs describe the statuses of the document.
var statusDocs = map[int]string{
	101: "Switching to the WebSocket protocol.",
	200: "OK.",
	201: "Created; Location is the new object's path.",
	202: "Accepted: started; its outcome comes as events.",
	204: "Done; no body.",
	400: "The request has problems: problems lists every one, each with its field.",
	401: "No credentials, or no API key or agent token matches them.",
	403: "The credentials do not allow this (an agent acting on another, a supervisor on an agent's call).",
	404: "No such object.",
	409: "Not now or not here: managed by config, already exists, or not allowed in the current state.",
	413: "The uploaded file is larger than 4 MB.",
	415: "The body is not of the operation's type (application/json; multipart/form-data for an upload), or the uploaded file's format is not allowed.",
	426: "Not a WebSocket handshake.",
	500: "The switch failed (the error says how).",
	503: "No database (or no upload directory) for the objects of this path, or a program it needs (ffmpeg) is not installed.",
}

// openapi serves the OpenAPI 3.1 document of /api/v1, made from the same
// route table the server registers.
func (v *v1) openapi(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, v.document())
}

func (v *v1) document() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range v.routes {
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = operation(rt)
	}
	schemas := map[string]any{}
	for name, d := range schemaDocs {
		schemas[name] = d.schema()
		if !d.request {
			schemas[name+"List"] = map[string]any{"type": "array", "items": ref(name),
				"description": "A list of " + name + ".", "examples": []any{exampleOf(name + "List")}}
		}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Switchboard contact center API", "version": "1",
			"description": "The contact center's REST API: agents, queues, waiting strategies, conversations and the " +
				"agents' calls. Supervisors authenticate with an API key (api.keys in the configuration), agents with " +
				"their token, as Authorization: Bearer <token> (only the agent's events WebSocket also takes " +
				"?access_token=<token>, because a browser cannot send it headers). Ids of agents, queues and waiting strategies are names: lowercase letters, digits, '-' and " +
				"'_'; a queue's and a strategy's id is its name. Objects declared in the configuration are read-only " +
				"here (409 managed by config). Durations are in seconds. A request with mistakes gets 400 with every " +
				"problem listed."},
		"paths": paths,
		"tags": []map[string]string{
			{"name": "Agents", "description": "Agents, their status, heartbeats, wrap-up and events."},
			{"name": "Queues", "description": "Queues and their statistics."},
			{"name": "Waiting strategies", "description": "What callers hear while they wait."},
			{"name": "Prompts", "description": "Uploaded audio files that waiting strategies play, named by id."},
			{"name": "Conversations", "description": "Customers' threads of calls."},
			{"name": "Calls", "description": "An agent's commands on its calls."},
			{"name": "Contacts", "description": "The phone book: the numbers external transfers may dial."},
			{"name": "Callback configurations", "description": "How requests to call customers back are handled."},
			{"name": "Callbacks", "description": "Requests to call customers back, their statuses and attempts."},
		},
		"security": []map[string][]string{{"bearer": {}}},
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer": map[string]string{"type": "http", "scheme": "bearer",
					"description": "A supervisor's API key or an agent's token."},
				"accessToken": map[string]string{"type": "apiKey", "in": "query", "name": "access_token",
					"description": "The same, only for the agent's events WebSocket (a browser's WebSocket cannot send headers)."},
			},
		},
	}
}

// exampleOf is the example of a schema; a list's is its item's in a list.
func exampleOf(name string) any {
	item, list := strings.CutSuffix(name, "List")
	ex := schemaDocs[item].example
	if !list {
		return ex
	}
	l := reflect.MakeSlice(reflect.SliceOf(reflect.TypeOf(ex)), 0, 1)
	return reflect.Append(l, reflect.ValueOf(ex)).Interface()
}

// operation describes one route.
func operation(rt route) map[string]any {
	first, _, _ := strings.Cut(strings.TrimPrefix(rt.path, "/api/v1/"), "/")
	op := map[string]any{
		"summary":     rt.summary,
		"description": rt.desc + " " + whoDoc[rt.who],
		"operationId": operationID(rt),
		"tags":        []string{tags[first]},
		"x-allowed":   rt.who,
	}
	var params []map[string]any
	if strings.Contains(rt.path, "{id}") {
		p := idParams[first]
		params = append(params, map[string]any{"name": "id", "in": "path", "required": true, "description": p.desc,
			"schema": map[string]string{"type": "string"}, "example": p.example})
	}
	for _, q := range rt.query {
		params = append(params, map[string]any{"name": q.name, "in": "query", "required": false, "description": q.desc,
			"schema": map[string]string{"type": "string"}, "example": q.example})
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if rt.body != "" {
		d := schemaDocs[rt.body]
		media := d.media
		if media == "" {
			media = "application/json"
		}
		op["requestBody"] = map[string]any{"required": true, "description": d.desc, "content": map[string]any{
			media: map[string]any{"schema": ref(rt.body), "example": d.example}}}
	}
	codes := []int{rt.code, 401, 403, 500}
	if rt.body != "" {
		codes = append(codes, 400, 415)
	}
	if strings.Contains(rt.path, "{id}") {
		codes = append(codes, 404)
	}
	if rt.method != "GET" {
		codes = append(codes, 409)
	}
	codes = append(codes, rt.errs...)
	responses := map[string]any{}
	for _, code := range codes {
		resp := map[string]any{"description": statusDocs[code]}
		switch {
		case code == rt.code && rt.reply != "" && code != 101:
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": ref(rt.reply),
				"example": exampleOf(rt.reply)}}
		case code == 101:
			resp["description"] = statusDocs[101] + " Each message is then an " + rt.reply + " (JSON)."
		case rt.code == 101 && (code == 400 || code == 426):
			resp["description"] = "Not a valid WebSocket handshake."
			resp["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]string{"type": "string"},
				"example": "WebSocket protocol violation: Connection header \"\" does not contain Upgrade"}}
		case code >= 400:
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": ref("Error"),
				"example": errorExample(code)}}
		}
		switch code {
		case 201:
			resp["headers"] = map[string]any{"Location": map[string]any{"required": true,
				"description": "The new object's path.", "schema": map[string]string{"type": "string"}}}
		case 401:
			resp["headers"] = map[string]any{"WWW-Authenticate": map[string]any{"required": true,
				"description": "Bearer realm=\"switchboard\".", "schema": map[string]string{"type": "string"}}}
		}
		responses[strconv.Itoa(code)] = resp
	}
	if rt.queryToken {
		op["security"] = []map[string][]string{{"bearer": {}}, {"accessToken": {}}}
	}
	op["responses"] = responses
	return op
}

func errorExample(code int) apiError {
	switch code {
	case 400:
		return schemaDocs["Error"].example.(apiError)
	case 401:
		return apiError{Error: "missing credentials: send Authorization: Bearer <API key or agent token>"}
	case 403:
		return apiError{Error: "an agent may act only on itself"}
	case 404:
		return apiError{Error: `not found: queue "sales"`}
	case 409:
		return apiError{Error: `managed by config: queue "support"; change it in the YAML and reload`}
	case 413:
		return apiError{Error: "the audio file is larger than 4 MB (4194304 bytes)"}
	case 415:
		return apiError{Error: "send application/json, not text/plain"}
	case 503:
		return apiError{Error: "no database for waiting strategies"}
	}
	return apiError{Error: "store: put queue \"sales\": disk I/O error"}
}

func ref(name string) map[string]string {
	return map[string]string{"$ref": "#/components/schemas/" + name}
}

func operationID(rt route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.method))
	for _, seg := range strings.Split(strings.TrimPrefix(rt.path, "/api/v1/"), "/") {
		if seg == "{id}" {
			b.WriteString("ById")
			continue
		}
		for _, part := range strings.Split(seg, "-") {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// schema is d's JSON schema: the properties of its Go type as encoding/json
// writes them, each described, with the bounds of fieldDoc.
func (d schemaDoc) schema() map[string]any {
	t := reflect.TypeOf(d.typ)
	props := map[string]any{}
	var required []string
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || (f.Anonymous && f.Type.Kind() == reflect.Struct) {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || name == "" {
			continue
		}
		props[name] = d.property(f.Type, d.fields[name]) // TestOpenAPIDocument checks every one is described
		if !d.request && !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	if d.request {
		required = d.required
	}
	out := map[string]any{"type": "object", "description": d.desc, "properties": props,
		"additionalProperties": false, "examples": []any{d.example}}
	if len(required) > 0 {
		slices.Sort(required)
		out["required"] = required
	}
	return out
}

// property is the schema of one field of type t.
func (d schemaDoc) property(t reflect.Type, fd fieldDoc) map[string]any {
	nullable := false
	for t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), d.request
	}
	var s map[string]any
	switch {
	case t == timeType:
		s = map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.Struct:
		r := ref(t.Name()) // TestOpenAPIDocument checks it resolves
		if nullable {
			return map[string]any{"description": fd.desc, "oneOf": []any{r, map[string]string{"type": "null"}}}
		}
		return map[string]any{"description": fd.desc, "allOf": []any{r}}
	case t.Kind() == reflect.Interface:
		s = map[string]any{"type": "object"}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		s = map[string]any{"type": "array", "items": ref(t.Elem().Name())}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		// Lists of strings are of ids unless fd says otherwise.
		items := fd.items
		if items == "" {
			items = config.NamePattern
		}
		s = map[string]any{"type": "array", "items": map[string]any{"type": "string", "pattern": items}}
	case t.Kind() == reflect.Map && t.Elem() == responseCodeType:
		s = map[string]any{"type": "object", "additionalProperties": responseCodeSchema()}
		if fd.keys != "" {
			s["propertyNames"] = map[string]string{"pattern": fd.keys}
		}
	case t.Kind() == reflect.Map:
		s = map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string", "pattern": config.NamePattern}}
		if fd.keys != "" {
			s["propertyNames"] = map[string]string{"pattern": fd.keys}
		}
	default:
		s = map[string]any{"type": jsonType(t)}
	}
	s["description"] = fd.desc
	if len(fd.enum) > 0 {
		s["enum"] = fd.enum
	}
	if fd.min != nil {
		s["minimum"] = *fd.min
	}
	if fd.max != nil {
		s["maximum"] = *fd.max
	}
	if fd.pattern != "" {
		s["pattern"] = fd.pattern
	}
	if fd.minLength > 0 {
		s["minLength"] = fd.minLength
	}
	if fd.maxLength > 0 {
		s["maxLength"] = fd.maxLength
	}
	if fd.format != "" {
		s["format"] = fd.format
	}
	if typ, ok := s["type"].(string); ok && nullable { // absent and null are the same in a request
		s["type"] = []string{typ, "null"}
		if len(fd.enum) > 0 {
			s["enum"] = append(toAny(fd.enum), nil)
		}
	}
	return s
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

var responseCodeType = reflect.TypeFor[config.ResponseCode]()

// responseCodeSchema is config.ResponseCode's JSON: a flow's name, or a
// callback request.
func responseCodeSchema() map[string]any {
	name := map[string]any{"type": "string", "pattern": config.NamePattern}
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "string", "pattern": config.NamePattern, "description": "The flow the key leads to."},
		map[string]any{"type": "object", "description": "A callback request: the caller hears the callback " +
			"configuration's confirmation and the call ends normally.",
			"properties": map[string]any{"callback": name}, "required": []string{"callback"}, "additionalProperties": false},
	}}
}

// jsonType is the JSON schema type of a scalar Go type.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	}
	return "object"
}
