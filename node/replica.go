package node

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/gossip"
)

// replica is the Node as gossip sees it. It is a separate type because
// gossip.Replica's Join (of two deltas) would clash with Node.Join (of a
// cluster), and because these methods are for the gossip layer, not for
// applications.
type replica Node

var _ gossip.Replica = (*replica)(nil)

// Digest returns the root digest over all objects: nodes whose states are
// equal have equal root digests (and different states differ with
// overwhelming probability). It is cached and cheap when nothing changed.
func (n *Node) Digest() uint64 {
	root, _ := (*replica)(n).Digests()
	return root
}

// Digests returns the root digest and the per-key digests, sorted by key (see
// gossip.Replica). A key's digest is FNV-64a of its deterministic encoding,
// so equal states give equal digests on every node and every platform; it is
// recomputed only for keys that changed since the last call. The root is
// FNV-64a over the sorted (key, digest) pairs.
func (r *replica) Digests() (root uint64, keys []gossip.KeyDigest) {
	n := (*Node)(r)
	n.mu.Lock()
	defer n.mu.Unlock()
	sorted := n.sortedKeysLocked()
	keys = make([]gossip.KeyDigest, len(sorted))
	for i, k := range sorted {
		obj := n.objects[k]
		if obj.dirty {
			n.refreshLocked(k, obj, nil)
		}
		keys[i] = gossip.KeyDigest{Key: k, Digest: obj.digest}
	}
	if n.rootDirty {
		h := fnv.New64a()
		var buf [binary.MaxVarintLen64 + 8]byte
		for _, kd := range keys {
			_, _ = h.Write(binary.AppendUvarint(buf[:0], uint64(len(kd.Key))))
			_, _ = h.Write([]byte(kd.Key))
			_, _ = h.Write(binary.BigEndian.AppendUint64(buf[:0], kd.Digest))
		}
		n.root, n.rootDirty = h.Sum64(), false
	}
	return n.root, keys
}

// refreshLocked recomputes obj's digest and size from enc, its encoding, or
// encodes it if enc is nil.
func (n *Node) refreshLocked(key string, obj *object, enc []byte) {
	if enc == nil {
		var err error
		if enc, err = n.encodeObjLocked(obj); err != nil {
			// Only a broken custom type gets here. Leave the object dirty:
			// its digest (0) will differ from peers', and the error is
			// logged again on the next call.
			n.log.Error("encoding object", "key", key, "type", obj.ops.name(), "err", err)
			obj.digest, obj.size = 0, 0
			return
		}
	}
	h := fnv.New64a()
	_, _ = h.Write(enc)
	obj.digest, obj.size, obj.dirty = h.Sum64(), len(enc), false
	obj.bound, obj.exact = len(enc), true
	n.chargeLocked(obj, len(enc))
}

// Encode returns the full state of key (see gossip.Replica).
func (r *replica) Encode(key string) ([]byte, bool, error) {
	n := (*Node)(r)
	n.mu.Lock()
	defer n.mu.Unlock()
	obj := n.objects[key]
	if obj == nil {
		return nil, false, nil
	}
	b, err := n.encodeObjLocked(obj)
	if err != nil {
		return nil, true, err
	}
	if obj.dirty {
		n.refreshLocked(key, obj, b)
	}
	return b, true, nil
}

// Merge merges a blob received from a peer (a delta or a full state) into
// key and reports whether local state changed (see gossip.Replica). The
// blob's type tag routes it: a key nobody has asked for yet is created with
// the tag's type; a key bound to another type rejects it (ErrTypeMismatch),
// as do unknown tags (ErrUnknownType) and bytes that fail to decode
// (ErrDecode), a blob beyond the budgets (ErrTooManyObjects,
// ErrTooManyBytes: see budget.go), a blob claiming updates in our name that we never
// made (crdt.ErrIdentity, see claimsLocked) and an LWW-Map stamped too far
// ahead of our clock (crdt.ErrClockSkew, see observeLocked). Rejections change nothing, are
// counted in Status and logged.
func (r *replica) Merge(key string, blob []byte) (changed bool, err error) {
	return r.MergeFrom(gossip.Origin{}, key, blob)
}

// MergeFrom is Merge for a blob that gossip received from the member named
// from in the message header (see gossip.OriginMerger): the objects a
// blob creates count against its origin's share of the budgets.
func (r *replica) MergeFrom(from gossip.Origin, key string, blob []byte) (changed bool, err error) {
	n := (*Node)(r)
	if key == "" {
		return false, ErrEmptyKey
	}
	origin := n.budgetOrigin(key, from.Name)
	h := blobHash(key, blob)
	n.mu.Lock()
	dup := n.seen.has(h)
	n.mu.Unlock()
	if dup {
		n.metrics.duplicates.Add(1)
		return false, nil
	}
	start := time.Now()
	defer func() { n.metrics.mergeLatency.observe(time.Since(start)) }()
	gen, blob, err := unwrapGen(blob) // a deleted key's generation (see Delete)
	if err != nil {
		n.metrics.decodeErrors.Add(1)
		return false, fmt.Errorf("%w: key %q: %w", ErrDecode, key, err)
	}
	o, err := r.blobType(key, blob)
	if err != nil {
		return false, err
	}
	v, err := o.decode(blob)
	if err != nil {
		n.metrics.decodeErrors.Add(1)
		n.log.Warn("dropping undecodable blob", "key", key, "type", o.name(), "bytes", len(blob), "err", err)
		return false, err
	}
	checked := n.elemsOf(key)
	if err := r.checkElems(key, o, checked, v); err != nil {
		return false, err
	}
	n.collectIncoming(o, v)

	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		// Both sentinels: callers of the node test ErrClosed, gossip
		// drops merges refused with ErrReplicaClosed quietly.
		return false, fmt.Errorf("%w (%w)", ErrClosed, gossip.ErrReplicaClosed)
	}
	obj := n.objects[key]
	if obj != nil && obj.ops.tag() != o.tag() {
		n.mu.Unlock()
		return false, r.mismatch(key, obj.ops, o)
	}
	reset, stale := genLocked(obj, gen)
	if stale {
		// A copy from before the key's latest delete.
		n.seen.add(h)
		n.mu.Unlock()
		n.metrics.mergedNoop.Add(1)
		return false, nil
	}
	if obj != nil && obj.elems != checked {
		// A handle was bound meanwhile: check again, under the lock (rare).
		if err := r.checkElems(key, o, obj.elems, v); err != nil {
			n.mu.Unlock()
			return false, err
		}
	}
	if err := n.admitRemoteLocked(key, origin, obj, len(blob)); err != nil {
		n.mu.Unlock()
		return false, err
	}
	if err := n.claimsLocked(key, obj, o, v); err != nil {
		n.mu.Unlock()
		return false, err
	}
	if err := n.observeLocked(key, v); err != nil {
		n.mu.Unlock()
		return false, err
	}
	if reset {
		// A newer generation: the key was deleted; the old state goes.
		obj.gen, obj.val = gen, o.zero()
		n.markDirtyLocked(obj)
		changed = true
	}
	if obj == nil {
		// A new key: the received state is the whole state.
		obj = &object{key: key, ops: o, val: v, bound: len(blob) + growthSlack, gen: gen}
		n.addedLocked(obj, true, origin)
		n.chargeLocked(obj, len(blob))
		n.objects[key] = obj
		n.keys = nil
		n.markDirtyLocked(obj)
		changed = true
	} else if merged, ok := o.mergeChanged(obj.val, v); ok {
		obj.val = merged
		grownLocked(obj, len(blob))
		n.chargeLocked(obj, obj.charged+len(blob))
		n.markDirtyLocked(obj)
		changed = true
	}
	if changed {
		n.persistMergedLocked(key)
	}
	n.seen.add(h)
	n.mu.Unlock()
	if !changed {
		n.metrics.mergedNoop.Add(1)
		return false, nil
	}
	n.metrics.merged.Add(1)
	n.notify(key)
	return true, nil
}

// observeSkew is how far ahead of the wall clock a peer's LWW-Map stamps
// may move the node's clock (crdt.Clock.ObserveSkew). A peer can hold our
// clock that far ahead, so an honest peer refuses our writes only if its
// clock is more than crdt.DefaultMaxSkew - observeSkew (59 s) behind ours;
// with the clock following stamps up to the full minute, 2 s was enough.
const observeSkew = time.Second

// observeLocked advances the node's hybrid logical clock towards the
// latest timestamp in v if it is an LWW-Map, at most to observeSkew ahead
// of our wall clock (a local write replacing an entry stamped further ahead
// is stamped after that entry; see stampLocked).
// A map stamped more than crdt.DefaultMaxSkew ahead of our wall clock is
// refused with an error wrapping crdt.ErrClockSkew, counted (ClockSkews)
// and logged: accepting it would drag our clock, and every later local
// write, into the peer's future. The refusal is not final: anti-entropy
// offers the state again, and once our wall clock is within the skew of
// the peer's timestamps it is accepted.
func (n *Node) observeLocked(key string, v any) error {
	m, ok := v.(*rawMap)
	if !ok {
		return nil
	}
	stamp := m.MaxStamp()
	if stamp.IsZero() {
		return nil
	}
	wall := n.cfg.clock.Now().UnixNano()
	if _, err := n.hlc.Observe(stamp, wall); err != nil {
		n.metrics.clockSkews.Add(1)
		n.log.Warn("dropping LWW-Map blob stamped too far ahead of the local clock",
			"key", key, "stamp", stamp, "local", crdt.HLC{Wall: wall},
			"ahead", time.Duration(stamp.Wall-wall), "max_skew", crdt.DefaultMaxSkew)
		return fmt.Errorf("node: key %q: %w", key, err)
	}
	return nil
}

// limitLogInterval spaces the logs of blobs dropped over Config.MaxObjects.
const limitLogInterval = time.Minute

// blobType returns the registered type of blob and checks it against the
// type key is bound to, if any.
func (r *replica) blobType(key string, blob []byte) (typeOps, error) {
	n := (*Node)(r)
	tag, _, err := crdt.PeekTag(blob)
	if err != nil {
		n.metrics.decodeErrors.Add(1)
		n.log.Warn("dropping blob without a type tag", "key", key, "bytes", len(blob), "err", err)
		return nil, fmt.Errorf("%w: key %q: %w", ErrDecode, key, err)
	}
	o := n.cfg.types[tag]
	if o == nil {
		n.metrics.unknownTypes.Add(1)
		n.log.Warn("dropping blob of an unregistered type", "key", key, "tag", uint16(tag))
		return nil, fmt.Errorf("%w: key %q: tag %d", ErrUnknownType, key, tag)
	}
	n.mu.Lock()
	obj := n.objects[key]
	n.mu.Unlock()
	if obj != nil && obj.ops.tag() != tag {
		return nil, r.mismatch(key, obj.ops, o)
	}
	return o, nil
}

// mismatch counts, logs and returns a received blob of the wrong type.
func (r *replica) mismatch(key string, bound, got typeOps) error {
	n := (*Node)(r)
	n.metrics.typeMismatches.Add(1)
	n.log.Warn("dropping blob of another type than its key", "key", key, "bound", bound.name(), "received", got.name())
	return fmt.Errorf("%w: received a %s for %q, which is a %s", ErrTypeMismatch, got.name(), key, bound.name())
}

var (
	_ gossip.Holder    = (*replica)(nil)
	_ gossip.Committer = (*replica)(nil)
)

// Commit makes key's merged state durable before gossip acknowledges a
// write request for it (WriteTo, WriteMajority, WriteAll): acknowledged
// means merged and, with a data directory, committed. It joins the store's
// group commit; without a data directory it does nothing.
func (r *replica) Commit(key string) error {
	n := (*Node)(r)
	if n.disk == nil {
		return nil
	}
	if err := n.disk.g.Flush(); err != nil {
		return fmt.Errorf("%w: key %q: %w", ErrPersist, key, err)
	}
	return nil
}

// Holds reports whether key's state already covers blob, a delta or state
// from a peer: merging it would change nothing (see gossip.Holder, which
// answers Reached's questions). It merges into a copy of the state, so it
// costs O(state) and changes nothing.
func (r *replica) Holds(key string, blob []byte) (bool, error) {
	n := (*Node)(r)
	gen, blob, err := unwrapGen(blob)
	if err != nil {
		return false, err
	}
	o, err := r.blobType(key, blob)
	if err != nil {
		return false, err
	}
	v, err := o.decode(blob)
	if err != nil {
		return false, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	obj := n.objects[key]
	if obj == nil {
		return gen.isZero() && o.equal(v, o.zero()), nil
	}
	if reset, stale := genLocked(obj, gen); reset || stale {
		return stale, nil
	}
	_, changed := o.mergeChanged(o.clone(obj.val), v)
	return !changed, nil
}

// Join joins two blobs of key into one that covers both (see
// gossip.Replica): both are decoded with the type of key (or of a, for a key
// unknown here), merged and encoded.
func (r *replica) Join(key string, a, b []byte) ([]byte, error) {
	ga, a, err := unwrapGen(a)
	if err != nil {
		return nil, err
	}
	gb, b, err := unwrapGen(b)
	if err != nil {
		return nil, err
	}
	switch c := ga.compare(gb); {
	case c > 0:
		return wrapGen(ga, a), nil // b is of an older generation: a covers it
	case c < 0:
		return wrapGen(gb, b), nil
	}
	o, err := r.blobType(key, a)
	if err != nil {
		return nil, err
	}
	va, err := o.decode(a)
	if err != nil {
		return nil, err
	}
	vb, err := o.decode(b)
	if err != nil {
		return nil, err
	}
	o.merge(va, vb)
	out, err := o.encode(va)
	if err != nil {
		return nil, err
	}
	return wrapGen(ga, out), nil
}
