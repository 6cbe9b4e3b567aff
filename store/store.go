// Package store persists the contact center's objects: agents, queues and
// their members, conversations and their events, call records, waiting
// strategies, the phone book, callbacks and settings. SQLite
// (modernc.org/sqlite, pure Go) is the default; the interfaces below are
// small so that PostgreSQL can follow.
//
// Objects declared in the YAML configuration are written with Managed set
// (applied at start and on reload); the API refuses to change them.
//
// Put methods create or replace an object by its id. For agents, queues,
// conversations and waiting strategies the store keeps CreatedAt from the
// first Put (the given value, or now when zero) and sets UpdatedAt to now.
// Times are kept to the millisecond and read back in UTC; a zero time is
// read back as the zero time. List methods return an empty slice, not nil,
// when there is nothing.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrNotFound: no object has that id.
var ErrNotFound = errors.New("store: not found")

// ErrConflict: an object with that unique name or id exists already.
var ErrConflict = errors.New("store: already exists")

// Agent statuses an agent chooses. The system states (ringing, on call, on
// hold, wrap-up) are the ACD's and are kept apart in AgentState.
const (
	StatusAvailable = "available"
	StatusBusy      = "busy"
	StatusAway      = "away"
	StatusOffline   = "offline"
)

// Agent is a person who answers calls.
type Agent struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// TokenHash is the SHA-256 of the agent's bearer token (hex); the token
	// itself is never stored.
	TokenHash string `json:"-"`
	// Status is the status the agent chose (Status* constants).
	Status string `json:"status"`
	// Capacity is how many conversations not Closed the agent may hold.
	Capacity int `json:"capacity"`
	// WrapUp overrides the queue's wrap-up time when non-zero.
	WrapUp  time.Duration `json:"wrap_up"`
	Managed bool          `json:"managed"`
	// Queues the agent is a member of (queue ids), sorted when read back;
	// each must be an existing queue.
	Queues    []string  `json:"queues"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AgentState is what the ACD's decisions read: stored timestamps, not a
// timer per agent. Zero times mean "never".
type AgentState struct {
	AgentID string `json:"agent_id"`
	// System is "" (idle), "ringing", "on_call", "on_hold" or "wrap_up".
	System      string    `json:"system"`
	StatusSince time.Time `json:"status_since"`
	// LastHeartbeat is when the agent last proved it is there.
	LastHeartbeat time.Time `json:"last_heartbeat"`
	// RingingUntil ends the current offer (ring time-out).
	RingingUntil time.Time `json:"ringing_until"`
	// WrapUpUntil ends the current wrap-up.
	WrapUpUntil time.Time `json:"wrap_up_until"`
	// LastCallEnded is when the agent's last call ended (longest idle).
	LastCallEnded time.Time     `json:"last_call_ended"`
	LastOffered   time.Time     `json:"last_offered"` // round robin
	CallsTaken    int           `json:"calls_taken"`  // fewest calls
	TalkTime      time.Duration `json:"talk_time"`    // least talk time
	CallID        string        `json:"call_id"`      // the call offered or on
}

// Queue is where callers wait for agents.
type Queue struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// AutoAssign turns automatic agent assignment on (off by default).
	AutoAssign bool `json:"auto_assign"`
	// Strategy: longest_idle (default), round_robin, fewest_calls,
	// least_talk_time, random.
	Strategy        string        `json:"strategy"`
	RingTimeout     time.Duration `json:"ring_timeout"` // 3–60 s, default 30 s
	WrapUp          time.Duration `json:"wrap_up"`      // default 30 s
	WaitingStrategy string        `json:"waiting_strategy"`
	Priority        int           `json:"priority"` // higher is served first
	// ServiceLevel is the answer time the service level counts against.
	ServiceLevel time.Duration `json:"service_level"`
	Managed      bool          `json:"managed"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
}

// Conversation statuses.
const (
	ConversationOpen    = "open"
	ConversationWaiting = "waiting"
	ConversationSolved  = "solved"
	ConversationClosed  = "closed"
)

// Conversation is a customer's thread of contacts; a customer's next call
// joins their conversation until it is Closed.
type Conversation struct {
	ID             string    `json:"id"`
	CustomerNumber string    `json:"customer_number"`
	CustomerName   string    `json:"customer_name"`
	Queue          string    `json:"queue"`
	AgentID        string    `json:"agent_id"`
	Status         string    `json:"status"`
	Notes          string    `json:"notes"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Event is one thing that happened in a conversation (queued, offered,
// answered, hold, ended, status changed, ...).
type Event struct {
	ID             int64           `json:"id"`
	ConversationID string          `json:"conversation_id"`
	At             time.Time       `json:"at"`
	Type           string          `json:"type"`
	Data           json.RawMessage `json:"data,omitempty"`
}

// CallRecord is a call's detail record as the contact center sees it.
type CallRecord struct {
	ID             string `json:"id"` // the switch's call id
	ConversationID string `json:"conversation_id"`
	Queue          string `json:"queue"`
	AgentID        string `json:"agent_id"`
	Trunk          string `json:"trunk"`
	From           string `json:"from"`
	To             string `json:"to"`
	Priority       int    `json:"priority"`
	// Enqueued is when the call started waiting (for a call that never
	// queues, when it started).
	Enqueued time.Time `json:"enqueued"`
	Answered time.Time `json:"answered"` // zero: not answered
	Ended    time.Time `json:"ended"`    // zero: waiting or in progress
	// Result: "" while live, then answered, abandoned, timeout, ...
	Result string `json:"result"`
}

// WaitingStrategy is a strategy created through the API; Spec is its JSON
// (the same fields as the configuration's waiting_strategies entries).
type WaitingStrategy struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Spec      json.RawMessage `json:"spec"`
	Managed   bool            `json:"managed"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Prompt is an audio file uploaded through the API, kept converted as a WAV
// file named by its id in the prompt upload directory.
type Prompt struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`   // the uploaded file's name
	Format    string        `json:"format"` // its extension, lower case: ".mp3"
	Size      int64         `json:"size"`   // bytes uploaded
	Duration  time.Duration `json:"duration"`
	CreatedAt time.Time     `json:"created_at"`
}

// Contact is a phone-book entry: a name, E.164 numbers (each the number of
// one contact only) and tags.
type Contact struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Numbers []string `json:"numbers"`
	Tags    []string `json:"tags"`
	// Managed: declared in the configuration (read-only through the API).
	Managed   bool      `json:"managed"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ContactFilter selects contacts; a zero field selects every contact.
type ContactFilter struct {
	// Query is a substring of the name (ASCII letters in any case) or of
	// one of the numbers.
	Query string
	// Tag is a tag the contact has.
	Tag string
}

// Callback types and request statuses.
const (
	CallbackAutomated = "automated"
	CallbackManual    = "manual"

	// CallbackInQueue: waiting for an agent (automated) or to be picked
	// (manual).
	CallbackInQueue = "in_queue"
	// CallbackAssigned: an agent took it and is about to call.
	CallbackAssigned = "assigned"
	// CallbackActive: the customer is being called, or talking.
	CallbackActive = "active"
	// CallbackNoReply: the last attempt failed; it goes back in queue at
	// NextAttemptAt while retries remain, and stays no_reply, closed
	// (NextAttemptAt zero), when none remain.
	CallbackNoReply = "no_reply"
	// CallbackDone: the customer answered.
	CallbackDone = "done"
)

// CallbackConfig is how callbacks of one kind are handled; its name is its
// id.
type CallbackConfig struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	Type       string        `json:"type"` // automated | manual
	Queue      string        `json:"queue"`
	Retries    int           `json:"retries"` // after the first attempt
	RetryDelay time.Duration `json:"retry_delay"`
	// Priority is inbound_first or queue_position (automated only).
	Priority         string `json:"priority"`
	ConfirmationFile string `json:"confirmation_file"`
	ConfirmationSay  string `json:"confirmation_say"`
	CallerID         string `json:"caller_id"`
	Schedule         string `json:"schedule"`
	// Managed: declared in the configuration (read-only through the API).
	Managed   bool      `json:"managed"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Callback is a request to call a customer back.
type Callback struct {
	ID string `json:"id"`
	// Config, Type, Queue, Retries and RetryDelay are the configuration's
	// when the request was made.
	Config         string        `json:"config"`
	Type           string        `json:"type"`
	Queue          string        `json:"queue"`
	Retries        int           `json:"retries"`
	RetryDelay     time.Duration `json:"retry_delay"`
	Number         string        `json:"number"` // the customer's
	ConversationID string        `json:"conversation_id"`
	// Enqueued is when the customer's call started waiting (its place
	// among waiting calls).
	Enqueued  time.Time `json:"enqueued"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Status    string    `json:"status"`   // Callback* statuses
	AgentID   string    `json:"agent_id"` // assigned to; "" when none
	// AttemptsMade counts the attempts; NextAttemptAt is when a no_reply
	// request goes back in queue (zero: none due).
	AttemptsMade  int               `json:"attempts_made"`
	NextAttemptAt time.Time         `json:"next_attempt_at"`
	Attempts      []CallbackAttempt `json:"attempts"`
}

// CallbackAttempt is one call placed for a callback request.
type CallbackAttempt struct {
	At      time.Time `json:"at"`
	AgentID string    `json:"agent_id"`
	SIPCode int       `json:"sip_code"`
	Reason  string    `json:"reason"`
	Outcome string    `json:"outcome"` // answered | no_reply
}

// CallbackFilter selects callback requests; a zero field selects every one.
type CallbackFilter struct {
	Status string
	Type   string
	// From and To bound CreatedAt: From <= CreatedAt < To.
	From, To time.Time
	// Queues: only requests of these queues (nil: any queue; empty but not
	// nil: none).
	Queues []string
}

// Agents keeps agents and their ACD state.
type Agents interface {
	ListAgents(ctx context.Context) ([]Agent, error)
	GetAgent(ctx context.Context, id string) (Agent, error)
	// AgentByTokenHash finds the agent a bearer token belongs to.
	AgentByTokenHash(ctx context.Context, hash string) (Agent, error)
	// PutAgent creates or replaces an agent, its queue membership included,
	// in one transaction. A token hash another agent has is ErrConflict; a
	// queue that does not exist is ErrNotFound.
	PutAgent(ctx context.Context, a Agent) error
	// DeleteAgent deletes an agent with its state and queue membership.
	DeleteAgent(ctx context.Context, id string) error
	ListAgentStates(ctx context.Context) ([]AgentState, error)
	// PutAgentState creates or replaces an agent's state; ErrNotFound when
	// the agent does not exist.
	PutAgentState(ctx context.Context, s AgentState) error
}

// Queues keeps queues.
type Queues interface {
	ListQueues(ctx context.Context) ([]Queue, error)
	GetQueue(ctx context.Context, id string) (Queue, error)
	// PutQueue creates or replaces a queue; a name another queue has is
	// ErrConflict.
	PutQueue(ctx context.Context, q Queue) error
	// DeleteQueue deletes a queue and its agents' membership of it.
	DeleteQueue(ctx context.Context, id string) error
}

// Conversations keeps conversations, their events and call records.
type Conversations interface {
	GetConversation(ctx context.Context, id string) (Conversation, error)
	// OpenConversation is the customer's latest (by CreatedAt) conversation
	// not Closed; ErrNotFound when there is none.
	OpenConversation(ctx context.Context, customerNumber string) (Conversation, error)
	// ListConversations returns the newest conversations first, at most
	// limit of them (all when limit <= 0).
	ListConversations(ctx context.Context, limit int) ([]Conversation, error)
	PutConversation(ctx context.Context, c Conversation) error
	// AddEvent appends an event and returns its id (e.ID is ignored; a zero
	// At means now); ErrNotFound when the conversation does not exist.
	AddEvent(ctx context.Context, e Event) (int64, error)
	// ListEvents returns a conversation's events in the order added.
	ListEvents(ctx context.Context, conversationID string) ([]Event, error)
	PutCallRecord(ctx context.Context, r CallRecord) error
	GetCallRecord(ctx context.Context, id string) (CallRecord, error)
	// ListCallRecords returns the records of calls started (Enqueued) at or
	// after since, oldest first; only live ones (no Ended) when live is set.
	ListCallRecords(ctx context.Context, since time.Time, live bool) ([]CallRecord, error)
}

// WaitingStrategies keeps waiting strategies created through the API.
type WaitingStrategies interface {
	ListWaitingStrategies(ctx context.Context) ([]WaitingStrategy, error)
	GetWaitingStrategy(ctx context.Context, id string) (WaitingStrategy, error)
	// PutWaitingStrategy creates or replaces a strategy; a name another
	// strategy has is ErrConflict.
	PutWaitingStrategy(ctx context.Context, w WaitingStrategy) error
	DeleteWaitingStrategy(ctx context.Context, id string) error
}

// Prompts keeps the uploaded prompts' metadata.
type Prompts interface {
	ListPrompts(ctx context.Context) ([]Prompt, error)
	GetPrompt(ctx context.Context, id string) (Prompt, error)
	// AddPrompt records a new prompt; an id taken already is ErrConflict.
	AddPrompt(ctx context.Context, p Prompt) error
	DeletePrompt(ctx context.Context, id string) error
}

// Contacts keeps the phone book.
type Contacts interface {
	// ListContacts returns the contacts f selects, ordered by name.
	ListContacts(ctx context.Context, f ContactFilter) ([]Contact, error)
	GetContact(ctx context.Context, id string) (Contact, error)
	// ContactByNumber finds the contact a number belongs to.
	ContactByNumber(ctx context.Context, number string) (Contact, error)
	// PutContact creates or replaces a contact, its numbers and tags
	// included, in one transaction; a number another contact has is
	// ErrConflict.
	PutContact(ctx context.Context, c Contact) error
	// DeleteContact deletes a contact with its numbers and tags.
	DeleteContact(ctx context.Context, id string) error
}

// Callbacks keeps callback configurations and requests.
type Callbacks interface {
	// ListCallbackConfigs returns every callback configuration by name.
	ListCallbackConfigs(ctx context.Context) ([]CallbackConfig, error)
	GetCallbackConfig(ctx context.Context, id string) (CallbackConfig, error)
	// PutCallbackConfig creates or replaces a configuration; a name another
	// has is ErrConflict.
	PutCallbackConfig(ctx context.Context, c CallbackConfig) error
	DeleteCallbackConfig(ctx context.Context, id string) error
	// ListCallbacks returns the requests f selects, oldest first, with their
	// attempts.
	ListCallbacks(ctx context.Context, f CallbackFilter) ([]Callback, error)
	GetCallback(ctx context.Context, id string) (Callback, error)
	// PutCallback creates or replaces a request (not its attempts).
	PutCallback(ctx context.Context, c Callback) error
	// UpdateCallbackIf replaces the request c.ID only while its status is
	// status, and reports whether it did: two agents cannot both take one.
	UpdateCallbackIf(ctx context.Context, c Callback, status string) (bool, error)
	// AddCallbackAttempt appends an attempt to the request id and stores c
	// (its new status), in one transaction.
	AddCallbackAttempt(ctx context.Context, c Callback, a CallbackAttempt) error
}

// Settings keeps system settings as key/value pairs.
type Settings interface {
	// GetSetting returns a setting's value; ErrNotFound when it was never set.
	GetSetting(ctx context.Context, key string) (string, error)
	PutSetting(ctx context.Context, key, value string) error
}

// Store is everything, as one database provides it.
type Store interface {
	Agents
	Queues
	Conversations
	WaitingStrategies
	Prompts
	Contacts
	Callbacks
	Settings
	Close() error
}
