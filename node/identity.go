package node

import (
	"fmt"

	"github.com/converge-crdt/converge/crdt"
)

// claimsLocked refuses v, received for key, if it claims updates of this
// node's own replica ID that the node never made: a counter entry, or a
// causal-context event, past the node's own (crdt.IdentityChecker), or an
// LWW-Map write in our name stamped after the last timestamp we issued.
// Such a state was forged by a peer, or made by another live node with our
// name and epoch (a copied data directory, a restored backup: the Riak
// kv679 case). Merging it would make our next update reuse an event the
// cluster has already seen: our writes would be refused or silently lost
// on every peer (issue 9, finding 1). The refusal is counted
// (IdentityClaims) and logged; it costs O(replicas) for counters and sets,
// O(entries) for maps.
func (n *Node) claimsLocked(key string, obj *object, o typeOps, v any) error {
	var local any
	if obj != nil {
		local = obj.val
	}
	err := o.checkClaims(local, v, n.cfg.replica)
	if m, ok := v.(*rawMap); ok && err == nil {
		if ts, ok := m.MaxStampBy(n.cfg.replica); ok && ts.Compare(n.lwwIssued) > 0 {
			err = fmt.Errorf("%w: LWW-Map write by replica %q stamped %v, after the last stamp it issued, %v",
				crdt.ErrIdentity, n.cfg.replica, ts, n.lwwIssued)
		}
	}
	if err == nil {
		return nil
	}
	n.metrics.identityClaims.Add(1)
	n.log.Error("refusing a blob that claims updates in our own name that we never made: forged by a peer, or another live node uses our name and epoch",
		"key", key, "replica", n.cfg.replica, "err", err)
	return fmt.Errorf("node: key %q: %w", key, err)
}
