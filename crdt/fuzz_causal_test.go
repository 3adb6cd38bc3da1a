package crdt

import (
	"bytes"
	"testing"

	"github.com/converge-crdt/converge/internal/wire"
)

// FuzzCausalContextDecode feeds bytes to decodeCausalContext (the decoder
// the OR-Set uses for its context): it must never panic, and what it
// accepts must be compact and survive a round trip.
func FuzzCausalContextDecode(f *testing.F) {
	for _, c := range []*CausalContext{
		NewCausalContext(),
		ccOf(Dot{"x", 1}, Dot{"x", 2}),
		ccOf(Dot{"x", 1}, Dot{"x", 2}, Dot{"x", 5}, Dot{"y", 3}, Dot{"y", 9}, Dot{"z", 1}),
		ccOf(Dot{"big", MaxCounter}),
	} {
		f.Add(encodeCC(c))
	}
	for _, tc := range ccBadInputs() {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCCBytes(b)
		if err != nil {
			return
		}
		checkCompact(t, c)
		for r, n := range c.vv.All() {
			if r == "" || n == 0 || n > MaxCounter {
				t.Fatalf("decoded vector entry %q:%d", r, n)
			}
		}
		enc := encodeCC(c)
		back, err := decodeCCBytes(enc)
		if err != nil {
			t.Fatalf("re-encoding of %v does not decode: %v", c, err)
		}
		if !back.Equal(c) || !bytes.Equal(encodeCC(back), enc) {
			t.Fatalf("round trip gives %v, want %v", back, c)
		}
		// Merging it into a context keeps the invariant, and Next stays
		// within uint64.
		m := ccOf(Dot{"x", 1}, Dot{"x", 3})
		m.Merge(c)
		checkCompact(t, m)
		if d := m.Next("x"); d.Counter == 0 || !m.Contains(d) {
			t.Fatalf("Next after merge gave %v", d)
		}
	})
}

// FuzzHLCDecode checks decodeHLC, which the LWW-Map uses for timestamps.
func FuzzHLCDecode(f *testing.F) {
	f.Add([]byte{0x92, 0xcd, 0x01, 0x2c, 0x02})
	for _, tc := range hlcBadInputs() {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHLCBytes(b)
		if err != nil {
			return
		}
		if h.Wall < 0 {
			t.Fatalf("decoded negative wall %d", h.Wall)
		}
		w := wire.NewWriter()
		h.encode(w)
		back, err := decodeHLCBytes(w.Bytes())
		if err != nil || back != h {
			t.Fatalf("round trip of %v gives %v, %v", h, back, err)
		}
	})
}
