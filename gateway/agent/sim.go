package agent

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// Behaviour is how a simulated agent works its calls.
type Behaviour struct {
	// AnswerAfter is how long an offered call rings before the agent
	// answers.
	AnswerAfter time.Duration
	// Talk is how long the agent talks before hanging up; 0 waits for the
	// caller to hang up.
	Talk time.Duration
	// ClearWrapUp ends each wrap-up at once instead of waiting it out.
	ClearWrapUp bool
	// Heartbeat is the interval of heartbeats; 0 = 10 s.
	Heartbeat time.Duration
}

// SimStats count what simulated agents did; safe for concurrent use.
type SimStats struct {
	mu                                   sync.Mutex
	offered, answered, completed, failed int
	answerToAudio                        []time.Duration
	clients                              []*Client // whose RTPStats RTP adds up
}

// Counts returns calls offered, answered, completed (hung up after
// talking, or by the caller) and answers that failed.
func (s *SimStats) Counts() (offered, answered, completed, failed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offered, s.answered, s.completed, s.failed
}

// AnswerToAudio returns the p50 and p99 of the time from the answer
// request to the caller's first audible audio at the agent, and how many
// answers were measured.
func (s *SimStats) AnswerToAudio() (p50, p99 time.Duration, n int) {
	s.mu.Lock()
	d := slices.Clone(s.answerToAudio)
	s.mu.Unlock()
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return at(0.50), at(0.99), len(d)
}

// RTP adds up what the simulated agents received of the switch's RTP
// streams so far (Client.RTPStats): packets received and lost (sequence
// gaps), over each agent's whole session, calls and the silence between
// them alike.
func (s *SimStats) RTP() (received, lost uint64) {
	s.mu.Lock()
	clients := slices.Clone(s.clients)
	s.mu.Unlock()
	for _, c := range clients {
		r, l := c.RTPStats()
		received += r
		lost += l
	}
	return received, lost
}

func (s *SimStats) add(f func(s *SimStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// Simulate runs one agent until ctx ends: it listens to its events, goes
// Available, answers each offer after b.AnswerAfter, talks for b.Talk,
// hangs up, closes the conversation during the wrap-up and (with
// b.ClearWrapUp) ends the wrap-up. m is the agent's media session.
func Simulate(ctx context.Context, p *Panel, m *Client, b Behaviour, st *SimStats) error {
	st.add(func(s *SimStats) { s.clients = append(s.clients, m) })
	events, err := p.Events(ctx)
	if err != nil {
		return err
	}
	if err := p.SetStatus(ctx, "available"); err != nil {
		return err
	}
	if b.Heartbeat <= 0 {
		b.Heartbeat = 10 * time.Second
	}
	beat := time.NewTicker(b.Heartbeat)
	defer beat.Stop()
	var talkEnd <-chan time.Time
	var onCall string
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.Lost():
			return errors.New("agent: media session lost")
		case <-beat.C:
			_ = p.Heartbeat(ctx)
		case <-talkEnd:
			talkEnd = nil
			if onCall != "" {
				_ = p.Hangup(ctx, onCall)
			}
		case ev, ok := <-events:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("agent: events socket closed")
			}
			switch ev.Type {
			case "call.offered":
				st.add(func(s *SimStats) { s.offered++ })
				id := ev.Field("call_id")
				if b.AnswerAfter > 0 {
					select {
					case <-time.After(b.AnswerAfter):
					case <-ctx.Done():
						return nil
					}
				}
				m.ResetAudio()
				start := time.Now()
				if err := p.Answer(ctx, id); err != nil {
					st.add(func(s *SimStats) { s.failed++ })
					continue
				}
				onCall = id
				st.add(func(s *SimStats) { s.answered++ })
				go measureFirstAudio(ctx, m, start, st)
				if b.Talk > 0 {
					talkEnd = time.After(b.Talk)
				}
			case "call.ended":
				if ev.Field("call_id") == onCall {
					onCall, talkEnd = "", nil
					st.add(func(s *SimStats) { s.completed++ })
				}
			case "wrapup.started":
				if conv := ev.Field("conversation_id"); conv != "" {
					_, _ = p.SetConversation(ctx, conv, "closed", "")
				}
				if b.ClearWrapUp {
					_ = p.ClearWrapUp(ctx)
				}
			}
		}
	}
}

// measureFirstAudio records when the caller's audio first reached the
// agent after an answer requested at start (up to 5 s).
func measureFirstAudio(ctx context.Context, m *Client, start time.Time, st *SimStats) {
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case <-tick.C:
			if at := m.FirstAudio(); !at.IsZero() {
				st.add(func(s *SimStats) { s.answerToAudio = append(s.answerToAudio, at.Sub(start)) })
				return
			}
		case <-deadline:
			return
		case <-ctx.Done():
			return
		}
	}
}
