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
	var c mediaClock
	var n atomic.Int64
	var first, last atomic.Int64
	m := c.register(func(now time.Time) {
		if n.Add(1) == 1 {
			first.Store(now.UnixNano())
		}
		last.Store(now.UnixNano())
	})
	time.Sleep(420 * time.Millisecond)
	m.unregister()
	got := n.Load()
	if got < 15 || got > 22 {
		t.Errorf("%d ticks in 420 ms, want about 21", got)
	}
	if got > 1 {
		if per := time.Duration(last.Load()-first.Load()) / time.Duration(got-1); per < 17*time.Millisecond || per > 25*time.Millisecond {
			t.Errorf("mean tick interval %v, want 20ms", per)
		}
	}
	after := n.Load()
	time.Sleep(60 * time.Millisecond)
	if n.Load() != after {
		t.Error("ticked after unregister")
	}
	waitFor(t, "shard worker to exit", func() bool { return shardIdle(m.shard) })
}

// TestClockCatchesUp: a tick that blocks for 70 ms delays the shard, which
// then plays the missed frames at once instead of dropping them.
func TestClockCatchesUp(t *testing.T) {
	var c mediaClock
	var n atomic.Int64
	start := time.Now()
	m := c.register(func(time.Time) {
		if n.Add(1) == 3 {
			time.Sleep(70 * time.Millisecond)
		}
	})
	time.Sleep(400 * time.Millisecond)
	m.unregister()
	// Ticks due in the elapsed time: one per frame, none dropped.
	want := int64(time.Since(start) / frameInterval)
	if got := n.Load(); got < want-3 || got > want+1 {
		t.Errorf("%d ticks in %v, want about %d (late ticks caught up)", got, time.Since(start), want)
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
