package gossip

import (
	"crypto/rand"
	"encoding/binary"
	"slices"
	"strings"
	"sync"
	"time"
)

// Sessions. memberlist does not say who sent a message, and the header's
// origin is whatever the sender wrote, so a member (or, without a
// SecretKey, anyone) could name another member in a request and make us
// send that member our state: one want listing a large key many times, or
// a root that differs from ours, would turn this node into an amplifier.
// Captured traffic could also be replayed, key or no key. So an
// anti-entropy round is a session that the named member must prove it
// takes part in:
//
//	X -> Y  MsgRoot       root, nonce n (a packet to Y's address)
//	Y -> X  MsgRootReply  Y's root, echo n, token t (a packet to X's address)
//	X -> Y  MsgBuckets or MsgDigests, token t ... the round as before,
//	        every message carrying t
//
// Y answers a root with one packet about as large as the root, whoever
// sent it. X accepts the reply only if it echoes the nonce of a root X sent
// to Y, so X knows the reply came from Y's address; Y accepts the rest of
// the round only with the token it sent to X's address, so Y knows it is
// talking to X. Each session accepts each kind of message once, and a want
// only for keys this side listed in the session, each key once: a want's
// reply holds at most one copy of the state this node offered to the
// member it proved to be, and a replayed message finds its session used up
// or expired. Nonces and tokens are 64 random bits.
//
// A root carries its sender's clock, increasing with every root it sends.
// A root is answered only if its stamp is later than the last one answered
// for that member (and epoch) and within rootAhead of our clock, so a
// replayed root costs nothing either. A member's roots that arrive out of
// order lose a round, harmlessly; a member whose clock runs more than
// rootAhead ahead of ours has its roots refused, but rounds we start with
// it still run.

// Kinds of session messages, one bit each: a session accepts each once.
const (
	gotBuckets uint8 = 1 << iota
	gotDigests
	gotDigestsFinal
	gotWant
	gotTree1 // MsgTree of level 1 (digest tree, see treeae.go); 2 and 3 follow
	gotTree2
	gotTree3
)

// rootAhead is how far ahead of our clock a root's stamp may be. A member
// that forged stamps for another one can hold that member's roots off for
// this long at most.
const rootAhead = 10 * time.Second

// Limits on session bookkeeping: a peer flooding roots replaces its own
// oldest sessions, never another peer's.
const (
	maxSessionsPerPeer = 4
	maxRoundsPerPeer   = 4
)

// session is one anti-entropy round with a peer.
type session struct {
	token uint64
	until time.Time
	got   uint8       // kinds of messages received
	offer []KeyDigest // keys this side listed to the peer, sorted by key
	sent  []bool      // offer[i] already sent in reply to the want
}

// round is a root we sent and have not had a reply to.
type round struct {
	nonce uint64
	until time.Time
}

// sessionBook holds the open rounds and sessions. It is shared by the
// anti-entropy loop (which opens rounds) and the worker.
type sessionBook struct {
	mu       sync.Mutex
	ttl      time.Duration
	rounds   map[string][]round    // guarded by mu; by peer name
	sessions map[string][]*session // guarded by mu; by peer name
	stamp    uint64                // guarded by mu; stamp of our last root

	// lastRoot is owned by the worker: the latest root stamp answered,
	// by member.
	lastRoot map[string]rootSeen
}

// rootSeen is the latest root answered for a member.
type rootSeen struct {
	epoch uint64
	stamp uint64
}

func newSessionBook(ttl time.Duration) *sessionBook {
	return &sessionBook{ttl: ttl, rounds: make(map[string][]round), sessions: make(map[string][]*session),
		lastRoot: make(map[string]rootSeen)}
}

// random64 returns 64 unpredictable bits.
func random64() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return binary.BigEndian.Uint64(b[:])
}

// openRound records a root about to be sent to peer and returns its nonce
// and stamp.
func (sb *sessionBook) openRound(peer string, now time.Time) (nonce, stamp uint64) {
	r := round{nonce: random64(), until: now.Add(sb.ttl)}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sb.stamp = max(sb.stamp+1, uint64(now.UnixNano()))
	rs := append(sb.rounds[peer], r)
	if len(rs) > maxRoundsPerPeer {
		rs = rs[len(rs)-maxRoundsPerPeer:]
	}
	sb.rounds[peer] = rs
	return r.nonce, sb.stamp
}

// freshRoot reports whether a root from from stamped stamp is later than
// the last one answered and not too far ahead, and records it. Called by
// the worker only.
func (sb *sessionBook) freshRoot(from Origin, stamp uint64, now time.Time) bool {
	last, ok := sb.lastRoot[from.Name]
	if ok && last.epoch == from.Epoch && stamp <= last.stamp {
		return false
	}
	if stamp > uint64(now.Add(rootAhead).UnixNano()) {
		return false
	}
	sb.lastRoot[from.Name] = rootSeen{epoch: from.Epoch, stamp: stamp}
	return true
}

// forgetRoots drops the root stamps of peers that are no longer members.
// Called by the worker only.
func (sb *sessionBook) forgetRoots(isMember func(string) bool) {
	for name := range sb.lastRoot {
		if !isMember(name) {
			delete(sb.lastRoot, name)
		}
	}
}

// closeRound consumes the open round with peer whose nonce is echo and
// reports whether there was one.
func (sb *sessionBook) closeRound(peer string, echo uint64, now time.Time) bool {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	rs := sb.rounds[peer]
	for i, r := range rs {
		if r.nonce == echo && now.Before(r.until) {
			rs = slices.Delete(rs, i, i+1)
			if len(rs) == 0 {
				delete(sb.rounds, peer)
			} else {
				sb.rounds[peer] = rs
			}
			return true
		}
	}
	return false
}

// start opens a session with peer under token: chosen here when answering
// a root (token 0: a fresh one), or received in a root reply.
func (sb *sessionBook) start(peer string, token uint64, now time.Time) uint64 {
	if token == 0 {
		token = random64()
	}
	s := &session{token: token, until: now.Add(sb.ttl)}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	ss := append(sb.sessions[peer], s)
	if len(ss) > maxSessionsPerPeer {
		ss = ss[len(ss)-maxSessionsPerPeer:]
	}
	sb.sessions[peer] = ss
	return token
}

// findLocked returns peer's live session with token, or nil.
func (sb *sessionBook) findLocked(peer string, token uint64, now time.Time) *session {
	for _, s := range sb.sessions[peer] {
		if s.token == token && now.Before(s.until) {
			return s
		}
	}
	return nil
}

// accept reports whether a message of kind from peer with token belongs to
// a live session that has not received that kind yet, and marks it
// received.
func (sb *sessionBook) accept(peer string, token uint64, kind uint8, now time.Time) bool {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	s := sb.findLocked(peer, token, now)
	if s == nil || s.got&kind != 0 {
		return false
	}
	s.got |= kind
	return true
}

// offered records the keys this side lists to peer in the session: the
// only keys a want of that session can ask for. keys must be sorted.
func (sb *sessionBook) offered(peer string, token uint64, keys []KeyDigest, now time.Time) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if s := sb.findLocked(peer, token, now); s != nil {
		s.offer = append(s.offer, keys...)
		slices.SortFunc(s.offer, func(a, b KeyDigest) int { return strings.Compare(a.Key, b.Key) })
		s.sent = make([]bool, len(s.offer))
	}
}

// want accepts peer's want of the session token and returns the keys to
// send: those offered in the session, each once, in the order asked. ok is
// false if the want belongs to no live session or the session had one.
func (sb *sessionBook) want(peer string, token uint64, keys keyList, now time.Time) (send []string, ok bool) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	s := sb.findLocked(peer, token, now)
	if s == nil || s.got&gotWant != 0 {
		return nil, false
	}
	s.got |= gotWant
	for k := range keys.All() {
		i, found := slices.BinarySearchFunc(s.offer, k, func(kd KeyDigest, k string) int { return strings.Compare(kd.Key, k) })
		if found && !s.sent[i] {
			s.sent[i] = true
			send = append(send, k)
		}
	}
	return send, true
}

// expire drops rounds and sessions past their time.
func (sb *sessionBook) expire(now time.Time) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	for p, rs := range sb.rounds {
		rs = slices.DeleteFunc(rs, func(r round) bool { return !now.Before(r.until) })
		if len(rs) == 0 {
			delete(sb.rounds, p)
		} else {
			sb.rounds[p] = rs
		}
	}
	for p, ss := range sb.sessions {
		ss = slices.DeleteFunc(ss, func(s *session) bool { return !now.Before(s.until) })
		if len(ss) == 0 {
			delete(sb.sessions, p)
		} else {
			sb.sessions[p] = ss
		}
	}
}
