package gossip

import (
	"encoding/binary"
	"time"

	"github.com/hashicorp/memberlist"
)

// delegate receives memberlist's callbacks. Callbacks run on memberlist's
// goroutines (some under its locks) and must never block: they copy the
// bytes (memberlist reuses its buffers), check the header, and hand the
// message to the worker through a bounded queue, dropping and counting what
// does not fit.
type delegate Gossip

var (
	_ memberlist.Delegate      = (*delegate)(nil)
	_ memberlist.EventDelegate = (*eventDelegate)(nil)
)

// inMsg is a received message waiting for the worker.
type inMsg struct {
	h    header
	body *reader
	size int
}

// NodeMeta publishes our epoch, so Members can report peers' epochs.
func (d *delegate) NodeMeta(limit int) []byte {
	b := binary.AppendUvarint(nil, d.cfg.Origin.Epoch)
	if len(b) > limit {
		return nil
	}
	return b
}

// NotifyMsg receives user messages: packets (pushes, broadcasts, roots) and
// streams (everything larger).
func (d *delegate) NotifyMsg(b []byte) {
	g := (*Gossip)(d)
	if g.isClosed() || len(b) == 0 {
		return
	}
	if len(b) > g.cfg.MaxBlob {
		g.stats.decodeErrors.Add(1)
		g.log.Debug("dropped oversize message", "bytes", len(b))
		return
	}
	buf := make([]byte, len(b))
	copy(buf, b)
	h, r, err := decodeHeader(buf)
	if err != nil {
		g.stats.decodeErrors.Add(1)
		g.log.Debug("dropped undecodable message", "err", err)
		return
	}
	g.stats.recv[h.Type].add(len(buf))
	if h.Type == MsgLeave {
		g.events.markLeaving(h.From) // before memberlist's own leave arrives (see hub)
	}
	if h.Type == MsgAck {
		// Acks are cheap and time-sensitive: one waiting behind a backlog
		// of merges would trigger a needless retransmission.
		acks, err := decodeAck(r)
		if err != nil {
			g.stats.decodeErrors.Add(1)
			g.log.Debug("dropped bad message", "from", h.From.Name, "type", h.Type, "err", err)
			return
		}
		g.direct.onAck(h.From.Name, acks)
		return
	}
	g.enqueueInbound(inMsg{h: h, body: r, size: len(buf)})
}

// enqueueInbound hands m to the worker, or drops it when the queue is full
// by count or by bytes.
func (g *Gossip) enqueueInbound(m inMsg) {
	if g.inboundBytes.Add(int64(m.size)) > g.cfg.InboundQueueBytes {
		g.inboundBytes.Add(-int64(m.size))
		g.stats.droppedInbound.Add(1)
		return
	}
	select {
	case g.inbound <- m:
	default:
		g.inboundBytes.Add(-int64(m.size))
		g.stats.droppedInbound.Add(1)
	}
}

// GetBroadcasts hands memberlist the queued deltas that fit its packet.
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	g := (*Gossip)(d)
	msgs := g.bq.q.GetBroadcasts(overhead, limit)
	for _, m := range msgs {
		g.stats.sent[MsgDelta].add(len(m))
	}
	return msgs
}

// LocalState and MergeRemoteState are unused: memberlist's push-pull runs
// every 30 s with a 20 MiB cap, so state moves by our own anti-entropy.
func (d *delegate) LocalState(join bool) []byte            { return nil }
func (d *delegate) MergeRemoteState(buf []byte, join bool) {}

// eventDelegate receives membership events. Same rules: never block.
type eventDelegate Gossip

// NotifyJoin remembers the member for the rejoin loop and asks for an
// anti-entropy round with it, so a new member catches up at once.
func (e *eventDelegate) NotifyJoin(n *memberlist.Node) {
	g := (*Gossip)(e)
	g.memberJoined(n)
	if n.Name == g.cfg.Origin.Name {
		return
	}
	g.remember(n)
	g.requestRound(n.Name)
}

// NotifyLeave drops the member from the live table. A member that left
// (memberlist sets StateLeft when it announced its leave; our own MsgLeave
// says the same) is never re-dialled; one that died is, by the rejoin loop.
func (e *eventDelegate) NotifyLeave(n *memberlist.Node) {
	g := (*Gossip)(e)
	g.memberLeft(n)
	if n.State == memberlist.StateLeft && n.Name != g.cfg.Origin.Name {
		g.peers.leave(n.Name, n.Address(), toMember(n).Epoch, time.Now())
	}
}

// NotifyUpdate records a member's new address or metadata.
func (e *eventDelegate) NotifyUpdate(n *memberlist.Node) {
	g := (*Gossip)(e)
	g.memberUpdated(n)
	if n.Name != g.cfg.Origin.Name {
		g.remember(n)
	}
}

// remember records a live member for the rejoin loop, unless that
// incarnation already said it left (its leave overtook memberlist's news
// of it).
func (g *Gossip) remember(n *memberlist.Node) {
	if m := toMember(n); !g.peers.seen(m.Name, n.Address(), m.Epoch) {
		g.log.Debug("alive news of a member that left; not re-dialled", "member", m.Name, "epoch", m.Epoch)
	}
}
