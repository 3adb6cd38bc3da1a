package node

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/converge-crdt/converge/crdt"
)

// Pruning replicas that are gone for good.
//
// Every node runs the same loop on its own; there is no pruner to elect.
// Every pruneInterval it lists the replica IDs that its objects hold
// entries for (crdt.Pruner) and prunes each ID that is gone:
//
//   - an older epoch of a live name, once it has not been a live member for
//     one interval (a restarted process writes under a new epoch, so the
//     old ID never writes again);
//   - any other ID that has not been a live member for Config.PruneAfter
//     (a member that left, or failed and stayed away).
//
// Prune folds the ID into a record keyed by the ID itself, so nodes that
// prune the same ID at the same time agree, and a stale copy merged later
// brings nothing back (see package crdt). Pruning a replica that is in
// fact alive behind a partition costs it nothing but the size saving: its
// later writes stay exact. The loop also collects prune records older than
// Config.PruneHorizon (crdt.Collector), and LWW-Map tombstones and deleted
// keys likewise.

// pruner is what a typeOps offers when its type implements crdt.Pruner or
// crdt.Collector (every *ops[T] has the methods; they report false when
// T does not).
type pruner interface {
	replicas(v any) ([]crdt.ReplicaID, bool)
	prune(v any, r crdt.ReplicaID, at crdt.HLC) any
	collect(v any, before crdt.HLC) bool
}

var _ pruner = (*ops[*crdt.GCounter])(nil)

func (o *ops[T]) replicas(v any) ([]crdt.ReplicaID, bool) {
	p, ok := any(v.(T)).(crdt.Pruner[T])
	if !ok {
		return nil, false
	}
	return p.Replicas(), true
}

// prune prunes r, which is gone for good: with PruneGone where the type has
// it (see crdt.GonePruner).
func (o *ops[T]) prune(v any, r crdt.ReplicaID, at crdt.HLC) any {
	if g, ok := any(v.(T)).(crdt.GonePruner[T]); ok {
		return g.PruneGone(r, at)
	}
	return any(v.(T)).(crdt.Pruner[T]).Prune(r, at)
}

func (o *ops[T]) collect(v any, before crdt.HLC) bool {
	c, ok := any(v.(T)).(crdt.Collector)
	return ok && c.Collect(before)
}

// DefaultPruneAfter is Config.PruneAfter when zero.
const DefaultPruneAfter = time.Minute

// DefaultPruneHorizon is Config.PruneHorizon when zero: Akka Distributed
// Data's pruning-marker-time-to-live.
const DefaultPruneHorizon = 6 * time.Hour

// pruneInterval is how often the prune loop runs.
const pruneInterval = 5 * time.Second

// parseReplicaID splits a replica ID made by replicaID into name and epoch.
func parseReplicaID(id crdt.ReplicaID) (name string, epoch uint64, ok bool) {
	i := strings.LastIndexByte(string(id), replicaSep)
	if i <= 0 {
		return "", 0, false
	}
	e, err := strconv.ParseUint(string(id[i+1:]), 36, 64)
	if err != nil || e == 0 {
		return "", 0, false
	}
	return string(id[:i]), e, true
}

// pruneState is the prune loop's memory, owned by its goroutine.
type pruneState struct {
	// away holds, for every replica ID found in an object and not a live
	// member, when the loop first saw it so.
	away map[crdt.ReplicaID]time.Time
}

// pruneLoop runs pruneOnce every pruneInterval until Close.
func (n *Node) pruneLoop() {
	defer n.wg.Done()
	t := time.NewTicker(pruneInterval)
	defer t.Stop()
	st := &pruneState{away: make(map[crdt.ReplicaID]time.Time)}
	for {
		select {
		case <-n.done:
			return
		case <-n.netDone:
			return
		case <-t.C:
		}
		n.pruneOnce(st, time.Now())
	}
}

// pruneOnce prunes the replicas that are gone and collects old records. It
// takes the node's lock once to list candidates and once per object it
// changes, so writes are never blocked for long.
func (n *Node) pruneOnce(st *pruneState, now time.Time) {
	if n.cfg.pruneAfter < 0 {
		n.expireOnce(now) // pruning and collection are off
		return
	}
	live := map[crdt.ReplicaID]bool{}
	liveNames := map[string]bool{}
	for _, m := range n.Members() {
		live[replicaID(m.Name, m.Epoch)] = true
		liveNames[m.Name] = true
	}
	live[n.cfg.replica] = true

	// Candidates: every ID an object holds entries for.
	type target struct {
		key string
		o   typeOps
		ids []crdt.ReplicaID
	}
	var targets []target
	seen := map[crdt.ReplicaID]bool{}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	for key, obj := range n.objects {
		p, ok := obj.ops.(pruner)
		if !ok {
			continue
		}
		ids, ok := p.replicas(obj.val)
		if !ok {
			continue
		}
		var gone []crdt.ReplicaID
		for _, id := range ids {
			if live[id] {
				continue
			}
			seen[id] = true
			since, ok := st.away[id]
			if !ok {
				st.away[id] = now
				continue
			}
			wait := n.cfg.pruneAfter
			if name, _, ok := parseReplicaID(id); ok && liveNames[name] {
				wait = min(wait, pruneInterval) // an older epoch of a live name
			}
			if now.Sub(since) >= wait {
				gone = append(gone, id)
			}
		}
		if len(gone) > 0 {
			targets = append(targets, target{key, obj.ops, gone})
		}
	}
	n.mu.Unlock()
	for id := range st.away {
		if !seen[id] {
			delete(st.away, id) // pruned everywhere here, or back alive
		}
	}

	for _, tg := range targets {
		p := tg.o.(pruner)
		blob, ticket, err := n.applyLocal(tg.key, tg.o, unknownGrowth, func(v any) (any, error) {
			at := n.hlc.Now(n.cfg.clock.Now().UnixNano())
			var delta any
			for _, id := range tg.ids {
				d := p.prune(v, id, at)
				if delta == nil {
					delta = d
				} else {
					tg.o.merge(delta, d)
				}
			}
			return delta, nil
		})
		if blob != nil && err == nil {
			err = n.awaitCommit(ticket) // the record is durable before it leaves
		}
		if err != nil {
			n.log.Warn("pruning", "key", tg.key, "err", err)
		}
		if blob != nil && err == nil {
			n.metrics.prunes.Add(uint64(len(tg.ids)))
			n.log.Debug("pruned departed replicas", "key", tg.key, "replicas", len(tg.ids))
			n.publish(tg.key, blob)
		}
	}
	n.collectOnce()
	n.expireOnce(now)
}

// expireOnce deletes the keys that have not changed for
// Config.ExpireAfter, by this node's clock.
func (n *Node) expireOnce(now time.Time) {
	if n.cfg.expireAfter <= 0 || !n.Readiness().Ready {
		return // a node cut off from its cluster cannot tell idle from unseen
	}
	var idle []string
	n.mu.Lock()
	for key, obj := range n.objects {
		if !obj.gen.isZero() && obj.ops.equal(obj.val, obj.ops.zero()) {
			continue // already deleted
		}
		if obj.changed.IsZero() {
			obj.changed = now
			continue
		}
		if now.Sub(obj.changed) >= n.cfg.expireAfter {
			idle = append(idle, key)
		}
	}
	n.mu.Unlock()
	for _, key := range idle {
		if err := n.Delete(context.Background(), key); err != nil {
			n.log.Warn("expiring an idle key", "key", key, "err", err)
			continue
		}
		n.metrics.expired.Add(1)
		n.log.Debug("expired an idle key", "key", key, "after", n.cfg.expireAfter)
	}
}

// collectOnce collects prune records older than the horizon in every
// object. Collection is local to each node (every node collects with its
// own clock), so nothing is shipped; the changed digests make
// anti-entropy carry the smaller state.
func (n *Node) collectOnce() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	now := n.hlc.Now(n.cfg.clock.Now().UnixNano())
	before := crdt.HLC{Wall: now.Wall - int64(n.cfg.pruneHorizon)}
	if before.Wall <= 0 {
		return
	}
	collected := n.collectDeletedLocked(before)
	for key, obj := range n.objects {
		if p, ok := obj.ops.(pruner); ok && p.collect(obj.val, before) {
			n.markDirtyLocked(obj)
			n.persistMergedLocked(key) // with DataDir: snapshotted like merged state
			collected = true
		}
	}
	if collected {
		// The state deflated: a blob merged before may now change it (an
		// entry older than a collected tombstone comes back, as
		// Config.PruneHorizon documents), so it must not be dropped as
		// already seen, or this node alone would keep it out and never
		// converge with the others.
		n.seen = seenSet{}
	}
}

// collectIncoming collects, in a value v of type o received from a peer,
// what collectOnce collects here: records older than the horizon. A peer
// whose loop has not reached them yet (every node collects on its own
// ticks) would otherwise hand them back, and two nodes whose ticks are out
// of phase would return a tombstone to each other for ever.
func (n *Node) collectIncoming(o typeOps, v any) {
	p, ok := o.(pruner)
	if !ok || n.cfg.pruneAfter < 0 {
		return
	}
	// The wall clock, not the HLC: never more than collectOnce collects.
	before := crdt.HLC{Wall: n.cfg.clock.Now().UnixNano() - int64(n.cfg.pruneHorizon)}
	if before.Wall > 0 {
		p.collect(v, before)
	}
}
