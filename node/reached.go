package node

import (
	"context"
	"errors"
	"sync"

	"github.com/converge-crdt/converge/gossip"
)

// Receipt identifies one local update, for Reached. Get one with the Track
// option of an update call. It holds the update's delta (to ask members
// whether they already cover it) and the members known to hold it. The zero
// Receipt is an update that changed nothing: it has reached everyone.
// Receipts are safe for concurrent use and may be copied.
type Receipt struct{ r *receipt }

type receipt struct {
	key   string
	delta []byte

	mu      sync.Mutex
	holders map[string]uint64 // guarded by mu; member name -> epoch known to hold it
}

func newReceipt(key string, delta []byte) *receipt {
	return &receipt{key: key, delta: delta, holders: make(map[string]uint64)}
}

// Key returns the updated object's key ("" for the zero Receipt).
func (r Receipt) Key() string {
	if r.r == nil {
		return ""
	}
	return r.r.key
}

func (r *receipt) add(ms []gossip.Member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range ms {
		r.holders[m.Name] = m.Epoch
	}
}

// holds reports whether m, in its current epoch, is known to hold the
// update. A member that restarted under a new epoch lost its state and is
// asked again.
func (r *receipt) holds(m gossip.Member) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.holders[m.Name]
	return ok && e == m.Epoch
}

// Reached waits until count members, this node included, hold the update of
// r, without sending the update again: members are asked whether their
// state already covers it (gossip and anti-entropy carry it there), and
// asked again until they do. Members known to hold it from the update's
// acknowledgements are not asked. It returns nil once count members hold
// it, or a *LevelError (matching ErrLevelNotMet and ctx.Err()) with how
// many do when ctx ends. Asking costs one small request per member and
// RequestRetry (a member checks by merging the delta into a copy of its
// state: O(state) for the object).
func (n *Node) Reached(ctx context.Context, r Receipt, count int) error {
	return n.reached(ctx, r, func(members int) int { return count })
}

// ReachedAll waits until every current member holds the update of r (see
// Reached). Membership is re-read whenever it changes: a member that fails
// stops counting, one that joins must hold the update too.
func (n *Node) ReachedAll(ctx context.Context, r Receipt) error {
	return n.reached(ctx, r, func(members int) int { return members })
}

func (n *Node) reached(ctx context.Context, r Receipt, need func(members int) int) error {
	if r.r == nil || need(n.NumMembers()) <= 1 {
		return nil
	}
	if n.net == nil {
		return &LevelError{Op: "reached", Key: r.r.key, Got: 1, Need: need(1), Err: gossip.ErrTooFewPeers}
	}
	rc := r.r
	_, sub := n.net.Subscribe(1)
	defer sub.Close()
	for {
		members := n.net.Members()
		want := need(len(members))
		held := 1
		for _, m := range members {
			if m.Name != n.cfg.name && rc.holds(m) {
				held++
			}
		}
		if held >= want {
			return nil
		}
		// One round until enough confirm, membership changes or ctx ends.
		// The watcher may take the membership signal (Ready holds one at
		// most) after Confirm returned; it reports whether it did, so the
		// too-few-peers wait below does not wait for a signal already used.
		round, cancel := context.WithCancel(ctx)
		stop := make(chan struct{})
		woke := make(chan bool, 1)
		go func() {
			select {
			case <-sub.Ready():
				cancel()
				woke <- true
			case <-stop:
				woke <- false
			}
		}()
		got, err := n.net.Confirm(round, rc.key, rc.delta, want-held, rc.holds)
		close(stop)
		cancel()
		changed := <-woke
		rc.add(got)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return &LevelError{Op: "reached", Key: rc.key, Got: held + len(got), Need: want, Err: ctx.Err()}
		case errors.Is(err, gossip.ErrClosed):
			return ErrClosed
		case errors.Is(err, gossip.ErrTooFewPeers) && !changed:
			// Not enough members yet: wait for membership to change.
			select {
			case <-sub.Ready():
			case <-ctx.Done():
				return &LevelError{Op: "reached", Key: rc.key, Got: held + len(got), Need: want, Err: ctx.Err()}
			}
		}
		// Drain the membership signal the round may have consumed or left.
		for {
			if _, ok := sub.Next(); !ok {
				break
			}
		}
	}
}
