package gossip

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Direct dissemination (DisseminateDirect): the publisher sends every delta
// to every member itself, once, batched, and retransmits to the members
// that have not acknowledged it. This is the eager push of Plumtree along
// the shallowest spanning tree (a star rooted at the publisher): every
// member receives each update exactly once when nothing is lost, one hop
// after it was published, and nobody forwards, so there is no redundant
// copy to stop. Acknowledgements say when an update has spread, so
// retransmissions stop then; a member that stays silent is given up after
// RetransmitAttempts and left to anti-entropy, which remains the safety net
// for everything (members the publisher did not know yet included).
//
// Batching: deltas published while a batch is in the air wait up to
// BatchWindow (or until a packet is full) and leave together; deltas for one
// key are joined (Replica.Join) before they leave. The first delta after a
// quiet window leaves at once, so a single write pays no batching delay.
// Acks are batched the same way and ride on batches going the other way
// when there are any.

// direct is the sender and ack state of direct dissemination. Receiving
// batches works in every mode, so a cluster can mix modes.
type direct struct {
	g    *Gossip
	wake chan struct{} // capacity 1: a pending signal for loop

	mu           sync.Mutex
	pending      []entry                 // guarded by mu; deltas waiting to leave, from head on
	head         int                     // guarded by mu; first pending entry not sent
	index        map[string]int          // guarded by mu; key -> position in pending
	pendingBytes int                     // guarded by mu; encoded size of pending[head:]
	seq          uint64                  // guarded by mu; last batch sequence number
	inflight     map[uint64]*outBatch    // guarded by mu; batches not acknowledged by all
	owed         map[string]*ackOwed     // guarded by mu; acks to send, by peer name
	seen         map[string]*seenBatches // guarded by mu; batches received, by peer name
	lastFlush    time.Time               // guarded by mu
	srtt, rttvar time.Duration           // guarded by mu; smoothed ack round trip
	backoff      uint                    // guarded by mu; RTO doubling while acks come late (Karn)
}

// outBatch is a sent batch that some members have not acknowledged.
type outBatch struct {
	seq      uint64
	entries  []byte // encoded entries, without their count
	n        int    // number of entries
	waiting  map[string]struct{}
	peers    int       // members it was sent to
	sent     time.Time // first transmission
	attempts int       // retransmissions so far
	next     time.Time // when to retransmit
}

// ackOwed is the acks owed to one peer.
type ackOwed struct {
	seqs  []uint64
	since time.Time
}

const (
	// maxInflight bounds the batches awaiting acks; past it the oldest is
	// given up (anti-entropy repairs what it carried).
	maxInflight = 1024
	// maxBatchesPerFlush paces a bulk load: at most this many new batches
	// leave per BatchWindow, so a burst does not overrun receivers' queues.
	maxBatchesPerFlush = 32
	// ackRoom is the room reserved in a batch for piggybacked acks.
	ackRoom = 64
	// maxOwed bounds the acks owed to one peer; older ones are forgotten
	// (the peer retransmits, harmlessly).
	maxOwed = 1024
	// maxRTO caps the retransmission timeout; maxBackoff caps its
	// doubling while acks come late (2^4).
	maxRTO     = 2 * time.Second
	maxBackoff = 4
)

func newDirect(g *Gossip) *direct {
	return &direct{
		g:        g,
		wake:     make(chan struct{}, 1),
		index:    make(map[string]int),
		inflight: make(map[uint64]*outBatch),
		owed:     make(map[string]*ackOwed),
		seen:     make(map[string]*seenBatches),
		seq:      uint64(rand.Uint32()), // a restarted node does not reuse its predecessor's numbers
	}
}

// bodyLimit is the largest encoded entry list that fits a batch packet
// beside the header, maxRetransmitSeqs sequence numbers and ackRoom.
func (d *direct) bodyLimit() int {
	return d.g.budget - len(appendHeader(nil, MsgBatch, d.g.cfg.Origin)) - 1 - maxRetransmitSeqs*binaryMaxVarint - ackRoom
}

const (
	binaryMaxVarint = 10
	// maxRetransmitSeqs is how many batches one retransmission packet
	// may combine.
	maxRetransmitSeqs = 8
)

func (d *direct) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// publish queues delta for key, joined with the key's pending delta if any.
// It reports false if the delta alone does not fit a batch.
func (d *direct) publish(key string, delta []byte) bool {
	size := entrySize(key, delta)
	limit := d.bodyLimit() - binaryMaxVarint
	if size > limit {
		return false
	}
	d.mu.Lock()
	if i, ok := d.index[key]; ok {
		cur := d.pending[i]
		joined, err := d.g.r.Join(key, cur.Blob, delta)
		switch {
		case err != nil:
			d.g.stats.joinErrors.Add(1)
		case entrySize(key, joined) <= limit:
			d.pendingBytes += len(joined) - len(cur.Blob)
			d.pending[i].Blob = joined
			d.mu.Unlock()
			d.signal()
			return true
		}
	}
	d.index[key] = len(d.pending)
	d.pending = append(d.pending, entry{Key: key, Blob: delta})
	d.pendingBytes += size
	d.mu.Unlock()
	d.signal()
	return true
}

// queued is the number of pending deltas plus unacknowledged batches.
func (d *direct) queued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending) - d.head + len(d.inflight)
}

// ackLater records that we merged the sender's batches seqs; the acks leave
// within BatchWindow, on a batch to that peer or on their own.
func (d *direct) ackLater(peer string, seqs []uint64) {
	d.mu.Lock()
	o := d.owed[peer]
	if o == nil {
		o = &ackOwed{since: time.Now()}
		d.owed[peer] = o
	}
	o.seqs = append(o.seqs, seqs...)
	if over := len(o.seqs) - maxOwed; over > 0 {
		o.seqs = append(o.seqs[:0], o.seqs[over:]...)
	}
	d.mu.Unlock()
	d.signal()
}

// onAck records a peer's acks.
func (d *direct) onAck(peer string, seqs []uint64) {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range seqs {
		b := d.inflight[s]
		if b == nil {
			continue
		}
		if _, ok := b.waiting[peer]; !ok {
			continue
		}
		delete(b.waiting, peer)
		if b.attempts == 0 {
			// Karn's rule: an ack after a retransmission may answer
			// either copy, so only earlier ones are timed, and the
			// timeout stays backed off until one arrives.
			d.sampleLocked(now.Sub(b.sent))
			d.backoff = 0
		}
		if len(b.waiting) == 0 {
			delete(d.inflight, s)
		}
	}
}

// sampleLocked folds one round trip into the estimate (RFC 6298).
func (d *direct) sampleLocked(rtt time.Duration) {
	if d.srtt == 0 {
		d.srtt, d.rttvar = rtt, rtt/2
		return
	}
	dev := d.srtt - rtt
	if dev < 0 {
		dev = -dev
	}
	d.rttvar = (3*d.rttvar + dev) / 4
	d.srtt = (7*d.srtt + rtt) / 8
}

// rtoLocked is the wait before the attempt'th retransmission (0: before
// the first): the estimate, at least RetransmitTimeout, doubling from the
// fifth on. Four quick retries first: under 20 % loss a member misses five
// sends in a row with probability 0.2^5, so 31 members all have an update
// after five sends in 99 % of updates.
func (d *direct) rtoLocked(attempt int) time.Duration {
	rto := max(d.g.cfg.RetransmitTimeout, d.srtt+4*d.rttvar) << d.backoff
	if attempt > 3 {
		rto <<= min(attempt-3, 10)
	}
	return min(rto, maxRTO)
}

// packet is one message to one peer.
type packet struct {
	to  *memberlist.Node
	msg []byte
}

// loop sends batches, retransmissions and acks. It owns no state beyond
// d's; it sleeps until the earliest thing due.
func (d *direct) loop() {
	defer d.g.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-d.g.done:
			return
		case <-d.wake:
		case <-timer.C:
		}
		now := time.Now()
		out, next := d.step(now)
		for _, p := range out {
			if d.g.isClosed() {
				return
			}
			d.g.sendPacket(p.to, MsgType(p.msg[1]), p.msg)
		}
		timer.Stop()
		if !next.IsZero() {
			timer.Reset(max(next.Sub(now), 0))
		}
	}
}

// drain packs every pending delta into batches now, for Close: a delta
// published within the batch window before Close would otherwise never
// leave. The batches are not retransmitted (the node is going away).
func (d *direct) drain() []packet {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []packet
	for d.head < len(d.pending) {
		out = d.flushLocked(time.Now(), out)
	}
	return out
}

// step decides what to send now and when to wake next (zero: on a signal).
func (d *direct) step(now time.Time) (out []packet, next time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	window := d.g.cfg.BatchWindow
	if d.head < len(d.pending) {
		if due := d.lastFlush.Add(window); !now.Before(due) || d.pendingBytes >= d.bodyLimit() {
			out = d.flushLocked(now, out)
		}
		if d.head < len(d.pending) {
			later(d.lastFlush.Add(window))
		}
	}
	out = d.retransmitLocked(now, out, later)
	for peer, o := range d.owed {
		if due := o.since.Add(window); now.Before(due) {
			later(due)
			continue
		}
		if to := d.g.member(peer); to != nil {
			for len(o.seqs) > 0 {
				n := min(len(o.seqs), maxSeqs)
				out = append(out, packet{to: to, msg: appendAck(nil, d.g.cfg.Origin, o.seqs[:n])})
				o.seqs = o.seqs[n:]
			}
		}
		delete(d.owed, peer)
	}
	return out, next
}

// flushLocked packs pending deltas into up to maxBatchesPerFlush batches and
// addresses each to every member.
func (d *direct) flushLocked(now time.Time, out []packet) []packet {
	d.lastFlush = now
	peers := d.g.randomPeers(math.MaxInt, "")
	limit := d.bodyLimit() - binaryMaxVarint
	for range maxBatchesPerFlush {
		if d.head == len(d.pending) {
			break
		}
		var body []byte
		n := 0
		for d.head < len(d.pending) {
			e := d.pending[d.head]
			es := entrySize(e.Key, e.Blob)
			if n > 0 && len(body)+es > limit {
				break
			}
			body = appendString(body, e.Key)
			body = appendBytes(body, e.Blob)
			n++
			d.pendingBytes -= es
			delete(d.index, e.Key)
			d.pending[d.head] = entry{}
			d.head++
		}
		if len(peers) == 0 {
			continue // alone: anti-entropy brings later members up to date
		}
		d.seq++
		b := &outBatch{seq: d.seq, entries: body, n: n, waiting: make(map[string]struct{}, len(peers)), peers: len(peers), sent: now}
		for _, p := range peers {
			b.waiting[p.Name] = struct{}{}
			out = append(out, packet{to: p, msg: d.batchMsgLocked(p.Name, []uint64{b.seq}, n, body)})
		}
		b.next = now.Add(d.rtoLocked(0))
		d.addInflightLocked(b)
	}
	if d.head == len(d.pending) {
		d.pending, d.head, d.pendingBytes = d.pending[:0], 0, 0
	}
	return out
}

// addInflightLocked tracks b, giving up the oldest batch if there are too
// many.
func (d *direct) addInflightLocked(b *outBatch) {
	if len(d.inflight) >= maxInflight {
		var oldest, dist uint64
		for s := range d.inflight {
			if d.seq-s >= dist { // the farthest behind, wrap-around safe
				oldest, dist = s, d.seq-s
			}
		}
		d.g.stats.gaveUp.Add(uint64(len(d.inflight[oldest].waiting)))
		delete(d.inflight, oldest)
	}
	d.inflight[b.seq] = b
}

// batchMsgLocked encodes a batch for peer: the sequence numbers it covers,
// the acks we owe peer that fit, and n entries.
func (d *direct) batchMsgLocked(peer string, seqs []uint64, n int, entries []byte) []byte {
	var acks []uint64
	if o := d.owed[peer]; o != nil {
		room := ackRoom - 1
		k := 0
		for k < len(o.seqs) && room >= uvarintLen(o.seqs[k]) {
			room -= uvarintLen(o.seqs[k])
			k++
		}
		acks = o.seqs[:k]
		if o.seqs = o.seqs[k:]; len(o.seqs) == 0 {
			delete(d.owed, peer)
		}
	}
	msg := appendBatchHead(make([]byte, 0, 32+seqsSize(seqs)+seqsSize(acks)+len(entries)), d.g.cfg.Origin, seqs, acks)
	msg = binary.AppendUvarint(msg, uint64(n))
	return append(msg, entries...)
}

// retransmitLocked resends due batches to the members that have not
// acknowledged them, several batches to one peer in one packet when they
// fit, and gives up batches past RetransmitAttempts.
func (d *direct) retransmitLocked(now time.Time, out []packet, later func(time.Time)) []packet {
	due := make(map[string][]*outBatch)
	for s, b := range d.inflight {
		if now.Before(b.next) {
			later(b.next)
			continue
		}
		for p := range b.waiting {
			if d.g.member(p) == nil {
				delete(b.waiting, p) // left: nothing to wait for
			}
		}
		if len(b.waiting) == 0 {
			delete(d.inflight, s)
			continue
		}
		if b.attempts >= d.g.cfg.RetransmitAttempts {
			d.g.stats.gaveUp.Add(uint64(len(b.waiting)))
			delete(d.inflight, s)
			continue
		}
		if b.attempts == 0 && 4*len(b.waiting) > 3*b.peers && d.backoff < maxBackoff {
			// Most members (3 in 4) have not acked in time: the round trip is
			// longer than the estimate (a busy host), not a loss here
			// and there. Back off until an ack comes in time.
			d.backoff++
		}
		b.attempts++
		b.next = now.Add(d.rtoLocked(b.attempts))
		later(b.next)
		for p := range b.waiting {
			due[p] = append(due[p], b)
		}
	}
	limit := d.bodyLimit() - binaryMaxVarint
	for p, bs := range due {
		to := d.g.member(p)
		if to == nil {
			continue // left since the check above; the next round forgets it
		}
		for len(bs) > 0 {
			seqs := []uint64{bs[0].seq}
			body := append([]byte(nil), bs[0].entries...)
			n := bs[0].n
			bs = bs[1:]
			for len(bs) > 0 && len(body)+len(bs[0].entries) <= limit && len(seqs) < maxRetransmitSeqs {
				seqs = append(seqs, bs[0].seq)
				body = append(body, bs[0].entries...)
				n += bs[0].n
				bs = bs[1:]
			}
			d.g.stats.retransmits.Add(uint64(len(seqs)))
			out = append(out, packet{to: to, msg: d.batchMsgLocked(p, seqs, n, body)})
		}
	}
	return out
}

// onBatch queues a received batch's entries for merging and acks it. A
// batch seen before (a retransmission whose ack was lost or late) is only
// acked again. A batch whose entries the merge pool refused (this node is
// overloaded) is acked all the same and the missing state is left to an
// anti-entropy round with the sender: a retransmission would only add load
// where load is the problem.
func (g *Gossip) onBatch(from Origin, m batchMsg, ref *inflight) {
	if len(m.Acks) > 0 {
		g.direct.onAck(from.Name, m.Acks)
	}
	if !g.direct.firstSeen(from, m.Seqs) {
		g.stats.duplicates.Add(1)
		g.direct.ackLater(from.Name, m.Seqs)
		return
	}
	queued := true
	for e := range m.Entries.All() {
		queued = g.submitMerge(mergeJob{from: from, e: e, ref: ref}) && queued
	}
	if !queued {
		g.requestRound(from.Name)
	}
	g.direct.ackLater(from.Name, m.Seqs)
}

// seenBatches remembers the latest batch sequence numbers received from
// one peer incarnation.
type seenBatches struct {
	epoch uint64
	set   map[uint64]struct{}
	ring  [maxSeenBatches]uint64
	next  int
}

// maxSeenBatches is how many batch numbers per peer are remembered for
// recognising retransmissions.
const maxSeenBatches = 1024

// firstSeen records seqs from peer and reports whether any was new. Only
// members are tracked, so names made up by a peer cost nothing.
func (d *direct) firstSeen(from Origin, seqs []uint64) bool {
	if d.g.member(from.Name) == nil {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.seen) > 2*d.g.table.len()+16 {
		for name := range d.seen {
			if d.g.member(name) == nil {
				delete(d.seen, name)
			}
		}
	}
	sb := d.seen[from.Name]
	if sb == nil || sb.epoch != from.Epoch {
		sb = &seenBatches{epoch: from.Epoch, set: make(map[uint64]struct{})}
		d.seen[from.Name] = sb
	}
	fresh := false
	for _, s := range seqs {
		if _, ok := sb.set[s]; ok {
			continue
		}
		fresh = true
		if old := sb.ring[sb.next]; old != 0 {
			delete(sb.set, old)
		}
		sb.ring[sb.next] = s
		sb.next = (sb.next + 1) % maxSeenBatches
		sb.set[s] = struct{}{}
	}
	return fresh
}
