package node

import (
	"context"
	"fmt"
	"time"

	"github.com/converge-crdt/converge/gossip"
)

// Member is a live member of the cluster.
type Member struct {
	Name  string `json:"name"`
	Addr  string `json:"addr"` // host:port
	Epoch uint64 `json:"epoch"`
}

// Join joins the cluster through addrs ("host:port") and returns how many
// nodes it reached. The addresses are remembered: the node re-joins them
// whenever it finds itself alone.
func (n *Node) Join(ctx context.Context, addrs ...string) (int, error) {
	if n.net == nil {
		return 0, ErrNoNetwork
	}
	if n.isClosed() {
		return 0, ErrClosed
	}
	k, err := n.net.Join(ctx, addrs...)
	if k > 0 {
		n.wake()
	}
	return k, err
}

// Addr returns the "host:port" peers use to reach this node, or "" without
// networking.
func (n *Node) Addr() string {
	if n.net == nil || n.isClosed() {
		return ""
	}
	return n.net.LocalAddr()
}

// Members returns the live members of the cluster, this node included.
// Without networking it is this node alone.
func (n *Node) Members() []Member {
	if n.net == nil || n.isClosed() {
		return []Member{{Name: n.cfg.name, Epoch: n.cfg.epoch}}
	}
	ms := n.net.Members()
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = Member(m)
	}
	return out
}

// NumMembers returns the number of live members, this node included.
func (n *Node) NumMembers() int {
	if n.net == nil || n.isClosed() {
		return 1
	}
	return n.net.NumMembers()
}

// membersPoll is how often WaitMembers looks at the member list: memberlist
// reports membership changes only to its own event delegate, which the
// gossip layer owns.
const membersPoll = 20 * time.Millisecond

// WaitMembers blocks until at least count members (this node included) are
// alive, ctx ends (ctx.Err()) or the node closes (ErrClosed).
func (n *Node) WaitMembers(ctx context.Context, count int) error {
	if n.net == nil {
		if count <= 1 {
			return nil
		}
		return fmt.Errorf("%w: waiting for %d members", ErrNoNetwork, count)
	}
	t := time.NewTicker(membersPoll)
	defer t.Stop()
	for {
		if n.isClosed() {
			return ErrClosed
		}
		if n.net.NumMembers() >= count {
			return nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-n.done:
			return ErrClosed
		}
	}
}

// QueueLen returns the number of deltas waiting in the gossip broadcast
// queue (0 without networking). After the last update it drains to zero.
func (n *Node) QueueLen() int {
	if n.net == nil {
		return 0
	}
	return n.net.QueueLen()
}

// GossipStats returns the gossip layer's counters (zero without networking).
func (n *Node) GossipStats() gossip.Stats {
	if n.net == nil {
		return gossip.Stats{}
	}
	return n.net.Stats()
}
