package store

import (
	"sync"
	"time"
)

// Snapshotter returns key's whole current state as an OpPut whose Seq is
// the last sequence number the state covers. The owner captures both under
// the lock that also orders its Enqueue calls (read Group.Seq there), so
// every delta up to Seq is in the state. ok is false for a key that is gone.
type Snapshotter func(key string) (op Op, ok bool)

// GroupConfig tunes a Group.
type GroupConfig struct {
	// Snapshot captures a key's state (required).
	Snapshot Snapshotter
	// MaxBatch bounds the ops of one commit; 0 means no bound. 1 makes
	// every op its own transaction and fsync (a baseline for benchmarks).
	MaxBatch int
	// WriteBehind, if positive, delays each commit by this interval to
	// gather more ops; callers are expected not to wait (see Ticket.Wait).
	WriteBehind time.Duration
	// FlushInterval is how often keys marked with MarkDirty are
	// snapshotted. Zero means one second.
	FlushInterval time.Duration
	// MaxPending is the number of queued ops beyond which Enqueue asks its
	// caller to wait (Ticket.MustWait), even in write-behind mode. Zero
	// means 65,536.
	MaxPending int
}

// Group commits ops from many goroutines in shared transactions (group
// commit): the ops queued while one commit is under way go into the next
// one, so N concurrent writers pay about one fsync per batch, not N. It
// also keeps the store compact: after a commit, a key whose log has grown
// larger than its snapshot is folded (snapshotted and its log dropped), so
// the log costs O(delta) amortized and the size follows live state.
// Unlike bbolt's DB.Batch, nothing is retried: an op is committed once or
// its ticket reports the error.
type Group struct {
	s   *Store
	cfg GroupConfig

	mu        sync.Mutex
	queue     []*batch            // guarded by mu; oldest first, the last one open
	pending   int                 // guarded by mu; ops queued
	seq       uint64              // guarded by mu; last sequence number issued
	dirty     map[string]struct{} // guarded by mu; keys to snapshot at the next flush
	fold      map[string]struct{} // guarded by mu; keys to snapshot at the next commit
	flushReq  bool                // guarded by mu; a Flush waits for the dirty keys
	logBytes  map[string]int      // guarded by mu; bytes in a key's log since its snapshot
	snapBytes map[string]int      // guarded by mu; bytes of a key's snapshot
	closing   bool                // guarded by mu
	lastErr   error               // guarded by mu; the last commit error
	stats     GroupStats          // guarded by mu
	lastOps   int                 // guarded by mu; ops of the last commit's batch
	lastTook  time.Duration       // guarded by mu; how long it took

	wake   chan struct{} // capacity 1
	stop   chan struct{}
	exited chan struct{}
}

// batch is the ops of one commit and the channel their callers wait on.
type batch struct {
	ops   []Op
	flush bool // a Flush is waiting on it
	done  chan struct{}
	err   error // set before done is closed
}

// Ticket is a caller's handle on a queued op.
type Ticket struct {
	b *batch
	// MustWait is set when the queue is over GroupConfig.MaxPending: even
	// a write-behind caller should Wait, to apply backpressure.
	MustWait bool
}

// Wait blocks until the op's transaction has committed (or failed).
func (t *Ticket) Wait() error {
	if t == nil || t.b == nil {
		return nil
	}
	<-t.b.done
	return t.b.err
}

// NewGroup returns a group committing to s, continuing sequence numbers
// after seq (LoadInfo.MaxSeq). Call Track for the keys loaded, then Start.
func NewGroup(s *Store, cfg GroupConfig, seq uint64) *Group {
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 1 << 16
	}
	return &Group{
		s: s, cfg: cfg, seq: seq,
		dirty:     make(map[string]struct{}),
		fold:      make(map[string]struct{}),
		logBytes:  make(map[string]int),
		snapBytes: make(map[string]int),
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		exited:    make(chan struct{}),
	}
}

// Track tells the group the sizes of a loaded key's snapshot and log; a key
// with log entries is folded at the first commit.
func (g *Group) Track(key string, snapBytes, logBytes int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.snapBytes[key] = snapBytes
	if logBytes > 0 {
		g.logBytes[key] = logBytes
		g.fold[key] = struct{}{}
	}
}

// Start starts the committing goroutine; Close stops it.
func (g *Group) Start() { go g.run() }

// Seq returns the last sequence number issued by Enqueue.
func (g *Group) Seq() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.seq
}

// Enqueue queues op for the next commit and returns at once; it never
// blocks, so it may be called under the owner's lock. An OpAppend gets the
// next sequence number (op.Seq is overwritten). After Close the ticket
// reports ErrClosed.
func (g *Group) Enqueue(op Op) *Ticket {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return &Ticket{b: closedBatch}
	}
	if op.Kind == OpAppend {
		g.seq++
		op.Seq = g.seq
	}
	b := g.openLocked()
	b.ops = append(b.ops, op)
	g.pending++
	g.signal()
	return &Ticket{b: b, MustWait: g.pending > g.cfg.MaxPending}
}

var closedBatch = func() *batch {
	b := &batch{done: make(chan struct{}), err: ErrClosed}
	close(b.done)
	return b
}()

// openLocked returns the batch that takes new ops.
func (g *Group) openLocked() *batch {
	if n := len(g.queue); n > 0 {
		if b := g.queue[n-1]; g.cfg.MaxBatch <= 0 || len(b.ops) < g.cfg.MaxBatch {
			return b
		}
	}
	b := &batch{done: make(chan struct{})}
	g.queue = append(g.queue, b)
	return b
}

// MarkDirty asks for a snapshot of key at the next flush (state merged
// from peers, which is not logged op by op). It never blocks.
func (g *Group) MarkDirty(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closing {
		g.dirty[key] = struct{}{}
	}
}

// Flush commits everything queued and snapshots every dirty key now, and
// waits for it.
func (g *Group) Flush() error {
	g.mu.Lock()
	if g.closing {
		g.mu.Unlock()
		return ErrClosed
	}
	b := g.openLocked()
	b.flush = true
	g.signal()
	g.mu.Unlock()
	<-b.done
	return b.err
}

func (g *Group) signal() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// Close commits everything queued, snapshots every key with a log or
// unsaved changes (so the next Load reads snapshots only), and stops the
// group. It returns the last commit error, if any. The store stays open.
func (g *Group) Close() error {
	g.mu.Lock()
	if g.closing {
		g.mu.Unlock()
		<-g.exited
		return nil
	}
	g.closing = true
	g.mu.Unlock()
	close(g.stop)
	<-g.exited
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lastErr
}

// GroupStats counts a group's commits.
type GroupStats struct {
	Commits    uint64        // transactions committed (each one fsync)
	Ops        uint64        // ops in them, snapshots included
	CommitTime time.Duration // spent in Store.Apply: bbolt and fsync
}

// Stats returns the counts so far.
func (g *Group) Stats() GroupStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stats
}

func (g *Group) run() {
	defer close(g.exited)
	tick := time.NewTicker(g.cfg.FlushInterval)
	defer tick.Stop()
	for {
		flush := false
		select {
		case <-g.wake:
		case <-tick.C:
			flush = true
		case <-g.stop:
			g.drain()
			return
		}
		if g.cfg.WriteBehind > 0 {
			t := time.NewTimer(g.cfg.WriteBehind)
			select {
			case <-t.C:
			case <-g.stop:
				t.Stop()
				g.drain()
				return
			}
		}
		for g.commitOnce(flush, false) {
			flush = false
			g.gather()
		}
	}
}

// gather waits, briefly, for the writers released by the last commit to
// queue their next ops, so that they share the next commit instead of
// waiting a whole commit more (Postgres's commit_delay, adaptive): it
// waits until as many ops are queued as the last commit carried, or a
// quarter of the last commit's duration has passed. A lone writer (a
// last batch of one, already queued) never waits.
func (g *Group) gather() {
	g.mu.Lock()
	want, limit := g.lastOps, g.lastTook/4
	g.mu.Unlock()
	if want <= 1 || limit <= 0 {
		return
	}
	deadline := time.Now().Add(limit)
	for {
		g.mu.Lock()
		ready := g.pending >= want || g.closing
		g.mu.Unlock()
		if ready || time.Now().After(deadline) {
			return
		}
		select {
		case <-g.wake:
		case <-time.After(time.Until(deadline)):
			return
		}
	}
}

// drain commits everything at Close.
func (g *Group) drain() {
	for g.commitOnce(true, true) {
	}
}

// commitOnce commits the oldest batch with the snapshots due and reports
// whether more work is queued.
func (g *Group) commitOnce(flush, all bool) (more bool) {
	g.mu.Lock()
	var b *batch
	if len(g.queue) > 0 {
		b = g.queue[0]
		g.queue = g.queue[1:]
		g.pending -= len(b.ops)
		flush = flush || b.flush
	}
	keys := make([]string, 0, len(g.fold))
	take := func(m map[string]struct{}) {
		for k := range m {
			keys = append(keys, k)
			delete(m, k)
		}
	}
	// Folds ride along with a commit that happens anyway (or a flush):
	// they never cost an fsync of their own.
	if b != nil || flush || all {
		take(g.fold)
	}
	if flush || all {
		take(g.dirty)
	}
	if all {
		for k, n := range g.logBytes {
			if n > 0 {
				keys = append(keys, k)
			}
		}
	}
	g.mu.Unlock()
	if b == nil && len(keys) == 0 {
		return false
	}

	var ops []Op
	if b != nil {
		ops = b.ops
	}
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		if op, ok := g.cfg.Snapshot(k); ok {
			ops = append(ops, op)
		}
	}
	start := time.Now()
	err := g.s.Apply(ops)
	took := time.Since(start)

	g.mu.Lock()
	g.stats.Commits++
	g.stats.Ops += uint64(len(ops))
	g.stats.CommitTime += took
	g.lastOps, g.lastTook = 0, took
	if b != nil {
		g.lastOps = len(b.ops)
	}
	if err != nil {
		g.lastErr = err
		for k := range seen {
			g.dirty[k] = struct{}{} // try the snapshots again at the next flush
		}
	} else {
		for _, op := range ops {
			switch op.Kind {
			case OpAppend:
				g.logBytes[op.Key] += frameHeader + len(op.Data)
			case OpPut:
				g.snapBytes[op.Key] = frameHeader + len(op.Data)
				g.logBytes[op.Key] = 0
			case OpDelete:
				delete(g.snapBytes, op.Key)
				delete(g.logBytes, op.Key)
			}
		}
		for _, op := range ops {
			if op.Kind == OpAppend && g.logBytes[op.Key] > g.snapBytes[op.Key] {
				g.fold[op.Key] = struct{}{}
			}
		}
	}
	// At Close a failing disk must not loop: what failed is reported by
	// Close (lastErr) and the snapshots are given up.
	more = len(g.queue) > 0 || all && err == nil && (len(g.dirty) > 0 || len(g.fold) > 0)
	g.mu.Unlock()
	if b != nil {
		b.err = err
		close(b.done)
	}
	return more
}
