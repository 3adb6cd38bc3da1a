package crdt

import (
	"bytes"
	"encoding"
	"math"
	"testing"
)

// checkGCounterInvariants fails unless g holds no zero count and its cached
// sum is the exact total of its counts and fits in a uint64 (what a decoded
// counter must satisfy).
func checkGCounterInvariants(t testing.TB, g *GCounter) {
	t.Helper()
	var sum sum128
	for r, c := range g.counts.m {
		if r == "" || c == 0 {
			t.Fatalf("decoded counter has entry %q:%d", r, c)
		}
		sum = sum.add(c)
		if _, ok := g.pr.get(r); ok {
			t.Fatalf("decoded counter has both a count and a prune record for %q", r)
		}
	}
	sum = sum.add(g.pr.base)
	for _, x := range g.pr.recs {
		sum = sum.add(x.n)
	}
	if sum != g.sum {
		t.Fatalf("cached sum %v, counts add up to %v", g.sum, sum)
	}
}

func counterSeeds(f *testing.F, valid [][]byte, bad [][]byte) {
	for _, b := range valid {
		f.Add(b)
	}
	for _, b := range bad {
		f.Add(b)
	}
}

func FuzzGCounterUnmarshal(f *testing.F) {
	var valid [][]byte
	for _, kv := range []map[ReplicaID]uint64{
		{},
		{"a": 1},
		{"alice": 3, "bob": 70000, "carol": math.MaxUint32 + 1},
		{"x": math.MaxUint64},
	} {
		g := NewGCounter()
		for r, n := range kv {
			mustGInc(f, g, r, n)
		}
		b, err := g.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		valid = append(valid, b)
	}
	var bad [][]byte
	for _, tc := range gcounterBadInputs() {
		bad = append(bad, tc.in)
	}
	counterSeeds(f, append(valid, prunedGCounterSeeds(f)...), bad)
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzCounterDecode(t, b, NewGCounter, checkGCounterInvariants, (*GCounter).Value)
	})
}

func FuzzPNCounterUnmarshal(f *testing.F) {
	var valid [][]byte
	for _, ops := range [][]struct {
		op string
		r  ReplicaID
		n  uint64
	}{
		{},
		{{"inc", "a", 1}},
		{{"inc", "alice", 5}, {"inc", "bob", 2}, {"dec", "alice", 1}, {"dec", "carol", 300}},
		{{"dec", "z", 1 << 63}},
	} {
		c := NewPNCounter()
		for _, o := range ops {
			mustPN(f, c, o.op, o.r, o.n)
		}
		b, err := c.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		valid = append(valid, b)
	}
	var bad [][]byte
	for _, tc := range pnBadInputs() {
		bad = append(bad, tc.in)
	}
	counterSeeds(f, append(valid, prunedPNCounterSeeds(f)...), bad)
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzCounterDecode(t, b, NewPNCounter, func(t testing.TB, c *PNCounter) {
			checkGCounterInvariants(t, &c.p)
			checkGCounterInvariants(t, &c.n)
		}, (*PNCounter).Value)
	})
}

// fuzzCounterDecode decodes b into a fresh counter: a failed decode must
// leave it empty; what decodes must keep the invariants and re-encode to
// bytes that decode to an Equal counter with the same value and encode to
// the same bytes again.
func fuzzCounterDecode[T interface {
	CRDT[T]
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}, V comparable](t *testing.T, b []byte, fresh func() T, invariants func(testing.TB, T), value func(T) V) {
	c := fresh()
	if err := c.UnmarshalBinary(b); err != nil {
		if !c.Equal(fresh()) {
			t.Fatalf("failed decode left state %v", c)
		}
		return
	}
	invariants(t, c)
	enc, err := c.MarshalBinary()
	if err != nil {
		t.Fatalf("decoded %v but cannot encode it: %v", c, err)
	}
	back := fresh()
	if err := back.UnmarshalBinary(enc); err != nil {
		t.Fatalf("re-encoding of %v does not decode: %v\n% x", c, err, enc)
	}
	if !back.Equal(c) || value(back) != value(c) {
		t.Fatalf("re-encoding decodes to %v, want %v", back, c)
	}
	if enc2, _ := back.MarshalBinary(); !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding not deterministic:\n% x\n% x", enc, enc2)
	}
}
