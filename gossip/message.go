package gossip

import (
	"encoding/binary"
	"fmt"
	"iter"
	"strings"
)

// Wire format. Every message starts with the same header:
//
//	version  byte     ProtocolVersion
//	type     byte     a MsgType
//	name     uvarint length + bytes (the sender's Origin.Name, <= maxNameLen)
//	epoch    uvarint  (the sender's Origin.Epoch)
//
// followed by a body that depends on the type (see the append* functions).
// Fixed-width numbers (digests, transfer ids) are 8 bytes big-endian; lengths
// and counts are uvarints. The layout is hand-written rather than msgpack so
// that every length is checked against the bytes that remain before anything
// is allocated: a peer's bytes never cost more memory than a small multiple
// of their own length. Lists are walked and checked before any slice is
// made for them, and the long ones (wants, states) are never copied into
// slices at all: they are read in place, one element at a time.

// ProtocolVersion is the version byte of every message. It is part of the
// protocol: change it only with a migration plan.
const ProtocolVersion byte = 1

// MsgType is the type byte of a message. Values are part of the protocol:
// written out, never iota, never reused.
type MsgType uint8

const (
	// MsgDelta carries one key's delta (or joined deltas) to be merged and,
	// if it was new to the receiver, forwarded.
	MsgDelta MsgType = 1
	// MsgRoot starts an anti-entropy round: the sender's root digest and a
	// fresh nonce.
	MsgRoot MsgType = 2
	// MsgDigests carries per-key digests, in reply to a differing root
	// (final=false, asking for the reverse list) or to such a reply
	// (final=true). It carries the round's session token.
	MsgDigests MsgType = 3
	// MsgWant asks the receiver for the full state of some keys of a round
	// (session token, keys).
	MsgWant MsgType = 4
	// MsgState carries the full state of one or more keys.
	MsgState MsgType = 5
	// MsgChunk carries one piece of a message larger than the chunk size.
	MsgChunk MsgType = 6
	// MsgDeltaDirect is a delta (same body as MsgDelta) that its publisher
	// sent to every member itself: it is merged, never forwarded. Deltas
	// over the packet budget travel this way, so that each member receives
	// a large delta once instead of from every forwarder.
	MsgDeltaDirect MsgType = 7
	// MsgLeave says the sender is leaving for good (Close), so receivers
	// stop trying to rejoin it. Empty body.
	MsgLeave MsgType = 8
	// MsgBuckets replies to a differing root, instead of MsgDigests, when
	// the replica holds many keys: numBuckets digests, each over the keys
	// that hash into it, so that only the keys of differing buckets are
	// listed next.
	MsgBuckets MsgType = 9
	// MsgRootReply answers a root that differs from ours: our root, the
	// root's nonce echoed, and a fresh session token. The root's sender
	// proves it is the member it names by sending the token back with the
	// next message of the round; nothing larger than this reply is sent to
	// a member before it has (see session.go).
	MsgRootReply MsgType = 10

	// Requests and replies of consistency levels (see request.go). Each
	// request carries an ID the requester chose for this one send; the
	// reply repeats it, and the requester accepts one reply per ID, from
	// the member it asked.

	// MsgWriteReq asks the receiver to merge a delta and acknowledge it
	// (MsgReqAck).
	MsgWriteReq MsgType = 15
	// MsgReqAck answers a MsgWriteReq or MsgHaveReq with a status.
	MsgReqAck MsgType = 16
	// MsgReadReq asks for the full state of one key (MsgReadReply).
	MsgReadReq MsgType = 17
	// MsgReadReply carries the state MsgReadReq asked for, or says the key
	// is absent.
	MsgReadReply MsgType = 18
	// MsgHaveReq asks whether the receiver's state already covers a delta,
	// without merging it (MsgReqAck).
	MsgHaveReq MsgType = 19

	// MsgBatch carries the deltas of many keys that the sender published
	// (DisseminateDirect), sent by it to every member: it is merged, never
	// forwarded, and acknowledged. It lists the batch sequence numbers it
	// covers (one, or several when retransmitted together) and acks for
	// batches the receiver sent to the sender (piggybacked; see MsgAck).
	MsgBatch MsgType = 20
	// MsgAck acknowledges batches: the sender merged them. It is sent on
	// its own only when no batch to that peer carried the acks in time.
	MsgAck MsgType = 21
	// MsgTree carries digest-tree sums: the children of some tree nodes
	// (see digestindex.go), in reply to a differing root or to a MsgTree.
	MsgTree MsgType = 22
	// MsgTreeDigests carries the per-key digests of some tree leaves.
	MsgTreeDigests MsgType = 23

	numMsgTypes = 24 // one past the largest type; sizes stats arrays
)

// String names the type for logs and stats.
func (t MsgType) String() string {
	switch t {
	case MsgDelta:
		return "delta"
	case MsgRoot:
		return "root"
	case MsgDigests:
		return "digests"
	case MsgWant:
		return "want"
	case MsgState:
		return "state"
	case MsgChunk:
		return "chunk"
	case MsgDeltaDirect:
		return "delta-direct"
	case MsgLeave:
		return "leave"
	case MsgBuckets:
		return "buckets"
	case MsgRootReply:
		return "root-reply"
	case MsgBatch:
		return "batch"
	case MsgAck:
		return "ack"
	case MsgWriteReq:
		return "write-req"
	case MsgReqAck:
		return "req-ack"
	case MsgReadReq:
		return "read-req"
	case MsgReadReply:
		return "read-reply"
	case MsgHaveReq:
		return "have-req"
	case MsgTree:
		return "tree"
	case MsgTreeDigests:
		return "tree-digests"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// known reports whether t is a message type of this protocol version.
func (t MsgType) known() bool {
	return t > 0 && t < numMsgTypes && !strings.HasPrefix(t.String(), "type(")
}

// MarshalText names the type, so Stats maps read well as JSON.
func (t MsgType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText parses a name written by MarshalText.
func (t *MsgType) UnmarshalText(b []byte) error {
	for c := MsgType(1); c < numMsgTypes; c++ {
		if c.String() == string(b) {
			*t = c
			return nil
		}
	}
	var n uint8
	if _, err := fmt.Sscanf(string(b), "type(%d)", &n); err == nil {
		*t = MsgType(n)
		return nil
	}
	return fmt.Errorf("%w: %q", ErrType, b)
}

// Limits on decoded fields. They bound what a peer can make us allocate
// beyond the bytes it sent, and they keep names and keys printable in logs.
const (
	maxNameLen = 512
	maxKeyLen  = 64 << 10
	maxChunks  = 1 << 20
)

// Origin identifies a replica: its name and the epoch of its state. The
// epoch changes whenever the replica's state was lost or restored, so (Name,
// Epoch) never issues the same update twice.
type Origin struct {
	Name  string
	Epoch uint64
}

// header is the decoded common prefix of every message.
type header struct {
	Type MsgType
	From Origin
}

// entry is one key's blob in a MsgState (or a MsgDelta).
type entry struct {
	Key  string
	Blob []byte
}

// chunkMsg is one piece of a larger message. ID is chosen by the sender and
// unique among its transfers; Size is the length of the whole message.
type chunkMsg struct {
	ID    uint64
	Seq   uint32
	Total uint32
	Size  uint64
	Data  []byte
}

// digestsMsg is the body of MsgDigests. Scope, if not nil, says which
// buckets the list covers: a key of another bucket missing from Keys is not
// missing at the sender. Nil means every key.
type digestsMsg struct {
	Token uint64 // the round's session token
	Final bool
	Scope *bucketSet
	Keys  []KeyDigest
}

// rootMsg is the body of MsgRoot.
type rootMsg struct {
	Root  uint64
	Keys  uint64 // number of keys, for logs only
	Nonce uint64 // echoed by MsgRootReply
	Stamp uint64 // sender's clock (Unix ns), increasing: replays are refused
}

// rootReplyMsg is the body of MsgRootReply.
type rootReplyMsg struct {
	Root  uint64 // the replier's root
	Echo  uint64 // the nonce of the root it answers
	Token uint64 // the session token of the round
}

// --- encoding ---

func appendHeader(b []byte, t MsgType, from Origin) []byte {
	b = append(b, ProtocolVersion, byte(t))
	b = appendString(b, from.Name)
	return binary.AppendUvarint(b, from.Epoch)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendDelta(b []byte, from Origin, key string, blob []byte) []byte {
	return appendDeltaType(b, MsgDelta, from, key, blob)
}

// appendDeltaType encodes a MsgDelta or MsgDeltaDirect.
func appendDeltaType(b []byte, t MsgType, from Origin, key string, blob []byte) []byte {
	b = appendHeader(b, t, from)
	b = appendString(b, key)
	return appendBytes(b, blob)
}

func appendRoot(b []byte, from Origin, m rootMsg) []byte {
	b = appendHeader(b, MsgRoot, from)
	b = binary.BigEndian.AppendUint64(b, m.Root)
	b = binary.AppendUvarint(b, m.Keys)
	b = binary.BigEndian.AppendUint64(b, m.Nonce)
	return binary.BigEndian.AppendUint64(b, m.Stamp)
}

func appendRootReply(b []byte, from Origin, m rootReplyMsg) []byte {
	b = appendHeader(b, MsgRootReply, from)
	b = binary.BigEndian.AppendUint64(b, m.Root)
	b = binary.BigEndian.AppendUint64(b, m.Echo)
	return binary.BigEndian.AppendUint64(b, m.Token)
}

func appendDigests(b []byte, from Origin, m digestsMsg) []byte {
	b = appendHeader(b, MsgDigests, from)
	b = binary.BigEndian.AppendUint64(b, m.Token)
	var flags byte
	if m.Final {
		flags |= 1
	}
	if m.Scope != nil {
		flags |= 2
	}
	b = append(b, flags)
	if m.Scope != nil {
		b = append(b, m.Scope[:]...)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Keys)))
	for _, kd := range m.Keys {
		b = appendString(b, kd.Key)
		b = binary.BigEndian.AppendUint64(b, kd.Digest)
	}
	return b
}

func appendBuckets(b []byte, from Origin, token uint64, d *[numBuckets]uint64) []byte {
	b = appendHeader(b, MsgBuckets, from)
	b = binary.BigEndian.AppendUint64(b, token)
	for _, x := range d {
		b = binary.BigEndian.AppendUint64(b, x)
	}
	return b
}

func decodeBuckets(r *reader) (token uint64, d *[numBuckets]uint64, err error) {
	if r.remaining() != 8+numBuckets*8 {
		return 0, nil, r.errf("buckets: %d bytes, want %d", r.remaining(), 8+numBuckets*8)
	}
	token, _ = r.u64("buckets token")
	d = new([numBuckets]uint64)
	for i := range d {
		d[i], _ = r.u64("bucket digest")
	}
	return token, d, nil
}

func appendWant(b []byte, from Origin, token uint64, keys []string) []byte {
	b = appendHeader(b, MsgWant, from)
	b = binary.BigEndian.AppendUint64(b, token)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
	}
	return b
}

func appendState(b []byte, from Origin, entries []entry) []byte {
	b = appendHeader(b, MsgState, from)
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for _, e := range entries {
		b = appendString(b, e.Key)
		b = appendBytes(b, e.Blob)
	}
	return b
}

func appendChunk(b []byte, from Origin, c chunkMsg) []byte {
	b = appendHeader(b, MsgChunk, from)
	b = binary.BigEndian.AppendUint64(b, c.ID)
	b = binary.AppendUvarint(b, uint64(c.Seq))
	b = binary.AppendUvarint(b, uint64(c.Total))
	b = binary.AppendUvarint(b, c.Size)
	return appendBytes(b, c.Data)
}

// entrySize is the encoded size of one state entry.
func entrySize(key string, blob []byte) int {
	return uvarintLen(uint64(len(key))) + len(key) + uvarintLen(uint64(len(blob))) + len(blob)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// --- decoding ---

// reader decodes a message body. Every read checks the bytes remaining first;
// errors name the field and wrap ErrDecode.
type reader struct {
	b   []byte
	off int
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) errf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrDecode}, args...)...)
}

func (r *reader) byte(what string) (byte, error) {
	if r.remaining() < 1 {
		return 0, r.errf("%s: truncated at byte %d", what, r.off)
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) uvarint(what string) (uint64, error) { return r.uvarintOf(what, "") }

// uvarintOf reads a uvarint named what+suffix in errors. The name is only
// built on error: concatenating it on every call would allocate per list
// element.
func (r *reader) uvarintOf(what, suffix string) (uint64, error) {
	v, n := binary.Uvarint(r.b[r.off:])
	if n == 0 {
		return 0, r.errf("%s%s: truncated at byte %d", what, suffix, r.off)
	}
	if n < 0 {
		return 0, r.errf("%s%s: varint overflows 64 bits at byte %d", what, suffix, r.off)
	}
	r.off += n
	return v, nil
}

func (r *reader) u64(what string) (uint64, error) {
	if r.remaining() < 8 {
		return 0, r.errf("%s: truncated at byte %d", what, r.off)
	}
	v := binary.BigEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v, nil
}

// bytes returns a length-prefixed byte string, at most max long, as a
// sub-slice of the input (no copy).
func (r *reader) bytes(what string, max int) ([]byte, error) {
	n, err := r.uvarintOf(what, " length")
	if err != nil {
		return nil, err
	}
	if n > uint64(max) {
		return nil, r.errf("%s: length %d over limit %d", what, n, max)
	}
	if n > uint64(r.remaining()) {
		return nil, r.errf("%s: length %d but only %d bytes remain", what, n, r.remaining())
	}
	p := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return p, nil
}

func (r *reader) string(what string, max int) (string, error) {
	p, err := r.bytes(what, max)
	return string(p), err
}

// count reads an element count and checks that the remaining bytes can hold
// that many elements of at least minSize bytes each, before the caller
// allocates a slice of that length.
func (r *reader) count(what string, minSize int) (int, error) {
	n, err := r.uvarintOf(what, " count")
	if err != nil {
		return 0, err
	}
	if n > uint64(r.remaining()/minSize) {
		return 0, r.errf("%s: count %d cannot fit in %d remaining bytes", what, n, r.remaining())
	}
	return int(n), nil
}

func (r *reader) end(what string) error {
	if r.remaining() != 0 {
		return r.errf("%s: %d trailing bytes", what, r.remaining())
	}
	return nil
}

// decodeHeader decodes the common header and returns a reader positioned at
// the body.
func decodeHeader(b []byte) (header, *reader, error) {
	r := &reader{b: b}
	var h header
	v, err := r.byte("version")
	if err != nil {
		return h, nil, err
	}
	if v != ProtocolVersion {
		return h, nil, fmt.Errorf("%w: %w: got %d, want %d", ErrDecode, ErrVersion, v, ProtocolVersion)
	}
	t, err := r.byte("type")
	if err != nil {
		return h, nil, err
	}
	h.Type = MsgType(t)
	if !h.Type.known() {
		return h, nil, fmt.Errorf("%w: %w: %d", ErrDecode, ErrType, t)
	}
	if h.From.Name, err = r.string("origin name", maxNameLen); err != nil {
		return h, nil, err
	}
	if h.From.Epoch, err = r.uvarint("origin epoch"); err != nil {
		return h, nil, err
	}
	return h, r, nil
}

func decodeDelta(r *reader) (entry, error) {
	var e entry
	var err error
	if e.Key, err = r.string("delta key", maxKeyLen); err != nil {
		return e, err
	}
	if e.Key == "" {
		return e, r.errf("delta key: empty")
	}
	if e.Blob, err = r.bytes("delta blob", r.remaining()); err != nil {
		return e, err
	}
	return e, r.end("delta")
}

func decodeRoot(r *reader) (rootMsg, error) {
	var m rootMsg
	var err error
	if m.Root, err = r.u64("root digest"); err != nil {
		return m, err
	}
	if m.Keys, err = r.uvarint("root key count"); err != nil {
		return m, err
	}
	if m.Nonce, err = r.u64("root nonce"); err != nil {
		return m, err
	}
	if m.Stamp, err = r.u64("root stamp"); err != nil {
		return m, err
	}
	return m, r.end("root")
}

func decodeRootReply(r *reader) (rootReplyMsg, error) {
	var m rootReplyMsg
	var err error
	if m.Root, err = r.u64("root reply digest"); err != nil {
		return m, err
	}
	if m.Echo, err = r.u64("root reply echo"); err != nil {
		return m, err
	}
	if m.Token, err = r.u64("root reply token"); err != nil {
		return m, err
	}
	return m, r.end("root reply")
}

func decodeDigests(r *reader) (digestsMsg, error) {
	var m digestsMsg
	var err error
	if m.Token, err = r.u64("digests token"); err != nil {
		return m, err
	}
	flags, err := r.byte("digests flags")
	if err != nil {
		return m, err
	}
	if flags&^3 != 0 {
		return m, r.errf("digests flags: unknown bits %#x", flags)
	}
	m.Final = flags&1 != 0
	if flags&2 != 0 {
		if r.remaining() < len(bucketSet{}) {
			return m, r.errf("digests scope: truncated at byte %d", r.off)
		}
		m.Scope = new(bucketSet)
		r.off += copy(m.Scope[:], r.b[r.off:])
	}
	n, err := r.count("digests", minDigestSize)
	if err != nil {
		return m, err
	}
	// Walk the list before allocating, so the slice is as long as the
	// entries actually sent, not as the count claims.
	start := r.off
	for i := range n {
		if err := r.skipKey("digest key", i); err != nil {
			return m, err
		}
		if _, err := r.u64("digest"); err != nil {
			return m, err
		}
	}
	if err := r.end("digests"); err != nil {
		return m, err
	}
	r.off = start
	m.Keys = make([]KeyDigest, n)
	for i := range m.Keys {
		m.Keys[i].Key, _ = r.string("digest key", maxKeyLen)
		m.Keys[i].Digest, _ = r.u64("digest")
	}
	return m, nil
}

// Smallest encodings of list elements: a key is never empty, so it takes a
// length byte and at least one byte.
const (
	minKeySize    = 2
	minDigestSize = minKeySize + 8
	minEntrySize  = minKeySize + 1 // key and an empty blob's length
)

// skipKey checks the i'th non-empty key of a list and steps over it
// without allocating.
func (r *reader) skipKey(what string, i int) error {
	k, err := r.bytes(what, maxKeyLen)
	if err != nil {
		return err
	}
	if len(k) == 0 {
		return r.errf("%s %d: empty", what, i)
	}
	return nil
}

// keyList is the validated body of a MsgWant: n keys, each a uvarint length
// and bytes. Keys are copied out one at a time by All, so a long list costs
// no memory beyond the message that carries it.
type keyList struct {
	b []byte
	n int
}

// Len returns the number of keys.
func (l keyList) Len() int { return l.n }

// All yields the keys in order.
func (l keyList) All() iter.Seq[string] {
	return func(yield func(string) bool) {
		r := &reader{b: l.b}
		for range l.n {
			k, _ := r.string("want key", maxKeyLen)
			if !yield(k) {
				return
			}
		}
	}
}

func decodeWant(r *reader) (token uint64, keys keyList, err error) {
	if token, err = r.u64("want token"); err != nil {
		return 0, keyList{}, err
	}
	n, err := r.count("want", minKeySize)
	if err != nil {
		return 0, keyList{}, err
	}
	start := r.off
	for i := range n {
		if err := r.skipKey("want key", i); err != nil {
			return 0, keyList{}, err
		}
	}
	return token, keyList{b: r.b[start:r.off:r.off], n: n}, r.end("want")
}

// newKeyList encodes keys as a keyList.
func newKeyList(keys []string) keyList {
	var b []byte
	for _, k := range keys {
		b = appendString(b, k)
	}
	return keyList{b: b, n: len(keys)}
}

// stateList is the validated body of a MsgState: n entries, each a key and
// a blob. All yields them one at a time; blobs are sub-slices of the
// message, so a long list costs no memory beyond the message and one key
// at a time.
type stateList struct {
	b []byte
	n int
}

// Len returns the number of entries.
func (l stateList) Len() int { return l.n }

// All yields the entries in order.
func (l stateList) All() iter.Seq[entry] {
	return func(yield func(entry) bool) {
		r := &reader{b: l.b}
		for range l.n {
			var e entry
			e.Key, _ = r.string("state key", maxKeyLen)
			e.Blob, _ = r.bytes("state blob", r.remaining())
			if !yield(e) {
				return
			}
		}
	}
}

func decodeState(r *reader) (stateList, error) {
	n, err := r.count("state", minEntrySize)
	if err != nil {
		return stateList{}, err
	}
	start := r.off
	for i := range n {
		if err := r.skipKey("state key", i); err != nil {
			return stateList{}, err
		}
		if _, err := r.bytes("state blob", r.remaining()); err != nil {
			return stateList{}, err
		}
	}
	return stateList{b: r.b[start:r.off:r.off], n: n}, r.end("state")
}

func decodeChunk(r *reader) (chunkMsg, error) {
	var c chunkMsg
	var err error
	if c.ID, err = r.u64("chunk id"); err != nil {
		return c, err
	}
	seq, err := r.uvarint("chunk seq")
	if err != nil {
		return c, err
	}
	total, err := r.uvarint("chunk total")
	if err != nil {
		return c, err
	}
	if total == 0 || total > maxChunks {
		return c, r.errf("chunk total: %d not in [1, %d]", total, maxChunks)
	}
	if seq >= total {
		return c, r.errf("chunk seq: %d not below total %d", seq, total)
	}
	c.Seq, c.Total = uint32(seq), uint32(total)
	if c.Size, err = r.uvarint("chunk size"); err != nil {
		return c, err
	}
	if c.Data, err = r.bytes("chunk data", r.remaining()); err != nil {
		return c, err
	}
	if uint64(len(c.Data)) > c.Size {
		return c, r.errf("chunk data: %d bytes exceed message size %d", len(c.Data), c.Size)
	}
	return c, r.end("chunk")
}
