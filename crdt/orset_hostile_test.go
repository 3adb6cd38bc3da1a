package crdt

import (
	"errors"
	"fmt"
	"testing"
)

// hostileElemSet returns a set whose one element "e" holds n dots spread
// over the given number of replicas (counters 1…n/replicas each), and a
// copy whose context has seen one more event, so that merging the copy
// visits every dot. It is built directly, past the decoder, so that
// benchmarks can measure merge on any shape.
func hostileElemSet(n, replicas int) (s, other *ORSet[string]) {
	per := n / replicas
	dots := make([]Dot, 0, n)
	s = NewORSet[string]()
	for i := range replicas {
		r := ReplicaID(fmt.Sprintf("r%05d", i))
		for c := 1; c <= per; c++ {
			dots = append(dots, Dot{Replica: r, Counter: uint64(c)})
		}
		s.ctx.vv.Advance(r, uint64(per))
	}
	s.entries = map[string]dotSet{"e": makeDotSet(dots)}
	other = s.Clone()
	other.ctx.Add(Dot{Replica: "z", Counter: 1})
	return s, other
}

// An element holding many dots of one replica is a shape an add-wins set
// never produces; the decoder refuses it (issue 9, finding 2: 65,536 dots
// of one replica on one element, 0.9 MB, stalled a merge for 8.7 s).
func TestORSetUnmarshalRefusesDotPile(t *testing.T) {
	const n = 1 << 16
	dots := make([]any, 0, 2*n)
	for c := 1; c <= n; c++ {
		dots = append(dots, "a", c)
	}
	in := newORSetEnc(3, 1, 4).ctx([]any{"a", n}, nil).entries(1).entry("x", dots...).bytes()
	err := NewORSet[string]().UnmarshalBinary(in)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("element with %d dots of one replica (%d bytes): %v, want ErrInvalid", n, len(in), err)
	}
	t.Logf("%d bytes refused: %v", len(in), err)

	// The most a valid state may hold is accepted.
	dots = dots[:2*MaxDotsPerReplica]
	in = newORSetEnc(3, 1, 4).ctx([]any{"a", MaxDotsPerReplica}, nil).entries(1).entry("x", dots...).bytes()
	if err := NewORSet[string]().UnmarshalBinary(in); err != nil {
		t.Fatalf("element with %d dots of one replica: %v", MaxDotsPerReplica, err)
	}
}

// Merging the widest element the decoder still accepts (16 dots from each
// of many replicas) gives the dot-kernel result: every dot both hold stays.
func TestORSetMergeWideElement(t *testing.T) {
	s, other := hostileElemSet(1<<14, 1<<10)
	x := s.Clone()
	if !x.MergeChanged(other) {
		t.Fatal("merge of a context with a new event reported no change")
	}
	if got := x.entries["e"].len(); got != 1<<14 {
		t.Fatalf("element holds %d dots after merge, want %d", got, 1<<14)
	}
	b, err := x.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, x, NewORSet[string])
	t.Logf("%d bytes", len(b))
}

// BenchmarkORSetMergeDotPile merges one element holding n dots into a
// replica that holds the same element (issue 9, finding 2). Before the fix
// (linear dotSet.has) the cost grew as n²; now as n log n. The one-replica
// shape is refused by the decoder but still measured here, built past it.
func BenchmarkORSetMergeDotPile(b *testing.B) {
	for _, bc := range []struct {
		n, replicas int
	}{{1 << 12, 1}, {1 << 14, 1}, {1 << 16, 1}, {1 << 16, 1 << 12}} {
		b.Run(fmt.Sprintf("dots=%d/replicas=%d", bc.n, bc.replicas), func(b *testing.B) {
			s, other := hostileElemSet(bc.n, bc.replicas)
			benchMerge(b, s, other, bc.n, "dots")
		})
	}
}
