package node

import (
	"fmt"
	"math"
)

// Writes too large to replicate. gossip never sends a key whose state (or a
// delta) is over its MaxBlobSize, so a write that would make one that large
// is refused before it changes anything: otherwise it would be accepted
// here and never reach a peer, not even by anti-entropy.
//
// Checking the exact size of the new state would cost an encoding of the
// whole state per write. Instead each object keeps bound, an upper bound of
// its encoded size: exact after an encoding, grown by every blob merged into
// it (a join encodes to at most the sum of its parts, plus a few bytes of
// msgpack headers: growthSlack) and by every local write's growth. A
// built-in write knows its growth beforehand (see the grow functions): it
// makes the encoding at most grow bytes longer (plus growthSlack), and its
// delta is at most the old state plus grow. A write whose bound plus growth
// stays under the limit runs in place; one near the limit, or of a type
// whose growth is not known (user types), runs on a copy that is kept only
// if it and its delta fit.

const (
	// unknownGrowth says the write's growth is not known beforehand.
	unknownGrowth = -1
	// growthSlack covers msgpack headers growing by a merge and the fixed
	// part of a delta.
	growthSlack = 64
)

// blobLimitLocked returns the largest encoded state or delta key may have:
// gossip's MaxBlobSize, or no limit without networking.
func (n *Node) blobLimitLocked(key string) int {
	if n.net == nil {
		return math.MaxInt
	}
	return n.net.MaxBlobSize(key)
}

// grownLocked records that obj's encoding may have grown by size bytes
// (plus growthSlack): a received blob of that size was merged into it, or a
// local write of that growth ran.
func grownLocked(obj *object, size int) {
	obj.bound = min(obj.bound, math.MaxInt-size-growthSlack) + size + growthSlack
	obj.exact = false
}

// mutateLocked runs mutate for a local write of key and returns the
// delta's encoding. A nil blob means nothing changed: mutate failed (the
// error is returned) or returned an empty delta (nil error); an empty
// non-nil blob with an error means the state changed but its delta did not
// encode. grow is the write's growth (see above), or unknownGrowth. A write whose state or delta would be over the limit fails
// with ErrTooLarge and changes nothing.
func (n *Node) mutateLocked(key string, obj *object, o typeOps, grow int, mutate func(v any) (any, error)) (blob []byte, err error) {
	var delta any
	limit := n.blobLimitLocked(key)
	inPlace := func() bool { return limit == math.MaxInt || (grow >= 0 && obj.bound <= limit-grow-growthSlack) }
	if !inPlace() && grow >= 0 && !obj.exact {
		// The bound may only be stale (it grows with every write): one
		// encoding makes it exact, cheaper than a copy and two.
		n.refreshLocked(key, obj, nil)
	}
	if inPlace() {
		if delta, err = mutate(obj.val); err != nil || o.equal(delta, o.zero()) {
			return nil, err
		}
		if blob, err = o.encode(delta); err != nil {
			return []byte{}, err // the state changed: see applyLocal
		}
		grownLocked(obj, grow)
		return blob, nil
	}
	v := o.clone(obj.val)
	if delta, err = mutate(v); err != nil || o.equal(delta, o.zero()) {
		return nil, err
	}
	if blob, err = o.encode(delta); err != nil {
		return nil, err
	}
	if len(blob) > limit {
		return nil, fmt.Errorf("%w: %q: the delta would be %d bytes, limit %d (Gossip.MaxBlob less framing)", ErrTooLarge, key, len(blob), limit)
	}
	enc, err := o.encode(v)
	if err != nil {
		return nil, err
	}
	if len(enc) > limit {
		return nil, fmt.Errorf("%w: %q: the state would be %d bytes, limit %d (Gossip.MaxBlob less framing)", ErrTooLarge, key, len(enc), limit)
	}
	obj.val, obj.bound, obj.exact = v, len(enc), true
	return blob, nil
}

// The growth of the built-in writes: how many bytes a write can add to the
// state's encoding, beyond growthSlack. A dot is a replica ID and a
// counter (a msgpack integer of at most 9 bytes) with headers; an LWW-Map
// stamp is a wall time, a logical counter and a replica ID.

// growCounter bounds a counter increment: one entry of this replica.
func (n *Node) growCounter() int { return len(n.cfg.replica) + 16 }

// growSetAdd bounds adding e: its entry with one dot, and that dot in the
// causal context. (An element added before keeps one dot instead of its
// old ones, which only shrinks its entry.)
func (n *Node) growSetAdd(e rawValue) int { return len(e) + 2*(len(n.cfg.replica)+16) }

// growMapWrite bounds setting k (to v, or a tombstone for a delete): one
// entry replacing at most one.
func (n *Node) growMapWrite(k, v rawValue) int { return len(k) + len(v) + len(n.cfg.replica) + 32 }
