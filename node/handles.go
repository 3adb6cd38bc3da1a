package node

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/converge-crdt/converge/crdt"
)

// A handle names one object of a node, typed at the call site. Handles are
// cheap values: getting one binds the key to its type (creating an empty
// object if the key is new) and holds nothing else. Updates take a context
// and return an error; reads return copies, never the node's state.
//
// Every update method takes optional WriteOptions: a WriteLevel (WriteTo,
// WriteMajority, WriteAll) makes it wait until that many members merged
// the update, and Track fills a Receipt for Reached. Each handle's Read
// takes a ReadLevel and merges other members' state first.

// GCounterHandle is a grow-only counter.
type GCounterHandle struct {
	n   *Node
	key string
}

// GCounter returns a handle to the grow-only counter named key.
func GCounter(n *Node, key string) (*GCounterHandle, error) {
	if err := n.bind(key, gcounterOps); err != nil {
		return nil, err
	}
	return &GCounterHandle{n: n, key: key}, nil
}

// Key returns the object's name.
func (h *GCounterHandle) Key() string { return h.key }

// Inc adds delta to the counter.
func (h *GCounterHandle) Inc(ctx context.Context, delta uint64, opts ...WriteOption) error {
	return h.n.updateSized(ctx, h.key, gcounterOps, h.n.growCounter(), func(v any) (any, error) {
		return v.(*crdt.GCounter).Inc(h.n.cfg.replica, delta)
	}, opts)
}

// Value returns the counter's value.
func (h *GCounterHandle) Value() uint64 {
	var x uint64
	_, _ = h.n.read(h.key, gcounterOps, func(v any) { x = v.(*crdt.GCounter).Value() })
	return x
}

// PNCounterHandle is a counter that can go up and down.
type PNCounterHandle struct {
	n   *Node
	key string
}

// PNCounter returns a handle to the up-down counter named key.
func PNCounter(n *Node, key string) (*PNCounterHandle, error) {
	if err := n.bind(key, pncounterOps); err != nil {
		return nil, err
	}
	return &PNCounterHandle{n: n, key: key}, nil
}

// Key returns the object's name.
func (h *PNCounterHandle) Key() string { return h.key }

// Inc adds delta to the counter.
func (h *PNCounterHandle) Inc(ctx context.Context, delta uint64, opts ...WriteOption) error {
	return h.n.updateSized(ctx, h.key, pncounterOps, h.n.growCounter(), func(v any) (any, error) {
		return v.(*crdt.PNCounter).Inc(h.n.cfg.replica, delta)
	}, opts)
}

// Dec subtracts delta from the counter.
func (h *PNCounterHandle) Dec(ctx context.Context, delta uint64, opts ...WriteOption) error {
	return h.n.updateSized(ctx, h.key, pncounterOps, h.n.growCounter(), func(v any) (any, error) {
		return v.(*crdt.PNCounter).Dec(h.n.cfg.replica, delta)
	}, opts)
}

// Value returns the counter's value.
func (h *PNCounterHandle) Value() int64 {
	var x int64
	_, _ = h.n.read(h.key, pncounterOps, func(v any) { x = v.(*crdt.PNCounter).Value() })
	return x
}

// ORSetHandle is an add-wins observed-remove set of E. Elements travel as
// their msgpack encoding: every node using the key must use the same E (or
// one with the same encoding). Once a node has a handle, a set received
// with an element that does not decode as E is refused (ErrTypeMismatch,
// counted in TypeMismatches), so the node keeps reading its own set; a
// handle of another element type for the key fails with ErrTypeMismatch.
type ORSetHandle[E comparable] struct {
	n   *Node
	key string
}

// ORSet returns a handle to the set named key.
func ORSet[E comparable](n *Node, key string) (*ORSetHandle[E], error) {
	if err := n.bindElems(key, orsetOps, setElems[E]()); err != nil {
		return nil, err
	}
	return &ORSetHandle[E]{n: n, key: key}, nil
}

// Key returns the object's name.
func (h *ORSetHandle[E]) Key() string { return h.key }

// Add adds e to the set.
func (h *ORSetHandle[E]) Add(ctx context.Context, e E, opts ...WriteOption) error {
	raw, err := toRaw(e)
	if err != nil {
		return err
	}
	return h.n.updateSized(ctx, h.key, orsetOps, h.n.growSetAdd(raw), func(v any) (any, error) {
		return v.(*rawSet).TryAdd(h.n.cfg.replica, raw)
	}, opts)
}

// Remove removes e from the set: the adds this node has seen are undone; a
// concurrent add elsewhere wins.
func (h *ORSetHandle[E]) Remove(ctx context.Context, e E, opts ...WriteOption) error {
	raw, err := toRaw(e)
	if err != nil {
		return err
	}
	// Removing only shrinks the state, and its delta (the removed dots) is
	// smaller than the state.
	return h.n.updateSized(ctx, h.key, orsetOps, 0, func(v any) (any, error) {
		return v.(*rawSet).Remove(raw), nil
	}, opts)
}

// Contains reports whether e is in the set.
func (h *ORSetHandle[E]) Contains(e E) (bool, error) {
	raw, err := toRaw(e)
	if err != nil {
		return false, err
	}
	var ok bool
	_, err = h.n.read(h.key, orsetOps, func(v any) { ok = v.(*rawSet).Contains(raw) })
	return ok, err
}

// Len returns the number of elements.
func (h *ORSetHandle[E]) Len() int {
	var x int
	_, _ = h.n.read(h.key, orsetOps, func(v any) { x = v.(*rawSet).Len() })
	return x
}

// Elements returns the elements, ordered by their encoding (so the order is
// the same on every node). It fails with ErrDecode if an element does not
// decode as E.
func (h *ORSetHandle[E]) Elements() ([]E, error) {
	var raws []rawValue
	if _, err := h.n.read(h.key, orsetOps, func(v any) {
		for r := range v.(*rawSet).All() {
			raws = append(raws, r)
		}
	}); err != nil {
		return nil, err
	}
	slices.Sort(raws) // string order is byte order
	out := make([]E, 0, len(raws))
	for _, r := range raws {
		e, err := fromRaw[E](r)
		if err != nil {
			return nil, fmt.Errorf("set %q: %w", h.key, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// LWWMapHandle is a last-writer-wins map from K to V, timestamped by the
// node's hybrid logical clock. Keys and values travel as their msgpack
// encoding, and are checked against K and V like ORSet elements.
type LWWMapHandle[K comparable, V any] struct {
	n   *Node
	key string
}

// LWWMap returns a handle to the map named key.
func LWWMap[K comparable, V any](n *Node, key string) (*LWWMapHandle[K, V], error) {
	if err := n.bindElems(key, lwwmapOps, mapElems[K, V]()); err != nil {
		return nil, err
	}
	return &LWWMapHandle[K, V]{n: n, key: key}, nil
}

// Key returns the object's name.
func (h *LWWMapHandle[K, V]) Key() string { return h.key }

// Set writes v under k. The write is stamped after k's current entry, even
// one from a peer whose clock is ahead, so a local write always wins over
// what this node has seen; if that entry is stamped more than
// crdt.DefaultMaxSkew ahead of the local wall clock, Set fails with an
// error wrapping crdt.ErrClockSkew rather than lose the write silently.
// The node's clock follows peers' stamps only up to one second ahead of
// its wall clock: a write replacing an entry stamped further ahead is
// stamped right after it, every other write at the node's own time.
func (h *LWWMapHandle[K, V]) Set(ctx context.Context, k K, v V, opts ...WriteOption) error {
	rk, err := toRaw(k)
	if err != nil {
		return err
	}
	rv, err := toRaw(v)
	if err != nil {
		return err
	}
	return h.n.updateSized(ctx, h.key, lwwmapOps, h.n.growMapWrite(rk, rv), func(m any) (any, error) {
		mm := m.(*rawMap)
		return h.n.lwwWriteLocked(h.key, mm, rk, mm.Set(h.n.cfg.replica, h.n.stampLocked(mm, rk), rk, rv))
	}, opts)
}

// Delete removes k (a timestamped write: a later Set wins over it, an
// earlier one loses). It is stamped like Set, and fails like it.
func (h *LWWMapHandle[K, V]) Delete(ctx context.Context, k K, opts ...WriteOption) error {
	rk, err := toRaw(k)
	if err != nil {
		return err
	}
	return h.n.updateSized(ctx, h.key, lwwmapOps, h.n.growMapWrite(rk, ""), func(m any) (any, error) {
		mm := m.(*rawMap)
		return h.n.lwwWriteLocked(h.key, mm, rk, mm.Delete(h.n.cfg.replica, h.n.stampLocked(mm, rk), rk))
	}, opts)
}

// Get returns the value under k and whether k is present.
func (h *LWWMapHandle[K, V]) Get(k K) (V, bool, error) {
	var zero V
	rk, err := toRaw(k)
	if err != nil {
		return zero, false, err
	}
	var rv rawValue
	var ok bool
	if _, err := h.n.read(h.key, lwwmapOps, func(m any) { rv, ok = m.(*rawMap).Get(rk) }); err != nil || !ok {
		return zero, false, err
	}
	v, err := fromRaw[V](rv)
	if err != nil {
		return zero, false, fmt.Errorf("map %q: %w", h.key, err)
	}
	return v, true, nil
}

// Len returns the number of keys present (deleted keys not counted).
func (h *LWWMapHandle[K, V]) Len() int {
	var x int
	_, _ = h.n.read(h.key, lwwmapOps, func(m any) { x = m.(*rawMap).Len() })
	return x
}

// Entries returns a copy of the map. It fails with ErrDecode if a key or
// value does not decode as K or V.
func (h *LWWMapHandle[K, V]) Entries() (map[K]V, error) {
	type kv struct{ k, v rawValue }
	var raws []kv
	if _, err := h.n.read(h.key, lwwmapOps, func(m any) {
		for k, v := range m.(*rawMap).All() {
			raws = append(raws, kv{k, v})
		}
	}); err != nil {
		return nil, err
	}
	out := make(map[K]V, len(raws))
	for _, e := range raws {
		k, err := fromRaw[K](e.k)
		if err != nil {
			return nil, fmt.Errorf("map %q: key: %w", h.key, err)
		}
		v, err := fromRaw[V](e.v)
		if err != nil {
			return nil, fmt.Errorf("map %q: value: %w", h.key, err)
		}
		out[k] = v
	}
	return out, nil
}

// stampLocked issues a timestamp for a local write of k in m, after the
// stamp of k's current entry (which may come from a peer whose clock is
// ahead of ours), so the local write wins. The node's clock follows remote
// stamps only up to observeSkew ahead of our wall clock (see crdt.Clock's
// ObserveSkew): a write that replaces an entry stamped further ahead is
// stamped right after that entry, and every other write keeps our own
// time, so one peer's stamps cannot push all our writes to where honest
// peers whose clocks are a little behind refuse them.
func (n *Node) stampLocked(m *rawMap, k rawValue) crdt.HLC {
	wall := n.cfg.clock.Now().UnixNano()
	var ts crdt.HLC
	if prior, _, ok := m.Stamp(k); ok {
		var err error
		// An error (the entry is more than MaxSkew ahead of our wall
		// clock) leaves the stamp behind the entry; lwwWriteLocked
		// reports the lost write.
		if ts, err = n.hlc.NowAfter(prior, wall); err != nil {
			ts = n.hlc.Now(wall)
		}
	} else {
		ts = n.hlc.Now(wall)
	}
	if ts.Compare(n.lwwIssued) > 0 {
		n.lwwIssued = ts
	}
	return ts
}

// lwwWriteLocked checks the delta of a local write of k: an empty one means
// the write lost to the entry already there (stamped too far ahead of our
// clock to be observed), which is reported instead of silently dropped.
func (n *Node) lwwWriteLocked(key string, m *rawMap, k rawValue, delta *rawMap) (any, error) {
	if delta.Equal(crdt.NewLWWMap[rawValue, rawValue]()) {
		ts, _, _ := m.Stamp(k)
		return nil, fmt.Errorf("node: map %q: write lost to an entry stamped %v, ahead of the local clock %v: %w",
			key, ts, n.hlc.Last(), crdt.ErrClockSkew)
	}
	return delta, nil
}

// ObjectHandle is an object of a user-registered type T (see TypeOf).
type ObjectHandle[T Value[T]] struct {
	n   *Node
	key string
	ops *ops[T]
}

// Object returns a handle to the object named key, of the registered type T
// or of a built-in type without a handle of its own (*crdt.FWWMap,
// *crdt.LeaseMap, which package node/agent uses). It fails with
// ErrUnknownType if T is neither.
func Object[T Value[T]](n *Node, key string) (*ObjectHandle[T], error) {
	var o *ops[T]
	for _, t := range n.cfg.types {
		if x, ok := t.(*ops[T]); ok {
			o = x
			break
		}
	}
	if o == nil {
		var zero T
		return nil, fmt.Errorf("%w: %T is not in Config.Types", ErrUnknownType, zero)
	}
	if err := n.bind(key, o); err != nil {
		return nil, err
	}
	return &ObjectHandle[T]{n: n, key: key, ops: o}, nil
}

// Key returns the object's name.
func (h *ObjectHandle[T]) Key() string { return h.key }

// Update applies a mutation: mutate receives the stored state, changes it in
// place and returns the delta (a state such that merging it into the old
// state gives the new one), or nil to ship the whole state. It runs under
// the node's lock: it must be quick and must not call the node. If it
// returns an error it must leave v unchanged; the error is returned. A
// delta Equal to the type's empty value means nothing changed: it is not
// shipped and wakes no watcher. If mutate panics, the panic reaches the
// caller with the node unlocked and v as mutate left it (see Node's
// update): mutators should change v only once they cannot fail.
//
// On a node with networking, v is a copy of the stored state (Clone) that
// replaces it only if neither it nor the delta is too large to replicate;
// otherwise Update fails with ErrTooLarge and nothing changes (a panic
// then leaves the stored state as it was). The copy and the size check
// cost O(state) per Update.
func (h *ObjectHandle[T]) Update(ctx context.Context, mutate func(v T) (delta T, err error), opts ...WriteOption) error {
	return h.n.update(ctx, h.key, h.ops, func(v any) (any, error) {
		d, err := mutate(v.(T))
		if err != nil {
			return nil, err
		}
		if reflect.ValueOf(d).IsNil() {
			return v.(T).Clone(), nil
		}
		return d, nil
	}, opts)
}

// Value returns a copy of the state.
func (h *ObjectHandle[T]) Value() T {
	var x T
	ok, _ := h.n.read(h.key, h.ops, func(v any) { x = v.(T).Clone() })
	if !ok {
		x = h.ops.newFn()
	}
	return x
}
