package crdt

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/converge-crdt/converge/internal/wire"
)

func TestGCounterSemantics(t *testing.T) {
	const half = math.MaxUint64/2 + 1
	tests := []struct {
		name  string
		steps []counterStep
		want  map[ReplicaID]uint64 // Value of each replica's copy at the end
	}{
		{
			name:  "empty",
			steps: nil,
			want:  map[ReplicaID]uint64{"a": 0},
		},
		{
			name: "one replica counts its increments",
			steps: []counterStep{
				{op: "inc", at: "a", n: 2},
				{op: "inc", at: "a", n: 3},
			},
			want: map[ReplicaID]uint64{"a": 5},
		},
		{
			name: "concurrent increments add up after merging both ways",
			steps: []counterStep{
				{op: "inc", at: "a", n: 2},
				{op: "inc", at: "b", n: 5},
				{op: "inc", at: "c", n: 7},
				{op: "merge", at: "a", from: "b"},
				{op: "merge", at: "a", from: "c"},
				{op: "merge", at: "c", from: "a"},
				{op: "merge", at: "b", from: "c"},
			},
			want: map[ReplicaID]uint64{"a": 14, "b": 14, "c": 14},
		},
		{
			name: "merging the same state twice counts it once",
			steps: []counterStep{
				{op: "inc", at: "a", n: 4},
				{op: "merge", at: "b", from: "a"},
				{op: "merge", at: "b", from: "a"},
				{op: "merge", at: "a", from: "b"},
			},
			want: map[ReplicaID]uint64{"a": 4, "b": 4},
		},
		{
			name: "a stale copy does not lower a newer one",
			steps: []counterStep{
				{op: "inc", at: "a", n: 1},
				{op: "merge", at: "b", from: "a"},
				{op: "inc", at: "a", n: 1},
				{op: "merge", at: "a", from: "b"},
			},
			want: map[ReplicaID]uint64{"a": 2, "b": 1},
		},
		{
			name: "increment by zero changes nothing",
			steps: []counterStep{
				{op: "inc", at: "a", n: 0},
			},
			want: map[ReplicaID]uint64{"a": 0},
		},
		{
			name: "replica count overflow is refused and changes nothing",
			steps: []counterStep{
				{op: "inc", at: "a", n: math.MaxUint64},
				{op: "inc", at: "a", n: 1, wantErr: ErrOverflow},
			},
			want: map[ReplicaID]uint64{"a": math.MaxUint64},
		},
		{
			name: "a total past MaxUint64 saturates the value and never blocks Inc",
			steps: []counterStep{
				{op: "inc", at: "a", n: half},
				{op: "merge", at: "b", from: "a"},
				{op: "inc", at: "b", n: half},
				{op: "inc", at: "b", n: half - 1},
			},
			want: map[ReplicaID]uint64{"a": half, "b": math.MaxUint64},
		},
		{
			name: "concurrent increments past MaxUint64 saturate the value",
			steps: []counterStep{
				{op: "inc", at: "a", n: half},
				{op: "inc", at: "b", n: half},
				{op: "merge", at: "a", from: "b"},
				{op: "inc", at: "a", n: 1},
			},
			want: map[ReplicaID]uint64{"a": math.MaxUint64, "b": half},
		},
		{
			name: "empty replica id is refused",
			steps: []counterStep{
				{op: "inc", at: "", n: 1, wantErr: ErrInvalid},
			},
			want: map[ReplicaID]uint64{"": 0},
		},
		{
			name: "replica id longer than the decoder accepts is refused",
			steps: []counterStep{
				{op: "inc", at: ReplicaID(strings.Repeat("x", maxReplicaIDLen+1)), n: 1, wantErr: ErrInvalid},
			},
			want: map[ReplicaID]uint64{ReplicaID(strings.Repeat("x", maxReplicaIDLen+1)): 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runCounterSteps(t, tc.steps, NewGCounter, counterOps[*GCounter]{"inc": (*GCounter).Inc}, (*GCounter).Value, tc.want)
		})
	}
}

func TestGCounterDeltaHoldsOnlyTheIncrementedReplica(t *testing.T) {
	g := NewGCounter()
	mustGInc(t, g, "a", 3)
	mustGInc(t, g, "b", 4)
	d := mustGInc(t, g, "a", 2)
	want := NewGCounter()
	mustGInc(t, want, "a", 5)
	if !d.Equal(want) || d.Value() != 5 {
		t.Fatalf("delta = %v, want %v", d, want)
	}
}

func TestGCounterEqualIsLatticeEquality(t *testing.T) {
	a, b := NewGCounter(), NewGCounter()
	mustGInc(t, a, "a", 3)
	mustGInc(t, b, "b", 3)
	if a.Value() != b.Value() {
		t.Fatalf("values differ: %d, %d", a.Value(), b.Value())
	}
	if a.Equal(b) {
		t.Fatalf("%v Equal %v: same value from different replicas is not the same state", a, b)
	}
	var zero GCounter
	if !zero.Equal(NewGCounter()) || zero.Value() != 0 {
		t.Fatalf("zero value not an empty counter: %v", &zero)
	}
}

func TestGCounterCloneIsIndependent(t *testing.T) {
	g := NewGCounter()
	mustGInc(t, g, "a", 1)
	c := g.Clone()
	mustGInc(t, c, "a", 1)
	mustGInc(t, c, "b", 1)
	if g.Value() != 1 || g.String() != "GCounter(1)[a:1]" {
		t.Fatalf("mutating the clone changed the original: %v", g)
	}
	other := NewGCounter()
	mustGInc(t, other, "z", 9)
	g.Merge(other)
	if c.Value() != 3 {
		t.Fatalf("merging into the original changed the clone: %v", c)
	}
}

func TestGCounterString(t *testing.T) {
	g := NewGCounter()
	mustGInc(t, g, "b", 2)
	mustGInc(t, g, "a", 3)
	if got, want := g.String(), "GCounter(5)[a:3 b:2]"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	h := NewGCounter()
	mustGInc(t, h, "a", math.MaxUint64)
	o := NewGCounter()
	mustGInc(t, o, "b", 1)
	h.Merge(o)
	if got, want := h.String(), "GCounter(0x10000000000000000)[a:18446744073709551615 b:1]"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

// TestGCounterWireForm pins the layout documented on MarshalBinary,
// independently of the golden file.
func TestGCounterWireForm(t *testing.T) {
	g := NewGCounter()
	mustGInc(t, g, "b", 300)
	mustGInc(t, g, "a", 1)
	got, err := g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		0x93,       // array of 3
		0x01, 0x01, // TagGCounter, version 1
		0x94,            // counts: array of 4
		0xa1, 'a', 0x01, // "a", 1
		0xa1, 'b', 0xcd, 0x01, 0x2c, // "b", 300
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("MarshalBinary = % x, want % x", got, want)
	}
}

func TestGCounterGolden(t *testing.T) {
	g := NewGCounter()
	mustGInc(t, g, "alice", 3)
	mustGInc(t, g, "bob", 70000)
	mustGInc(t, g, "carol", math.MaxUint32+1)
	b, err := g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "gcounter.golden", b)
	var back GCounter
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(g) || back.Value() != 3+70000+math.MaxUint32+1 {
		t.Fatalf("golden decodes to %v, want %v", &back, g)
	}
}

// A sum past MaxUint64 is reachable by correct replicas (concurrent
// increments), so it must still travel: refusing it would leave those
// replicas unable to converge.
func TestGCounterSaturatedStateRoundTrips(t *testing.T) {
	a, b := NewGCounter(), NewGCounter()
	mustGInc(t, a, "a", math.MaxUint64)
	mustGInc(t, b, "b", 1)
	a.Merge(b)
	if a.Value() != math.MaxUint64 {
		t.Fatalf("Value() = %d, want saturation at MaxUint64", a.Value())
	}
	checkRoundTrip(t, a, NewGCounter)
	var back GCounter
	b2, _ := a.MarshalBinary()
	if err := back.UnmarshalBinary(b2); err != nil || back.Value() != math.MaxUint64 {
		t.Fatalf("decoded saturated counter: value %d, error %v", back.Value(), err)
	}
}

// gcounterBadInputs is the bad-input catalogue shared by the GCounter
// table test and the fuzz seeds.
func gcounterBadInputs() []badInput {
	hdr := func(w *wire.Writer, tag TypeTag, version uint64, fields int) {
		w.Array(fields + 2)
		w.Uint(uint64(tag))
		w.Uint(version)
	}
	counts := func(kv ...any) func(w *wire.Writer) {
		return func(w *wire.Writer) {
			hdr(w, TagGCounter, 1, 1)
			flatTo(w, kv...)
		}
	}
	return []badInput{
		{name: "empty input", in: nil, want: ErrTruncated},
		{name: "not an array", in: []byte{0xc0}, want: ErrMalformed},
		{name: "header only", in: []byte{0x93, 0x01, 0x01}, want: ErrTooLarge},
		{name: "truncated count", in: []byte{0x93, 0x01, 0x01, 0x92, 0xa1, 'a', 0xcd, 0x01}, want: ErrTruncated},
		{name: "trailing byte", in: append(wireBytes(counts("a", 1)), 0x00), want: ErrTrailing},
		{name: "wrong tag", in: wireBytes(func(w *wire.Writer) { hdr(w, TagPNCounter, 1, 1); w.Array(0) }), want: ErrWrongType},
		{name: "unknown version", in: wireBytes(func(w *wire.Writer) { hdr(w, TagGCounter, 3, 1); w.Array(0) }), want: ErrVersion},
		{name: "too many fields", in: wireBytes(func(w *wire.Writer) { hdr(w, TagGCounter, 1, 2); w.Array(0); w.Array(0) }), want: ErrMalformed},
		{name: "too few fields", in: []byte{0x91, 0x01}, want: ErrMalformed},
		{name: "counts not an array", in: wireBytes(func(w *wire.Writer) { hdr(w, TagGCounter, 1, 1); w.Uint(3) }), want: ErrMalformed},
		{name: "odd length", in: wireBytes(counts("a", 1, "b")), want: ErrMalformed},
		{name: "duplicate replica", in: wireBytes(counts("a", 1, "a", 2)), want: ErrDuplicate},
		{name: "replicas out of order", in: wireBytes(counts("b", 1, "a", 2)), want: ErrMalformed},
		{name: "zero count", in: wireBytes(counts("a", 0)), want: ErrInvalid},
		{name: "negative count", in: wireBytes(counts("a", -1)), want: ErrMalformed},
		{name: "empty replica", in: wireBytes(counts("", 1)), want: ErrInvalid},
		{name: "replica id too long", in: wireBytes(counts(strings.Repeat("r", maxReplicaIDLen+1), 1)), want: ErrTooLarge},
		{name: "replica id not a string", in: wireBytes(counts(1, 1)), want: ErrMalformed},
		{name: "array length past input", in: []byte{0x93, 0x01, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff}, want: ErrTooLarge},
		{name: "outer length past input", in: []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, want: ErrTooLarge},
		{name: "string length past input", in: []byte{0x93, 0x01, 0x01, 0x92, 0xdb, 0xff, 0xff, 0xff, 0xff}, want: ErrTooLarge},
		{name: "deep nesting", in: append([]byte{0x93, 0x01, 0x01}, bytes.Repeat([]byte{0x91}, 1000)...), want: ErrMalformed},
	}
}

func TestGCounterUnmarshalRejects(t *testing.T) {
	checkBadInputs(t, gcounterBadInputs(), func(t *testing.T, in []byte) (any, error) {
		g := NewGCounter()
		mustGInc(t, g, "keep", 7)
		before := g.Clone()
		err := g.UnmarshalBinary(in)
		if err != nil && (!g.Equal(before) || g.Value() != 7) {
			t.Fatalf("failed UnmarshalBinary changed the receiver to %v", g)
		}
		return g, err
	})
}

func TestGCounterUnmarshalRejectsEveryTruncation(t *testing.T) {
	g := NewGCounter()
	mustGInc(t, g, "alice", 3)
	mustGInc(t, g, "bob", 1<<40)
	b, err := g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(b) {
		var back GCounter
		if err := back.UnmarshalBinary(b[:i]); err == nil {
			t.Errorf("prefix of %d/%d bytes decoded to %v", i, len(b), &back)
		}
	}
}

// TestGCounterUnmarshalAcceptsLargeCounts checks that counts above
// MaxCounter, which Inc can produce, decode: counts are not event counters.
func TestGCounterUnmarshalAcceptsLargeCounts(t *testing.T) {
	g := NewGCounter()
	mustGInc(t, g, "a", math.MaxUint64)
	checkRoundTrip(t, g, NewGCounter)
}

// TestGCounterLaws runs random histories on several replicas, with random
// merges between them (see checkCounterLaws).
func TestGCounterLaws(t *testing.T) {
	checkCounterLaws(t, []ReplicaID{"a", "b", "c", "d"}, NewGCounter, counterOps[*GCounter]{"inc": (*GCounter).Inc}, 1<<50,
		func(g *GCounter) int64 { return int64(g.Value()) })
}

func mustGInc(t testing.TB, g *GCounter, r ReplicaID, n uint64) *GCounter {
	t.Helper()
	d, err := g.Inc(r, n)
	if err != nil {
		t.Fatalf("Inc(%q, %d): %v", r, n, err)
	}
	return d
}
