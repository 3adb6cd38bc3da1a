package gossip

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
)

// TestDecodeAllocationIsBounded decodes large hostile and large valid
// messages of every type and checks that decoding (and, for lists, reading
// every element) allocates at most a small multiple of the message (5x:
// a digest list of 2-byte keys costs about 2.4x, 3.6x under the race
// detector, which turns off the tiny allocator). A count
// read from the message must never size an allocation by itself.
func TestDecodeAllocationIsBounded(t *testing.T) {
	const size = 4 << 20
	zeros := make([]byte, size)
	withCount := func(t MsgType, pre ...byte) []byte {
		m := appendHeader(nil, t, testOrigin)
		m = append(m, pre...)
		m = binary.AppendUvarint(m, size/2)
		return append(m, zeros...)
	}
	keys := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%02d", i%100) // 2 bytes, the worst case after 1 (static) byte
		}
		return out
	}
	manyKeys := keys(size / 3)
	digests := make([]KeyDigest, size/11)
	for i := range digests {
		digests[i] = KeyDigest{Key: manyKeys[i], Digest: uint64(i)}
	}
	entries := make([]entry, size/4)
	for i := range entries {
		entries[i] = entry{Key: manyKeys[i]}
	}
	tests := []struct {
		name string
		msg  []byte
	}{
		{name: "state of zeros", msg: withCount(MsgState)},
		{name: "want of zeros", msg: withCount(MsgWant)},
		{name: "digests of zeros", msg: withCount(MsgDigests, 0)},
		{name: "delta of zeros", msg: append(appendHeader(nil, MsgDelta, testOrigin), zeros...)},
		{name: "chunk of zeros", msg: append(appendHeader(nil, MsgChunk, testOrigin), zeros...)},
		{name: "root of zeros", msg: append(appendHeader(nil, MsgRoot, testOrigin), zeros...)},
		{name: "buckets of zeros", msg: append(appendHeader(nil, MsgBuckets, testOrigin), zeros...)},
		{name: "state of tiny entries", msg: appendState(nil, testOrigin, entries)},
		{name: "want of tiny keys", msg: appendWant(nil, testOrigin, 1, manyKeys)},
		{name: "digests of tiny keys", msg: appendDigests(nil, testOrigin, digestsMsg{Keys: digests})},
		{name: "large delta", msg: appendDelta(nil, testOrigin, "k", zeros)},
		{name: "large chunk", msg: appendChunk(nil, testOrigin, chunkMsg{ID: 1, Total: 1, Size: size, Data: zeros})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := decodeAndRead(tc.msg)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d-byte message: %d bytes allocated", len(tc.msg), alloc)
			if limit := uint64(5*len(tc.msg) + 64<<10); alloc > limit {
				t.Errorf("%d-byte message (err %v) allocated %d bytes, limit %d", len(tc.msg), err, alloc, limit)
			}
		})
	}
}

// decodeAndRead decodes msg like the worker would, reading every element
// of a list.
func decodeAndRead(msg []byte) error {
	h, r, err := decodeHeader(msg)
	if err != nil {
		return err
	}
	switch h.Type {
	case MsgWant:
		_, l, err := decodeWant(r)
		for k := range l.All() {
			_ = k
		}
		return err
	case MsgState:
		l, err := decodeState(r)
		n := 0
		for e := range l.All() {
			n += len(e.Key)
		}
		return err
	}
	return decodeAny(msg)
}
