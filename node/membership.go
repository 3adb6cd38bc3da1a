package node

import (
	"context"

	"github.com/converge-crdt/converge/gossip"
)

// MemberEventKind says what happened to a member (see the Member*
// constants).
type MemberEventKind = gossip.EventKind

// Membership event kinds.
const (
	// MemberJoin: a member (name and epoch) became live.
	MemberJoin = gossip.EventJoin
	// MemberLeave: a member closed gracefully. Its goodbye is a
	// best-effort packet; if it is lost the departure is a MemberFail.
	MemberLeave = gossip.EventLeave
	// MemberFail: failure detection declared a member dead, or the same
	// name came back under a new epoch before that (a MemberJoin of the
	// new epoch follows at once).
	MemberFail = gossip.EventFail
	// MemberUpdate: a live member's address or metadata changed.
	MemberUpdate = gossip.EventUpdate
	// MemberOverflow: the reader fell MemberEventBuffer events behind;
	// Dropped of the oldest were discarded. Re-read Members.
	MemberOverflow = gossip.EventOverflow
)

// MemberEvent is one membership change seen by this node.
type MemberEvent struct {
	Kind   MemberEventKind
	Member Member // after the change; for leave and fail, as last seen
	// Dropped is, for MemberOverflow, how many events were discarded.
	Dropped int
}

// MemberEventBuffer is how many events MemberEvents holds for a reader
// that is behind. Beyond it the oldest are discarded and a MemberOverflow
// event, counting them, is delivered before the rest.
const MemberEventBuffer = 1024

// MemberEvents returns the live members (this node included) and a
// channel of the membership changes after that view, in the order this
// node saw them: per member, join, then updates, then leave or fail. The
// channel is closed when ctx ends or the node closes.
//
// Delivery never blocks gossip: events wait in a buffer of
// MemberEventBuffer for a slow reader, and when it is full the oldest are
// dropped and a MemberOverflow event says how many; the view is then best
// re-read with Members. Without networking the view is this node alone and
// no event is ever sent.
func (n *Node) MemberEvents(ctx context.Context) (view []Member, events <-chan MemberEvent, err error) {
	return n.memberEvents(ctx, MemberEventBuffer)
}

func (n *Node) memberEvents(ctx context.Context, buffer int) ([]Member, <-chan MemberEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, nil, ErrClosed
	}
	out := make(chan MemberEvent)
	if n.net == nil {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			defer close(out)
			select {
			case <-ctx.Done():
			case <-n.done:
			}
		}()
		return []Member{{Name: n.cfg.name, Epoch: n.cfg.epoch}}, out, nil
	}
	gv, sub := n.net.Subscribe(buffer)
	view := make([]Member, len(gv))
	for i, m := range gv {
		view[i] = Member(m)
	}
	n.wg.Add(1)
	go n.pumpEvents(ctx, sub, out)
	return view, out, nil
}

// pumpEvents moves events from sub to out until ctx ends or the node
// closes. Blocking on out holds only this goroutine: the subscription
// keeps buffering (and overflowing) behind it.
func (n *Node) pumpEvents(ctx context.Context, sub *gossip.Subscription, out chan<- MemberEvent) {
	defer n.wg.Done()
	defer close(out)
	defer sub.Close()
	for {
		ev, ok := sub.Next()
		if !ok {
			if sub.Closed() {
				return
			}
			select {
			case <-sub.Ready():
				continue
			case <-ctx.Done():
				return
			case <-n.done:
				return
			}
		}
		select {
		case out <- MemberEvent{Kind: ev.Kind, Member: Member(ev.Member), Dropped: ev.Dropped}:
		case <-ctx.Done():
			return
		case <-n.done:
			return
		}
	}
}
