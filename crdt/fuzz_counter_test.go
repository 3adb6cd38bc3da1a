package crdt

import (
	"bytes"
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
	counterSeeds(f, valid, bad)
	f.Fuzz(func(t *testing.T, b []byte) {
		var g GCounter
		if err := g.UnmarshalBinary(b); err != nil {
			if !g.Equal(NewGCounter()) {
				t.Fatalf("failed decode left state %v", &g)
			}
			return
		}
		checkGCounterInvariants(t, &g)
		enc, err := g.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %v but cannot encode it: %v", &g, err)
		}
		var back GCounter
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoding of %v does not decode: %v\n% x", &g, err, enc)
		}
		if !back.Equal(&g) || back.Value() != g.Value() {
			t.Fatalf("re-encoding decodes to %v, want %v", &back, &g)
		}
		if enc2, _ := back.MarshalBinary(); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not deterministic:\n% x\n% x", enc, enc2)
		}
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
	counterSeeds(f, valid, bad)
	f.Fuzz(func(t *testing.T, b []byte) {
		var c PNCounter
		if err := c.UnmarshalBinary(b); err != nil {
			if !c.Equal(NewPNCounter()) {
				t.Fatalf("failed decode left state %v", &c)
			}
			return
		}
		checkGCounterInvariants(t, &c.p)
		checkGCounterInvariants(t, &c.n)
		enc, err := c.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %v but cannot encode it: %v", &c, err)
		}
		var back PNCounter
		if err := back.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoding of %v does not decode: %v\n% x", &c, err, enc)
		}
		if !back.Equal(&c) || back.Value() != c.Value() {
			t.Fatalf("re-encoding decodes to %v, want %v", &back, &c)
		}
		if enc2, _ := back.MarshalBinary(); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not deterministic:\n% x\n% x", enc, enc2)
		}
	})
}
