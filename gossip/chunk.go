package gossip

import (
	"fmt"
	"time"
)

// Chunking. memberlist refuses stream messages over 20 MiB, and one key's
// state can be bigger. A message larger than ChunkSize is sent as MsgChunk
// pieces (transfer id, seq, total, size) and reassembled whole before it is
// decoded. Only whole messages are ever merged: merging part of a causal
// object (say, its context before its elements) would lose the elements.

// chunkOverhead bounds the encoded size of a chunk message minus its data.
func chunkOverhead(from Origin) int {
	return 2 + 10 + len(from.Name) + 10 + 8 + 3*10 + 10
}

// splitMessage cuts msg into chunk messages of at most chunkSize bytes each.
func splitMessage(from Origin, id uint64, msg []byte, chunkSize int) [][]byte {
	per := chunkSize - chunkOverhead(from)
	total := (len(msg) + per - 1) / per
	out := make([][]byte, 0, total)
	for seq := 0; seq < total; seq++ {
		lo := seq * per
		hi := min(lo+per, len(msg))
		out = append(out, appendChunk(nil, from, chunkMsg{
			ID: id, Seq: uint32(seq), Total: uint32(total), Size: uint64(len(msg)), Data: msg[lo:hi],
		}))
	}
	return out
}

// maxTransfers bounds the number of concurrent incomplete transfers, and
// maxTransfersPerOrigin those from one sender, so that one peer cannot take
// every slot; reservedPerOrigin more are always open to every sender, so
// that other senders together cannot starve one either. Only current
// members send chunks (the worker refuses others), so the senders are the
// members, not whatever names a peer makes up.
//
// Memory is charged as held: a chunk costs its data plus chunkHoldOverhead
// plus its sender's name (the rest of its message buffer, the map entry),
// and every chunk but the last carries at least minChunkData bytes, so a
// peer cannot hold far more memory than the budget by sending tiny chunks.
const (
	maxTransfers          = 256
	maxTransfersPerOrigin = 8
	reservedPerOrigin     = 2
	minChunkData          = 256
	chunkHoldOverhead     = 128
)

// chunkCharge is what a chunk from from is charged against the budget.
func chunkCharge(from Origin, c chunkMsg) uint64 {
	return uint64(len(c.Data)) + uint64(len(from.Name)) + chunkHoldOverhead
}

// transferKey names a transfer: ids are only unique per sender.
type transferKey struct {
	from Origin
	id   uint64
}

// transfer is one message being reassembled.
type transfer struct {
	size     uint64
	total    uint32
	parts    map[uint32][]byte
	have     uint64    // bytes in parts
	charged  uint64    // chunkCharge of parts, counted in reassembler.held
	deadline time.Time // start + timeout; dropped after, however it progresses
	// key is the first key of a chunked MsgState, read from chunk 0 ("" if
	// not known yet, or not a state): the key this transfer is delivering.
	key string
}

// reassembler collects chunks. It is owned by the worker goroutine and needs
// no lock. Memory is bounded: a transfer's size must be within maxBlob, the
// memory held by all transfers (chunkCharge) within maxBytes, and nothing
// is allocated for a transfer beyond the chunks actually received. Time is bounded too:
// a transfer must complete within timeout of its first chunk.
type reassembler struct {
	maxBlob  uint64
	maxBytes uint64
	timeout  time.Duration

	transfers map[transferKey]*transfer
	perOrigin map[string]int // incomplete transfers by sender name
	held      uint64         // chunkCharge of all chunks held
}

func newReassembler(maxBlob int, maxBytes int64, timeout time.Duration) *reassembler {
	return &reassembler{
		maxBlob:   uint64(maxBlob),
		maxBytes:  uint64(maxBytes),
		timeout:   timeout,
		transfers: make(map[transferKey]*transfer),
		perOrigin: make(map[string]int),
	}
}

// progress describes an incomplete transfer after a chunk: which key it
// delivers ("" if unknown) and when it will be dropped.
type progress struct {
	key      string
	deadline time.Time
}

// inProgress returns the state of from's transfer id, if it is incomplete.
func (ra *reassembler) inProgress(from Origin, id uint64) (progress, bool) {
	t := ra.transfers[transferKey{from, id}]
	if t == nil {
		return progress{}, false
	}
	return progress{key: t.key, deadline: t.deadline}, true
}

// firstStateKey returns the first key of a MsgState from the first chunk of
// the message, or "" if the chunk does not hold it whole.
func firstStateKey(data []byte) string {
	h, r, err := decodeHeader(data)
	if err != nil || h.Type != MsgState {
		return ""
	}
	if _, err := r.uvarint("state count"); err != nil {
		return ""
	}
	k, err := r.bytes("state key", maxKeyLen)
	if err != nil {
		return ""
	}
	return string(k)
}

// add records one chunk. It returns the whole message when c completes it,
// and an error (wrapping ErrDecode or ErrTooLarge) when c is inconsistent
// with its transfer or over a limit; the transfer is then dropped.
func (ra *reassembler) add(from Origin, c chunkMsg, now time.Time) ([]byte, error) {
	k := transferKey{from, c.ID}
	t := ra.transfers[k]
	if t == nil {
		switch {
		case c.Size > ra.maxBlob:
			return nil, fmt.Errorf("%w: chunked message of %d bytes over MaxBlob %d", ErrTooLarge, c.Size, ra.maxBlob)
		case uint64(c.Total) > c.Size, c.Size <= uint64(c.Total-1)*minChunkData:
			return nil, fmt.Errorf("%w: %d chunks for %d bytes (chunks hold at least %d)", ErrDecode, c.Total, c.Size, minChunkData)
		case ra.perOrigin[from.Name] < reservedPerOrigin:
		case len(ra.transfers) >= maxTransfers:
			return nil, fmt.Errorf("%w: %d transfers in progress", ErrTooLarge, len(ra.transfers))
		case ra.perOrigin[from.Name] >= maxTransfersPerOrigin:
			return nil, fmt.Errorf("%w: %d transfers in progress from %s", ErrTooLarge, ra.perOrigin[from.Name], from.Name)
		}
		t = &transfer{size: c.Size, total: c.Total, parts: make(map[uint32][]byte), deadline: now.Add(ra.timeout)}
		ra.transfers[k] = t
		ra.perOrigin[from.Name]++
	}
	fail := func(err error) ([]byte, error) {
		ra.drop(k)
		return nil, err
	}
	switch {
	case now.After(t.deadline):
		return fail(fmt.Errorf("%w: transfer not complete within %v", ErrTooLarge, ra.timeout))
	case c.Size != t.size || c.Total != t.total:
		return fail(fmt.Errorf("%w: chunk %d/%d size %d disagrees with transfer %d/%d", ErrDecode, c.Seq, c.Total, c.Size, t.total, t.size))
	case t.parts[c.Seq] != nil:
		return fail(fmt.Errorf("%w: chunk %d repeated", ErrDecode, c.Seq))
	case t.have+uint64(len(c.Data)) > t.size:
		return fail(fmt.Errorf("%w: chunks exceed message size %d", ErrDecode, t.size))
	case ra.held+chunkCharge(from, c) > ra.maxBytes:
		return fail(fmt.Errorf("%w: reassembly holds %d bytes, limit %d", ErrTooLarge, ra.held, ra.maxBytes))
	case len(c.Data) == 0:
		return fail(fmt.Errorf("%w: empty chunk %d", ErrDecode, c.Seq))
	case c.Seq != c.Total-1 && len(c.Data) < minChunkData:
		return fail(fmt.Errorf("%w: chunk %d of %d holds %d bytes, at least %d expected", ErrDecode, c.Seq, c.Total, len(c.Data), minChunkData))
	}
	t.parts[c.Seq] = c.Data
	t.have += uint64(len(c.Data))
	t.charged += chunkCharge(from, c)
	ra.held += chunkCharge(from, c)
	if c.Seq == 0 {
		t.key = firstStateKey(c.Data)
	}
	if uint32(len(t.parts)) < t.total {
		return nil, nil
	}
	if t.have != t.size {
		return fail(fmt.Errorf("%w: %d chunks hold %d bytes, want %d", ErrDecode, t.total, t.have, t.size))
	}
	msg := make([]byte, 0, t.size)
	for seq := uint32(0); seq < t.total; seq++ {
		msg = append(msg, t.parts[seq]...)
	}
	ra.drop(k)
	return msg, nil
}

func (ra *reassembler) drop(k transferKey) {
	if t := ra.transfers[k]; t != nil {
		ra.held -= t.charged
		delete(ra.transfers, k)
		if ra.perOrigin[k.from.Name]--; ra.perOrigin[k.from.Name] <= 0 {
			delete(ra.perOrigin, k.from.Name)
		}
	}
}

// expire drops transfers that did not complete within the timeout of their
// first chunk, however recently a chunk came (a peer dripping chunks must
// not hold a slot forever), and returns how many it dropped.
func (ra *reassembler) expire(now time.Time) int {
	n := 0
	for k, t := range ra.transfers {
		if now.After(t.deadline) {
			ra.drop(k)
			n++
		}
	}
	return n
}
