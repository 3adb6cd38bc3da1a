package gossip

import (
	"math/rand/v2"

	"github.com/hashicorp/memberlist"
)

// sendJob is one reliable (stream) send to one or more peers. Either msg is
// set, or keys (a received MsgWant's list): the sender then encodes those
// keys' state itself, so that a large state is only in memory while it is
// being sent.
type sendJob struct {
	to    []*memberlist.Node
	typ   MsgType
	msg   []byte
	keys  keyList
	after func() // if set, called once the job is done or dropped
}

// queueSend hands a job to the sender goroutines, dropping it (counted) if
// their queue is full. It never blocks, so the worker and Publish never wait
// on a slow peer. Digest lists and requests have their own queue and
// goroutine, so a long state transfer does not stall other rounds.
func (g *Gossip) queueSend(j sendJob) {
	q := g.sends
	if j.typ == MsgDigests || j.typ == MsgWant || j.typ == MsgBuckets || j.typ == MsgTree || j.typ == MsgTreeDigests {
		q = g.control
	}
	select {
	case q <- j:
	default:
		if j.after != nil {
			j.after()
		}
		g.stats.droppedSend.Add(1)
		g.log.Debug("send queue full, dropped", "peers", len(j.to), "type", j.typ)
	}
}

// sender performs reliable sends queued on q.
func (g *Gossip) sender(q <-chan sendJob) {
	defer g.wg.Done()
	for {
		select {
		case <-g.done:
			return
		case j := <-q:
			for _, to := range j.to {
				if g.isClosed() {
					break
				}
				if j.keys.Len() > 0 {
					g.sendKeys(to, j.keys)
				} else {
					g.sendReliable(to, j.typ, j.msg)
				}
			}
			if j.after != nil {
				j.after()
			}
		}
	}
}

// sendReliable sends msg over a stream, in chunks if it is over ChunkSize.
func (g *Gossip) sendReliable(to *memberlist.Node, t MsgType, msg []byte) bool {
	if len(msg) <= g.cfg.ChunkSize {
		return g.sendStream(to, t, msg)
	}
	for _, c := range splitMessage(g.cfg.Origin, rand.Uint64(), msg, g.cfg.ChunkSize) {
		if g.isClosed() || !g.sendStream(to, MsgChunk, c) {
			return false
		}
	}
	return true
}

func (g *Gossip) sendStream(to *memberlist.Node, t MsgType, msg []byte) bool {
	if err := g.ml.SendReliable(to, msg); err != nil {
		g.stats.sendErrors.Add(1)
		g.log.Debug("stream send failed", "to", to.Name, "type", t, "bytes", len(msg), "err", err)
		return false
	}
	g.stats.sent[t].add(len(msg))
	return true
}

// sendKeys sends the full state of keys to a peer, batching small keys into
// MsgState messages of about ChunkSize and sending each larger key alone
// (chunked). Unknown keys are skipped.
func (g *Gossip) sendKeys(to *memberlist.Node, keys keyList) {
	var batch []entry
	size := 0
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		ok := g.sendReliable(to, MsgState, appendState(nil, g.cfg.Origin, batch))
		if ok {
			g.stats.keysSent.Add(uint64(len(batch)))
		}
		batch, size = batch[:0], 0
		return ok
	}
	for k := range keys.All() {
		if g.isClosed() {
			return
		}
		blob, ok, err := g.r.Encode(k)
		if err != nil {
			g.log.Warn("encode failed", "key", k, "err", err)
			continue
		}
		if !ok {
			continue
		}
		if len(blob) > g.MaxBlobSize(k) {
			g.log.Warn("key state over MaxBlob not sent", "key", k, "bytes", len(blob), "limit", g.MaxBlobSize(k))
			continue
		}
		es := entrySize(k, blob)
		if size > 0 && size+es > g.cfg.ChunkSize {
			if !flush() {
				return
			}
		}
		batch = append(batch, entry{Key: k, Blob: blob})
		size += es
	}
	flush()
}
