package gossip

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/memberlist"
)

// broadcastQueue holds the deltas memberlist piggybacks on its gossip
// packets. memberlist retransmits each one RetransmitMult*log(N+1) times and
// never forwards it further, so receivers that learn something re-queue it
// themselves (see Gossip.forward).
//
// Deltas for one key are joined (Replica.Join) into one broadcast that
// replaces the queued one under the same name: the join covers both, so the
// replacement loses nothing. If the join fails or does not fit a packet, the
// new delta is queued under a fresh name and the old one keeps its slot.
type broadcastQueue struct {
	q      memberlist.TransmitLimitedQueue
	r      Replica
	origin Origin
	budget int // largest message that fits a gossip packet
	stats  *counters

	mu    sync.Mutex
	byKey map[string]*broadcast // guarded by mu; latest broadcast per key
	seq   uint64                // guarded by mu; makes fresh names unique
}

// broadcast is one queued delta. It implements memberlist.NamedBroadcast, so
// queueing another broadcast with the same name replaces it.
type broadcast struct {
	key  string
	name string
	blob []byte
	msg  []byte
	// done is set by memberlist (under its queue lock) when the broadcast
	// leaves the queue; it is atomic so Finished never takes our lock.
	done atomic.Bool
}

var _ memberlist.NamedBroadcast = (*broadcast)(nil)

func (b *broadcast) Name() string    { return b.name }
func (b *broadcast) Message() []byte { return b.msg }
func (b *broadcast) Finished()       { b.done.Store(true) }

// Invalidates reports whether b replaces other: same name (memberlist's
// NamedBroadcast contract).
func (b *broadcast) Invalidates(other memberlist.Broadcast) bool {
	nb, ok := other.(memberlist.NamedBroadcast)
	return ok && nb.Name() == b.name
}

// enqueue queues delta for key, joined with the queued delta for key if any.
// It reports false if the delta does not fit a packet (the caller sends it
// over streams instead).
func (bq *broadcastQueue) enqueue(key string, delta []byte) bool {
	msg := appendDelta(nil, bq.origin, key, delta)
	if len(msg) > bq.budget {
		return false
	}
	bq.mu.Lock()
	defer bq.mu.Unlock()
	if cur := bq.byKey[key]; cur != nil && !cur.done.Load() {
		joined, err := bq.r.Join(key, cur.blob, delta)
		if err != nil {
			bq.stats.joinErrors.Add(1)
		} else if jm := appendDelta(nil, bq.origin, key, joined); len(jm) <= bq.budget {
			bq.pushLocked(&broadcast{key: key, name: cur.name, blob: joined, msg: jm})
			return true
		}
	}
	bq.seq++
	name := key + "\x00" + strconv.FormatUint(bq.seq, 10)
	bq.pushLocked(&broadcast{key: key, name: name, blob: delta, msg: msg})
	return true
}

// pushLocked queues b and makes it the key's latest broadcast.
func (bq *broadcastQueue) pushLocked(b *broadcast) {
	if bq.byKey == nil {
		bq.byKey = make(map[string]*broadcast)
	}
	bq.byKey[b.key] = b
	bq.q.QueueBroadcast(b)
	// Forget finished broadcasts now and then, so byKey stays about as big
	// as the queue rather than the key space.
	if n := len(bq.byKey); n > 64 && n > 2*bq.q.NumQueued() {
		for k, old := range bq.byKey {
			if old.done.Load() {
				delete(bq.byKey, k)
			}
		}
	}
}

// len is the number of queued broadcasts.
func (bq *broadcastQueue) len() int { return bq.q.NumQueued() }
