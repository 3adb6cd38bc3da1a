package gossip

import (
	"time"

	"github.com/hashicorp/memberlist"
)

// Anti-entropy repairs whatever pushes and broadcasts missed. Every
// AntiEntropyInterval a node A starts a round with one random peer B:
//
//	A -> B  MsgRoot     A's root digest (one small packet)
//	B       equal root: done. A round between agreeing nodes costs one packet.
//	B -> A  MsgDigests  B's per-key digests (final=false); this and all that
//	                    follows go over streams. With more than
//	                    bucketThreshold keys, first:
//	  B -> A  MsgBuckets  B's numBuckets bucket digests
//	  A -> B  MsgDigests  A's digests of the keys in differing buckets
//	                      (final=false, scoped), and roles swap below
//	A -> B  MsgWant     keys B has that A lacks or holds differently
//	A -> B  MsgDigests  A's digests of keys B lacks or holds differently (final=true)
//	B -> A  MsgWant     keys of those that B wants
//	both    MsgState    the full state of wanted keys, chunked when large
//
// Every state moves because its receiver asked for it, so a receiver that
// hears from many peers at once (a new node, a healed partition) asks for
// each key from one of them only (wants), instead of being sent the whole
// state by each.

// want is a key requested from peer, not requested elsewhere until then.
type want struct {
	peer  string
	until time.Time
}

// extendWant gives a key requested from peer more time while the chunked
// transfer delivering it keeps progressing: a large state can take longer
// than wantTTL to arrive, and asking another peer for it would only send it
// twice. Only the transfer's own key is extended (other keys requested from
// the same peer are asked elsewhere when their time is up), and never past
// the transfer's deadline, so a peer that drips chunks cannot keep a key
// from being requested from someone else.
func (g *Gossip) extendWant(peer string, p progress, now time.Time) {
	w, ok := g.wants[p.key]
	if p.key == "" || !ok || w.peer != peer {
		return
	}
	until := now.Add(g.wantTTL())
	if p.deadline.Before(until) {
		until = p.deadline
	}
	if until.After(w.until) {
		g.wants[p.key] = want{peer: peer, until: until}
	}
}

// wantTTL is how long a requested key is not requested again from another
// peer, unless it arrives first.
func (g *Gossip) wantTTL() time.Duration { return 3 * g.cfg.AntiEntropyInterval }

// antiEntropyLoop starts periodic rounds with random peers, and requested
// rounds with given peers (after a join, when a member joins).
func (g *Gossip) antiEntropyLoop() {
	defer g.wg.Done()
	tick := time.NewTicker(g.cfg.AntiEntropyInterval)
	defer tick.Stop()
	for {
		select {
		case <-g.done:
			return
		case <-tick.C:
			g.startRound("")
		case peer := <-g.rounds:
			g.startRound(peer)
		}
	}
}

// startRound sends our root digest to peer, or to a random peer if "".
func (g *Gossip) startRound(peer string) {
	var to *memberlist.Node
	if peer == "" {
		ps := g.randomPeers(1, "")
		if len(ps) == 0 {
			return
		}
		to = ps[0]
	} else if to = g.member(peer); to == nil {
		return
	}
	root, keys := g.r.Digests()
	g.stats.aeRounds.Add(1)
	g.sendPacket(to, MsgRoot, appendRoot(nil, g.cfg.Origin, rootMsg{Root: root, Keys: uint64(len(keys))}))
}

// send sends an anti-entropy reply over a stream. Only the opening root
// digest travels as a packet: when states differ, a lost digest list or
// request would cost a round (and hold the requested keys for wantTTL),
// and a round where states differ moves state over streams anyway.
func (g *Gossip) send(to *memberlist.Node, t MsgType, msg []byte) {
	g.queueSend(sendJob{to: []*memberlist.Node{to}, typ: t, msg: msg})
}

// onRoot answers a round: nothing if the roots agree, else our digests.
func (g *Gossip) onRoot(from Origin, m rootMsg) {
	root, keys := g.r.Digests()
	if root == m.Root {
		g.stats.aeEqual.Add(1)
		return
	}
	to := g.member(from.Name)
	if to == nil {
		return
	}
	if len(keys) > bucketThreshold {
		g.send(to, MsgBuckets, appendBuckets(nil, g.cfg.Origin, bucketDigests(keys)))
		return
	}
	g.send(to, MsgDigests, appendDigests(nil, g.cfg.Origin, digestsMsg{Keys: keys}))
}

// onBuckets lists our keys of the buckets that differ from the peer's.
func (g *Gossip) onBuckets(from Origin, theirs *[numBuckets]uint64) {
	to := g.member(from.Name)
	if to == nil {
		return
	}
	_, keys := g.r.Digests()
	mine := bucketDigests(keys)
	var scope bucketSet
	differ := false
	for b := range numBuckets {
		if mine[b] != theirs[b] {
			scope.add(b)
			differ = true
		}
	}
	if !differ {
		return
	}
	var list []KeyDigest
	for _, kd := range keys {
		if scope.hasKey(kd.Key) {
			list = append(list, kd)
		}
	}
	g.send(to, MsgDigests, appendDigests(nil, g.cfg.Origin, digestsMsg{Scope: &scope, Keys: list}))
}

// onDigests asks for the keys where the peer's state differs from ours and,
// unless the list was itself a reply, tells the peer which of our keys
// differ from its so it can ask for them.
func (g *Gossip) onDigests(from Origin, m digestsMsg) {
	to := g.member(from.Name)
	if to == nil {
		return
	}
	_, keys := g.r.Digests()
	mine := make(map[string]uint64, len(keys))
	for _, kd := range keys {
		mine[kd.Key] = kd.Digest
	}
	now := time.Now()
	var wanted []string
	theirs := make(map[string]uint64, len(m.Keys))
	for _, kd := range m.Keys {
		theirs[kd.Key] = kd.Digest
		if d, ok := mine[kd.Key]; ok && d == kd.Digest {
			continue
		}
		if w, ok := g.wants[kd.Key]; ok && now.Before(w.until) {
			continue
		}
		g.wants[kd.Key] = want{peer: from.Name, until: now.Add(g.wantTTL())}
		wanted = append(wanted, kd.Key)
	}
	if len(wanted) > 0 {
		g.send(to, MsgWant, appendWant(nil, g.cfg.Origin, wanted))
	}
	if m.Final {
		return
	}
	var differ []KeyDigest
	for _, kd := range keys {
		if !m.Scope.hasKey(kd.Key) {
			continue
		}
		if d, ok := theirs[kd.Key]; !ok || d != kd.Digest {
			differ = append(differ, kd)
		}
	}
	if len(differ) > 0 {
		g.send(to, MsgDigests, appendDigests(nil, g.cfg.Origin, digestsMsg{Final: true, Keys: differ}))
	}
}

// onWant sends the requested keys' state, from a sender goroutine.
func (g *Gossip) onWant(from Origin, keys keyList) {
	to := g.member(from.Name)
	if to == nil || keys.Len() == 0 {
		return
	}
	g.queueSend(sendJob{to: []*memberlist.Node{to}, typ: MsgState, keys: keys})
}
