package node

import (
	"encoding"
	"fmt"
	"reflect"

	"github.com/converge-crdt/converge/crdt"
)

// Value is what a type must implement to be stored in a node: the crdt
// contract on itself and a binary encoding. T is the implementing type,
// usually a pointer (Merge must change the receiver in place).
//
// MarshalBinary must be deterministic (equal states give equal bytes: digests
// compare them) and must start like the built-in encodings, with a msgpack
// array whose first two elements are the type tag and a format version, so
// that crdt.PeekTag can route a received blob. UnmarshalBinary receives bytes
// from peers: it must reject what it cannot decode with an error.
type Value[T any] interface {
	crdt.CRDT[T]
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// Type describes a CRDT type a node can store under a type tag. Build one
// with TypeOf and list it in Config.Types. The zero Type is invalid.
type Type struct {
	ops typeOps
}

// TypeOf describes the user type T under tag, which must be at least
// crdt.FirstUserTag. newFn returns an empty value (the lattice bottom); it is
// also the receiver of UnmarshalBinary for blobs from peers. Open checks the
// description: tag range and uniqueness, a non-nil newFn, a pointer type,
// and that newFn().MarshalBinary() starts with tag.
func TypeOf[T Value[T]](tag crdt.TypeTag, newFn func() T) Type {
	return Type{ops: &ops[T]{t: tag, n: reflect.TypeFor[T]().String(), newFn: newFn}}
}

// typeOps erases the type parameter of a stored CRDT so one map can hold
// objects of every type. Values passed in are always of the ops' own type.
type typeOps interface {
	tag() crdt.TypeTag
	name() string
	zero() any
	decode(b []byte) (any, error)
	encode(v any) ([]byte, error)
	merge(dst, src any)
	mergeChanged(dst, src any) (merged any, changed bool)
	clone(v any) any
	equal(a, b any) bool
	goType() reflect.Type
	check() error
	// checkClaims returns an error wrapping crdt.ErrIdentity if remote
	// claims events of self beyond local (nil: a key not held yet), for
	// types that implement crdt.IdentityChecker; nil for others.
	checkClaims(local, remote any, self crdt.ReplicaID) error
}

type ops[T Value[T]] struct {
	t     crdt.TypeTag
	n     string
	newFn func() T
}

func (o *ops[T]) tag() crdt.TypeTag { return o.t }
func (o *ops[T]) name() string      { return o.n }
func (o *ops[T]) zero() any         { return o.newFn() }

// goType is T: Object[T] finds its registration by it, so it is unique.
func (o *ops[T]) goType() reflect.Type { return reflect.TypeFor[T]() }

// decode decodes bytes from a peer. A panic in a (user) decoder is turned
// into an error: a peer's bytes must never crash the node.
func (o *ops[T]) decode(b []byte) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%w: %s decoder panicked: %v", ErrDecode, o.n, r)
		}
	}()
	x := o.newFn()
	if err := x.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrDecode, o.n, err)
	}
	return x, nil
}

func (o *ops[T]) encode(v any) ([]byte, error) {
	b, err := v.(T).MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("node: encode %s: %w", o.n, err)
	}
	return b, nil
}

func (o *ops[T]) merge(dst, src any) { dst.(T).Merge(src.(T)) }

// mergeChanged merges src into dst and reports whether that changed dst.
// Types implementing crdt.ChangeReporter (every built-in) merge in place
// and say so at no extra cost. For other types the merge goes into a clone
// that is compared with dst, O(state): merged is the clone if it differs,
// else dst unchanged.
func (o *ops[T]) mergeChanged(dst, src any) (merged any, changed bool) {
	d := dst.(T)
	if cr, ok := any(d).(crdt.ChangeReporter[T]); ok {
		return d, cr.MergeChanged(src.(T))
	}
	probe := d.Clone()
	probe.Merge(src.(T))
	if probe.Equal(d) {
		return d, false
	}
	return probe, true
}
func (o *ops[T]) checkClaims(local, remote any, self crdt.ReplicaID) error {
	if local == nil {
		local = o.newFn()
	}
	if c, ok := local.(crdt.IdentityChecker[T]); ok {
		return c.CheckClaims(remote.(T), self)
	}
	return nil
}

func (o *ops[T]) clone(v any) any     { return v.(T).Clone() }
func (o *ops[T]) equal(a, b any) bool { return a.(T).Equal(b.(T)) }

// check validates a type description (see TypeOf).
func (o *ops[T]) check() error {
	if o.newFn == nil {
		return fmt.Errorf("type %s (tag %d): nil constructor", o.n, o.t)
	}
	if k := reflect.TypeFor[T]().Kind(); k != reflect.Pointer {
		return fmt.Errorf("type %s (tag %d): must be a pointer type (Merge changes the receiver in place), not %s", o.n, o.t, k)
	}
	v := o.newFn()
	if reflect.ValueOf(v).IsNil() {
		return fmt.Errorf("type %s (tag %d): constructor returned nil", o.n, o.t)
	}
	b, err := v.MarshalBinary()
	if err != nil {
		return fmt.Errorf("type %s (tag %d): encoding an empty value: %w", o.n, o.t, err)
	}
	tag, _, err := crdt.PeekTag(b)
	if err != nil {
		return fmt.Errorf("type %s (tag %d): encoding does not start with [tag, version]: %w", o.n, o.t, err)
	}
	if tag != o.t {
		return fmt.Errorf("type %s: registered with tag %d but encodes tag %d", o.n, o.t, tag)
	}
	return nil
}

// Stored forms of the built-in types. Sets and maps are stored type-erased,
// with every element, key and value kept as its msgpack bytes (rawValue),
// so that a blob for a key nobody asked for yet can be instantiated from its
// tag alone. The encoding is byte-identical to the typed ORSet[E] and
// LWWMap[K, V] (see rawValue).
type (
	rawSet = crdt.ORSet[rawValue]
	rawMap = crdt.LWWMap[rawValue, rawValue]
)

var (
	gcounterOps  = &ops[*crdt.GCounter]{t: crdt.TagGCounter, n: "GCounter", newFn: crdt.NewGCounter}
	pncounterOps = &ops[*crdt.PNCounter]{t: crdt.TagPNCounter, n: "PNCounter", newFn: crdt.NewPNCounter}
	orsetOps     = &ops[*rawSet]{t: crdt.TagORSet, n: "ORSet", newFn: crdt.NewORSet[rawValue]}
	lwwmapOps    = &ops[*rawMap]{t: crdt.TagLWWMap, n: "LWWMap", newFn: crdt.NewLWWMap[rawValue, rawValue]}
	// The coordination lattices have no handle of their own here: package
	// node/agent reaches them through Object.
	fwwmapOps   = &ops[*crdt.FWWMap]{t: crdt.TagFWWMap, n: "FWWMap", newFn: crdt.NewFWWMap}
	leasemapOps = &ops[*crdt.LeaseMap]{t: crdt.TagLeaseMap, n: "LeaseMap", newFn: crdt.NewLeaseMap}
)

// builtinTypes returns the registry of built-in types by tag.
func builtinTypes() map[crdt.TypeTag]typeOps {
	return map[crdt.TypeTag]typeOps{
		crdt.TagGCounter:  gcounterOps,
		crdt.TagPNCounter: pncounterOps,
		crdt.TagORSet:     orsetOps,
		crdt.TagLWWMap:    lwwmapOps,
		crdt.TagFWWMap:    fwwmapOps,
		crdt.TagLeaseMap:  leasemapOps,
	}
}
