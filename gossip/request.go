package gossip

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Requests and replies: the consistency levels of package node are built on
// three calls, each a round of requests to the live peers that returns once
// enough of them answered:
//
//	Deliver  MsgWriteReq -> MsgReqAck        merge this delta and say so
//	Fetch    MsgReadReq  -> MsgReadReply  send me your state of key
//	Confirm  MsgHaveReq  -> MsgReqAck        do you hold this delta already?
//
// Every send carries a fresh random ID, registered for the one peer it went
// to; a reply is accepted once per ID, from that peer (name and epoch), and
// the ID is forgotten with it: a late or replayed reply finds nothing. A
// request unanswered after RequestRetry is sent again under a new ID,
// backing off to 16 × RequestRetry, until the call's context ends.
// Receivers ignore requests from non-members and IDs they have already
// seen from the same origin, and cap the work one peer can have queued.
// Requests and replies travel as packets when they fit the packet budget,
// over streams otherwise. A read reply more than proofFactor times the size
// of its request is not sent to the member the request names until that
// member proves it asked: the first reply is a small token sent to its
// address (statusProve), and the state goes only to a request carrying it.
// So a forged read request costs its victim one small packet, and this node
// is no amplifier. A token stays valid for proofTTL and the requester keeps
// sending it, so only its first large read from a peer takes the extra
// round trip; replays are refused by request ID as every request is.
//
// An acknowledgement is sent only after Replica.Merge returned nil and, if
// the replica is a Committer, Commit returned nil: acknowledged means
// merged and, for a durable replica, durable.

// Holder is an optional Replica extension that answers MsgHaveReq.
// Without it, have-requests are refused and Confirm never succeeds.
type Holder interface {
	// Holds reports whether key's state already covers blob: merging
	// blob would change nothing. It must not merge it.
	Holds(key string, blob []byte) (bool, error)
}

// Committer is an optional Replica extension for replicas that persist
// state: before a write request is acknowledged, Commit(key) must make
// key's merged state durable. It runs on the key's merge goroutine, so a
// slow commit delays that key only.
type Committer interface {
	Commit(key string) error
}

// ErrTooFewPeers is returned by Deliver, Fetch and Confirm when fewer peers
// than needed are live or still able to answer (the others refused).
var ErrTooFewPeers = errors.New("gossip: too few peers can answer")

// Limits on request bookkeeping.
const (
	maxPendingIDs         = 1 << 16 // outstanding request IDs, all calls
	maxRequestsPerPeer    = 64      // requests of one peer being served
	maxStreamRepliesPeer  = 2       // of those, replies going over streams
	replayWindow          = 128     // request IDs remembered per origin
	maxReplayOrigins      = 4096    // origins remembered
	maxRetryBackoffFactor = 16
	proofFactor           = 4                // read replies up to 4x the request need no proof
	proofTTL              = 30 * time.Second // how long a read token is valid
)

// call is one Deliver, Fetch or Confirm in progress.
type call struct {
	typ  MsgType
	key  string
	blob []byte
	wake chan struct{} // capacity 1: a peer's state changed

	mu    sync.Mutex
	peers map[string]*peerCall // guarded by mu; by name
}

// peerCall is one peer's part in a call.
type peerCall struct {
	node  *memberlist.Node
	m     Member
	token uint64    // read token the peer gave us (statusProve), 0 if none
	asked bool      // re-asked at once after a token: later tokens wait for the retry
	id    uint64    // outstanding request ID, 0 if none
	done  bool      // answered
	fail  bool      // refused or sent a bad reply: not asked again
	tries int       // sends so far
	next  time.Time // when to send (again), if !done && !fail
}

// callTable maps outstanding request IDs to their call and peer.
type callTable struct {
	mu   sync.Mutex
	byID map[uint64]callRef // guarded by mu
}

type callRef struct {
	c    *call
	peer string
}

// register returns a fresh ID for a send of c to peer, or 0 if too many
// are outstanding.
func (t *callTable) register(c *call, peer string) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID == nil {
		t.byID = make(map[uint64]callRef)
	}
	if len(t.byID) >= maxPendingIDs {
		return 0
	}
	for {
		id := rand.Uint64()
		if _, dup := t.byID[id]; id != 0 && !dup {
			t.byID[id] = callRef{c: c, peer: peer}
			return id
		}
	}
}

// take removes and returns the call of id: one reply per ID.
func (t *callTable) take(id uint64) (callRef, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ref, ok := t.byID[id]
	delete(t.byID, id)
	return ref, ok
}

func (t *callTable) drop(id uint64) {
	t.mu.Lock()
	delete(t.byID, id)
	t.mu.Unlock()
}

// Deliver sends delta for key, which the replica already holds, to every
// live peer as a write request and returns once need of them acknowledged
// having merged it, with those peers. Requests are resent to peers that
// have not answered until the call returns; receivers do not forward the
// delta, as it went to everyone. With DisseminateEpidemic the delta is also
// queued as a broadcast (if it fits a packet); a peer that has not merged
// it when the call returns gets it from anti-entropy.
// If ctx ends first, it returns the peers that acknowledged so far and
// ctx.Err(); with fewer than need peers able to answer, ErrTooFewPeers at
// once. Either way the delta keeps spreading by gossip.
func (g *Gossip) Deliver(ctx context.Context, key string, delta []byte, need int) ([]Member, error) {
	if err := g.checkKey(key); err != nil {
		return nil, err
	}
	if len(delta) == 0 {
		return nil, fmt.Errorf("%w: empty delta", ErrTooLarge)
	}
	if n := len(appendReq(nil, MsgWriteReq, g.cfg.Origin, reqMsg{Key: key, Blob: delta})); n > g.cfg.MaxBlob {
		return nil, fmt.Errorf("%w: write request of %d bytes, MaxBlob %d", ErrTooLarge, n, g.cfg.MaxBlob)
	}
	if g.cfg.Dissemination != DisseminateDirect && len(appendDelta(nil, g.cfg.Origin, key, delta)) <= g.budget {
		g.bq.enqueue(key, delta)
	}
	return g.collect(ctx, MsgWriteReq, key, delta, need, nil)
}

// Fetch asks every live peer for its state of key, merges each state
// received into the replica, and returns once need peers answered (a peer
// without the key answers too; one whose state fails to merge counts as
// not answering), with those peers. If ctx ends first it returns the peers
// that answered so far and ctx.Err().
func (g *Gossip) Fetch(ctx context.Context, key string, need int) ([]Member, error) {
	if err := g.checkKey(key); err != nil {
		return nil, err
	}
	return g.collect(ctx, MsgReadReq, key, nil, need, nil)
}

// Confirm asks the live peers for which skip is false whether their state
// already covers delta for key, asking again those that do not yet, and
// returns once need of them do, with those peers. It never sends the
// delta for merging: it observes how far gossip has spread it. If ctx ends
// first it returns the peers that confirmed so far and ctx.Err().
func (g *Gossip) Confirm(ctx context.Context, key string, delta []byte, need int, skip func(Member) bool) ([]Member, error) {
	if err := g.checkKey(key); err != nil {
		return nil, err
	}
	return g.collect(ctx, MsgHaveReq, key, delta, need, skip)
}

func (g *Gossip) checkKey(key string) error {
	if g.isClosed() {
		return ErrClosed
	}
	if key == "" {
		return ErrEmptyKey
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("%w: key of %d bytes, limit %d", ErrTooLarge, len(key), maxKeyLen)
	}
	return nil
}

// collect runs a call: it sends typ to every live peer not skipped, resends
// to those that have not answered, and returns once need answered.
func (g *Gossip) collect(ctx context.Context, typ MsgType, key string, blob []byte, need int, skip func(Member) bool) ([]Member, error) {
	if need <= 0 {
		return nil, nil
	}
	c := &call{typ: typ, key: key, blob: blob, wake: make(chan struct{}, 1), peers: make(map[string]*peerCall)}
	now := time.Now()
	for _, n := range g.table.all() {
		m := toMember(n)
		if m.Name == g.cfg.Origin.Name || (skip != nil && skip(m)) {
			continue
		}
		p := &peerCall{node: n, m: m, next: now}
		if typ == MsgReadReq {
			p.token = g.proofs.token(m.Name)
		}
		c.peers[m.Name] = p
	}
	defer g.endCall(c)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		answered, sends, wait, possible := g.stepCall(c, time.Now())
		// Send even when the call cannot succeed: a write still reaches
		// the peers there are at once.
		for _, s := range sends {
			g.sendRequest(s.to, s.msg)
		}
		if len(answered) >= need {
			return answered, nil
		}
		if possible < need {
			return answered, fmt.Errorf("%w: %d of %d needed can answer", ErrTooFewPeers, possible, need)
		}
		timer.Reset(wait)
		select {
		case <-c.wake:
		case <-timer.C:
		case <-ctx.Done():
			return answered, ctx.Err()
		case <-g.done:
			return answered, ErrClosed
		}
	}
}

type pendingSend struct {
	to  *memberlist.Node
	msg []byte
}

// stepCall returns the peers that answered, the sends due at now (with
// fresh IDs registered), the time until the next send is due, and how many
// peers can still answer.
func (g *Gossip) stepCall(c *call, now time.Time) (answered []Member, sends []pendingSend, wait time.Duration, possible int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	wait = time.Hour
	for name, p := range c.peers {
		switch {
		case p.done:
			answered = append(answered, p.m)
			possible++
			continue
		case p.fail:
			continue
		}
		possible++
		if !p.next.After(now) {
			if p.id != 0 {
				g.calls.drop(p.id)
				g.stats.requestRetries.Add(1)
			}
			p.id = g.calls.register(c, name)
			p.tries++
			p.next = now.Add(g.retryAfter(p.tries))
			if p.id != 0 {
				sends = append(sends, pendingSend{to: p.node, msg: appendReq(nil, c.typ, g.cfg.Origin, reqMsg{ID: p.id, Key: c.key, Blob: c.blob, Token: p.token})})
			}
		}
		wait = min(wait, p.next.Sub(now))
	}
	return answered, sends, wait, possible
}

// retryAfter is the wait after the tries'th send of a request.
func (g *Gossip) retryAfter(tries int) time.Duration {
	f := 1 << min(tries-1, 4)
	return g.cfg.RequestRetry * time.Duration(min(f, maxRetryBackoffFactor))
}

// endCall forgets the call's outstanding IDs: later replies find nothing.
func (g *Gossip) endCall(c *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.peers {
		if p.id != 0 {
			g.calls.drop(p.id)
			p.id = 0
		}
	}
}

// sendRequest sends a request as a packet if it fits, else over a stream.
func (g *Gossip) sendRequest(to *memberlist.Node, msg []byte) {
	t := MsgType(msg[1])
	g.stats.requests.Add(1)
	if len(msg) <= g.budget {
		g.sendPacket(to, t, msg)
		return
	}
	g.queueSend(sendJob{to: []*memberlist.Node{to}, typ: t, msg: msg})
}

// settle records peer's answer to c: ok, not yet (retry later), or failed.
func (c *call) settle(peer string, id uint64, ok, retry bool) {
	c.mu.Lock()
	if p := c.peers[peer]; p != nil && p.id == id {
		p.id = 0
		switch {
		case ok:
			p.done = true
		case !retry:
			p.fail = true
		}
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// prove records the read token peer sent and asks it again: at once the
// first time, so a peer that keeps sending tokens cannot make us spin.
func (c *call) prove(peer string, id, token uint64) {
	c.mu.Lock()
	if p := c.peers[peer]; p != nil && p.id == id {
		p.id, p.token = 0, token
		if !p.asked {
			p.asked, p.next = true, time.Time{}
		}
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// onReply handles a MsgReqAck or MsgReadReply.
func (g *Gossip) onReply(h header, m replyMsg, ref *inflight) {
	cr, ok := g.calls.take(m.ID)
	if !ok {
		g.stats.repliesStale.Add(1)
		return
	}
	c := cr.c
	c.mu.Lock()
	p := c.peers[cr.peer]
	valid := p != nil && p.m.Name == h.From.Name && p.m.Epoch == h.From.Epoch
	c.mu.Unlock()
	wantType := MsgReqAck
	if c.typ == MsgReadReq {
		wantType = MsgReadReply
	}
	if !valid || h.Type != wantType {
		g.stats.repliesBad.Add(1)
		g.log.Debug("refused reply", "from", h.From.Name, "type", h.Type, "for", c.typ)
		c.settle(cr.peer, m.ID, false, false)
		return
	}
	switch {
	case m.Status == statusRefused:
		c.settle(cr.peer, m.ID, false, false)
	case m.Status == statusProve:
		tok := binary.BigEndian.Uint64(m.Blob)
		g.proofs.received(cr.peer, tok)
		c.prove(cr.peer, m.ID, tok)
	case c.typ == MsgHaveReq && m.Status == statusNo:
		c.settle(cr.peer, m.ID, false, true)
	case c.typ == MsgWriteReq && m.Status == statusNo:
		c.settle(cr.peer, m.ID, false, false)
	case c.typ == MsgReadReq && m.Status == statusOK:
		// Merge on the key's merge queue, after what came before it.
		e := entry{Key: c.key, Blob: m.Blob}
		job := mergeJob{from: h.From, e: e, ref: ref, do: func() {
			_, err := g.mergeErr(h.From, e)
			if err != nil {
				g.stats.repliesBad.Add(1)
			}
			c.settle(cr.peer, m.ID, err == nil, false)
		}}
		if !g.pool.submit(job) {
			g.stats.droppedInbound.Add(1)
			c.settle(cr.peer, m.ID, false, true) // ask again
		}
	default:
		c.settle(cr.peer, m.ID, true, false)
	}
}

// onRequest serves a MsgWriteReq, MsgHaveReq or MsgReadReq. The work runs
// on the key's merge queue, so it sees every blob received for the key
// before it.
func (g *Gossip) onRequest(h header, m reqMsg, ref *inflight) {
	n := g.member(h.From.Name)
	if n == nil || toMember(n).Epoch != h.From.Epoch || g.replays.seen(h.From, m.ID) {
		g.stats.requestsRefused.Add(1)
		return
	}
	if !g.load.acquire(h.From.Name, maxRequestsPerPeer) {
		g.stats.requestsRefused.Add(1)
		return
	}
	e := entry{Key: m.Key, Blob: m.Blob}
	reqSize := len(appendReq(nil, h.Type, h.From, m))
	job := mergeJob{from: h.From, e: e, ref: ref, do: func() {
		defer g.load.release(h.From.Name)
		switch h.Type {
		case MsgWriteReq:
			status := statusOK
			if _, err := g.mergeErr(h.From, e); err != nil {
				status = statusRefused
			} else if c, ok := g.r.(Committer); ok {
				if err := c.Commit(m.Key); err != nil {
					g.log.Warn("commit before acknowledging failed", "key", m.Key, "err", err)
					status = statusRefused
				}
			}
			g.reply(n, MsgReqAck, replyMsg{ID: m.ID, Status: status})
		case MsgHaveReq:
			status := statusRefused
			if hr, ok := g.r.(Holder); ok {
				switch held, err := hr.Holds(m.Key, m.Blob); {
				case err != nil:
				case held:
					status = statusOK
				default:
					status = statusNo
				}
			}
			g.reply(n, MsgReqAck, replyMsg{ID: m.ID, Status: status})
		case MsgReadReq:
			blob, ok, err := g.r.Encode(m.Key)
			switch {
			case err != nil:
				g.reply(n, MsgReadReply, replyMsg{ID: m.ID, Status: statusRefused})
			case !ok:
				g.reply(n, MsgReadReply, replyMsg{ID: m.ID, Status: statusNo})
			case len(blob) > proofFactor*reqSize && !g.proofs.check(h.From, m.Token):
				// Large: prove you asked (see the comment at the top).
				tok := g.proofs.issue(h.From)
				g.reply(n, MsgReadReply, replyMsg{ID: m.ID, Status: statusProve, Blob: binary.BigEndian.AppendUint64(nil, tok)})
			default:
				g.reply(n, MsgReadReply, replyMsg{ID: m.ID, Status: statusOK, Blob: blob})
			}
		}
	}}
	if !g.pool.submit(job) {
		g.load.release(h.From.Name)
		g.stats.droppedInbound.Add(1)
	}
}

// reply sends a reply as a packet if it fits, else over a stream, at most
// maxStreamRepliesPeer at a time per peer (beyond, or over MaxBlob, the
// reply says refused).
func (g *Gossip) reply(to *memberlist.Node, t MsgType, m replyMsg) {
	msg := appendReply(nil, t, g.cfg.Origin, m)
	if len(msg) <= g.budget {
		g.sendPacket(to, t, msg)
		return
	}
	if len(msg) > g.cfg.MaxBlob || !g.streamLoad.acquire(to.Name, maxStreamRepliesPeer) {
		g.sendPacket(to, t, appendReply(nil, t, g.cfg.Origin, replyMsg{ID: m.ID, Status: statusRefused}))
		return
	}
	g.queueSend(sendJob{to: []*memberlist.Node{to}, typ: t, msg: msg, after: func() { g.streamLoad.release(to.Name) }})
}

// peerLoad counts work in progress per peer.
type peerLoad struct {
	mu sync.Mutex
	n  map[string]int // guarded by mu
}

func (l *peerLoad) acquire(peer string, limit int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n = make(map[string]int)
	}
	if l.n[peer] >= limit {
		return false
	}
	l.n[peer]++
	return true
}

func (l *peerLoad) release(peer string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[peer]--; l.n[peer] <= 0 {
		delete(l.n, peer)
	}
}

// proofBook holds the read token issued to each origin, valid for
// proofTTL from its issue, and the tokens peers issued to us.
type proofBook struct {
	mu     sync.Mutex
	tokens map[Origin]proof // guarded by mu; issued, by requester
	mine   map[string]proof // guarded by mu; received, by peer name
}

type proof struct {
	token uint64
	until time.Time
}

// issue returns o's valid token, or a new one.
func (b *proofBook) issue(o Origin) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if p, ok := b.tokens[o]; ok && now.Before(p.until) {
		return p.token
	}
	if b.tokens == nil || len(b.tokens) >= maxReplayOrigins {
		b.tokens = make(map[Origin]proof)
	}
	tok := random64()
	b.tokens[o] = proof{token: tok, until: now.Add(proofTTL)}
	return tok
}

// check reports whether tok is o's valid token.
func (b *proofBook) check(o Origin, tok uint64) bool {
	if tok == 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.tokens[o]
	return ok && p.token == tok && time.Now().Before(p.until)
}

// received records the token peer gave us; token returns it while it may
// still be valid there.
func (b *proofBook) received(peer string, tok uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mine == nil || len(b.mine) >= maxReplayOrigins {
		b.mine = make(map[string]proof)
	}
	b.mine[peer] = proof{token: tok, until: time.Now().Add(proofTTL / 2)}
}

func (b *proofBook) token(peer string) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.mine[peer]; ok && time.Now().Before(p.until) {
		return p.token
	}
	return 0
}

// replayGuard remembers the last replayWindow request IDs of each origin,
// so a request delivered twice (replayed, or duplicated by the network) is
// served once.
type replayGuard struct {
	mu   sync.Mutex
	byID map[Origin]*idWindow // guarded by mu
}

type idWindow struct {
	ids  [replayWindow]uint64
	next int
}

// seen reports whether id was already seen from o, and records it.
func (r *replayGuard) seen(o Origin, id uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil || len(r.byID) >= maxReplayOrigins {
		r.byID = make(map[Origin]*idWindow)
	}
	w := r.byID[o]
	if w == nil {
		w = &idWindow{}
		r.byID[o] = w
	}
	for _, x := range w.ids {
		if x == id {
			return true
		}
	}
	w.ids[w.next] = id
	w.next = (w.next + 1) % replayWindow
	return false
}
