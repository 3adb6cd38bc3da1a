package gossip

import (
	"slices"
	"strings"
	"time"
)

// Anti-entropy over the digest tree, used when the replica is a
// DigestSource. After the root exchange that opens a session (see
// session.go), a round where roots differ descends the tree, every message
// carrying the session's token:
//
//	X -> Y  MsgRoot, Y -> X MsgRootReply (roots differ; token t)
//	X -> Y  MsgTree 1       X's 16 level-1 sums
//	Y -> X  MsgTree 2       Y's children of the level-1 nodes that differ
//	X -> Y  MsgTree 3       X's children of the level-2 nodes that differ
//	Y -> X  MsgTreeDigests  Y's key digests in the leaves that differ
//	X       wants what differs, and sends its differing digests (final)
//	Y       wants what differs; both send the wanted states
//
// Each step lists only nodes below a difference, so d differing keys cost
// O(d) digests however many keys agree. Each side receives each kind of
// message once per session, and a want may ask only for keys its sender
// was offered, as in the bucket protocol.

// root returns the root digest and the number of keys: from the tree if
// there is one, else from Replica.Digests.
func (g *Gossip) root() (uint64, int) {
	if g.tree != nil {
		return g.tree.root()
	}
	root, keys := g.r.Digests()
	return root, len(keys)
}

// onRootReplyTree continues a round we started, on the tree.
func (g *Gossip) onRootReplyTree(from Origin, m rootReplyMsg, now time.Time) {
	if root, _ := g.tree.root(); root == m.Root {
		return // converged meanwhile
	}
	to := g.member(from.Name)
	if to == nil {
		return
	}
	g.sess.start(from.Name, m.Token, now)
	parents := []uint32{0}
	g.send(to, MsgTree, appendTree(nil, g.cfg.Origin, treeMsg{Token: m.Token, Level: 1, Parents: parents, Sums: g.tree.children(1, parents)}))
}

// treeKinds are the session kinds of MsgTree by level.
var treeKinds = [treeDepth + 1]uint8{1: gotTree1, 2: gotTree2, 3: gotTree3}

// onTree descends into the nodes where the peer's sums differ from ours.
func (g *Gossip) onTree(from Origin, m treeMsg) {
	now := time.Now()
	if g.tree == nil || !g.sess.accept(from.Name, m.Token, treeKinds[m.Level], now) {
		g.refuse(from, MsgTree)
		return
	}
	to := g.member(from.Name)
	if to == nil {
		return
	}
	diff := g.tree.differing(m.Level, m.Parents, m.Sums)
	if len(diff) == 0 {
		return
	}
	if m.Level < treeDepth {
		g.send(to, MsgTree, appendTree(nil, g.cfg.Origin, treeMsg{Token: m.Token, Level: m.Level + 1, Parents: diff, Sums: g.tree.children(m.Level+1, diff)}))
		return
	}
	keys := g.tree.keysIn(diff)
	g.sess.offered(from.Name, m.Token, keys, now)
	g.send(to, MsgTreeDigests, appendTreeDigests(nil, g.cfg.Origin, treeDigestsMsg{Token: m.Token, Leaves: diff, Keys: keys}))
}

// onTreeDigests asks for the keys of the peer's list that differ from ours
// and, unless the list was a reply, offers ours of the same leaves that
// differ from the peer's.
func (g *Gossip) onTreeDigests(from Origin, m treeDigestsMsg) {
	now := time.Now()
	kind := gotDigests
	if m.Final {
		kind = gotDigestsFinal
	}
	if g.tree == nil || !g.sess.accept(from.Name, m.Token, kind, now) {
		g.refuse(from, MsgTreeDigests)
		return
	}
	to := g.member(from.Name)
	if to == nil {
		return
	}
	theirs := make(map[string]uint64, len(m.Keys))
	var wanted []string
	var failed map[string]bool
	for _, kd := range m.Keys {
		theirs[kd.Key] = kd.Digest
		if d, ok := g.tree.digest(kd.Key); ok && d == kd.Digest {
			continue
		}
		if !g.mayWant(kd.Key, from.Name, now, &failed) {
			continue
		}
		g.wants[kd.Key] = want{peer: from.Name, until: now.Add(g.wantTTL())}
		wanted = append(wanted, kd.Key)
	}
	g.handOff(failed) // see wants.go: unanswered keys go to other peers
	if len(wanted) > 0 {
		g.send(to, MsgWant, appendWant(nil, g.cfg.Origin, m.Token, wanted))
	}
	if m.Final {
		return
	}
	var differ []KeyDigest
	for _, kd := range g.tree.keysIn(m.Leaves) {
		if d, ok := theirs[kd.Key]; !ok || d != kd.Digest {
			differ = append(differ, kd)
		}
	}
	if len(differ) > 0 {
		g.sess.offered(from.Name, m.Token, differ, now)
		g.send(to, MsgTreeDigests, appendTreeDigests(nil, g.cfg.Origin, treeDigestsMsg{Token: m.Token, Leaves: m.Leaves, Final: true, Keys: differ}))
	}
}

// sortKeyDigests sorts a digest list by key.
func sortKeyDigests(l []KeyDigest) {
	slices.SortFunc(l, func(a, b KeyDigest) int { return strings.Compare(a.Key, b.Key) })
}
