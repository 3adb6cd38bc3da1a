package node

import (
	"cmp"
	"context"
	"fmt"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/internal/wire"
	"github.com/converge-crdt/converge/node/store"
)

// Whole-key delete.
//
// Delete gives the key a new generation, stamped with the node's hybrid
// logical clock and replica ID, and resets its state to the empty value.
// From then on every blob of the key (deltas, anti-entropy states, the data
// directory's records) carries the generation: [TagKeyGeneration, 1,
// stamp, replica, state]. A blob of an older generation, or of none (a
// stale peer that still holds the state from before the delete), changes
// nothing; a blob of a newer generation replaces the state. Generations
// are totally ordered by (stamp, replica), like LWW-Map writes, so every
// node keeps the same one.
//
// Semantics:
//   - a delete wins over every update of the generation it deleted,
//     concurrent ones included (an update made on a node that had not yet
//     seen the delete is lost with the key);
//   - an update on a node that has seen the delete re-creates the key: it
//     starts from the empty value, in the new generation, and updates from
//     several nodes after the same delete merge as usual;
//   - a deleted key keeps its type, its name in Keys and a small tombstone
//     (the generation and the empty state) until the tombstone is
//     collected, once it is older than Config.PruneHorizon and the key has
//     not been written again. A node cut off for longer than the horizon
//     that still holds the old state brings it back when it returns.

// keyGen is a key's generation: the stamp of its latest delete. The zero
// keyGen is the generation of a key never deleted.
type keyGen struct {
	ts crdt.HLC
	by crdt.ReplicaID
}

func (g keyGen) isZero() bool { return g.ts.IsZero() && g.by == "" }

func (g keyGen) compare(o keyGen) int {
	if c := g.ts.Compare(o.ts); c != 0 {
		return c
	}
	return cmp.Compare(g.by, o.by)
}

// maxReplicaLen bounds the replica ID of a generation (as crdt's decoders
// bound replica IDs).
const maxReplicaLen = 256

// wrapGen returns inner wrapped in g's envelope, or inner itself for the
// zero generation.
func wrapGen(g keyGen, inner []byte) []byte {
	if g.isZero() {
		return inner
	}
	w := wire.NewWriter()
	w.Array(5)
	w.Uint(uint64(crdt.TagKeyGeneration))
	w.Uint(1)
	w.Array(2)
	w.Int(g.ts.Wall)
	w.Uint(uint64(g.ts.Logical))
	w.String(string(g.by))
	w.BytesValue(inner)
	return w.Bytes()
}

// unwrapGen splits a blob into its generation and the state inside. A blob
// without an envelope is of the zero generation. It refuses an envelope
// that is malformed, of the zero generation, or that wraps another
// envelope.
func unwrapGen(b []byte) (keyGen, []byte, error) {
	tag, _, err := crdt.PeekTag(b)
	if err != nil || tag != crdt.TagKeyGeneration {
		return keyGen{}, b, nil // not an envelope; the type's decoder judges it
	}
	r := wire.NewReader(b)
	if err := r.ExpectArray("key generation", 5); err != nil {
		return keyGen{}, nil, err
	}
	if _, err := r.Uint("tag"); err != nil {
		return keyGen{}, nil, err
	}
	if v, err := r.Uint("version"); err != nil || v != 1 {
		return keyGen{}, nil, fmt.Errorf("%w: key generation version %d (%v)", crdt.ErrVersion, v, err)
	}
	if err := r.ExpectArray("key generation stamp", 2); err != nil {
		return keyGen{}, nil, err
	}
	wall, err := r.Int("stamp wall")
	if err != nil {
		return keyGen{}, nil, err
	}
	logical, err := r.Uint("stamp logical")
	if err != nil {
		return keyGen{}, nil, err
	}
	by, err := r.String("replica", maxReplicaLen)
	if err != nil {
		return keyGen{}, nil, err
	}
	inner, err := r.Bytes("state")
	if err != nil {
		return keyGen{}, nil, err
	}
	if err := r.Done(); err != nil {
		return keyGen{}, nil, err
	}
	g := keyGen{ts: crdt.HLC{Wall: wall, Logical: uint32(logical)}, by: crdt.ReplicaID(by)}
	switch {
	case wall < 0 || logical > 1<<32-1 || by == "":
		return keyGen{}, nil, fmt.Errorf("%w: key generation %v/%q", crdt.ErrInvalid, g.ts, by)
	case g.isZero():
		return keyGen{}, nil, fmt.Errorf("%w: key generation envelope of the zero generation", crdt.ErrInvalid)
	}
	if t, _, _ := crdt.PeekTag(inner); t == crdt.TagKeyGeneration {
		return keyGen{}, nil, fmt.Errorf("%w: nested key generation envelope", crdt.ErrMalformed)
	}
	return g, inner, nil
}

// encodeObjLocked encodes obj's state with its generation.
func (n *Node) encodeObjLocked(obj *object) ([]byte, error) {
	b, err := obj.ops.encode(obj.val)
	if err != nil {
		return nil, err
	}
	return wrapGen(obj.gen, b), nil
}

// Delete deletes key on every node: its state is reset to the empty value
// in a new generation that no stale copy of the old state can override
// (see the semantics above). Deleting a key that does not exist does
// nothing. The delete is committed to the data directory, if any, before
// Delete returns, like an update.
func (n *Node) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	obj := n.objects[key]
	if obj == nil {
		n.mu.Unlock()
		return nil
	}
	g := keyGen{ts: n.hlc.Now(n.cfg.clock.Now().UnixNano()), by: n.cfg.replica}
	if g.compare(obj.gen) <= 0 {
		g.ts = crdt.HLC{Wall: obj.gen.ts.Wall, Logical: obj.gen.ts.Logical + 1} // never behind the last delete
	}
	obj.gen, obj.val = g, obj.ops.zero()
	n.markDirtyLocked(obj)
	blob, err := n.encodeObjLocked(obj)
	if err != nil {
		n.mu.Unlock()
		return err
	}
	ticket := n.commitLocked(key, obj.ops.tag(), blob)
	n.mu.Unlock()
	if err := n.awaitCommit(ticket); err != nil {
		return err
	}
	n.metrics.updates.Add(1)
	n.notify(key)
	n.publish(key, blob)
	return nil
}

// genLocked decides what a received blob of generation g does to obj:
// reset reports that g is newer (obj's state is replaced), stale that it
// is older (the blob changes nothing).
func genLocked(obj *object, g keyGen) (reset, stale bool) {
	if obj == nil {
		return false, false
	}
	c := g.compare(obj.gen)
	return c > 0, c < 0
}

// collectDeletedLocked drops the tombstones of keys deleted before before
// and not written since: generation set, state empty.
func (n *Node) collectDeletedLocked(before crdt.HLC) (collected bool) {
	for key, obj := range n.objects {
		if obj.gen.isZero() || obj.gen.ts.Compare(before) >= 0 || !obj.ops.equal(obj.val, obj.ops.zero()) {
			continue
		}
		n.dropObjectLocked(key, obj)
		collected = true
	}
	return collected
}

// dropObjectLocked removes a collected key tombstone: from the objects,
// the budgets, the digest tree and the data directory.
func (n *Node) dropObjectLocked(key string, obj *object) {
	n.removedLocked(obj)
	delete(n.objects, key)
	n.keys, n.rootDirty = nil, true
	n.seq++
	n.changedLocked(key)
	if n.disk != nil {
		n.disk.g.Enqueue(store.Op{Kind: store.OpDelete, Key: key, Tag: uint16(obj.ops.tag()), Seq: n.disk.g.Seq()})
	}
}
