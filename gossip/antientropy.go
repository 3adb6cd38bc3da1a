package gossip

import (
	"time"

	"github.com/hashicorp/memberlist"
)

// Anti-entropy repairs whatever pushes and broadcasts missed. Every
// AntiEntropyInterval a node A starts a round with one random peer B:
//
//	A -> B  MsgRoot       A's root digest, a nonce, a stamp (one small packet)
//	B       equal root: done. A round between agreeing nodes costs one packet.
//	B -> A  MsgRootReply  B's root, the nonce, a session token (one packet);
//	                      everything below carries the token and goes over
//	                      streams (see session.go for why)
//	A -> B  MsgDigests    A's per-key digests (final=false). With more than
//	                      bucketThreshold keys, first:
//	  A -> B  MsgBuckets  A's numBuckets bucket digests
//	  B -> A  MsgDigests  B's digests of the keys in differing buckets
//	                      (final=false, scoped), and roles swap below
//	B -> A  MsgWant     keys A has that B lacks or holds differently
//	B -> A  MsgDigests  B's digests of keys A lacks or holds differently (final=true)
//	A -> B  MsgWant     keys of those that A wants
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

// startRound sends our root digest, with a fresh nonce, to peer, or to a
// random peer if "".
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
	root, n := g.root()
	g.stats.aeRounds.Add(1)
	nonce, stamp := g.sess.openRound(to.Name, time.Now())
	g.sendPacket(to, MsgRoot, appendRoot(nil, g.cfg.Origin, rootMsg{Root: root, Keys: uint64(n), Nonce: nonce, Stamp: stamp}))
}

// send sends an anti-entropy reply over a stream. Only the opening root
// digest and its reply travel as packets: when states differ, a lost
// digest list or request would cost a round (and hold the requested keys
// for wantTTL), and a round where states differ moves state over streams
// anyway.
func (g *Gossip) send(to *memberlist.Node, t MsgType, msg []byte) {
	g.queueSend(sendJob{to: []*memberlist.Node{to}, typ: t, msg: msg})
}

// refuse counts and logs a request outside any session (see session.go).
func (g *Gossip) refuse(from Origin, t MsgType) {
	g.stats.refused.Add(1)
	g.log.Debug("refused a request outside any session (spoofed, replayed or expired)", "from", from.Name, "type", t)
}

// onRoot answers a round: nothing if the roots agree, else a root reply of
// about the root's size, which opens a session (see session.go). A root
// that is not fresh (a replay) is refused.
func (g *Gossip) onRoot(from Origin, m rootMsg) {
	to := g.member(from.Name)
	if to == nil {
		return
	}
	now := time.Now()
	if !g.sess.freshRoot(from, m.Stamp, now) {
		g.refuse(from, MsgRoot)
		return
	}
	root, _ := g.root()
	if root == m.Root {
		g.stats.aeEqual.Add(1)
		return
	}
	token := g.sess.start(from.Name, 0, now)
	g.sendPacket(to, MsgRootReply, appendRootReply(nil, g.cfg.Origin, rootReplyMsg{Root: root, Echo: m.Nonce, Token: token}))
}

// onRootReply continues a round we started: the peer proved it received our
// root, so we send it our digests (or bucket digests) under its token.
func (g *Gossip) onRootReply(from Origin, m rootReplyMsg) {
	now := time.Now()
	if !g.sess.closeRound(from.Name, m.Echo, now) {
		g.refuse(from, MsgRootReply)
		return
	}
	if g.tree != nil {
		g.onRootReplyTree(from, m, now)
		return
	}
	root, keys := g.r.Digests()
	if root == m.Root {
		return // converged meanwhile
	}
	to := g.member(from.Name)
	if to == nil {
		return
	}
	g.sess.start(from.Name, m.Token, now)
	if len(keys) > bucketThreshold {
		g.send(to, MsgBuckets, appendBuckets(nil, g.cfg.Origin, m.Token, bucketDigests(keys)))
		return
	}
	g.sess.offered(from.Name, m.Token, keys, now)
	g.send(to, MsgDigests, appendDigests(nil, g.cfg.Origin, digestsMsg{Token: m.Token, Keys: keys}))
}

// onBuckets lists our keys of the buckets that differ from the peer's.
func (g *Gossip) onBuckets(from Origin, token uint64, theirs *[numBuckets]uint64) {
	now := time.Now()
	if !g.sess.accept(from.Name, token, gotBuckets, now) {
		g.refuse(from, MsgBuckets)
		return
	}
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
	g.sess.offered(from.Name, token, list, now)
	g.send(to, MsgDigests, appendDigests(nil, g.cfg.Origin, digestsMsg{Token: token, Scope: &scope, Keys: list}))
}

// onDigests asks for the keys where the peer's state differs from ours and,
// unless the list was itself a reply, tells the peer which of our keys
// differ from its so it can ask for them.
func (g *Gossip) onDigests(from Origin, m digestsMsg) {
	now := time.Now()
	kind := gotDigests
	if m.Final {
		kind = gotDigestsFinal
	}
	if !g.sess.accept(from.Name, m.Token, kind, now) {
		g.refuse(from, MsgDigests)
		return
	}
	to := g.member(from.Name)
	if to == nil {
		return
	}
	_, keys := g.r.Digests()
	mine := make(map[string]uint64, len(keys))
	for _, kd := range keys {
		mine[kd.Key] = kd.Digest
	}
	var wanted []string
	var failed map[string]bool
	theirs := make(map[string]uint64, len(m.Keys))
	for _, kd := range m.Keys {
		theirs[kd.Key] = kd.Digest
		if d, ok := mine[kd.Key]; ok && d == kd.Digest {
			continue
		}
		if !g.mayWant(kd.Key, from.Name, now, &failed) {
			continue
		}
		g.wants[kd.Key] = want{peer: from.Name, until: now.Add(g.wantTTL())}
		wanted = append(wanted, kd.Key)
	}
	g.handOff(failed)
	if len(wanted) > 0 {
		g.send(to, MsgWant, appendWant(nil, g.cfg.Origin, m.Token, wanted))
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
		g.sess.offered(from.Name, m.Token, differ, now)
		g.send(to, MsgDigests, appendDigests(nil, g.cfg.Origin, digestsMsg{Token: m.Token, Final: true, Keys: differ}))
	}
}

// onWant sends the requested keys' state, from a sender goroutine: only
// keys we offered in the want's session, each once (see session.go).
func (g *Gossip) onWant(from Origin, token uint64, keys keyList) {
	send, ok := g.sess.want(from.Name, token, keys, time.Now())
	if !ok {
		g.refuse(from, MsgWant)
		return
	}
	to := g.member(from.Name)
	if to == nil || len(send) == 0 {
		return
	}
	g.queueSend(sendJob{to: []*memberlist.Node{to}, typ: MsgState, keys: newKeyList(send)})
}
