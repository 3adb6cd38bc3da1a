package crdt

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/converge-crdt/converge/internal/wire"
)

func TestPNCounterSemantics(t *testing.T) {
	tests := []struct {
		name  string
		steps []counterStep
		want  map[ReplicaID]int64
	}{
		{
			name: "increments and decrements on one replica",
			steps: []counterStep{
				{op: "inc", at: "a", n: 5},
				{op: "dec", at: "a", n: 2},
			},
			want: map[ReplicaID]int64{"a": 3},
		},
		{
			name: "value goes negative",
			steps: []counterStep{
				{op: "dec", at: "a", n: 7},
				{op: "inc", at: "a", n: 2},
			},
			want: map[ReplicaID]int64{"a": -5},
		},
		{
			name: "concurrent increments and decrements converge",
			steps: []counterStep{
				{op: "inc", at: "a", n: 10},
				{op: "dec", at: "b", n: 4},
				{op: "dec", at: "c", n: 9},
				{op: "inc", at: "c", n: 1},
				{op: "merge", at: "b", from: "c"},
				{op: "merge", at: "a", from: "b"},
				{op: "merge", at: "c", from: "a"},
				{op: "merge", at: "b", from: "a"},
			},
			want: map[ReplicaID]int64{"a": -2, "b": -2, "c": -2},
		},
		{
			name: "merge order does not matter",
			steps: []counterStep{
				{op: "inc", at: "a", n: 1},
				{op: "dec", at: "b", n: 2},
				{op: "inc", at: "c", n: 4},
				{op: "merge", at: "a", from: "c"},
				{op: "merge", at: "a", from: "b"},
				{op: "merge", at: "b", from: "a"},
				{op: "merge", at: "c", from: "b"},
			},
			want: map[ReplicaID]int64{"a": 3, "b": 3, "c": 3},
		},
		{
			name: "zero increment and decrement change nothing",
			steps: []counterStep{
				{op: "inc", at: "a", n: 0},
				{op: "dec", at: "a", n: 0},
			},
			want: map[ReplicaID]int64{"a": 0},
		},
		{
			name: "increment past MaxInt64 saturates the value",
			steps: []counterStep{
				{op: "inc", at: "a", n: math.MaxInt64},
				{op: "inc", at: "a", n: 1},
				{op: "dec", at: "a", n: 1},
				{op: "inc", at: "a", n: 1},
			},
			want: map[ReplicaID]int64{"a": math.MaxInt64},
		},
		{
			name: "decrement past MinInt64 saturates the value",
			steps: []counterStep{
				{op: "dec", at: "a", n: 1 << 63},
				{op: "dec", at: "a", n: 1},
			},
			want: map[ReplicaID]int64{"a": math.MinInt64},
		},
		{
			name: "a single increment larger than MaxInt64 saturates the value",
			steps: []counterStep{
				{op: "inc", at: "a", n: math.MaxInt64 + 1},
			},
			want: map[ReplicaID]int64{"a": math.MaxInt64},
		},
		{
			name: "increment count overflow is refused even when the value fits",
			steps: []counterStep{
				{op: "dec", at: "a", n: 1 << 63},
				{op: "inc", at: "a", n: math.MaxUint64},
				{op: "inc", at: "a", n: 1, wantErr: ErrOverflow},
			},
			want: map[ReplicaID]int64{"a": math.MaxInt64},
		},
		{
			name: "concurrent increments past MaxInt64 saturate; decrements bring it back",
			steps: []counterStep{
				{op: "inc", at: "a", n: math.MaxInt64},
				{op: "inc", at: "b", n: 10},
				{op: "merge", at: "a", from: "b"},
				{op: "inc", at: "a", n: 1},
				{op: "merge", at: "c", from: "a"},
				{op: "dec", at: "c", n: 12},
			},
			want: map[ReplicaID]int64{"a": math.MaxInt64, "b": 10, "c": math.MaxInt64 - 1},
		},
		{
			name: "concurrent decrements past MinInt64 saturate; increments bring it back",
			steps: []counterStep{
				{op: "dec", at: "a", n: 1 << 63},
				{op: "dec", at: "b", n: 5},
				{op: "merge", at: "a", from: "b"},
				{op: "dec", at: "a", n: 1},
				{op: "inc", at: "a", n: 4},
			},
			want: map[ReplicaID]int64{"a": math.MinInt64, "b": -5},
		},
		{
			name: "empty replica id is refused",
			steps: []counterStep{
				{op: "inc", at: "", n: 1, wantErr: ErrInvalid},
				{op: "dec", at: "", n: 1, wantErr: ErrInvalid},
			},
			want: map[ReplicaID]int64{"": 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runCounterSteps(t, tc.steps, NewPNCounter, pnOps, (*PNCounter).Value, tc.want)
		})
	}
}

// pnOps are the PNCounter's mutators, by step name.
var pnOps = counterOps[*PNCounter]{"inc": (*PNCounter).Inc, "dec": (*PNCounter).Dec}

func TestPNCounterEqualAndString(t *testing.T) {
	a, b := NewPNCounter(), NewPNCounter()
	mustPN(t, a, "inc", "a", 2)
	mustPN(t, a, "dec", "b", 2)
	if a.Value() != b.Value() {
		t.Fatalf("values differ: %d, %d", a.Value(), b.Value())
	}
	if a.Equal(b) {
		t.Fatalf("%v Equal %v", a, b)
	}
	if got, want := a.String(), "PNCounter(0)[P[a:2] N[b:2]]"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	mustPN(t, b, "dec", "a", 3)
	if got, want := b.String(), "PNCounter(-3)[P[] N[a:3]]"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	c := b.Clone()
	mustPN(t, c, "inc", "z", 1)
	if b.Value() != -3 {
		t.Fatalf("mutating a clone changed the original: %v", b)
	}
}

func TestPNCounterWireForm(t *testing.T) {
	c := NewPNCounter()
	mustPN(t, c, "inc", "a", 2)
	mustPN(t, c, "dec", "b", 1)
	got, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x94,       // array of 4
		0x02, 0x01, // TagPNCounter, version 1
		0x92, 0xa1, 'a', 0x02, // P: "a", 2
		0x92, 0xa1, 'b', 0x01, // N: "b", 1
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("MarshalBinary = % x, want % x", got, want)
	}
}

func TestPNCounterGolden(t *testing.T) {
	c := NewPNCounter()
	mustPN(t, c, "inc", "alice", 5)
	mustPN(t, c, "inc", "bob", 2)
	mustPN(t, c, "dec", "alice", 1)
	mustPN(t, c, "dec", "carol", 300)
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "pncounter.golden", b)
	var back PNCounter
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(c) || back.Value() != -294 {
		t.Fatalf("golden decodes to %v, want %v", &back, c)
	}
}

func TestPNCounterMarshalOutsideInt64(t *testing.T) {
	// A value past MaxInt64 reached by concurrent increments is a valid
	// state: it must encode and decode.
	a, b := NewPNCounter(), NewPNCounter()
	mustPN(t, a, "inc", "a", math.MaxInt64)
	mustPN(t, b, "inc", "b", math.MaxInt64)
	a.Merge(b)
	checkRoundTrip(t, a, NewPNCounter)
	// P past MaxUint64 is reachable too, and travels like any state.
	c := NewPNCounter()
	mustPN(t, c, "dec", "c", 5)
	mustPN(t, c, "inc", "c", 5)
	a.Merge(c)
	if a.Value() != math.MaxInt64 {
		t.Fatalf("Value() = %d, want saturation at MaxInt64 (%v)", a.Value(), a)
	}
	checkRoundTrip(t, a, NewPNCounter)
}

func pnBadInputs() []badInput {
	enc := func(tag TypeTag, version uint64, bodies ...[]any) []byte {
		return wireBytes(func(w *wire.Writer) {
			w.Array(len(bodies) + 2)
			w.Uint(uint64(tag))
			w.Uint(version)
			for _, b := range bodies {
				flatTo(w, b...)
			}
		})
	}
	ok := []any{"a", 1}
	return []badInput{
		{name: "empty input", in: nil, want: ErrTruncated},
		{name: "trailing byte", in: append(enc(TagPNCounter, 1, ok, ok), 0xc0), want: ErrTrailing},
		{name: "wrong tag", in: enc(TagGCounter, 1, ok, ok), want: ErrWrongType},
		{name: "unknown version", in: enc(TagPNCounter, 7, ok, ok), want: ErrVersion},
		{name: "missing N", in: enc(TagPNCounter, 1, ok), want: ErrMalformed},
		{name: "extra field", in: enc(TagPNCounter, 1, ok, ok, ok), want: ErrMalformed},
		{name: "duplicate replica in N", in: enc(TagPNCounter, 1, ok, []any{"a", 1, "a", 1}), want: ErrDuplicate},
		{name: "out of order in P", in: enc(TagPNCounter, 1, []any{"b", 1, "a", 1}, ok), want: ErrMalformed},
		{name: "zero count in N", in: enc(TagPNCounter, 1, ok, []any{"a", 0}), want: ErrInvalid},
		{name: "negative count in P", in: enc(TagPNCounter, 1, []any{"a", -3}, ok), want: ErrMalformed},
		{name: "empty replica in P", in: enc(TagPNCounter, 1, []any{"", 1}, ok), want: ErrInvalid},
		{name: "odd length N", in: enc(TagPNCounter, 1, ok, []any{"a"}), want: ErrMalformed},
		{name: "replica id too long", in: enc(TagPNCounter, 1, ok, []any{strings.Repeat("n", 300), 1}), want: ErrTooLarge},
		{name: "N length past input", in: []byte{0x94, 0x02, 0x01, 0x90, 0xdd, 0xff, 0xff, 0xff, 0xff}, want: ErrTooLarge},
	}
}

func TestPNCounterUnmarshalRejects(t *testing.T) {
	checkBadInputs(t, pnBadInputs(), func(t *testing.T, in []byte) (any, error) {
		c := NewPNCounter()
		mustPN(t, c, "dec", "keep", 7)
		before := c.Clone()
		err := c.UnmarshalBinary(in)
		if err != nil && (!c.Equal(before) || c.Value() != -7) {
			t.Fatalf("failed UnmarshalBinary changed the receiver to %v", c)
		}
		return c, err
	})
}

func TestPNCounterUnmarshalRejectsEveryTruncation(t *testing.T) {
	c := NewPNCounter()
	mustPN(t, c, "inc", "alice", 1<<33)
	mustPN(t, c, "dec", "bob", 3)
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(b) {
		var back PNCounter
		if err := back.UnmarshalBinary(b[:i]); err == nil {
			t.Errorf("prefix of %d/%d bytes decoded to %v", i, len(b), &back)
		}
	}
}

func TestPNCounterLaws(t *testing.T) {
	checkCounterLaws(t, []ReplicaID{"a", "b", "c"}, NewPNCounter, pnOps, 1<<40, (*PNCounter).Value)
}

func mustPN(t testing.TB, c *PNCounter, op string, r ReplicaID, n uint64) *PNCounter {
	t.Helper()
	var d *PNCounter
	var err error
	if op == "inc" {
		d, err = c.Inc(r, n)
	} else {
		d, err = c.Dec(r, n)
	}
	if err != nil {
		t.Fatalf("%s(%q, %d): %v", op, r, n, err)
	}
	return d
}
