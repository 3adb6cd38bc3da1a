package node

import (
	"bytes"
	"testing"

	"github.com/converge-crdt/converge/crdt"
)

// FuzzUnwrapGen: the generation envelope decoder never panics, refuses
// what wrapGen would not write, and what it accepts re-wraps to a blob
// that decodes to the same generation and state.
func FuzzUnwrapGen(f *testing.F) {
	g := crdt.NewGCounter()
	_, _ = g.Inc("a~1", 3)
	inner, _ := g.MarshalBinary()
	f.Add(wrapGen(keyGen{ts: crdt.HLC{Wall: 5, Logical: 1}, by: "a~1"}, inner))
	f.Add(wrapGen(keyGen{ts: crdt.HLC{Wall: 1 << 60}, by: "b"}, []byte{}))
	f.Add(inner)
	f.Add([]byte{0x95, 0x0a, 0x01, 0x92, 0x00, 0x00, 0xa0, 0xc4, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		gen, in, err := unwrapGen(b)
		if err != nil {
			return
		}
		if gen.isZero() {
			if !bytes.Equal(in, b) {
				t.Fatal("a blob without an envelope changed")
			}
			return
		}
		again, in2, err := unwrapGen(wrapGen(gen, in))
		if err != nil || again != gen || !bytes.Equal(in, in2) {
			t.Fatalf("re-wrap: %v %v %v", again, gen, err)
		}
	})
}

func TestUnwrapGenRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"truncated", wrapGen(keyGen{ts: crdt.HLC{Wall: 1}, by: "a"}, []byte{0x90})[:8]},
		{"nested", wrapGen(keyGen{ts: crdt.HLC{Wall: 1}, by: "a"}, wrapGen(keyGen{ts: crdt.HLC{Wall: 2}, by: "a"}, []byte{0x90}))},
		{"empty replica", []byte{0x95, 0x0a, 0x01, 0x92, 0x01, 0x00, 0xa0, 0xc4, 0x00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := unwrapGen(tc.b); err == nil {
				t.Fatalf("accepted % x", tc.b)
			}
		})
	}
}
