package node

import (
	"context"

	"github.com/converge-crdt/converge/gossip"
)

// Fetch gathers key's state from the members rl asks for and merges it
// into the local state, so that the next local read (through a handle, or
// Read) includes every update those members held. ReadLocal does nothing.
// A member whose state fails to merge (another type, bad bytes) counts as
// not answering. When fewer members than rl needs answered before its
// timeout or ctx, it returns a *LevelError (matching ErrLevelNotMet); the
// states that did arrive are merged all the same.
func (n *Node) Fetch(ctx context.Context, key string, rl ReadLevel) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if key == "" {
		return ErrEmptyKey
	}
	if n.isClosed() {
		return ErrClosed
	}
	_, err := n.levelWait(ctx, "read", key, rl.l, func(ctx context.Context, peers int) ([]gossip.Member, error) {
		return n.net.Fetch(ctx, key, peers)
	})
	return err
}

// Read returns the counter's value after merging the state of the members
// rl asks for (see Node.Fetch). On a *LevelError the value includes what
// did arrive.
func (h *GCounterHandle) Read(ctx context.Context, rl ReadLevel) (uint64, error) {
	err := h.n.Fetch(ctx, h.key, rl)
	return h.Value(), err
}

// Read returns the counter's value after merging the state of the members
// rl asks for (see Node.Fetch).
func (h *PNCounterHandle) Read(ctx context.Context, rl ReadLevel) (int64, error) {
	err := h.n.Fetch(ctx, h.key, rl)
	return h.Value(), err
}

// Read returns the elements (as Elements) after merging the state of the
// members rl asks for (see Node.Fetch).
func (h *ORSetHandle[E]) Read(ctx context.Context, rl ReadLevel) ([]E, error) {
	err := h.n.Fetch(ctx, h.key, rl)
	es, derr := h.Elements()
	if derr != nil {
		return es, derr
	}
	return es, err
}

// Read returns a copy of the map (as Entries) after merging the state of
// the members rl asks for (see Node.Fetch).
func (h *LWWMapHandle[K, V]) Read(ctx context.Context, rl ReadLevel) (map[K]V, error) {
	err := h.n.Fetch(ctx, h.key, rl)
	m, derr := h.Entries()
	if derr != nil {
		return m, derr
	}
	return m, err
}

// Read returns a copy of the state after merging the state of the members
// rl asks for (see Node.Fetch).
func (h *ObjectHandle[T]) Read(ctx context.Context, rl ReadLevel) (T, error) {
	err := h.n.Fetch(ctx, h.key, rl)
	return h.Value(), err
}
