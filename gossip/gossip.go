package gossip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Gossip replicates a Replica's keyed blobs over memberlist. Create it with
// New and stop it with Close. All methods are safe for concurrent use.
type Gossip struct {
	cfg Config // normalized; read-only after New
	r   Replica
	log *slog.Logger

	// ml is set once in New. Callbacks can run before it is set (during
	// memberlist.Create), so they read mlp instead.
	ml  *memberlist.Memberlist
	mlp atomic.Pointer[memberlist.Memberlist]

	streams *streamTransport // wraps memberlist's transport; see transport.go
	bq      *broadcastQueue
	direct  *direct     // direct dissemination; receives acks in every mode
	tree    *digestTree // nil unless the replica is a DigestSource
	budget  int         // largest message that fits a gossip packet
	stats   counters
	peers   peerBook
	table   memberTable
	events  hub // membership subscriptions; see events.go

	// Requests and replies (request.go).
	calls      callTable
	replays    replayGuard
	proofs     proofBook // read tokens issued (request.go)
	load       peerLoad  // requests being served, per peer
	streamLoad peerLoad  // replies being sent over streams, per peer

	inbound      chan inMsg
	inboundBytes atomic.Int64
	sends        chan sendJob // bulk: state transfers and large deltas
	control      chan sendJob // small anti-entropy replies, never behind bulk
	rounds       chan string  // anti-entropy requests: peer name, "" = random

	pool *mergePool   // merge jobs by key, run by MergeWorkers goroutines
	sess *sessionBook // anti-entropy rounds and sessions (session.go)

	// Owned by the worker goroutine.
	reasm      *reassembler
	wants      map[string]want       // keys requested and not yet received
	unanswered map[string]unanswered // keys a peer left unanswered (wants.go)

	closeOnce sync.Once
	done      chan struct{} // closed by Close
	pumpStop  chan struct{} // closed by Close after memberlist's Shutdown (inbound.go)
	wg        sync.WaitGroup

	// mu orders wg.Add in Join against wg.Wait in Close.
	mu      sync.Mutex
	closing bool // guarded by mu
}

// Member is a live member of the cluster.
type Member struct {
	Name  string
	Addr  string // host:port
	Epoch uint64
}

// New starts memberlist with cfg and the gossip goroutines around r. It does
// not join anyone except, in the background, cfg.Join.
func New(cfg Config, r Replica) (*Gossip, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil Replica", ErrConfig)
	}
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	g := &Gossip{
		cfg:     cfg,
		r:       r,
		log:     cfg.Logger.With("node", cfg.Origin.Name),
		inbound: make(chan inMsg, cfg.InboundQueueDepth),
		sends:   make(chan sendJob, cfg.SendQueueDepth),
		control: make(chan sendJob, cfg.SendQueueDepth),
		rounds:  make(chan string, 64),
		pool:    newMergePool(cfg.MergeWorkers, cfg.MergeBytes),
		sess:    newSessionBook(6 * cfg.AntiEntropyInterval),
		reasm:   newReassembler(cfg.MaxBlob, cfg.MaxReassemblyBytes, cfg.TransferTimeout),
		wants:   make(map[string]want),

		unanswered: make(map[string]unanswered),
		done:       make(chan struct{}),
		pumpStop:   make(chan struct{}),
	}
	mc := cfg.memberlistConfig((*delegate)(g))
	g.budget = packetBudget(mc)
	if g.budget < 64 {
		return nil, fmt.Errorf("%w: UDPBufferSize %d leaves no room for messages", ErrConfig, mc.UDPBufferSize)
	}
	g.bq = g.newBroadcastQueue(mc.RetransmitMult)
	g.direct = newDirect(g)
	if src, ok := r.(DigestSource); ok {
		g.tree = newDigestTree(src, r)
	}
	g.peers.addSeeds(cfg.Join)

	var nt *memberlist.NetTransport
	if mc.Transport == nil {
		if nt, err = netTransport(mc); err != nil {
			return nil, err
		}
		mc.Transport = nt
	}
	g.streams = &streamTransport{NodeAwareTransport: nodeAware(mc.Transport), stall: mc.TCPTimeout,
		gate: newInboundGate(cfg.MaxInboundStreams, cfg.MaxInboundStreamsPerHost, mc.TCPTimeout/2),
		in:   make(chan net.Conn)}
	mc.Transport = g.streams
	ml, err := memberlist.Create(mc)
	if err != nil {
		if nt != nil {
			_ = nt.Shutdown()
		}
		return nil, fmt.Errorf("gossip: start memberlist: %w", err)
	}
	g.ml = ml
	g.mlp.Store(ml)

	g.wg.Add(6 + cfg.SendWorkers + cfg.MergeWorkers)
	go func() {
		defer g.wg.Done()
		g.streams.pumpInbound(g.done, g.pumpStop)
	}()
	go g.worker()
	go g.direct.loop()
	for range cfg.MergeWorkers {
		go g.mergeWorker()
	}
	go g.antiEntropyLoop()
	go g.rejoinLoop()
	go g.sender(g.control)
	for range cfg.SendWorkers {
		go g.sender(g.sends)
	}
	return g, nil
}

// memberlist's packet arithmetic (v0.7.0): see Memberlist.gossip in
// state.go, getBroadcasts in broadcast.go, and net.go, label.go and
// security.go for the constants. Broadcasts over the room it leaves are
// silently never sent.
const (
	mlCompoundHeaderOverhead = 2  // net.go compoundHeaderOverhead
	mlCompoundOverhead       = 2  // net.go compoundOverhead, per message
	mlUserMsgOverhead        = 1  // net.go userMsgOverhead
	mlEncryptOverheadV0      = 45 // security.go encryptOverhead(0): protocol version 1
	mlEncryptOverheadV1      = 29 // security.go encryptOverhead(1): later versions
	budgetSlack              = 16
)

// packetBudget is the largest user message memberlist will piggyback on a
// gossip packet, computed as memberlist does: UDPBufferSize minus the
// compound header, the label header, the encryption overhead when
// encryption is on (a SecretKey, or a Keyring holding keys), and the
// per-message overheads, with a little slack.
func packetBudget(mc *memberlist.Config) int {
	n := mc.UDPBufferSize - mlCompoundHeaderOverhead - mlCompoundOverhead - mlUserMsgOverhead
	if mc.Label != "" {
		n -= 2 + len(mc.Label) // label.go labelOverhead
	}
	if len(mc.SecretKey) > 0 || mc.EncryptionEnabled() {
		// Memberlist.encryptionVersion: version 0 (with padding) for
		// protocol version 1, version 1 otherwise.
		if mc.ProtocolVersion == 1 {
			n -= mlEncryptOverheadV0
		} else {
			n -= mlEncryptOverheadV1
		}
	}
	return n - budgetSlack
}

// newBroadcastQueue returns the broadcast queue. Its retransmit limit
// counts members in our own table: memberlist asks for broadcasts once per
// gossip packet, and Memberlist.NumMembers would take memberlist's node lock
// every time.
func (g *Gossip) newBroadcastQueue(retransmitMult int) *broadcastQueue {
	bq := &broadcastQueue{r: g.r, origin: g.cfg.Origin, budget: g.budget, stats: &g.stats}
	bq.q.RetransmitMult = retransmitMult
	bq.q.NumNodes = func() int { return max(1, g.table.len()) }
	return bq
}

// Origin returns this node's identity.
func (g *Gossip) Origin() Origin { return g.cfg.Origin }

// PacketBudget returns the largest delta message sent as a packet; bigger
// deltas go over streams.
func (g *Gossip) PacketBudget() int { return g.budget }

// Join joins the cluster through addrs ("host:port" or "name/host:port") and
// returns how many nodes it reached. The addresses are remembered for the
// rejoin loop. A successful join starts an anti-entropy round at once.
//
// Addresses are tried one at a time, each for up to memberlist's
// TCPTimeout. If ctx ends first, Join returns ctx.Err() at once and the
// address being tried is the last: the background attempt stops there
// (and at Close).
func (g *Gossip) Join(ctx context.Context, addrs ...string) (int, error) {
	if g.isClosed() {
		return 0, ErrClosed
	}
	if len(addrs) == 0 {
		return 0, fmt.Errorf("%w: no addresses", ErrNoPeers)
	}
	g.peers.addSeeds(addrs)
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	type result struct {
		n   int
		err error
	}
	ch := make(chan result, 1)
	g.mu.Lock()
	if g.closing {
		g.mu.Unlock()
		return 0, ErrClosed
	}
	g.wg.Add(1)
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		var res result
		for _, a := range addrs {
			if ctx.Err() != nil || g.isClosed() {
				break
			}
			n, err := g.joinOne(a)
			res.n += n
			if n == 0 {
				g.stats.formation.joinFailures.Add(1) // the caller gets the error
			}
			if err != nil {
				res.err = err
			}
		}
		if res.n > 0 {
			res.err = nil
		}
		ch <- res
	}()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case res := <-ch:
		if res.n > 0 {
			g.requestRound("")
		}
		if res.n == 0 {
			if res.err == nil {
				res.err = ErrNoPeers
			}
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			return 0, fmt.Errorf("gossip: join %v: %w", addrs, res.err)
		}
		return res.n, nil
	}
}

// Publish sends a local update's delta for key. The replica must already
// hold it (gossip does not merge it locally). With direct dissemination the
// delta joins the next batch to every member; with epidemic dissemination
// it is pushed at once to a few random peers (Config.PushFanout) and queued
// as a broadcast. A delta over the packet budget goes to every member over
// streams instead, and one over MaxBlob is not sent (ErrTooLarge;
// anti-entropy cannot move it either). Anti-entropy repairs whatever else
// is lost.
func (g *Gossip) Publish(key string, delta []byte) error {
	if g.isClosed() {
		return ErrClosed
	}
	if key == "" {
		return ErrEmptyKey
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("%w: key of %d bytes, limit %d", ErrTooLarge, len(key), maxKeyLen)
	}
	if g.cfg.Dissemination == DisseminateDirect && g.direct.publish(key, delta) {
		return nil
	}
	return g.spread(key, delta, "")
}

// spread pushes a delta to fanout peers other than except and queues it as
// a broadcast. A delta over the packet budget goes instead to every peer
// over streams, as MsgDeltaDirect, which receivers do not forward: with
// forwarding each member would receive it about fanout times, and large
// deltas are where bytes matter more than hops.
func (g *Gossip) spread(key string, delta []byte, except string) error {
	msg := appendDelta(nil, g.cfg.Origin, key, delta)
	if len(msg) > g.cfg.MaxBlob {
		return fmt.Errorf("%w: delta message of %d bytes, MaxBlob %d", ErrTooLarge, len(msg), g.cfg.MaxBlob)
	}
	if len(msg) <= g.budget {
		for _, p := range g.randomPeers(g.fanout(), except) {
			g.sendPacket(p, MsgDelta, msg)
		}
		g.bq.enqueue(key, delta)
		return nil
	}
	g.stats.oversize.Add(1)
	if peers := g.randomPeers(math.MaxInt, except); len(peers) > 0 {
		direct := appendDeltaType(nil, MsgDeltaDirect, g.cfg.Origin, key, delta)
		g.queueSend(sendJob{to: peers, typ: MsgDeltaDirect, msg: direct})
	}
	return nil
}

// fanout is the number of peers a delta is pushed to (see
// Config.PushFanout).
func (g *Gossip) fanout() int {
	if g.cfg.PushFanout > 0 {
		return g.cfg.PushFanout
	}
	n := g.ml.NumMembers()
	return max(MinPushFanout, int(math.Ceil(math.Log(float64(n))))+2)
}

// randomPeers returns up to n random live members other than self and
// except.
func (g *Gossip) randomPeers(n int, except string) []*memberlist.Node {
	all := g.table.all()
	peers := all[:0:0]
	for _, m := range all {
		if m.Name != g.cfg.Origin.Name && m.Name != except {
			peers = append(peers, m)
		}
	}
	rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
	return peers[:min(n, len(peers))]
}

// isMember reports whether o is a live member, in its current epoch.
func (g *Gossip) isMember(o Origin) bool {
	m := g.member(o.Name)
	return m != nil && toMember(m).Epoch == o.Epoch
}

// member returns the live member named name, or nil.
func (g *Gossip) member(name string) *memberlist.Node {
	return g.table.get(name)
}

// sendPacket sends msg best-effort (one UDP packet).
func (g *Gossip) sendPacket(to *memberlist.Node, t MsgType, msg []byte) {
	if to == nil {
		// The member left between choosing it and sending (g.member
		// returned nil): memberlist would dereference it.
		g.stats.sendErrors.Add(1)
		return
	}
	if err := g.ml.SendBestEffort(to, msg); err != nil {
		g.stats.sendErrors.Add(1)
		g.log.Debug("packet send failed", "to", to.Name, "type", t, "err", err)
		return
	}
	g.stats.sent[t].add(len(msg))
}

// Members returns the live members, this node included, sorted by name.
func (g *Gossip) Members() []Member {
	nodes := g.table.all()
	out := make([]Member, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, toMember(n))
	}
	return out
}

// LocalAddr returns the address peers use to reach this node (host:port).
func (g *Gossip) LocalAddr() string {
	if n := g.table.get(g.cfg.Origin.Name); n != nil {
		return toMember(n).Addr
	}
	return ""
}

// NumMembers returns the number of live members, this node included.
func (g *Gossip) NumMembers() int { return g.ml.NumMembers() }

// Stats returns a snapshot of the counters.
func (g *Gossip) Stats() Stats {
	s := g.stats.snapshot()
	s.RefusedStreams = g.streams.gate.refused.Load()
	return s
}

// QueueLen returns the number of queued broadcasts, deltas waiting for a
// batch and batches some member has not acknowledged. After the last
// update it drains to zero: nodes only re-queue deltas that were new to
// them, and batches leave the queue once acknowledged or given up.
func (g *Gossip) QueueLen() int { return g.bq.len() + g.direct.queued() }

// Close leaves the cluster (waiting up to LeaveTimeout for the news to
// spread), shuts memberlist down and waits for every goroutine gossip
// started. It is safe to call more than once.
//
// Close returns within about LeaveTimeout plus memberlist's TCPTimeout: it
// closes every stream gossip's goroutines are writing (a peer that stopped
// reading cannot hold them), and what it may still wait for is one dial or
// join in progress per goroutine, each bounded by TCPTimeout; senders, the
// rejoin loop and Join check for Close between peers, addresses and chunks.
func (g *Gossip) Close() error {
	var err error
	g.closeOnce.Do(func() {
		g.mu.Lock()
		g.closing = true
		g.mu.Unlock()
		// Deltas still waiting for the batch window leave now, before
		// the goodbye: Publish returned, so they must not be lost.
		for _, p := range g.direct.drain() {
			g.sendPacket(p.to, MsgType(p.msg[1]), p.msg)
		}
		close(g.done)
		g.pool.close()
		// Tell peers not to try rejoining us (best effort: memberlist's
		// own leave, which NotifyLeave sees as StateLeft, says it too).
		bye := appendHeader(nil, MsgLeave, g.cfg.Origin)
		for _, p := range g.randomPeers(math.MaxInt, "") {
			g.sendPacket(p, MsgLeave, bye)
		}
		if lerr := g.ml.Leave(g.cfg.LeaveTimeout); lerr != nil {
			g.log.Debug("leave", "err", lerr)
		}
		g.streams.closeStreams()
		err = g.ml.Shutdown()
		close(g.pumpStop)
		g.wg.Wait()
		g.events.close()
	})
	return err
}

func (g *Gossip) isClosed() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// worker decodes queued messages and acts on them; blobs to merge go to the
// merge pool (see mergepool.go). It owns reasm and wants.
func (g *Gossip) worker() {
	defer g.wg.Done()
	tick := time.NewTicker(max(g.cfg.TransferTimeout/2, time.Second))
	defer tick.Stop()
	wantTick := time.NewTicker(g.cfg.AntiEntropyInterval)
	defer wantTick.Stop()
	for {
		select {
		case <-g.done:
			return
		case m := <-g.inbound:
			ref := g.newInflight(m.size)
			if err := g.handle(m.h, m.body, false, ref); err != nil {
				g.stats.decodeErrors.Add(1)
				g.log.Debug("dropped bad message", "from", m.h.From.Name, "type", m.h.Type, "err", err)
			}
			ref.release()
		case now := <-tick.C:
			g.sess.expire(now)
			g.sess.forgetRoots(func(name string) bool { return g.member(name) != nil })
			if n := g.reasm.expire(now); n > 0 {
				g.stats.transfersLost.Add(uint64(n))
			}
		case now := <-wantTick.C:
			g.expireWants(now)
		}
	}
}

// handle acts on one message whose bytes ref holds. It returns decoding
// errors; blobs go to the merge pool, whose merge errors are counted and
// logged in merge.
func (g *Gossip) handle(h header, r *reader, reassembled bool, ref *inflight) error {
	switch h.Type {
	case MsgDelta, MsgDeltaDirect:
		e, err := decodeDelta(r)
		if err != nil {
			return err
		}
		g.submitMerge(mergeJob{from: h.From, e: e, forward: h.Type == MsgDelta, ref: ref})
	case MsgBatch:
		m, err := decodeBatch(r)
		if err != nil {
			return err
		}
		g.onBatch(h.From, m, ref)
	case MsgAck:
		acks, err := decodeAck(r)
		if err != nil {
			return err
		}
		g.direct.onAck(h.From.Name, acks)
	case MsgTree:
		m, err := decodeTree(r)
		if err != nil {
			return err
		}
		g.onTree(h.From, m)
	case MsgTreeDigests:
		m, err := decodeTreeDigests(r)
		if err != nil {
			return err
		}
		g.onTreeDigests(h.From, m)
	case MsgRoot:
		m, err := decodeRoot(r)
		if err != nil {
			return err
		}
		g.onRoot(h.From, m)
	case MsgDigests:
		m, err := decodeDigests(r)
		if err != nil {
			return err
		}
		g.onDigests(h.From, m)
	case MsgRootReply:
		m, err := decodeRootReply(r)
		if err != nil {
			return err
		}
		g.onRootReply(h.From, m)
	case MsgBuckets:
		token, d, err := decodeBuckets(r)
		if err != nil {
			return err
		}
		g.onBuckets(h.From, token, d)
	case MsgWant:
		token, keys, err := decodeWant(r)
		if err != nil {
			return err
		}
		g.onWant(h.From, token, keys)
	case MsgState:
		entries, err := decodeState(r)
		if err != nil {
			return err
		}
		for e := range entries.All() {
			delete(g.wants, e.Key)
			g.stats.keysRecv.Add(1)
			g.submitMerge(mergeJob{from: h.From, e: e, ref: ref})
		}
	case MsgLeave:
		if err := r.end("leave"); err != nil {
			return err
		}
		if h.From.Name != g.cfg.Origin.Name {
			g.peers.leave(h.From.Name, "", h.From.Epoch, time.Now())
		}
	case MsgChunk:
		if reassembled {
			return fmt.Errorf("%w: chunk inside a chunked message", ErrDecode)
		}
		c, err := decodeChunk(r)
		if err != nil {
			return err
		}
		if !g.isMember(h.From) {
			g.stats.transfersLost.Add(1)
			return fmt.Errorf("%w: chunk from %s (epoch %d), not a current member", ErrDecode, h.From.Name, h.From.Epoch)
		}
		now := time.Now()
		msg, err := g.reasm.add(h.From, c, now)
		if err != nil {
			g.stats.transfersLost.Add(1)
			return err
		}
		if msg == nil {
			if p, ok := g.reasm.inProgress(h.From, c.ID); ok {
				g.extendWant(h.From.Name, p, now)
			}
			return nil
		}
		g.stats.transfersDone.Add(1)
		ih, ir, err := decodeHeader(msg)
		if err != nil {
			return fmt.Errorf("reassembled message: %w", err)
		}
		if ih.From != h.From {
			return fmt.Errorf("%w: reassembled message from %v inside chunks from %v", ErrDecode, ih.From, h.From)
		}
		g.stats.recv[ih.Type].add(len(msg))
		// The whole message is charged to the inbound budget while its
		// blobs wait for the merge pool (over it if need be: its chunks
		// were within it).
		g.inboundBytes.Add(int64(len(msg)))
		whole := g.newInflight(len(msg))
		defer whole.release()
		return g.handle(ih, ir, true, whole)
	case MsgWriteReq, MsgHaveReq, MsgReadReq:
		m, err := decodeReq(h.Type, r)
		if err != nil {
			return err
		}
		g.onRequest(h, m, ref)
	case MsgReqAck, MsgReadReply:
		m, err := decodeReply(h.Type, r)
		if err != nil {
			return err
		}
		g.onReply(h, m, ref)
	default:
		return fmt.Errorf("%w: %w: %d", ErrDecode, ErrType, h.Type)
	}
	return nil
}

// submitMerge queues a merge job, counting it as dropped if the pool is
// full, and reports whether it was queued.
func (g *Gossip) submitMerge(j mergeJob) bool {
	if !g.pool.submit(j) {
		g.stats.droppedInbound.Add(1)
		g.log.Debug("merge queue full, dropped", "from", j.from.Name, "key", j.e.Key)
		return false
	}
	return true
}

// merge merges one blob and reports whether it changed local state. It runs
// on the merge pool's goroutines.
func (g *Gossip) merge(from Origin, e entry) bool {
	changed, _ := g.mergeErr(from, e)
	return changed
}

// mergeErr is merge that also returns the merge error (counted and logged
// here).
func (g *Gossip) mergeErr(from Origin, e entry) (bool, error) {
	var changed bool
	var err error
	if om, ok := g.r.(OriginMerger); ok {
		changed, err = om.MergeFrom(from, e.Key, e.Blob)
	} else {
		changed, err = g.r.Merge(e.Key, e.Blob)
	}
	if err != nil && (errors.Is(err, ErrReplicaClosed) || g.isClosed()) {
		// Shutting down: the replica refuses merges, and nothing is wrong.
		g.log.Debug("merge refused while closing", "from", from.Name, "key", e.Key, "err", err)
		return false, err
	}
	if err != nil {
		g.stats.mergeErrors.Add(1)
		g.log.Warn("merge failed", "from", from.Name, "key", e.Key, "bytes", len(e.Blob), "err", err)
		return false, err
	}
	if changed {
		g.stats.merged.Add(1)
	}
	return changed, nil
}

// requestRound asks the anti-entropy loop for a round with peer ("" for a
// random one). It never blocks: if requests are piling up, the periodic
// rounds will do.
func (g *Gossip) requestRound(peer string) {
	select {
	case g.rounds <- peer:
	default:
	}
}
