package node

import (
	"context"
	"fmt"

	"github.com/converge-crdt/converge/gossip"
)

// Member is a live member of the cluster.
type Member struct {
	Name  string `json:"name"`
	Addr  string `json:"addr"`         // host:port
	Epoch uint64 `json:"epoch,string"` // a string in JSON: JavaScript would round it
}

// Join joins the cluster through addrs ("host:port") and returns how many
// nodes it reached. The addresses are remembered: the node re-dials them,
// backing off, whenever no live member answers at them (unless a member
// that left was there).
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

// watchMembers wakes waiters whenever membership changes, driven by the
// gossip layer's membership events. It runs until Close.
// sub needs room for one event only: "something changed" is all that
// matters, so overflow is fine.
func (n *Node) watchMembers(sub *gossip.Subscription) {
	defer n.wg.Done()
	defer sub.Close()
	for {
		select {
		case <-n.done:
			return
		case <-n.netDone:
			return
		case <-sub.Ready():
		}
		for {
			if _, ok := sub.Next(); !ok {
				break
			}
		}
		n.wake()
	}
}

// WaitMembers blocks until at least count members (this node included) are
// alive, ctx ends (ctx.Err()) or the node closes (ErrClosed). It is woken
// by membership events (see MemberEvents), not by polling.
func (n *Node) WaitMembers(ctx context.Context, count int) error {
	if n.net == nil && count > 1 {
		return fmt.Errorf("%w: waiting for %d members", ErrNoNetwork, count)
	}
	return n.WaitFor(ctx, func() bool { return n.NumMembers() >= count })
}

// QueueLen returns the number of deltas waiting in the gossip broadcast
// queue (0 without networking). After the last update it drains to zero.
func (n *Node) QueueLen() int {
	if n.net == nil {
		return 0
	}
	return n.net.QueueLen()
}

// inboundLen returns the number of received messages waiting for the gossip
// worker (0 without networking).
func (n *Node) inboundLen() int {
	if n.net == nil {
		return 0
	}
	return n.net.InboundLen()
}

// GossipStats returns the gossip layer's counters (zero without networking).
func (n *Node) GossipStats() gossip.Stats {
	if n.net == nil {
		return gossip.Stats{}
	}
	return n.net.Stats()
}
