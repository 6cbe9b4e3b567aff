package acd

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/switchboard-voice/switchboard/store"
)

// queue is a queue and the callers in it.
type queue struct {
	cfg store.Queue
	// members are the queue's agents, ordered by id.
	members []*agent
	// waiting are the callers not being offered or answered, in the order
	// they are served: caller priority (higher first), then time in queue,
	// then arrival order. Insertion and removal are a binary search and a
	// copy; the head is the next caller.
	waiting []*entry
	// in are the callers in the queue: waiting, ringing an agent or being
	// answered.
	in    map[*entry]struct{}
	stats counters
}

// counters are a queue's cumulative statistics.
type counters struct {
	offered, answered, abandoned, inSL int
	waitSum                            time.Duration // answered calls' time to answer
	handled                            int
	handleSum                          time.Duration // talk + wrap-up of handled calls
}

func (e *entry) before(o *entry) bool {
	if e.late != o.late {
		return o.late // inbound_first callbacks come after every caller
	}
	if e.prio != o.prio {
		return e.prio > o.prio
	}
	if !e.enq.Equal(o.enq) {
		return e.enq.Before(o.enq)
	}
	return e.seq < o.seq
}

func (q *queue) insertWaiting(e *entry) {
	i := sort.Search(len(q.waiting), func(i int) bool { return e.before(q.waiting[i]) })
	q.waiting = append(q.waiting, nil)
	copy(q.waiting[i+1:], q.waiting[i:])
	q.waiting[i] = e
}

func (q *queue) removeWaiting(e *entry) {
	i := sort.Search(len(q.waiting), func(i int) bool { return !q.waiting[i].before(e) })
	if i < len(q.waiting) && q.waiting[i] == e {
		copy(q.waiting[i:], q.waiting[i+1:])
		q.waiting[len(q.waiting)-1] = nil
		q.waiting = q.waiting[:len(q.waiting)-1]
	}
}

var strategies = map[string]bool{LongestIdle: true, RoundRobin: true, FewestCalls: true, LeastTalkTime: true, Random: true}

// fillQueueDefaults sets the defaults of zero fields.
func fillQueueDefaults(q *store.Queue) {
	if q.Strategy == "" {
		q.Strategy = LongestIdle
	}
	if q.RingTimeout == 0 {
		q.RingTimeout = DefaultRingTimeout
	}
	if q.WrapUp == 0 {
		q.WrapUp = DefaultWrapUp
	}
	if q.ServiceLevel == 0 {
		q.ServiceLevel = DefaultServiceLevel
	}
}

// normalizeQueue fills defaults and validates q.
func normalizeQueue(q *store.Queue) error {
	q.Name = strings.TrimSpace(q.Name)
	if q.Name == "" {
		return invalid("name", "a queue needs a name")
	}
	fillQueueDefaults(q)
	if !strategies[q.Strategy] {
		return invalid("strategy", "%q is not one of longest_idle, round_robin, fewest_calls, least_talk_time, random", q.Strategy)
	}
	if q.RingTimeout < MinRingTimeout || q.RingTimeout > MaxRingTimeout {
		return invalid("ring_timeout", "%s is outside 3s–60s", q.RingTimeout)
	}
	if q.WrapUp < 0 {
		return invalid("wrap_up", "%s is negative", q.WrapUp)
	}
	if q.ServiceLevel < 0 {
		return invalid("service_level", "%s is negative", q.ServiceLevel)
	}
	return nil
}

func newID() string { return uuid.NewString() }

// queueByName finds a queue by name.
func (a *ACD) queueByName(name string) *queue {
	for _, q := range a.queues {
		if q.cfg.Name == name {
			return q
		}
	}
	return nil
}

// lookupQueue finds a queue by id, then by name.
func (a *ACD) lookupQueue(ref string) *queue {
	if q, ok := a.queues[ref]; ok {
		return q
	}
	return a.queueByName(ref)
}

// rebuildLocked recomputes queue membership and the assignment order after
// agents or queues change.
func (a *ACD) rebuildLocked() {
	a.order = a.order[:0]
	for _, q := range a.queues {
		q.members = q.members[:0]
		a.order = append(a.order, q)
	}
	sort.Slice(a.order, func(i, j int) bool {
		x, y := a.order[i], a.order[j]
		if x.cfg.Priority != y.cfg.Priority {
			return x.cfg.Priority > y.cfg.Priority
		}
		return x.cfg.Name < y.cfg.Name
	})
	for _, ag := range a.agents {
		for _, qid := range ag.cfg.Queues {
			if q, ok := a.queues[qid]; ok {
				q.members = append(q.members, ag)
			}
		}
	}
	for _, q := range a.queues {
		sort.Slice(q.members, func(i, j int) bool { return q.members[i].cfg.ID < q.members[j].cfg.ID })
	}
}

// ListQueues returns the queues by name.
func (a *ACD) ListQueues() []store.Queue {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]store.Queue, 0, len(a.queues))
	for _, q := range a.queues {
		out = append(out, q.cfg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// GetQueue returns a queue by id or name.
func (a *ACD) GetQueue(ref string) (store.Queue, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := a.lookupQueue(ref)
	if q == nil {
		return store.Queue{}, fmt.Errorf("%w: queue %q", ErrNotFound, ref)
	}
	return q.cfg, nil
}

// CreateQueue adds a queue (automatic assignment stays off unless
// q.AutoAssign is set). Zero fields take their defaults. A queue's id is its
// name (the name flows use): q.ID is empty or q.Name.
func (a *ACD) CreateQueue(ctx context.Context, q store.Queue) (store.Queue, error) {
	if err := normalizeQueue(&q); err != nil {
		return store.Queue{}, err
	}
	if q.ID != "" && q.ID != q.Name {
		return store.Queue{}, invalid("id", "%q differs from the name %q: a queue's id is its name", q.ID, q.Name)
	}
	q.ID = q.Name
	if _, err := a.begin(); err != nil {
		return store.Queue{}, err
	}
	defer a.end()
	if _, ok := a.queues[q.ID]; ok {
		return store.Queue{}, fmt.Errorf("%w: queue id %q", ErrConflict, q.ID)
	}
	if a.queueByName(q.Name) != nil {
		return store.Queue{}, fmt.Errorf("%w: queue %q", ErrConflict, q.Name)
	}
	now := a.now()
	q.Managed, q.CreatedAt, q.UpdatedAt = false, now, now
	if err := a.st.PutQueue(ctx, q); err != nil {
		return store.Queue{}, fmt.Errorf("acd: store queue: %w", err)
	}
	a.queues[q.ID] = &queue{cfg: q, in: map[*entry]struct{}{}}
	a.rebuildLocked()
	a.log.Info("queue created", "queue", q.Name, "queue_id", q.ID, "auto_assign", q.AutoAssign)
	return q, nil
}

// UpdateQueue replaces a queue's settings (q.ID names it); its name stays.
func (a *ACD) UpdateQueue(ctx context.Context, q store.Queue) (store.Queue, error) {
	if err := normalizeQueue(&q); err != nil {
		return store.Queue{}, err
	}
	if _, err := a.begin(); err != nil {
		return store.Queue{}, err
	}
	defer a.end()
	old, ok := a.queues[q.ID]
	if !ok {
		return store.Queue{}, fmt.Errorf("%w: queue %q", ErrNotFound, q.ID)
	}
	if old.cfg.Managed {
		return store.Queue{}, fmt.Errorf("%w: queue %q", ErrManaged, old.cfg.Name)
	}
	if q.Name != old.cfg.Name {
		return store.Queue{}, invalid("name", "cannot be changed: a queue's name is its id (create another queue)")
	}
	q.Managed, q.CreatedAt, q.UpdatedAt = false, old.cfg.CreatedAt, a.now()
	if err := a.st.PutQueue(ctx, q); err != nil {
		return store.Queue{}, fmt.Errorf("acd: store queue: %w", err)
	}
	old.cfg = q
	a.rebuildLocked()
	a.log.Info("queue updated", "queue", q.Name, "queue_id", q.ID, "auto_assign", q.AutoAssign)
	return q, nil
}

// DeleteQueue removes a queue that no caller waits in; its agents leave it.
// The Default queue cannot be deleted (ErrForbidden).
func (a *ACD) DeleteQueue(ctx context.Context, id string) error {
	if _, err := a.begin(); err != nil {
		return err
	}
	defer a.end()
	q, ok := a.queues[id]
	if !ok {
		return fmt.Errorf("%w: queue %q", ErrNotFound, id)
	}
	if q.cfg.Managed {
		return fmt.Errorf("%w: queue %q", ErrManaged, q.cfg.Name)
	}
	if q.cfg.Name == DefaultQueueName {
		return fmt.Errorf("%w: the Default queue cannot be deleted", ErrForbidden)
	}
	if callers := q.callers(); callers > 0 {
		return fmt.Errorf("%w: %d callers wait in queue %q", ErrState, callers, q.cfg.Name)
	}
	return a.removeQueueLocked(ctx, q)
}

func (a *ACD) removeQueueLocked(ctx context.Context, q *queue) error {
	if err := a.st.DeleteQueue(ctx, q.cfg.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("acd: delete queue: %w", err)
	}
	a.closeQueueCallbacksLocked(ctx, q)
	delete(a.queues, q.cfg.ID)
	for _, ag := range q.members {
		// The store drops the membership with the queue (ON DELETE CASCADE).
		ag.cfg.Queues = without(ag.cfg.Queues, q.cfg.ID)
	}
	a.rebuildLocked()
	a.log.Info("queue deleted", "queue", q.cfg.Name, "queue_id", q.cfg.ID)
	return nil
}

func without(s []string, v string) []string {
	out := s[:0:0]
	for _, x := range s {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// callers counts the callers in q: waiting, ringing or being answered, its
// automated callbacks not included.
func (q *queue) callers() int {
	n := 0
	for e := range q.in {
		if !e.isCallback() {
			n++
		}
	}
	return n
}
