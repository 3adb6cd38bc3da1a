package node

import "github.com/converge-crdt/converge/gossip"

// The node is a gossip.DigestSource: it tells gossip which keys changed,
// and gossip keeps its digest tree up to date from those keys alone, so an
// anti-entropy round costs O(1) while nothing changes instead of copying
// every key's digest.

var _ gossip.DigestSource = (*replica)(nil)

// OnChange registers gossip's change callback (see gossip.DigestSource).
func (r *replica) OnChange(f func(key string)) { (*Node)(r).onChange.Store(&f) }

// KeyDigest returns key's digest, encoding the object if it changed since
// its digest was last computed (see gossip.DigestSource).
func (r *replica) KeyDigest(key string) (uint64, bool) {
	n := (*Node)(r)
	n.mu.Lock()
	defer n.mu.Unlock()
	obj := n.objects[key]
	if obj == nil {
		return 0, false
	}
	if obj.dirty {
		n.refreshLocked(key, obj, nil)
	}
	return obj.digest, true
}

// changedLocked tells gossip that key changed (created, updated, merged or
// removed). The callback only records the key.
func (n *Node) changedLocked(key string) {
	if f := n.onChange.Load(); f != nil {
		(*f)(key)
	}
}
