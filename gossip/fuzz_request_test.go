package gossip

import (
	"bytes"
	"testing"
)

// FuzzDecodeRequest checks the request decoder on arbitrary bodies: no
// panic, and what decodes re-encodes to the same bytes.
func FuzzDecodeRequest(f *testing.F) {
	addSeeds(f,
		body(appendReq(nil, MsgWriteReq, testOrigin, reqMsg{ID: 7, Key: "k", Blob: []byte{1, 2}})),
		body(appendReq(nil, MsgReadReq, testOrigin, reqMsg{ID: 1 << 60, Key: "key"})),
		body(appendReq(nil, MsgReadReq, testOrigin, reqMsg{ID: 5, Key: "key", Token: 99})),
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, typ := range []MsgType{MsgWriteReq, MsgHaveReq, MsgReadReq} {
			m, err := decodeReq(typ, bodyReader(b))
			if err != nil {
				continue
			}
			if m.Key == "" || (typ != MsgReadReq && len(m.Blob) == 0) {
				t.Fatalf("%s decoded an empty key or blob: %+v", typ, m)
			}
			m2, err := decodeReq(typ, bodyReader(body(appendReq(nil, typ, testOrigin, m))))
			if err != nil || m2.ID != m.ID || m2.Key != m.Key || m2.Token != m.Token || !bytes.Equal(m2.Blob, m.Blob) {
				t.Fatalf("%s: %+v does not round-trip: %+v, %v", typ, m, m2, err)
			}
		}
	})
}

// FuzzDecodeReply checks the reply decoder the same way.
func FuzzDecodeReply(f *testing.F) {
	addSeeds(f,
		body(appendReply(nil, MsgReqAck, testOrigin, replyMsg{ID: 9, Status: statusNo})),
		body(appendReply(nil, MsgReadReply, testOrigin, replyMsg{ID: 3, Blob: []byte("state")})),
		body(appendReply(nil, MsgReadReply, testOrigin, replyMsg{ID: 3, Status: statusNo})),
		body(appendReply(nil, MsgReadReply, testOrigin, replyMsg{ID: 3, Status: statusProve, Blob: []byte{1, 2, 3, 4, 5, 6, 7, 8}})),
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, typ := range []MsgType{MsgReqAck, MsgReadReply} {
			m, err := decodeReply(typ, bodyReader(b))
			if err != nil {
				continue
			}
			if m.Status > statusProve || (typ == MsgReqAck && m.Status == statusProve) ||
				(typ == MsgReadReply && m.Status == statusProve && len(m.Blob) != 8) ||
				(typ == MsgReadReply && m.Status != statusProve && (m.Status == statusOK) != (len(m.Blob) > 0)) {
				t.Fatalf("%s decoded an invalid reply %+v", typ, m)
			}
			m2, err := decodeReply(typ, bodyReader(body(appendReply(nil, typ, testOrigin, m))))
			if err != nil || m2.ID != m.ID || m2.Status != m.Status || !bytes.Equal(m2.Blob, m.Blob) {
				t.Fatalf("%s: %+v does not round-trip: %+v, %v", typ, m, m2, err)
			}
		}
	})
}
