package gossip

import "encoding/binary"

// Wire form of MsgBatch and MsgAck (after the common header):
//
//	MsgBatch  seqs     uvarint count (>= 1), then each seq as a uvarint
//	          acks     uvarint count, then each seq as a uvarint
//	          entries  uvarint count (>= 1), then each key string and blob bytes
//	MsgAck    acks     uvarint count (>= 1), then each seq as a uvarint
//
// Sequence numbers are the sender's: acks name batches the receiver of the
// ack sent.

// batchMsg is a decoded MsgBatch. Entries are read in place.
type batchMsg struct {
	Seqs    []uint64
	Acks    []uint64
	Entries stateList
}

// maxSeqs bounds the sequence numbers and acks one message may list.
const maxSeqs = 4096

// appendBatchHead encodes a MsgBatch up to its entries; appendEntries adds
// them (shared by every peer's copy of a batch).
func appendBatchHead(b []byte, from Origin, seqs, acks []uint64) []byte {
	b = appendHeader(b, MsgBatch, from)
	b = appendSeqs(b, seqs)
	return appendSeqs(b, acks)
}

func appendSeqs(b []byte, seqs []uint64) []byte {
	b = binary.AppendUvarint(b, uint64(len(seqs)))
	for _, s := range seqs {
		b = binary.AppendUvarint(b, s)
	}
	return b
}

// appendEntries encodes an entry list: count, then key and blob each.
func appendEntries(b []byte, entries []entry) []byte {
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for _, e := range entries {
		b = appendString(b, e.Key)
		b = appendBytes(b, e.Blob)
	}
	return b
}

func appendAck(b []byte, from Origin, acks []uint64) []byte {
	return appendSeqs(appendHeader(b, MsgAck, from), acks)
}

// seqsSize is the encoded size of a sequence list.
func seqsSize(seqs []uint64) int {
	n := uvarintLen(uint64(len(seqs)))
	for _, s := range seqs {
		n += uvarintLen(s)
	}
	return n
}

// seqs reads a sequence list of at most maxSeqs numbers; each takes at
// least a byte, so the count is checked against the bytes left first.
func (r *reader) seqs(what string) ([]uint64, error) {
	n, err := r.count(what, 1)
	if err != nil {
		return nil, err
	}
	if n > maxSeqs {
		return nil, r.errf("%s: count %d over limit %d", what, n, maxSeqs)
	}
	out := make([]uint64, n)
	for i := range out {
		if out[i], err = r.uvarint(what); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func decodeBatch(r *reader) (batchMsg, error) {
	var m batchMsg
	var err error
	if m.Seqs, err = r.seqs("batch seqs"); err != nil {
		return m, err
	}
	if len(m.Seqs) == 0 {
		return m, r.errf("batch seqs: none")
	}
	if m.Acks, err = r.seqs("batch acks"); err != nil {
		return m, err
	}
	if m.Entries, err = decodeState(r); err != nil {
		return m, err
	}
	if m.Entries.Len() == 0 {
		return m, r.errf("batch: no entries")
	}
	return m, nil
}

func decodeAck(r *reader) ([]uint64, error) {
	acks, err := r.seqs("acks")
	if err != nil {
		return nil, err
	}
	if len(acks) == 0 {
		return nil, r.errf("acks: none")
	}
	return acks, r.end("acks")
}
