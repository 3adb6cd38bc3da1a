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
			if err != nil || m2.ID != m.ID || m2.Key != m.Key || !bytes.Equal(m2.Blob, m.Blob) {
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
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, typ := range []MsgType{MsgReqAck, MsgReadReply} {
			m, err := decodeReply(typ, bodyReader(b))
			if err != nil {
				continue
			}
			if m.Status > statusRefused || (typ == MsgReadReply && (m.Status == statusOK) != (len(m.Blob) > 0)) {
				t.Fatalf("%s decoded an invalid reply %+v", typ, m)
			}
			m2, err := decodeReply(typ, bodyReader(body(appendReply(nil, typ, testOrigin, m))))
			if err != nil || m2.ID != m.ID || m2.Status != m.Status || !bytes.Equal(m2.Blob, m.Blob) {
				t.Fatalf("%s: %+v does not round-trip: %+v, %v", typ, m, m2, err)
			}
		}
	})
}
