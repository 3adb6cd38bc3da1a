package gossip

import (
	"math"
	"time"
)

// Wants that go unanswered. A key is requested from one peer at a time
// (wants), so a member that claims every key with a wrong digest and never
// sends the state would, by claiming them again whenever the wants expire,
// keep a node from ever asking an honest peer. So when a want expires
// unanswered, the key is not requested from that peer again for
// squatPenalty (other peers' digests get it), and a round is started at
// once with another peer, so the key is handed to someone else rather than
// back to the squatter.

// unanswered is a key that peer was asked for and did not send in time.
type unanswered struct {
	peer  string
	until time.Time
}

// maxWants bounds the keys requested and not yet received: a peer can
// list keys we do not have by the thousand.
const maxWants = 1 << 16

// squatPenalty is how long a key that a peer left unanswered is not
// requested from it again.
func (g *Gossip) squatPenalty() time.Duration { return 10 * g.wantTTL() }

// mayWant reports whether key may be requested from peer now: it is not
// requested elsewhere, peer did not leave it unanswered lately, and the
// wants are not full. A want found expired is recorded as unanswered (and
// its peer added to *failed) first.
func (g *Gossip) mayWant(key, peer string, now time.Time, failed *map[string]bool) bool {
	if w, ok := g.wants[key]; ok {
		if now.Before(w.until) {
			return false
		}
		g.unanswer(key, w, now, failed)
	}
	if u, ok := g.unanswered[key]; ok && u.peer == peer && now.Before(u.until) {
		return false
	}
	return len(g.wants) < maxWants
}

// unanswer drops the expired want of key, remembers that its peer left it
// unanswered, and adds the peer to *failed.
func (g *Gossip) unanswer(key string, w want, now time.Time, failed *map[string]bool) {
	delete(g.wants, key)
	g.unanswered[key] = unanswered{peer: w.peer, until: now.Add(g.squatPenalty())}
	if *failed == nil {
		*failed = make(map[string]bool)
	}
	(*failed)[w.peer] = true
}

// expireWants drops wants past their time as unanswered and hands them
// off. Called by the worker every AntiEntropyInterval; onDigests finds the
// wants that expire between its calls.
func (g *Gossip) expireWants(now time.Time) {
	var failed map[string]bool
	for k, w := range g.wants {
		if now.After(w.until) {
			g.unanswer(k, w, now, &failed)
		}
	}
	for k, u := range g.unanswered {
		if !now.Before(u.until) {
			delete(g.unanswered, k)
		}
	}
	g.handOff(failed)
}

// handOff starts a round with a random peer that is not in failed, so the
// keys failed peers left unanswered are requested from someone else.
func (g *Gossip) handOff(failed map[string]bool) {
	if len(failed) == 0 {
		return
	}
	g.stats.wantsExpired.Add(uint64(len(failed)))
	for _, p := range g.randomPeers(math.MaxInt, "") {
		if !failed[p.Name] {
			g.requestRound(p.Name)
			return
		}
	}
}
