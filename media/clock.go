package media

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The media clock paces every transcoder in the process: a few worker
// goroutines (shards, shardsPerProc per GOMAXPROCS) each wake once per 20 ms
// frame and play one frame of every transcoder assigned to it, one after the
// other.
//
// A goroutine and a timer per transcoder (the earlier design) made the Go
// scheduler the media scheduler: with a few hundred calls the timers kept the
// processors' local run queues full of transcoder goroutines, so the network
// poller was left to sysmon (every 10 ms), whose wake-ups go to the global run
// queue, behind the local ones: the sockets' reader goroutines then waited up
// to 30 ms to copy packets into the jitter buffers, and hundreds of frames
// were concealed at once (docs/loadtest.md, transcoding). The clock has a
// handful of timers instead of one per call, and the shards' ticks are spread
// over the frame (shard i of n at i/n of it), so that while some shards work
// the processors are free in between to poll the network and run the readers.
// Several shards per processor keep each turn short (a few ms of work with
// hundreds of calls), so the scheduler can still move a shard to another
// processor when one is held up: with one shard per processor the load test
// lost 3.6 % at 300 calls, Opus complexity 5, against 0.15 % or less with
// four.
//
// Pacing follows the absolute clock: a late tick is caught up at once (up to
// 100 ms behind; beyond that the shard starts over from now), never dropped
// as a time.Ticker would.
//
// A node has one clock, owned by its PortAllocator (the media engine's root),
// so that every transcoder of the node shares it.
type mediaClock struct {
	once   sync.Once
	epoch  time.Time // anchors the shards' phases
	shards []*clockShard
}

// clockShard is one worker and the transcoders it plays.
type clockShard struct {
	epoch  time.Time
	offset time.Duration // phase of its ticks within the frame

	mu      sync.Mutex
	members []*clockMember // copy on write: the worker reads a snapshot
	list    atomic.Pointer[[]*clockMember]
	running bool // worker goroutine started and not yet exiting
	wake    chan struct{}
}

// clockMember is one transcoder's place on the clock. mu is held while the
// worker plays its frame, so that unregister returns only when it is not
// being played and will not be again.
type clockMember struct {
	mu      sync.Mutex
	removed bool
	tick    func(now time.Time)
	shard   *clockShard
}

// shardsPerProc is how many shards the clock has per processor (GOMAXPROCS).
const shardsPerProc = 4

// init creates the shards on first use (no goroutine runs until a
// transcoder registers).
func (c *mediaClock) init() {
	c.once.Do(func() {
		c.epoch = time.Now()
		n := max(runtime.GOMAXPROCS(0), 1) * shardsPerProc
		c.shards = make([]*clockShard, n)
		for i := range c.shards {
			c.shards[i] = &clockShard{epoch: c.epoch, offset: frameInterval * time.Duration(i) / time.Duration(n), wake: make(chan struct{}, 1)}
		}
	})
}

// register adds tick, to be called once per frame from a clock worker until
// unregister, on the shard with the fewest members.
func (c *mediaClock) register(tick func(now time.Time)) *clockMember {
	c.init()
	var best *clockShard
	bestN := -1
	for _, s := range c.shards {
		s.mu.Lock()
		n := len(s.members)
		s.mu.Unlock()
		if bestN < 0 || n < bestN {
			best, bestN = s, n
		}
	}
	m := &clockMember{tick: tick, shard: best}
	best.add(m)
	return m
}

// unregister removes m from the clock. When it returns, m's tick is not
// running and will not be called again. It must not be called from a tick.
func (m *clockMember) unregister() {
	m.mu.Lock()
	m.removed = true
	m.mu.Unlock()
	m.shard.remove(m)
}

func (s *clockShard) add(m *clockMember) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := make([]*clockMember, len(s.members), len(s.members)+1)
	copy(next, s.members)
	next = append(next, m)
	s.members = next
	s.list.Store(&next)
	if !s.running {
		s.running = true
		go s.run()
	}
}

func (s *clockShard) remove(m *clockMember) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := make([]*clockMember, 0, len(s.members))
	for _, x := range s.members {
		if x != m {
			next = append(next, x)
		}
	}
	s.members = next
	s.list.Store(&next)
	if len(next) == 0 {
		select { // let an idle worker notice and exit
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// firstTick is the first tick of the shard after now.
func (s *clockShard) firstTick(now time.Time) time.Time {
	since := now.Sub(s.epoch) - s.offset
	k := since/frameInterval + 1
	return s.epoch.Add(s.offset + k*frameInterval)
}

// run is the shard's worker. It exits when the shard has no member left.
func (s *clockShard) run() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	next := s.firstTick(time.Now())
	for {
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-s.wake:
				timer.Stop()
			}
		} else if wait < -5*frameInterval {
			// Too far behind (the process was stopped): start over.
			next = s.firstTick(time.Now())
			continue
		}
		s.mu.Lock()
		if len(s.members) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if time.Until(next) > 0 {
			continue // woken early (a member left): wait on
		}
		for _, m := range *s.list.Load() {
			m.mu.Lock()
			if !m.removed {
				m.tick(time.Now())
			}
			m.mu.Unlock()
		}
		next = next.Add(frameInterval)
	}
}
