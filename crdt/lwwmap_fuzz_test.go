package crdt

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzLWWMapUnmarshal feeds arbitrary bytes to the decoder of four map
// instantiations. Property: no panic; every error wraps a sentinel; and
// whatever decodes re-encodes to bytes that decode to an Equal state and
// encode to the same bytes again, and merges with a truthful MergeChanged.
func FuzzLWWMapUnmarshal(f *testing.F) {
	for _, m := range []*LWWMap[string, string]{NewLWWMap[string, string](), lwwGoldenState()} {
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	ints := NewLWWMap[int64, []byte]()
	ints.Set("r1", at(1), -5, []byte{1, 2})
	ints.Set("r2", at(2), 1<<40, nil)
	ints.Delete("r3", HLC{Wall: 3, Logical: 9}, 0)
	structs := NewLWWMap[string, lwwStruct]()
	structs.Set("r1", at(1), "s", lwwStruct{Name: "n", Count: -1, Tags: []string{"a", "b"}})
	structs.Delete("r1", at(1), "t")
	nested := NewLWWMap[string, map[string]int64]()
	nested.Set("r1", at(1), "m", map[string]int64{"b": 2, "a": -1, "c": 1 << 40})
	for _, m := range []interface{ MarshalBinary() ([]byte, error) }{ints, structs, nested} {
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, tc := range lwwBadInputs() {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzLWWMapDecode(t, b, NewLWWMap[string, string])
		fuzzLWWMapDecode(t, b, NewLWWMap[int64, []byte])
		fuzzLWWMapDecode(t, b, NewLWWMap[string, lwwStruct])
		fuzzLWWMapDecode(t, b, NewLWWMap[string, map[string]int64])
	})
}

var lwwSentinels = []error{ErrTruncated, ErrTrailing, ErrMalformed, ErrTooLarge, ErrTooDeep,
	ErrWrongType, ErrVersion, ErrDuplicate, ErrInvalid}

func fuzzLWWMapDecode[K comparable, V any](t *testing.T, b []byte, fresh func() *LWWMap[K, V]) {
	t.Helper()
	x := fresh()
	if err := x.UnmarshalBinary(b); err != nil {
		for _, s := range lwwSentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error wraps no sentinel: %v", err)
	}
	b2, err := x.MarshalBinary()
	if err != nil {
		t.Fatalf("decoded state does not encode: %v\n%v", err, x)
	}
	y := fresh()
	if err := y.UnmarshalBinary(b2); err != nil {
		t.Fatalf("re-encoding does not decode: %v\ninput % x\nre-encoded % x", err, b, b2)
	}
	if !y.Equal(x) {
		t.Fatalf("round trip changed the state:\n%v\n%v", x, y)
	}
	if y.Len() != x.Len() {
		t.Fatalf("Len %d after round trip, %d before", y.Len(), x.Len())
	}
	b3, err := y.MarshalBinary()
	if err != nil || !bytes.Equal(b2, b3) {
		t.Fatalf("encoding not deterministic (%v):\n% x\n% x", err, b2, b3)
	}
	// Merging it reports novelty truthfully: into an empty map, again,
	// and the other way round.
	z := fresh()
	mergeChecked(t, z, x)
	mergeChecked(t, z, y)
	mergeChecked(t, x, fresh())
}
