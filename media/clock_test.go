package media

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func shardIdle(s *clockShard) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.running && len(s.members) == 0
}

// TestClockPacesEveryFrame: a member is played once per 20 ms on the
// absolute clock, and its shard's worker exits once the shard is empty.
func TestClockPacesEveryFrame(t *testing.T) {
	// Only what scheduling cannot change is asserted: the member ticks,
	// and never more often than once per frame of the time that passed (a
	// slow machine gives fewer ticks, never more).
	var c mediaClock
	var n atomic.Int64
	start := time.Now()
	m := c.register(func(time.Time) { n.Add(1) })
	waitFor(t, "ticks", func() bool { return n.Load() >= 3 })
	time.Sleep(200 * time.Millisecond)
	m.unregister()
	elapsed := time.Since(start)
	if got, most := n.Load(), int64(elapsed/frameInterval)+1; got > most {
		t.Errorf("%d ticks in %v, more than one per 20 ms frame (%d)", got, elapsed, most)
	}
	after := n.Load()
	time.Sleep(60 * time.Millisecond)
	if n.Load() != after {
		t.Error("ticked after unregister")
	}
	waitFor(t, "shard worker to exit", func() bool { return shardIdle(m.shard) })
}

// TestClockCatchesUp: a tick that blocks for 70 ms delays the shard, which
// then plays the frames it missed at once instead of dropping them: the two
// ticks after the blocked one (both overdue) follow it without waiting for
// a frame; skipping to the next frame boundary would put the second one a
// whole frame later. (Any
// further delay of the process only makes those frames later, so more
// overdue, unless it is over 100 ms, when the shard starts over.)
func TestClockCatchesUp(t *testing.T) {
	var c mediaClock
	var n atomic.Int64
	var blockedEnd, nextStart atomic.Int64
	m := c.register(func(time.Time) {
		switch n.Add(1) {
		case 3:
			time.Sleep(70 * time.Millisecond)
			blockedEnd.Store(time.Now().UnixNano())
		case 5:
			nextStart.Store(time.Now().UnixNano())
		}
	})
	waitFor(t, "two ticks after the blocked one", func() bool { return n.Load() >= 5 })
	m.unregister()
	if gap := time.Duration(nextStart.Load() - blockedEnd.Load()); gap >= frameInterval {
		t.Errorf("the second overdue tick came %v after the blocked one: missed frames were not caught up", gap)
	}
}

// TestClockUnregisterWaitsForTick: unregister returns only once the member's
// tick has returned, and the tick is not called again.
func TestClockUnregisterWaitsForTick(t *testing.T) {
	var c mediaClock
	var inTick, calls atomic.Int64
	entered := make(chan struct{})
	var once sync.Once
	m := c.register(func(time.Time) {
		inTick.Add(1)
		calls.Add(1)
		once.Do(func() { close(entered) })
		time.Sleep(30 * time.Millisecond)
		inTick.Add(-1)
	})
	<-entered
	m.unregister()
	if inTick.Load() != 0 {
		t.Fatal("unregister returned while the tick was running")
	}
	n := calls.Load()
	time.Sleep(60 * time.Millisecond)
	if calls.Load() != n {
		t.Error("ticked after unregister")
	}
}

// TestClockSpreadsMembers: members go to the shard with the fewest, and the
// shards' ticks are spread over the frame.
func TestClockSpreadsMembers(t *testing.T) {
	var c mediaClock
	c.init()
	k := len(c.shards)
	var ms []*clockMember
	for range 2 * k {
		ms = append(ms, c.register(func(time.Time) {}))
	}
	for i, s := range c.shards {
		s.mu.Lock()
		if len(s.members) != 2 {
			t.Errorf("shard %d has %d members, want 2", i, len(s.members))
		}
		s.mu.Unlock()
		if want := frameInterval * time.Duration(i) / time.Duration(k); s.offset != want {
			t.Errorf("shard %d offset %v, want %v", i, s.offset, want)
		}
		next := s.firstTick(time.Now())
		if phase := next.Sub(c.epoch) % frameInterval; phase != s.offset {
			t.Errorf("shard %d ticks at phase %v, want %v", i, phase, s.offset)
		}
	}
	for _, m := range ms {
		m.unregister()
	}
	for _, s := range c.shards {
		waitFor(t, "shard workers to exit", func() bool { return shardIdle(s) })
	}
}
