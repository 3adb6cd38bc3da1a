package gossip

import "github.com/hashicorp/memberlist"

// Hooks for the external tests (package gossip_test), which cannot reach
// unexported names.

// EncodeDelta returns a MsgDelta message, for injection tests.
func EncodeDelta(from Origin, key string, blob []byte) []byte {
	return appendDelta(nil, from, key, blob)
}

// MemberlistOf exposes the memberlist instance, for injection tests.
func MemberlistOf(g *Gossip) *memberlist.Memberlist { return g.ml }

// EncodeRequest returns a request message (MsgWriteReq, MsgHaveReq,
// MsgReadReq), for injection tests.
func EncodeRequest(t MsgType, from Origin, id uint64, key string, blob []byte) []byte {
	return appendReq(nil, t, from, reqMsg{ID: id, Key: key, Blob: blob})
}

// EncodeReply returns a reply message (MsgReqAck with status 0 = ok), for
// injection tests.
func EncodeAck(from Origin, id uint64) []byte {
	return appendReply(nil, MsgReqAck, from, replyMsg{ID: id})
}

// EncodeBatch returns a MsgBatch numbered seq holding one entry, for
// injection tests.
func EncodeBatch(from Origin, seq uint64, key string, blob []byte) []byte {
	return appendEntries(appendBatchHead(nil, from, []uint64{seq}, nil), []entry{{Key: key, Blob: blob}})
}
