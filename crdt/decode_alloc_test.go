package crdt

import (
	"bytes"
	"runtime"
	"testing"
)

// allocRatio returns the heap bytes decode allocates per byte of in.
func allocRatio(in []byte, decode func([]byte) error) (float64, error) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := decode(in)
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(len(in)), err
}

// TestDecodeAllocationBounded feeds decoders an input whose array header
// claims as many entries as the input has bytes, followed by junk: the
// decoder may size its map from the header, but only as far as the bytes
// could hold, so it allocates a small multiple of the input, no more than
// a valid input of the same size would need. Map sizes step in powers of
// two, so the ratio moves with the input size, between about 12 and 18
// (18 and 26 for the cloud's 24-byte dots); at this size it is 11.7 (17.5),
// and a size hint taken from the header alone gives 23.3 (35).
func TestDecodeAllocationBounded(t *testing.T) {
	n := 300_000
	junk := func(prefix ...byte) []byte {
		in := append(prefix, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n), 0xa1, 'a', 0x05)
		return append(in, bytes.Repeat([]byte{0x00}, n)...)
	}
	tests := []struct {
		name   string
		in     []byte
		decode func([]byte) error
		limit  float64 // bytes allocated per input byte
	}{
		{name: "GCounter", in: junk(0x93, 0x01, 0x01), decode: func(b []byte) error { return new(GCounter).UnmarshalBinary(b) }, limit: 20},
		{name: "PNCounter", in: junk(0x94, 0x02, 0x01), decode: func(b []byte) error { return new(PNCounter).UnmarshalBinary(b) }, limit: 20},
		{name: "CausalContext vector", in: junk(0x92), decode: func(b []byte) error { _, err := decodeCCBytes(b); return err }, limit: 20},
		{name: "CausalContext cloud", in: junk(0x92, 0x90), decode: func(b []byte) error { _, err := decodeCCBytes(b); return err }, limit: 28},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ratio, err := allocRatio(tc.in, tc.decode)
			if err == nil {
				t.Fatalf("junk input decoded")
			}
			t.Logf("%.1f bytes allocated per input byte (%v)", ratio, err)
			if ratio > tc.limit {
				t.Fatalf("allocated %.1f bytes per input byte, limit %.0f", ratio, tc.limit)
			}
		})
	}
}
