package node

import (
	"fmt"
	"reflect"
)

// Sets and maps are stored type-erased (elements, keys and values as their
// msgpack bytes), so nothing stops two nodes from using one key with
// different Go types: ORSet[int] here, ORSet[string] there. Merged, the set
// would hold elements that neither node can read, and Elements would fail on
// both. So the first typed handle for a key records its element type on the
// object, and from then on a received set or map whose values do not decode
// as that type is refused like a blob of another CRDT type (ErrTypeMismatch,
// counted in TypeMismatches, logged): each node keeps reading its own
// values. The check costs one decode per received value, outside the lock.
//
// A node that holds a key without a handle for it (a relay) cannot tell and
// merges anything; a node whose first handle finds values of another type
// already stored gets ErrTypeMismatch from the handle constructor.

// elemType is the Go type a handle reads an object's values as.
type elemType struct {
	typ   reflect.Type // unique per element type (per K and V for a map)
	name  string
	check func(v any) error // nil if every value of the state v decodes
}

// setElems is the element type of ORSet[E].
func setElems[E comparable]() *elemType {
	return &elemType{
		typ:  reflect.TypeFor[E](),
		name: reflect.TypeFor[E]().String(),
		check: func(v any) error {
			for r := range v.(*rawSet).All() {
				if _, err := fromRaw[E](r); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// mapElems is the key and value type of LWWMap[K, V] (present entries:
// a tombstone's key is never read).
func mapElems[K comparable, V any]() *elemType {
	return &elemType{
		typ:  reflect.TypeFor[func(K) V](),
		name: fmt.Sprintf("%v to %v", reflect.TypeFor[K](), reflect.TypeFor[V]()),
		check: func(v any) error {
			for k, x := range v.(*rawMap).All() {
				if _, err := fromRaw[K](k); err != nil {
					return fmt.Errorf("key: %w", err)
				}
				if _, err := fromRaw[V](x); err != nil {
					return fmt.Errorf("value: %w", err)
				}
			}
			return nil
		},
	}
}

// bindElems is bind for a typed handle: the key's values must be et.
func (n *Node) bindElems(key string, o typeOps, et *elemType) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	obj, err := n.objectLocked(key, o)
	if err != nil {
		return err
	}
	switch {
	case obj.elems == nil:
		if err := et.check(obj.val); err != nil {
			return fmt.Errorf("%w: %s %q already holds values that are not %s (another node uses another type for it): %w",
				ErrTypeMismatch, o.name(), key, et.name, err)
		}
		obj.elems = et
	case obj.elems.typ != et.typ:
		return fmt.Errorf("%w: %s %q is used as %s on this node, not %s", ErrTypeMismatch, o.name(), key, obj.elems.name, et.name)
	}
	return nil
}

// elemsOf returns the element type recorded for key, or nil.
func (n *Node) elemsOf(key string) *elemType {
	n.mu.Lock()
	defer n.mu.Unlock()
	if obj := n.objects[key]; obj != nil {
		return obj.elems
	}
	return nil
}

// checkElems checks a received state v for key against et (nil: nothing to
// check), counting and logging a mismatch.
func (r *replica) checkElems(key string, o typeOps, et *elemType, v any) error {
	if et == nil {
		return nil
	}
	err := et.check(v)
	if err == nil {
		return nil
	}
	n := (*Node)(r)
	n.metrics.typeMismatches.Add(1)
	n.log.Warn("dropping blob whose values are of another type than this node uses for the key",
		"key", key, "type", o.name(), "want", et.name, "err", err)
	return fmt.Errorf("%w: received a %s for %q with values that are not %s: %w", ErrTypeMismatch, o.name(), key, et.name, err)
}
