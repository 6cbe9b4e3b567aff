package acd

import (
	"fmt"
	"sort"
	"time"
)

// QueueStats are a queue's live and cumulative figures.
type QueueStats struct {
	QueueID string `json:"queue_id"`
	Queue   string `json:"queue"`

	// Live.
	Waiting int `json:"waiting"` // callers in the queue, ringing ones included
	Ringing int `json:"ringing"` // of which ringing an agent
	// Callbacks counts the automated callback requests in the queue,
	// offered ones included (not in Waiting nor LongestWait).
	Callbacks       int           `json:"callbacks"`
	LongestWait     time.Duration `json:"longest_wait"`
	AvailableAgents int           `json:"available_agents"` // members who can take a call now
	Agents          int           `json:"agents"`           // members

	// Cumulative since Since.
	Since time.Time `json:"since"`
	// Offered counts the calls that entered the queue.
	Offered   int `json:"offered"`
	Answered  int `json:"answered"`
	Abandoned int `json:"abandoned"`
	// AnsweredInSL counts calls answered within the queue's service level.
	AnsweredInSL int `json:"answered_in_sl"`
	// ServiceLevel is AnsweredInSL / (Answered + Abandoned): the share of
	// callers who left the queue that were answered in time (0 when none).
	ServiceLevel float64 `json:"service_level"`
	// ASA is the average speed of answer (time in queue of answered calls).
	ASA time.Duration `json:"asa"`
	// AbandonRate is Abandoned / (Answered + Abandoned).
	AbandonRate float64 `json:"abandon_rate"`
	// Handled counts answered calls whose wrap-up has ended; AHT is their
	// average handle time (talk + wrap-up).
	Handled int           `json:"handled"`
	AHT     time.Duration `json:"aht"`
}

// Stats returns one queue's figures (by id or name).
func (a *ACD) Stats(queue string) (QueueStats, error) {
	now, err := a.begin()
	if err != nil {
		return QueueStats{}, err
	}
	defer a.end()
	q := a.lookupQueue(queue)
	if q == nil {
		return QueueStats{}, fmt.Errorf("%w: queue %q", ErrNotFound, queue)
	}
	return a.statsLocked(q, now), nil
}

// AllStats returns every queue's figures, by queue name.
func (a *ACD) AllStats() []QueueStats {
	now, err := a.begin()
	if err != nil {
		return nil
	}
	defer a.end()
	out := make([]QueueStats, 0, len(a.queues))
	for _, q := range a.queues {
		out = append(out, a.statsLocked(q, now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Queue < out[j].Queue })
	return out
}

// ResetStats starts the cumulative figures of every queue again.
func (a *ACD) ResetStats() {
	if _, err := a.begin(); err != nil {
		return
	}
	defer a.end()
	for _, q := range a.queues {
		q.stats = counters{}
	}
	a.since = a.now()
}

func (a *ACD) statsLocked(q *queue, now time.Time) QueueStats {
	s := QueueStats{
		QueueID: q.cfg.ID, Queue: q.cfg.Name,
		AvailableAgents: a.availableLocked(q), Agents: len(q.members),
		Since: a.since, Offered: q.stats.offered, Answered: q.stats.answered,
		Abandoned: q.stats.abandoned, AnsweredInSL: q.stats.inSL, Handled: q.stats.handled,
	}
	for e := range q.in {
		if e.isCallback() {
			s.Callbacks++
			continue
		}
		s.Waiting++
		if e.state != stWaiting {
			s.Ringing++
		}
		if w := now.Sub(e.enq); w > s.LongestWait {
			s.LongestWait = w
		}
	}
	if left := q.stats.answered + q.stats.abandoned; left > 0 {
		s.ServiceLevel = float64(q.stats.inSL) / float64(left)
		s.AbandonRate = float64(q.stats.abandoned) / float64(left)
	}
	if q.stats.answered > 0 {
		s.ASA = q.stats.waitSum / time.Duration(q.stats.answered)
	}
	if q.stats.handled > 0 {
		s.AHT = q.stats.handleSum / time.Duration(q.stats.handled)
	}
	return s
}
