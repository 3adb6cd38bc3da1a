package crdt

import (
	"fmt"
	"math"

	"github.com/converge-crdt/converge/internal/wire"
)

// PNCounter is a counter that goes up and down: two grow-only counters, P
// for increments and N for decrements, whose difference is the value
// (Shapiro et al. 2011, §3.1.2). Merge merges P and N separately.
//
// A count never wraps: Inc and Dec return an error wrapping ErrOverflow,
// and change nothing, if the replica's own increment (P) or decrement (N)
// count would pass math.MaxUint64. The exact value is kept (P and N in 128
// bits each) and Value saturates at math.MaxInt64 or math.MinInt64. Inc and
// Dec do not refuse a mutation because of the value: it sums every
// replica's counts, and a peer that merged in a huge count for some replica
// would otherwise freeze Inc (or Dec) on every replica for good (issue 9,
// finding 1). As for GCounter, P and N sums past math.MaxUint64 are
// reachable by correct replicas and so encode and decode like any other
// state.
//
// The zero value is a counter at 0, ready to use. A PNCounter is not safe
// for concurrent use.
type PNCounter struct {
	p, n GCounter
}

var (
	_ CRDT[*PNCounter]           = (*PNCounter)(nil)
	_ ChangeReporter[*PNCounter] = (*PNCounter)(nil)
)

// NewPNCounter returns a counter at 0.
func NewPNCounter() *PNCounter { return &PNCounter{} }

// Inc adds n to the value on behalf of replica r and returns the delta: a
// PNCounter holding only r's new increment count. n == 0 returns an empty
// delta. Errors: ErrInvalid for a bad replica ID, ErrOverflow as described
// on PNCounter.
func (c *PNCounter) Inc(r ReplicaID, n uint64) (*PNCounter, error) {
	if err := checkMutatorReplica(r); err != nil {
		return nil, err
	}
	if n == 0 {
		return NewPNCounter(), nil
	}
	d, err := c.p.Inc(r, n)
	if err != nil {
		return nil, fmt.Errorf("PNCounter increments: %w", err)
	}
	return &PNCounter{p: *d}, nil
}

// Dec subtracts n from the value on behalf of replica r and returns the
// delta: a PNCounter holding only r's new decrement count. n == 0 returns
// an empty delta. Errors: ErrInvalid for a bad replica ID, ErrOverflow as
// described on PNCounter.
func (c *PNCounter) Dec(r ReplicaID, n uint64) (*PNCounter, error) {
	if err := checkMutatorReplica(r); err != nil {
		return nil, err
	}
	if n == 0 {
		return NewPNCounter(), nil
	}
	d, err := c.n.Inc(r, n)
	if err != nil {
		return nil, fmt.Errorf("PNCounter decrements: %w", err)
	}
	return &PNCounter{n: *d}, nil
}

// Value returns the sum of increments minus the sum of decrements,
// saturated to [math.MinInt64, math.MaxInt64].
func (c *PNCounter) Value() int64 {
	neg, mag := pnValue(c.p.sum, c.n.sum)
	switch {
	case !neg && mag.cmp(sum128{lo: math.MaxInt64}) > 0:
		return math.MaxInt64
	case neg && mag.cmp(sum128{lo: 1 << 63}) >= 0:
		return math.MinInt64
	case neg:
		return -int64(mag.lo)
	}
	return int64(mag.lo)
}

// exact formats the exact value for error messages.
func (c *PNCounter) exact() string {
	neg, mag := pnValue(c.p.sum, c.n.sum)
	if neg {
		return "-" + mag.String()
	}
	return mag.String()
}

// pnValue returns p - n as a sign and a magnitude.
func pnValue(p, n sum128) (neg bool, mag sum128) {
	if p.cmp(n) >= 0 {
		return false, p.sub(n)
	}
	return true, n.sub(p)
}

// Merge merges increments and decrements separately. other is not
// modified.
func (c *PNCounter) Merge(other *PNCounter) { c.MergeChanged(other) }

// MergeChanged is Merge, and reports whether an increment or a decrement
// count rose.
func (c *PNCounter) MergeChanged(other *PNCounter) (changed bool) {
	p := c.p.MergeChanged(&other.p)
	n := c.n.MergeChanged(&other.n)
	return p || n
}

// Clone returns a copy sharing nothing with c.
func (c *PNCounter) Clone() *PNCounter {
	return &PNCounter{p: *c.p.Clone(), n: *c.n.Clone()}
}

// Equal reports whether both counters hold the same increment and
// decrement counts for every replica.
func (c *PNCounter) Equal(other *PNCounter) bool {
	return c.p.Equal(&other.p) && c.n.Equal(&other.n)
}

// String formats the value and both count vectors, for example
// "PNCounter(3)[P[a:5] N[b:2]]".
func (c *PNCounter) String() string {
	return fmt.Sprintf("PNCounter(%s)[P%v%v N%v%v]", c.exact(), c.p.counts.String(), c.p.pr.String(), c.n.counts.String(), c.n.pr.String())
}

// MarshalBinary encodes the counter as [TagPNCounter, 1, P, N], P and N
// being GCounter count arrays, or, once it holds prune records, as
// [TagPNCounter, 2, P, N, P's records, N's records] (see Prune).
func (c *PNCounter) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter()
	pruned := c.pruned()
	writeHeaderPruned(w, TagPNCounter, 2, 2, pruned)
	c.p.counts.encode(w)
	c.n.counts.encode(w)
	if pruned {
		c.p.pr.encode(w)
		c.n.pr.encode(w)
	}
	return w.Bytes(), nil
}

// UnmarshalBinary replaces c with the decoded counter, or returns an error
// and leaves c unchanged. It refuses what GCounter.UnmarshalBinary refuses
// in either half. A value outside int64, or a half whose counts add up
// past math.MaxUint64, is accepted: concurrent mutations reach it
// legitimately (see PNCounter).
func (c *PNCounter) UnmarshalBinary(b []byte) error {
	r := wire.NewReader(b)
	pruned, err := readHeaderPruned(r, TagPNCounter, 2, 2)
	if err != nil {
		return err
	}
	p, err := decodeGCounterBody(r, "PNCounter increments")
	if err != nil {
		return err
	}
	n, err := decodeGCounterBody(r, "PNCounter decrements")
	if err != nil {
		return err
	}
	if pruned {
		if err := decodePNPruned(r, p, n); err != nil {
			return err
		}
	}
	if err := r.Done(); err != nil {
		return err
	}
	*c = PNCounter{p: *p, n: *n}
	return nil
}
