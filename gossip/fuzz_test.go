package gossip

import (
	"bytes"
	"reflect"
	"slices"
	"testing"
	"time"
)

// Seeds shared by the body fuzzers: the bad-input catalogue (truncated,
// huge lengths and counts, overflowing varints) plus valid bodies.
var badBodies = [][]byte{
	{},
	{0},
	{0xff},
	{0xff, 0xff, 0xff, 0xff, 0x0f},
	{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	bytes.Repeat([]byte{0xff}, 11),
	{1, 'k', 0xff, 0xff, 0xff, 0xff, 0x0f},
	{0, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 'a'},
}

// body strips the header off a valid message, for seeding.
func body(msg []byte) []byte {
	_, r, err := decodeHeader(msg)
	if err != nil {
		panic(err)
	}
	return r.b[r.off:]
}

func addSeeds(f *testing.F, valid ...[]byte) {
	for _, b := range badBodies {
		f.Add(b)
	}
	for _, v := range valid {
		f.Add(v)
		for i := range v {
			f.Add(v[:i]) // every truncation
		}
	}
}

func bodyReader(b []byte) *reader { return &reader{b: b} }

func FuzzDecodeHeader(f *testing.F) {
	f.Add(appendHeader(nil, MsgDelta, testOrigin))
	f.Add([]byte{2, 1, 0, 0})
	f.Add([]byte{1, 0, 0, 0})
	f.Add([]byte{1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{1, 1, 5, 'a'})
	f.Add(append([]byte{1, 1, 0}, bytes.Repeat([]byte{0xff}, 11)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, r, err := decodeHeader(b)
		if err != nil {
			return
		}
		again := append(appendHeader(nil, h.Type, h.From), r.b[r.off:]...)
		h2, _, err := decodeHeader(again)
		if err != nil || h2 != h {
			t.Fatalf("re-decode: %+v %v, want %+v", h2, err, h)
		}
	})
}

func FuzzDecodeDelta(f *testing.F) {
	addSeeds(f, body(appendDelta(nil, testOrigin, "key", []byte("blob"))))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeDelta(bodyReader(b))
		if err != nil {
			return
		}
		got, err := decodeDelta(bodyReader(body(appendDelta(nil, testOrigin, e.Key, e.Blob))))
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Fatalf("round trip: %+v %v, want %+v", got, err, e)
		}
	})
}

func FuzzDecodeRoot(f *testing.F) {
	addSeeds(f, body(appendRoot(nil, testOrigin, rootMsg{Root: 42, Keys: 3})))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeRoot(bodyReader(b))
		if err != nil {
			return
		}
		got, err := decodeRoot(bodyReader(body(appendRoot(nil, testOrigin, m))))
		if err != nil || got != m {
			t.Fatalf("round trip: %+v %v, want %+v", got, err, m)
		}
	})
}

func FuzzDecodeRootReply(f *testing.F) {
	addSeeds(f, body(appendRootReply(nil, testOrigin, rootReplyMsg{Root: 42, Echo: 3, Token: 9})))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeRootReply(bodyReader(b))
		if err != nil {
			return
		}
		got, err := decodeRootReply(bodyReader(body(appendRootReply(nil, testOrigin, m))))
		if err != nil || got != m {
			t.Fatalf("round trip: %+v %v, want %+v", got, err, m)
		}
	})
}

func FuzzDecodeDigests(f *testing.F) {
	addSeeds(f, body(appendDigests(nil, testOrigin, digestsMsg{Final: true, Keys: []KeyDigest{{"a", 1}, {"bb", 2}}})),
		body(appendDigests(nil, testOrigin, digestsMsg{Scope: &bucketSet{1, 2, 3}, Keys: []KeyDigest{{"c", 3}}})))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeDigests(bodyReader(b))
		if err != nil {
			return
		}
		if len(m.Keys) > len(b)/9 {
			t.Fatalf("%d digests from %d bytes", len(m.Keys), len(b))
		}
		got, err := decodeDigests(bodyReader(body(appendDigests(nil, testOrigin, m))))
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip: %+v %v, want %+v", got, err, m)
		}
	})
}

func FuzzDecodeWant(f *testing.F) {
	addSeeds(f, body(appendWant(nil, testOrigin, 7, []string{"a", "bb", "ccc"})))
	addSeeds(f, body(appendWant(nil, testOrigin, 7, []string{"a", "", "ccc"})))
	f.Fuzz(func(t *testing.T, b []byte) {
		token, l, err := decodeWant(bodyReader(b))
		if err != nil {
			return
		}
		keys := slices.Collect(l.All())
		if len(keys) != l.Len() || len(keys) > len(b)/minKeySize {
			t.Fatalf("%d keys (Len %d) from %d bytes", len(keys), l.Len(), len(b))
		}
		if slices.Contains(keys, "") {
			t.Fatal("decoded an empty key")
		}
		gotToken, got, err := decodeWant(bodyReader(body(appendWant(nil, testOrigin, token, keys))))
		if err != nil || gotToken != token || !slices.Equal(slices.Collect(got.All()), keys) {
			t.Fatalf("round trip: %v, want %q", err, keys)
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	addSeeds(f, body(appendState(nil, testOrigin, []entry{{"a", []byte{1}}, {"b", nil}})))
	addSeeds(f, body(appendState(nil, testOrigin, []entry{{"", []byte{1}}})))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := decodeState(bodyReader(b))
		if err != nil {
			return
		}
		es := slices.Collect(l.All())
		if len(es) != l.Len() || len(es) > len(b)/minEntrySize {
			t.Fatalf("%d entries (Len %d) from %d bytes", len(es), l.Len(), len(b))
		}
		got, err := decodeState(bodyReader(body(appendState(nil, testOrigin, es))))
		if err != nil || got.Len() != len(es) {
			t.Fatalf("round trip: %d entries %v, want %d", got.Len(), err, len(es))
		}
		i := 0
		for e := range got.All() {
			if e.Key == "" || e.Key != es[i].Key || !bytes.Equal(e.Blob, es[i].Blob) {
				t.Fatalf("entry %d: %+v, want %+v", i, e, es[i])
			}
			i++
		}
	})
}

func FuzzDecodeChunk(f *testing.F) {
	addSeeds(f, body(appendChunk(nil, testOrigin, chunkMsg{ID: 1, Seq: 0, Total: 2, Size: 4, Data: []byte{1, 2}})))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeChunk(bodyReader(b))
		if err != nil {
			return
		}
		got, err := decodeChunk(bodyReader(body(appendChunk(nil, testOrigin, c))))
		if err != nil || got.ID != c.ID || got.Seq != c.Seq || got.Total != c.Total || got.Size != c.Size || !bytes.Equal(got.Data, c.Data) {
			t.Fatalf("round trip: %+v %v, want %+v", got, err, c)
		}
	})
}

// FuzzReassemble feeds a stream of chunk bodies (each prefixed by a one-byte
// length) to a reassembler with small limits: it must never panic, never
// hold more than its limit, and only return messages of the announced size.
func FuzzReassemble(f *testing.F) {
	msg := bytes.Repeat([]byte("abcdefgh"), 40)
	var stream []byte
	for _, c := range splitMessage(testOrigin, 5, msg, 1024) {
		b := body(c)
		if len(b) < 256 {
			stream = append(stream, byte(len(b)))
			stream = append(stream, b...)
		}
	}
	f.Add(stream)
	f.Add([]byte{12, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0xff, 0x7f})
	f.Add([]byte{13, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 4, 2, 1, 2, 13, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 4, 2, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		const limit = 4096
		ra := newReassembler(limit, limit, time.Minute)
		now := time.Unix(0, 0)
		for len(b) > 0 {
			n := int(b[0])
			b = b[1:]
			if n > len(b) {
				return
			}
			c, err := decodeChunk(bodyReader(b[:n]))
			b = b[n:]
			if err != nil {
				continue
			}
			out, err := ra.add(testOrigin, c, now)
			if err == nil && out != nil && uint64(len(out)) != c.Size {
				t.Fatalf("reassembled %d bytes, announced %d", len(out), c.Size)
			}
			if ra.held > limit {
				t.Fatalf("holding %d bytes, limit %d", ra.held, limit)
			}
			now = now.Add(time.Second)
		}
		ra.expire(now.Add(2 * time.Minute))
		if ra.held != 0 || len(ra.transfers) != 0 {
			t.Fatalf("after expiry: %d bytes in %d transfers", ra.held, len(ra.transfers))
		}
	})
}

func FuzzDecodeBuckets(f *testing.F) {
	var d [numBuckets]uint64
	for i := range d {
		d[i] = uint64(i) * 0x9e3779b97f4a7c15
	}
	addSeeds(f, body(appendBuckets(nil, testOrigin, 7, &d)))
	f.Fuzz(func(t *testing.T, b []byte) {
		token, m, err := decodeBuckets(bodyReader(b))
		if err != nil {
			return
		}
		gotToken, got, err := decodeBuckets(bodyReader(body(appendBuckets(nil, testOrigin, token, m))))
		if err != nil || gotToken != token || *got != *m {
			t.Fatalf("round trip: %v", err)
		}
	})
}
