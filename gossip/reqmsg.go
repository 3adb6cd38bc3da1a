package gossip

import "encoding/binary"

// Bodies of the request and reply messages (types 15-19):
//
//	MsgWriteReq, MsgHaveReq  id u64 | key string | blob bytes
//	MsgReadReq               id u64 | key string | [token u64]
//	MsgReqAck                   id u64 | status byte
//	MsgReadReply             id u64 | status byte | blob bytes (empty unless
//	                         found; for statusProve the 8-byte token)
//
// Strings and byte strings are a uvarint length and the bytes, as in every
// other message.

// Reply statuses; part of the wire protocol.
const (
	// statusOK: the write was merged, the delta is held, or the state
	// follows.
	statusOK byte = 0
	// statusNo: the delta is not held yet, or the key is absent.
	statusNo byte = 1
	// statusRefused: the receiver could not merge or check the blob
	// (wrong type, bad bytes, closing) or read the key.
	statusRefused byte = 2
	// statusProve: the state is much larger than the request; ask again
	// with this token (the blob), which proves the request came from the
	// member it names (the token went to that member's address).
	statusProve byte = 3
)

// reqMsg is the body of MsgWriteReq, MsgHaveReq and MsgReadReq (no blob).
type reqMsg struct {
	ID    uint64
	Key   string
	Blob  []byte
	Token uint64 // MsgReadReq: a token from statusProve, 0 if none
}

// replyMsg is the body of MsgReqAck and MsgReadReply (with a blob).
type replyMsg struct {
	ID     uint64
	Status byte
	Blob   []byte
}

func appendReq(b []byte, t MsgType, from Origin, m reqMsg) []byte {
	b = appendHeader(b, t, from)
	b = binary.BigEndian.AppendUint64(b, m.ID)
	b = appendString(b, m.Key)
	if t != MsgReadReq {
		b = appendBytes(b, m.Blob)
	} else if m.Token != 0 {
		b = binary.BigEndian.AppendUint64(b, m.Token)
	}
	return b
}

func appendReply(b []byte, t MsgType, from Origin, m replyMsg) []byte {
	b = appendHeader(b, t, from)
	b = binary.BigEndian.AppendUint64(b, m.ID)
	b = append(b, m.Status)
	if t == MsgReadReply {
		b = appendBytes(b, m.Blob)
	}
	return b
}

// decodeReq decodes a request body of type t. The blob is a sub-slice of
// the message.
func decodeReq(t MsgType, r *reader) (reqMsg, error) {
	var m reqMsg
	var err error
	if m.ID, err = r.u64("request id"); err != nil {
		return m, err
	}
	if m.Key, err = r.string("request key", maxKeyLen); err != nil {
		return m, err
	}
	if m.Key == "" {
		return m, r.errf("request key: empty")
	}
	if t != MsgReadReq {
		if m.Blob, err = r.bytes("request blob", r.remaining()); err != nil {
			return m, err
		}
		if len(m.Blob) == 0 {
			return m, r.errf("request blob: empty")
		}
	} else if r.remaining() > 0 {
		if m.Token, err = r.u64("request token"); err != nil {
			return m, err
		}
		if m.Token == 0 {
			return m, r.errf("request token: zero")
		}
	}
	return m, r.end(t.String())
}

// decodeReply decodes a reply body of type t.
func decodeReply(t MsgType, r *reader) (replyMsg, error) {
	var m replyMsg
	var err error
	if m.ID, err = r.u64("reply id"); err != nil {
		return m, err
	}
	if m.Status, err = r.byte("reply status"); err != nil {
		return m, err
	}
	if m.Status > statusProve || (t == MsgReqAck && m.Status == statusProve) {
		return m, r.errf("reply status: unknown %d", m.Status)
	}
	if t == MsgReadReply {
		if m.Blob, err = r.bytes("reply blob", r.remaining()); err != nil {
			return m, err
		}
		switch {
		case m.Status == statusProve && len(m.Blob) != 8:
			return m, r.errf("reply token: %d bytes, want 8", len(m.Blob))
		case m.Status != statusProve && (m.Status == statusOK) != (len(m.Blob) > 0):
			return m, r.errf("reply blob: %d bytes with status %d", len(m.Blob), m.Status)
		}
	}
	return m, r.end(t.String())
}
