package crdt

import (
	"maps"
	"slices"
	"testing"

	"github.com/converge-crdt/converge/internal/wire"
)

func vvOf(kv map[ReplicaID]uint64) *VersionVector {
	v := NewVersionVector()
	for r, c := range kv {
		v.Advance(r, c)
	}
	return v
}

func TestVersionVector(t *testing.T) {
	tests := []struct {
		name        string
		a, b        map[ReplicaID]uint64
		wantMerge   map[ReplicaID]uint64
		aDescendsB  bool
		bDescendsA  bool
		wantStringA string
	}{
		{
			name: "empty", a: nil, b: nil, wantMerge: nil,
			aDescendsB: true, bDescendsA: true, wantStringA: "[]",
		},
		{
			name: "a ahead of b", a: map[ReplicaID]uint64{"x": 3, "y": 1}, b: map[ReplicaID]uint64{"x": 2},
			wantMerge:  map[ReplicaID]uint64{"x": 3, "y": 1},
			aDescendsB: true, bDescendsA: false, wantStringA: "[x:3 y:1]",
		},
		{
			name: "concurrent", a: map[ReplicaID]uint64{"x": 3}, b: map[ReplicaID]uint64{"x": 1, "z": 4},
			wantMerge:  map[ReplicaID]uint64{"x": 3, "z": 4},
			aDescendsB: false, bDescendsA: false, wantStringA: "[x:3]",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := vvOf(tc.a), vvOf(tc.b)
			bBefore := b.Clone()
			m := a.Clone()
			m.Merge(b)
			if !m.Equal(vvOf(tc.wantMerge)) {
				t.Errorf("merge = %v, want %v", m, vvOf(tc.wantMerge))
			}
			if !b.Equal(bBefore) {
				t.Errorf("merge changed its argument to %v", b)
			}
			if got := a.Descends(b); got != tc.aDescendsB {
				t.Errorf("a.Descends(b) = %v", got)
			}
			if got := b.Descends(a); got != tc.bDescendsA {
				t.Errorf("b.Descends(a) = %v", got)
			}
			if !m.Descends(a) || !m.Descends(b) {
				t.Errorf("merge %v does not descend from both", m)
			}
			if got := a.String(); got != tc.wantStringA {
				t.Errorf("String() = %q, want %q", got, tc.wantStringA)
			}
			if a.Len() != len(tc.a) {
				t.Errorf("Len() = %d, want %d", a.Len(), len(tc.a))
			}
		})
	}
}

func TestVersionVectorAdvanceNeverLowers(t *testing.T) {
	v := NewVersionVector()
	v.Advance("x", 5)
	v.Advance("x", 3)
	v.Advance("y", 0)
	if v.Get("x") != 5 || v.Len() != 1 || v.Get("y") != 0 {
		t.Fatalf("got %v, want [x:5]", v)
	}
	for _, tc := range []struct {
		d    Dot
		want bool
	}{
		{d: Dot{"x", 1}, want: true},
		{d: Dot{"x", 5}, want: true},
		{d: Dot{"x", 6}, want: false},
		{d: Dot{"x", 0}, want: false},
		{d: Dot{"y", 1}, want: false},
	} {
		if got := v.Contains(tc.d); got != tc.want {
			t.Errorf("Contains(%v) = %v, want %v", tc.d, got, tc.want)
		}
	}
	var got []ReplicaID
	v.Advance("a", 1)
	v.Advance("m", 1)
	for r := range v.All() {
		got = append(got, r)
	}
	if !slices.Equal(got, []ReplicaID{"a", "m", "x"}) {
		t.Errorf("All() order %v", got)
	}
	for range v.All() {
		break // stopping early must not panic
	}
}

func TestVersionVectorCloneIsIndependent(t *testing.T) {
	v := vvOf(map[ReplicaID]uint64{"x": 1})
	c := v.Clone()
	c.Advance("x", 9)
	c.Advance("y", 1)
	if !v.Equal(vvOf(map[ReplicaID]uint64{"x": 1})) {
		t.Fatalf("clone shares state: original now %v", v)
	}
}

func encodeVV(v *VersionVector) []byte {
	w := wire.NewWriter()
	v.encode(w)
	return w.Bytes()
}

func decodeVVBytes(b []byte) (*VersionVector, error) {
	r := wire.NewReader(b)
	v, err := decodeVersionVector(r, "vector")
	if err != nil {
		return nil, err
	}
	return v, r.Done()
}

func TestVersionVectorEncodeDecode(t *testing.T) {
	v := vvOf(map[ReplicaID]uint64{"b": 300, "a": 1, "c": MaxCounter})
	b := encodeVV(v)
	got, err := decodeVVBytes(b)
	if err != nil || !got.Equal(v) {
		t.Fatalf("decode(encode(%v)) = %v, %v", v, got, err)
	}
	if want := flat("a", 1, "b", 300, "c", uint64(MaxCounter)); string(b) != string(want) {
		t.Fatalf("encode = % x, want % x", b, want)
	}
	empty, err := decodeVVBytes([]byte{0x90})
	if err != nil || empty.Len() != 0 {
		t.Fatalf("empty vector: %v, %v", empty, err)
	}
}

func TestVersionVectorDecodeRejects(t *testing.T) {
	checkBadInputs(t, []badInput{
		{name: "out of order", in: flat("b", 1, "a", 1), want: ErrMalformed},
		{name: "duplicate", in: flat("a", 1, "a", 2), want: ErrDuplicate},
		{name: "zero counter", in: flat("a", 0), want: ErrInvalid},
		{name: "counter past MaxCounter", in: flat("a", uint64(MaxCounter+1)), want: ErrInvalid},
		{name: "odd length", in: flat("a", 1, "b"), want: ErrMalformed},
		{name: "empty replica", in: flat("", 1), want: ErrInvalid},
		{name: "negative counter", in: flat("a", -1), want: ErrMalformed},
		{name: "length past input", in: []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, want: ErrTooLarge},
		{name: "truncated", in: flat("a", 1)[:3], want: ErrTruncated},
		{name: "not an array", in: []byte{0x80}, want: ErrMalformed},
	}, func(_ *testing.T, in []byte) (any, error) { return decodeVVBytes(in) })
}

// ccOf builds a context by adding the dots in order.
func ccOf(dots ...Dot) *CausalContext {
	c := NewCausalContext()
	for _, d := range dots {
		c.Add(d)
	}
	return c
}

// checkCompact fails unless c keeps its invariant: every cloud dot is past
// the vector entry of its replica plus one.
func checkCompact(t testing.TB, c *CausalContext) {
	t.Helper()
	for d := range c.cloudDots() {
		if d.Counter == 0 || d.Counter <= c.vv.Get(d.Replica)+1 {
			t.Fatalf("context %v not compact: cloud dot %v", c, d)
		}
	}
	for r, run := range c.cloud {
		if len(run) == 0 || !slices.IsSorted(run) || len(slices.Compact(slices.Clone(run))) != len(run) {
			t.Fatalf("context %v: cloud of %q is empty, unsorted or repeats: %v", c, r, run)
		}
	}
	if c.cloud != nil && len(c.cloud) == 0 {
		t.Fatalf("context %v keeps an empty cloud map", c)
	}
}

func TestCausalContextAdd(t *testing.T) {
	x := func(n uint64) Dot { return Dot{"x", n} }
	y := func(n uint64) Dot { return Dot{"y", n} }
	tests := []struct {
		name      string
		add       []Dot
		wantVV    map[ReplicaID]uint64
		wantCloud int
		contains  []Dot
		missing   []Dot
	}{
		{name: "empty", missing: []Dot{x(1), x(0)}},
		{name: "in order goes to the vector", add: []Dot{x(1), x(2), x(3)}, wantVV: map[ReplicaID]uint64{"x": 3}, contains: []Dot{x(1), x(3)}, missing: []Dot{x(4)}},
		{name: "a gap goes to the cloud", add: []Dot{x(1), x(3), x(5)}, wantVV: map[ReplicaID]uint64{"x": 1}, wantCloud: 2, contains: []Dot{x(3), x(5)}, missing: []Dot{x(2), x(4), x(6)}},
		{name: "filling the gap compacts", add: []Dot{x(3), x(5), x(4), x(1), x(2)}, wantVV: map[ReplicaID]uint64{"x": 5}, contains: []Dot{x(2), x(5)}},
		{name: "partial fill compacts the run it joins", add: []Dot{x(2), x(3), x(5), x(1)}, wantVV: map[ReplicaID]uint64{"x": 3}, wantCloud: 1, contains: []Dot{x(5)}, missing: []Dot{x(4)}},
		{name: "replicas are independent", add: []Dot{x(2), y(1), x(1), y(3)}, wantVV: map[ReplicaID]uint64{"x": 2, "y": 1}, wantCloud: 1, missing: []Dot{y(2)}},
		{name: "duplicates and zero counters change nothing", add: []Dot{x(1), x(1), x(0), x(3), x(3)}, wantVV: map[ReplicaID]uint64{"x": 1}, wantCloud: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ccOf(tc.add...)
			checkCompact(t, c)
			if !c.Vector().Equal(vvOf(tc.wantVV)) || c.CloudLen() != tc.wantCloud {
				t.Fatalf("got %v, want vector %v and %d cloud dots", c, vvOf(tc.wantVV), tc.wantCloud)
			}
			for _, d := range append(slices.Clone(tc.add), tc.contains...) {
				if d.Counter != 0 && !c.Contains(d) {
					t.Errorf("%v does not contain %v", c, d)
				}
			}
			for _, d := range tc.missing {
				if c.Contains(d) {
					t.Errorf("%v contains %v", c, d)
				}
			}
			// Any order of the same dots gives an Equal context.
			rev := slices.Clone(tc.add)
			slices.Reverse(rev)
			if r := ccOf(rev...); !r.Equal(c) {
				t.Errorf("reverse order gives %v, want %v", r, c)
			}
		})
	}
}

func TestCausalContextNext(t *testing.T) {
	c := ccOf(Dot{"y", 4})
	for want := uint64(1); want <= 3; want++ {
		if d := c.Next("x"); d != (Dot{"x", want}) {
			t.Fatalf("Next = %v, want x:%d", d, want)
		}
	}
	if !c.Contains(Dot{"x", 3}) || c.Vector().Get("x") != 3 {
		t.Fatalf("Next did not record its dots: %v", c)
	}
	// Next continues after the vector even when the replica's later dots
	// arrived first from a peer.
	c.Add(Dot{"x", 5})
	if d := c.Next("x"); d != (Dot{"x", 4}) || c.Vector().Get("x") != 5 || c.CloudLen() != 1 {
		t.Fatalf("Next = %v, context %v", d, c)
	}
	checkCompact(t, c)
}

func TestCausalContextMerge(t *testing.T) {
	x := func(n uint64) Dot { return Dot{"x", n} }
	tests := []struct {
		name string
		a, b []Dot
		want []Dot // all dots of the merge, added in order
	}{
		{name: "disjoint replicas", a: []Dot{x(1)}, b: []Dot{{"y", 1}, {"y", 3}}, want: []Dot{x(1), {"y", 1}, {"y", 3}}},
		{name: "clouds fill each other's gaps", a: []Dot{x(1), x(3)}, b: []Dot{x(2), x(4)}, want: []Dot{x(1), x(2), x(3), x(4)}},
		{name: "vector covers the other cloud", a: []Dot{x(1), x(2), x(3)}, b: []Dot{x(3)}, want: []Dot{x(1), x(2), x(3)}},
		{name: "cloud stays past a gap", a: []Dot{x(4)}, b: []Dot{x(1), x(6)}, want: []Dot{x(1), x(4), x(6)}},
		{name: "empty into full", a: nil, b: []Dot{x(2)}, want: []Dot{x(2)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := ccOf(tc.a...), ccOf(tc.b...)
			bBefore := b.Clone()
			ab := a.Clone()
			ab.Merge(b)
			ba := b.Clone()
			ba.Merge(a)
			want := ccOf(tc.want...)
			if !ab.Equal(want) || !ba.Equal(want) {
				t.Fatalf("a⊔b = %v, b⊔a = %v, want %v", ab, ba, want)
			}
			checkCompact(t, ab)
			checkCompact(t, ba)
			if !b.Equal(bBefore) {
				t.Fatalf("merge changed its argument: %v", b)
			}
			ab.Add(x(100))
			if b.Contains(x(100)) {
				t.Fatalf("merge retained its argument's cloud")
			}
		})
	}
}

func TestCausalContextCloneIsIndependent(t *testing.T) {
	c := ccOf(Dot{"x", 1}, Dot{"x", 3})
	k := c.Clone()
	k.Add(Dot{"x", 2})
	k.Add(Dot{"x", 7})
	k.Next("y")
	if !c.Equal(ccOf(Dot{"x", 1}, Dot{"x", 3})) {
		t.Fatalf("clone shares state: original now %v", c)
	}
	var zero CausalContext
	if zero.Contains(Dot{"x", 1}) || !zero.Equal(NewCausalContext()) {
		t.Fatalf("zero context not empty")
	}
}

func encodeCC(c *CausalContext) []byte {
	w := wire.NewWriter()
	c.encode(w)
	return w.Bytes()
}

func decodeCCBytes(b []byte) (*CausalContext, error) {
	r := wire.NewReader(b)
	c, err := decodeCausalContext(r)
	if err != nil {
		return nil, err
	}
	return c, r.Done()
}

func TestCausalContextEncodeDecode(t *testing.T) {
	c := ccOf(Dot{"x", 1}, Dot{"x", 2}, Dot{"x", 5}, Dot{"y", 3}, Dot{"y", 9}, Dot{"z", 1})
	b := encodeCC(c)
	w := wire.NewWriter()
	w.Array(2)
	flatTo(w, "x", 2, "z", 1)
	flatTo(w, "x", 5, "y", 3, "y", 9)
	if string(b) != string(w.Bytes()) {
		t.Fatalf("encode = % x, want % x", b, w.Bytes())
	}
	got, err := decodeCCBytes(b)
	if err != nil || !got.Equal(c) {
		t.Fatalf("decode(encode(%v)) = %v, %v", c, got, err)
	}
	checkCompact(t, got)
}

func ccBytes(vv, cloud []any) []byte {
	w := wire.NewWriter()
	w.Array(2)
	flatTo(w, vv...)
	flatTo(w, cloud...)
	return w.Bytes()
}

func ccBadInputs() []badInput {
	return []badInput{
		{name: "empty", in: nil, want: ErrTruncated},
		{name: "one field", in: []byte{0x91, 0x90}, want: ErrMalformed},
		{name: "cloud out of order", in: ccBytes(nil, []any{"x", 5, "x", 3}), want: ErrMalformed},
		{name: "cloud replicas out of order", in: ccBytes(nil, []any{"y", 5, "x", 3}), want: ErrMalformed},
		{name: "duplicate cloud dot", in: ccBytes(nil, []any{"x", 3, "x", 3}), want: ErrDuplicate},
		{name: "zero cloud counter", in: ccBytes(nil, []any{"x", 0}), want: ErrInvalid},
		{name: "cloud counter past MaxCounter", in: ccBytes(nil, []any{"x", uint64(MaxCounter + 1)}), want: ErrInvalid},
		{name: "cloud dot the vector covers", in: ccBytes([]any{"x", 4}, []any{"x", 2}), want: ErrInvalid},
		{name: "cloud dot the vector could absorb", in: ccBytes([]any{"x", 4}, []any{"x", 5}), want: ErrInvalid},
		{name: "cloud dot 1 of an absent replica", in: ccBytes(nil, []any{"x", 1}), want: ErrInvalid},
		{name: "odd cloud length", in: ccBytes(nil, []any{"x", 3, "y"}), want: ErrMalformed},
		{name: "odd vector length", in: ccBytes([]any{"x"}, nil), want: ErrMalformed},
		{name: "vector duplicate", in: ccBytes([]any{"x", 1, "x", 1}, nil), want: ErrDuplicate},
		{name: "vector zero counter", in: ccBytes([]any{"x", 0}, nil), want: ErrInvalid},
		{name: "empty replica in cloud", in: ccBytes(nil, []any{"", 3}), want: ErrInvalid},
		{name: "cloud length past input", in: []byte{0x92, 0x90, 0xdd, 0xff, 0xff, 0xff, 0xff}, want: ErrTooLarge},
		{name: "trailing", in: append(ccBytes(nil, nil), 0x00), want: ErrTrailing},
	}
}

func TestCausalContextDecodeRejects(t *testing.T) {
	checkBadInputs(t, ccBadInputs(), func(_ *testing.T, in []byte) (any, error) { return decodeCCBytes(in) })
}

// TestCausalContextModel checks contexts built from random dots, merged at
// random, against a plain set of dots, and MergeChanged's report on every
// merge of contexts and of their vectors.
func TestCausalContextModel(t *testing.T) {
	rng := newRand(t)
	replicas := []ReplicaID{"a", "b", "c"}
	for round := range lawRounds {
		ctxs := make([]*CausalContext, 3)
		models := make([]map[Dot]bool, 3)
		for i := range ctxs {
			ctxs[i], models[i] = NewCausalContext(), map[Dot]bool{}
		}
		for range rng.IntN(40) {
			i := rng.IntN(3)
			switch rng.IntN(3) {
			case 0:
				d := ctxs[i].Next(replicas[i])
				if models[i][d] {
					t.Fatalf("round %d: Next reissued %v", round, d)
				}
				models[i][d] = true
			case 1:
				d := Dot{replicas[rng.IntN(3)], 1 + rng.Uint64N(8)}
				ctxs[i].Add(d)
				models[i][d] = true
			case 2:
				j := rng.IntN(3)
				mergeChecked(t, ctxs[i], ctxs[j])
				maps.Copy(models[i], models[j])
			}
			checkCompact(t, ctxs[i])
		}
		for i, c := range ctxs {
			for _, r := range replicas {
				for n := uint64(0); n <= 12; n++ {
					d := Dot{r, n}
					if got := c.Contains(d); got != models[i][d] {
						t.Fatalf("round %d: %v Contains(%v) = %v, model %v", round, c, d, got, models[i][d])
					}
				}
			}
			got, err := decodeCCBytes(encodeCC(c))
			if err != nil || !got.Equal(c) {
				t.Fatalf("round %d: decode(encode(%v)) = %v, %v", round, c, got, err)
			}
		}
		checkMergeChanged(t, rng, ctxs, NewCausalContext)
		vectors := make([]*VersionVector, len(ctxs))
		for i, c := range ctxs {
			vectors[i] = c.Vector()
		}
		checkMergeChanged(t, rng, vectors, NewVersionVector)
	}
}
