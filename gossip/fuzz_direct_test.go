package gossip

import (
	"reflect"
	"slices"
	"testing"
)

// Fuzz targets for the messages of direct dissemination and the digest
// tree: no panic, no allocation beyond a small multiple of the input, and
// what decodes re-encodes to the same value.

func batchOf(seqs, acks []uint64, entries []entry) []byte {
	return appendEntries(appendBatchHead(nil, testOrigin, seqs, acks), entries)
}

func FuzzDecodeBatch(f *testing.F) {
	addSeeds(f,
		body(batchOf([]uint64{7}, nil, []entry{{Key: "a", Blob: []byte{1, 2}}})),
		body(batchOf([]uint64{1 << 40, 3}, []uint64{9, 10}, []entry{{Key: "a"}, {Key: "bb", Blob: []byte("x")}})))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeBatch(bodyReader(b))
		if err != nil {
			return
		}
		entries := slices.Collect(m.Entries.All())
		if len(m.Seqs)+len(m.Acks) > len(b) || len(entries) > len(b)/minEntrySize {
			t.Fatalf("%d seqs, %d acks, %d entries from %d bytes", len(m.Seqs), len(m.Acks), len(entries), len(b))
		}
		got, err := decodeBatch(bodyReader(body(batchOf(m.Seqs, m.Acks, entries))))
		if err != nil || !slices.Equal(got.Seqs, m.Seqs) || !slices.Equal(got.Acks, m.Acks) ||
			!reflect.DeepEqual(slices.Collect(got.Entries.All()), entries) {
			t.Fatalf("round trip: %+v %v, want %+v", got, err, m)
		}
	})
}

func FuzzDecodeAck(f *testing.F) {
	addSeeds(f, body(appendAck(nil, testOrigin, []uint64{1, 1 << 33, 5})))
	f.Fuzz(func(t *testing.T, b []byte) {
		acks, err := decodeAck(bodyReader(b))
		if err != nil {
			return
		}
		if len(acks) == 0 || len(acks) > len(b) {
			t.Fatalf("%d acks from %d bytes", len(acks), len(b))
		}
		got, err := decodeAck(bodyReader(body(appendAck(nil, testOrigin, acks))))
		if err != nil || !slices.Equal(got, acks) {
			t.Fatalf("round trip: %v %v, want %v", got, err, acks)
		}
	})
}

func FuzzDecodeTree(f *testing.F) {
	sums := make([]uint64, 2*treeFanout)
	for i := range sums {
		sums[i] = uint64(i) << 50
	}
	addSeeds(f,
		body(appendTree(nil, testOrigin, treeMsg{Level: 1, Parents: []uint32{0}, Sums: sums[:treeFanout]})),
		body(appendTree(nil, testOrigin, treeMsg{Level: 3, Parents: []uint32{3, 255}, Sums: sums})))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeTree(bodyReader(b))
		if err != nil {
			return
		}
		if len(m.Sums) != len(m.Parents)*treeFanout || len(m.Sums)*8 > len(b) {
			t.Fatalf("%d parents, %d sums from %d bytes", len(m.Parents), len(m.Sums), len(b))
		}
		for _, p := range m.Parents {
			if int(p) >= 1<<(4*(m.Level-1)) {
				t.Fatalf("parent %d at level %d", p, m.Level-1)
			}
		}
		got, err := decodeTree(bodyReader(body(appendTree(nil, testOrigin, m))))
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip: %+v %v, want %+v", got, err, m)
		}
	})
}

func FuzzDecodeTreeDigests(f *testing.F) {
	addSeeds(f,
		body(appendTreeDigests(nil, testOrigin, treeDigestsMsg{Leaves: []uint32{1, 4095}, Keys: []KeyDigest{{"a", 1}}})),
		body(appendTreeDigests(nil, testOrigin, treeDigestsMsg{Leaves: []uint32{7}, Final: true})))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeTreeDigests(bodyReader(b))
		if err != nil {
			return
		}
		if len(m.Leaves) > len(b) || len(m.Keys) > len(b)/minDigestSize {
			t.Fatalf("%d leaves, %d keys from %d bytes", len(m.Leaves), len(m.Keys), len(b))
		}
		for _, l := range m.Leaves {
			if l >= numLeaves {
				t.Fatalf("leaf %d", l)
			}
		}
		got, err := decodeTreeDigests(bodyReader(body(appendTreeDigests(nil, testOrigin, m))))
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip: %+v %v, want %+v", got, err, m)
		}
	})
}
