package acd

import (
	"sort"
	"time"
)

// assignLocked offers waiting callers to agents who can take them. Queues
// are served by queue priority (higher first; equal priorities: the queue
// whose next caller has waited longest), so an agent who is a member of
// several queues gets the higher-priority queue's caller. Within a queue,
// callers are served by caller priority, then time in queue.
func (a *ACD) assignLocked(now time.Time) {
	var qs []*queue
	for _, q := range a.order {
		if q.cfg.AutoAssign && len(q.waiting) > 0 && len(q.members) > 0 {
			qs = append(qs, q)
		}
	}
	if len(qs) == 0 {
		return
	}
	sort.SliceStable(qs, func(i, j int) bool {
		x, y := qs[i], qs[j]
		if x.cfg.Priority != y.cfg.Priority {
			return x.cfg.Priority > y.cfg.Priority
		}
		return x.waiting[0].before(y.waiting[0])
	})
	for _, q := range qs {
		for {
			e, ag := a.pickLocked(q)
			if e == nil {
				break
			}
			a.offerLocked(e, ag, now)
		}
	}
}

// pickLocked is one assignment decision: the first caller in q's order that
// an eligible member may be offered, and the member the queue's strategy
// puts first. Cost: one pass over the members, plus, for callers at the head
// that every eligible member has already declined or missed, one pass each.
func (a *ACD) pickLocked(q *queue) (*entry, *agent) {
	if !q.cfg.AutoAssign || len(q.waiting) == 0 {
		return nil, nil
	}
	elig := a.elig[:0]
	for _, ag := range q.members {
		if ag.canTake() {
			elig = append(elig, ag)
		}
	}
	a.elig = elig[:0]
	if len(elig) == 0 {
		return nil, nil
	}
	var closed map[string]bool // schedules found closed in this decision
	for _, e := range q.waiting {
		if e.sched != "" && a.dialing != nil {
			shut, seen := closed[e.sched]
			if !seen {
				shut = !a.dialing.ScheduleOpen(e.sched, a.now())
				if closed == nil {
					closed = map[string]bool{}
				}
				closed[e.sched] = shut
			}
			if shut {
				continue // a callback outside its working hours waits
			}
		}
		if ag := a.best(q.cfg.Strategy, elig, e.tried); ag != nil {
			return e, ag
		}
	}
	return nil, nil
}

// best returns the agent of elig (not in skip) that strategy puts first.
func (a *ACD) best(strategy string, elig []*agent, skip map[string]bool) *agent {
	var top *agent
	n := 0
	for _, ag := range elig {
		if skip[ag.cfg.ID] {
			continue
		}
		n++
		if top == nil {
			top = ag
			continue
		}
		if strategy == Random {
			if a.rng.IntN(n) == 0 { // reservoir sampling: each with 1/n
				top = ag
			}
			continue
		}
		if before(strategy, ag, top) {
			top = ag
		}
	}
	return top
}

// before orders agents for a strategy; ties fall to the agent Available
// longest (StatusSince), then the id.
//
//   - longest_idle: the agent whose last call ended longest ago first; an
//     agent that never had a call comes before all others.
//   - round_robin: the agent offered a call least recently first (never
//     offered first).
//   - fewest_calls: the fewest calls answered first (counted since the agent
//     was created), then longest idle.
//   - least_talk_time: the least total talk time first, then longest idle.
func before(strategy string, x, y *agent) bool {
	xs, ys := &x.st, &y.st
	switch strategy {
	case RoundRobin:
		if !xs.LastOffered.Equal(ys.LastOffered) {
			return xs.LastOffered.Before(ys.LastOffered)
		}
	case FewestCalls:
		if xs.CallsTaken != ys.CallsTaken {
			return xs.CallsTaken < ys.CallsTaken
		}
		if !xs.LastCallEnded.Equal(ys.LastCallEnded) {
			return xs.LastCallEnded.Before(ys.LastCallEnded)
		}
	case LeastTalkTime:
		if xs.TalkTime != ys.TalkTime {
			return xs.TalkTime < ys.TalkTime
		}
		if !xs.LastCallEnded.Equal(ys.LastCallEnded) {
			return xs.LastCallEnded.Before(ys.LastCallEnded)
		}
	default: // longest_idle; zero (never called) sorts first
		if !xs.LastCallEnded.Equal(ys.LastCallEnded) {
			return xs.LastCallEnded.Before(ys.LastCallEnded)
		}
	}
	if !xs.StatusSince.Equal(ys.StatusSince) {
		return xs.StatusSince.Before(ys.StatusSince)
	}
	return x.cfg.ID < y.cfg.ID
}

// offerLocked rings ag for e.
func (a *ACD) offerLocked(e *entry, ag *agent, now time.Time) {
	q := e.q
	q.removeWaiting(e)
	e.state, e.agent = stOffered, ag
	ag.entry = e
	ag.st.System = SystemRinging
	ag.st.RingingUntil = now.Add(q.cfg.RingTimeout)
	ag.st.LastOffered = now
	ag.st.CallID = e.id
	a.putState(ag)
	a.addEvent(e.conv, now, "offered", map[string]any{
		"call_id": e.id, "agent": ag.cfg.ID, "queue": q.cfg.Name, "expires_at": ag.st.RingingUntil})
	by := ""
	if e.transfer != nil {
		by = e.transfer.by.cfg.Name
	}
	a.publishLocked(ag.cfg.ID, EventCallOffered, now, OfferData{
		TransferredBy:  by,
		CallID:         e.id,
		ConversationID: e.conv,
		QueueID:        q.cfg.ID,
		Queue:          q.cfg.Name,
		Type:           e.kind,
		CustomerName:   e.party.Name,
		CustomerNumber: e.party.Number,
		CallbackID:     e.cbID,
		RingTimeout:    int(q.cfg.RingTimeout / time.Second),
		ExpiresAt:      ag.st.RingingUntil,
	})
	a.publishStatusLocked(ag, now)
	a.log.Info("call offered", "call_id", e.id, "agent", ag.cfg.ID, "queue", q.cfg.Name,
		"strategy", q.cfg.Strategy, "ring_timeout", q.cfg.RingTimeout, "waited", now.Sub(e.enq))
}

// returnOfferLocked takes an offer back from its agent (declined, ring
// time-out, media failure, the agent left Available or went missing): the
// agent goes back to idle under the status it chose, and the caller waits
// again in its place, not to be offered to that agent again.
func (a *ACD) returnOfferLocked(e *entry, now time.Time, reason string) {
	if e.transfer != nil && e.transfer.kind == TransferAgent {
		// The transfer's target agent did not take it: the caller goes
		// back to the transferring agent.
		a.failTransferLocked(e, now, reason, 0)
		return
	}
	ag := e.agent
	a.releaseAgentLocked(ag, e, now, reason)
	if e.tried == nil {
		e.tried = map[string]bool{}
	}
	e.tried[ag.cfg.ID] = true
	e.agent = nil
	e.state = stWaiting
	e.q.insertWaiting(e)
	typ := map[string]string{"declined": "declined", "timeout": "timed_out"}[reason]
	if typ == "" {
		typ = "withdrawn"
	}
	a.addEvent(e.conv, now, typ, map[string]any{"call_id": e.id, "agent": ag.cfg.ID, "reason": reason})
	a.log.Info("offer returned", "call_id", e.id, "agent", ag.cfg.ID, "queue", e.q.cfg.Name, "reason", reason)
}

// releaseAgentLocked frees an agent whose offer ended without a call: it
// goes back to idle under the status it chose and is told call.ended.
func (a *ACD) releaseAgentLocked(ag *agent, e *entry, now time.Time, reason string) {
	if ag.entry != e {
		return
	}
	ag.entry = nil
	ag.st.System, ag.st.RingingUntil, ag.st.CallID = SystemIdle, time.Time{}, ""
	a.putState(ag)
	a.publishLocked(ag.cfg.ID, EventCallEnded, now, CallData{CallID: e.id, ConversationID: e.conv, Reason: reason})
	a.publishStatusLocked(ag, now)
}

// availableLocked counts q's members who can take a call now.
func (a *ACD) availableLocked(q *queue) int {
	n := 0
	for _, ag := range q.members {
		if ag.canTake() {
			n++
		}
	}
	return n
}
