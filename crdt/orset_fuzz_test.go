package crdt

import "testing"

// FuzzORSetUnmarshal feeds arbitrary bytes to the ORSet decoder, as an
// ORSet[string] and as an ORSet[int64]. The decoder must never panic; when
// it accepts an input, the state must satisfy the type's invariants and
// round-trip through its own encoding, and a failed decode must leave the
// receiver unchanged; merging it must report novelty truthfully, whether
// or not the merge skips its pass over the receiver. (The input itself may differ from the re-encoding:
// wire.Reader accepts integers and lengths in longer forms than msgpack's
// shortest. Elements are held to their canonical form, so the entries of
// the input and of the re-encoding are the same elements in the same
// order.)
func FuzzORSetUnmarshal(f *testing.F) {
	for _, s := range []*ORSet[string]{goldenORSet(), goldenORSetDelta(), NewORSet[string](), orsetTwoDotX()} {
		b, err := s.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	ints := NewORSet[int64]()
	ints.Add("a", -1)
	ints.Add("b", 1<<40)
	ints.Add("a", 7)
	ints.Remove(7)
	b, err := ints.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(newORSetEnc(3, 1, 4).ctx([]any{"a", 2}, nil).entries(1).entry(int64(5), "a", 2).bytes())
	for _, tc := range orsetBadInputs() {
		f.Add(tc.in)
	}
	for _, b := range prunedORSetSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzORSet(t, in, goldenORSet)
		fuzzORSet(t, in, func() *ORSet[int64] {
			s := NewORSet[int64]()
			s.Add("z", 42)
			return s
		})
	})
}

func fuzzORSet[E comparable](t *testing.T, in []byte, start func() *ORSet[E]) {
	s := start()
	if err := s.UnmarshalBinary(in); err != nil {
		if !s.Equal(start()) {
			t.Fatalf("failed decode (%v) changed the receiver to %v", err, s)
		}
		return
	}
	checkORSetInvariants(t, s)
	checkRoundTrip(t, s, NewORSet[E])
	// A decoded state is a valid state: merging it is well behaved, both
	// ways, and MergeChanged reports it.
	m := start()
	orsetMergeBothWays(t, m, s)
	checkORSetInvariants(t, m)
	checkMergeLaws(t, s, start(), m)
	back := s.Clone()
	orsetMergeBothWays(t, back, start())
	checkORSetInvariants(t, back)
	orsetMergeBothWays(t, back, s)
}
