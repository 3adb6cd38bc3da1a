package crdt

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/converge-crdt/converge/internal/wire"
)

// GCounter is a grow-only counter: each replica counts its own increments,
// the value is the sum of all replicas' counts, and Merge takes the
// per-replica maximum (Shapiro et al. 2011, §3.1.1).
//
// Every count is a uint64 and never wraps: Inc refuses an increment that
// would take the replica's own count past math.MaxUint64. The total is kept
// exactly (128 bits) and Value saturates at math.MaxUint64. Inc does not
// refuse an increment because of the total: the other replicas' counts are
// theirs, and a peer that merged in a count of math.MaxUint64 for some
// replica would otherwise freeze every replica's Inc for good (issue 9,
// finding 1). A state whose counts add up past math.MaxUint64 is reachable
// by correct replicas, so it encodes, decodes and merges like any other.
//
// The zero value is an empty counter, ready to use. A GCounter is not safe
// for concurrent use.
type GCounter struct {
	// counts holds each replica's increments. Entries are never zero and
	// never decrease.
	counts VersionVector
	// sum is the exact total of counts, prune records and base, 128 bits
	// wide so that merges never lose it; it is derived state and not part
	// of Equal.
	sum sum128
	// pr holds the records of pruned replicas (see Prune). No replica has
	// both an entry in counts and a record.
	pr pruneSet
}

var (
	_ CRDT[*GCounter]           = (*GCounter)(nil)
	_ ChangeReporter[*GCounter] = (*GCounter)(nil)
)

// NewGCounter returns an empty counter.
func NewGCounter() *GCounter { return &GCounter{} }

// Inc adds n to replica r's count and returns the delta: a GCounter holding
// only r's new count. Inc with n == 0 changes nothing and returns an empty
// delta.
//
// Unlike the other mutators, Inc returns an error: Go has no checked
// arithmetic, and a count that silently wraps reports a wrong value forever
// after. If r's own count would exceed math.MaxUint64, Inc changes nothing
// and returns an error wrapping ErrOverflow; a total past math.MaxUint64
// only saturates Value (see GCounter). An empty r, or one longer than the
// decoders accept (256 bytes), is refused with ErrInvalid.
func (g *GCounter) Inc(r ReplicaID, n uint64) (*GCounter, error) {
	if err := checkMutatorReplica(r); err != nil {
		return nil, err
	}
	if n == 0 {
		return NewGCounter(), nil
	}
	if _, ok := g.pr.get(r); ok {
		return g.incPruned(r, n)
	}
	old := g.counts.Get(r)
	if old > math.MaxUint64-n {
		return nil, fmt.Errorf("%w: replica %q count %d + %d exceeds %d", ErrOverflow, r, old, n, uint64(math.MaxUint64))
	}
	g.counts.Advance(r, old+n)
	g.sum = g.sum.add(n)
	d := &GCounter{sum: sum128{lo: old + n}}
	d.counts.Advance(r, old+n)
	return d, nil
}

// Value returns the sum of all replicas' counts, or math.MaxUint64 if the
// sum exceeds it.
func (g *GCounter) Value() uint64 {
	v, ok := g.sum.uint64()
	if !ok {
		return math.MaxUint64
	}
	return v
}

// Merge raises each replica's count to the maximum of both counters. other
// is not modified.
func (g *GCounter) Merge(other *GCounter) { g.MergeChanged(other) }

// MergeChanged is Merge, and reports whether a count rose.
func (g *GCounter) MergeChanged(other *GCounter) (changed bool) {
	if !g.pr.empty() || !other.pr.empty() {
		return g.mergePruned(other)
	}
	for r, c := range other.counts.m {
		if old := g.counts.m[r]; c > old {
			g.counts.Advance(r, c)
			g.sum = g.sum.add(c - old)
			changed = true
		}
	}
	return changed
}

// Clone returns a copy sharing nothing with g.
func (g *GCounter) Clone() *GCounter {
	return &GCounter{counts: *g.counts.Clone(), sum: g.sum, pr: g.pr.clone()}
}

// Equal reports whether both counters hold the same count for every
// replica.
func (g *GCounter) Equal(other *GCounter) bool {
	return g.counts.Equal(&other.counts) && g.pr.equal(&other.pr)
}

// String formats the value and the per-replica counts in replica order, for
// example "GCounter(5)[a:3 b:2]".
func (g *GCounter) String() string {
	return fmt.Sprintf("GCounter(%v)%v%v", g.sum, g.counts.String(), g.pr.String())
}

// MarshalBinary encodes the counter as [TagGCounter, 1, counts], counts
// being the flat array r1, c1, r2, c2, … in replica order, or, once it
// holds prune records, as [TagGCounter, 2, counts, pruned] (see Prune).
func (g *GCounter) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter()
	writeHeaderPruned(w, TagGCounter, 1, 1, !g.pr.empty())
	g.counts.encode(w)
	if !g.pr.empty() {
		g.pr.encode(w)
	}
	return w.Bytes(), nil
}

// UnmarshalBinary replaces g with the decoded counter. It refuses, leaving
// g unchanged, anything MarshalBinary would not have written: a wrong tag
// or version, replicas out of order or repeated, an empty replica ID, a
// zero count, truncated input or trailing bytes.
func (g *GCounter) UnmarshalBinary(b []byte) error {
	r := wire.NewReader(b)
	pruned, err := readHeaderPruned(r, TagGCounter, 1, 1)
	if err != nil {
		return err
	}
	d, err := decodeGCounterBody(r, "GCounter counts")
	if err != nil {
		return err
	}
	if pruned {
		if err := d.decodePruned(r, "GCounter", false); err != nil {
			return err
		}
	}
	if err := r.Done(); err != nil {
		return err
	}
	*g = *d
	return nil
}

// decodeGCounterBody reads the flat count array that VersionVector.encode
// writes. Counts are not event counters, so any non-zero uint64 is allowed
// (not just up to MaxCounter). The 128-bit sum cannot overflow: it would
// take 2^64 entries.
func decodeGCounterBody(r *wire.Reader, what string) (*GCounter, error) {
	g := &GCounter{}
	counts, err := decodeFlatCounts(r, what, "count", func(id ReplicaID, c uint64) error {
		if c == 0 {
			return fmt.Errorf("%w: %s entry %q has count 0", ErrInvalid, what, id)
		}
		g.sum = g.sum.add(c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	g.counts = counts
	return g, nil
}

// checkMutatorReplica refuses a replica ID that the decoders would refuse,
// so that a local mutation never produces a state that cannot travel.
func checkMutatorReplica(r ReplicaID) error {
	if r == "" {
		return fmt.Errorf("%w: empty replica id", ErrInvalid)
	}
	if len(r) > maxReplicaIDLen {
		return fmt.Errorf("%w: replica id is %d bytes, limit %d", ErrInvalid, len(r), maxReplicaIDLen)
	}
	return nil
}

// sum128 is an unsigned 128-bit integer: the exact total of a counter's
// entries, which merges of concurrent increments can push past 64 bits.
type sum128 struct{ hi, lo uint64 }

func (s sum128) add(n uint64) sum128 {
	lo, carry := bits.Add64(s.lo, n, 0)
	return sum128{hi: s.hi + carry, lo: lo}
}

// uint64 returns s and whether it fits in 64 bits.
func (s sum128) uint64() (uint64, bool) { return s.lo, s.hi == 0 }

func (s sum128) cmp(o sum128) int {
	switch {
	case s.hi != o.hi:
		if s.hi < o.hi {
			return -1
		}
		return 1
	case s.lo < o.lo:
		return -1
	case s.lo > o.lo:
		return 1
	}
	return 0
}

// sub returns s - o; the caller ensures s >= o.
func (s sum128) sub(o sum128) sum128 {
	lo, borrow := bits.Sub64(s.lo, o.lo, 0)
	return sum128{hi: s.hi - o.hi - borrow, lo: lo}
}

func (s sum128) String() string {
	if s.hi == 0 {
		return fmt.Sprint(s.lo)
	}
	return fmt.Sprintf("0x%x%016x", s.hi, s.lo)
}
