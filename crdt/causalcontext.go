package crdt

import (
	"fmt"
	"maps"
	"slices"

	"github.com/converge-crdt/converge/internal/wire"
)

// CausalContext is the set of events a replica has seen, stored compactly as
// a version vector (every event up to a counter) plus a dot cloud (events
// seen past a gap). When a gap fills, the dots it joins move into the
// vector, so a context whose events arrived in order is just a vector. This
// is the dotcontext of the delta-state reference code (Almeida, Shoker,
// Baquero 2018).
//
// Invariant (kept by every method and checked by the decoder): every cloud
// dot d has d.Counter > vv[d.Replica]+1, that is, the cloud holds only dots
// the vector cannot absorb.
//
// The zero value is an empty context, ready to use.
type CausalContext struct {
	vv    VersionVector
	cloud map[Dot]struct{}
}

// NewCausalContext returns an empty context.
func NewCausalContext() *CausalContext { return &CausalContext{} }

// Contains reports whether the event d has been seen.
func (c *CausalContext) Contains(d Dot) bool {
	if c.vv.Contains(d) {
		return true
	}
	_, ok := c.cloud[d]
	return ok
}

// Next makes a new event for replica r: the dot after the highest counter
// of r in the vector, recorded in the context. Only the replica r itself
// calls Next with its own ID, and its own events are always contiguous, so
// they live in the vector.
func (c *CausalContext) Next(r ReplicaID) Dot {
	d := Dot{Replica: r, Counter: c.vv.Get(r) + 1}
	c.Add(d)
	return d
}

// Add records the event d and compacts. A zero counter is ignored.
func (c *CausalContext) Add(d Dot) {
	if d.Counter == 0 || c.Contains(d) {
		return
	}
	if d.Counter == c.vv.Get(d.Replica)+1 {
		c.vv.Advance(d.Replica, d.Counter)
		c.compact()
		return
	}
	if c.cloud == nil {
		c.cloud = make(map[Dot]struct{})
	}
	c.cloud[d] = struct{}{}
}

// Merge adds every event of other and compacts. other is not modified.
func (c *CausalContext) Merge(other *CausalContext) { c.MergeChanged(other) }

// MergeChanged is Merge, and reports whether c gained an event.
// Compaction moves events from the cloud to the vector without changing the
// set, so it does not count.
func (c *CausalContext) MergeChanged(other *CausalContext) (changed bool) {
	changed = c.vv.MergeChanged(&other.vv)
	for d := range other.cloud {
		if c.vv.Contains(d) {
			continue
		}
		if c.cloud == nil {
			c.cloud = make(map[Dot]struct{}, len(other.cloud))
		}
		n := len(c.cloud)
		c.cloud[d] = struct{}{}
		changed = changed || len(c.cloud) != n
	}
	c.compact()
	return changed
}

// compact moves cloud dots that extend the vector into it and drops those it
// already covers, restoring the invariant.
func (c *CausalContext) compact() {
	if len(c.cloud) == 0 {
		return
	}
	// Sorted order lets one pass absorb a run r:k+1, r:k+2, … of dots.
	for _, d := range slices.SortedFunc(maps.Keys(c.cloud), compareDots) {
		have := c.vv.Get(d.Replica)
		switch {
		case d.Counter <= have:
			delete(c.cloud, d)
		case d.Counter == have+1:
			c.vv.Advance(d.Replica, d.Counter)
			delete(c.cloud, d)
		}
	}
	if len(c.cloud) == 0 {
		c.cloud = nil
	}
}

// Clone returns a copy sharing nothing with c.
func (c *CausalContext) Clone() *CausalContext {
	return &CausalContext{vv: *c.vv.Clone(), cloud: maps.Clone(c.cloud)}
}

// Equal reports whether both contexts hold the same events. Both are
// compact, so equal sets have equal vectors and clouds.
func (c *CausalContext) Equal(other *CausalContext) bool {
	return c.vv.Equal(&other.vv) && maps.Equal(c.cloud, other.cloud)
}

// Vector returns a copy of the compact part: every replica's contiguous
// prefix of events.
func (c *CausalContext) Vector() *VersionVector { return c.vv.Clone() }

// CloudLen returns the number of dots seen past a gap.
func (c *CausalContext) CloudLen() int { return len(c.cloud) }

func (c *CausalContext) String() string {
	return fmt.Sprintf("{vv:%v cloud:%v}", c.vv.String(), slices.SortedFunc(maps.Keys(c.cloud), compareDots))
}

// encode writes [vector, cloud]; the cloud is a flat array r1, c1, r2, c2, …
// in dot order.
func (c *CausalContext) encode(w *wire.Writer) {
	w.Array(2)
	c.vv.encode(w)
	w.Array(2 * len(c.cloud))
	for _, d := range slices.SortedFunc(maps.Keys(c.cloud), compareDots) {
		w.String(string(d.Replica))
		w.Uint(d.Counter)
	}
}

// decodeCausalContext reads what encode wrote and checks the invariant: the
// cloud is strictly ordered, has no zero or oversized counters, and holds no
// dot the vector covers or could absorb.
func decodeCausalContext(r *wire.Reader) (*CausalContext, error) {
	if err := r.ExpectArray("causal context", 2); err != nil {
		return nil, err
	}
	vv, err := decodeVersionVector(r, "context vector")
	if err != nil {
		return nil, err
	}
	c := &CausalContext{vv: *vv}
	n, err := r.ArrayLen("dot cloud", 1)
	if err != nil {
		return nil, err
	}
	if n%2 != 0 {
		return nil, fmt.Errorf("%w: dot cloud has odd length %d", ErrMalformed, n)
	}
	var prev Dot
	for i := 0; i < n/2; i++ {
		d, err := decodeDot(r, "cloud dot")
		if err != nil {
			return nil, err
		}
		if i > 0 && compareDots(d, prev) <= 0 {
			if d == prev {
				return nil, fmt.Errorf("%w: dot cloud lists %v twice", ErrDuplicate, d)
			}
			return nil, fmt.Errorf("%w: dot cloud out of order (%v after %v)", ErrMalformed, d, prev)
		}
		if d.Counter <= c.vv.Get(d.Replica)+1 {
			return nil, fmt.Errorf("%w: cloud dot %v not compacted into vector %v", ErrInvalid, d, c.vv.String())
		}
		if c.cloud == nil {
			// A dot takes at least 3 bytes: size the map only as far as
			// the bytes left could fill it.
			c.cloud = make(map[Dot]struct{}, min(n/2, r.Remaining()/3+1))
		}
		c.cloud[d] = struct{}{}
		prev = d
	}
	return c, nil
}

// decodeDot reads a replica ID followed by a counter.
func decodeDot(r *wire.Reader, what string) (Dot, error) {
	id, err := readReplicaID(r)
	if err != nil {
		return Dot{}, fmt.Errorf("%s: %w", what, err)
	}
	ctr, err := r.Uint("counter")
	if err != nil {
		return Dot{}, err
	}
	d := Dot{Replica: id, Counter: ctr}
	if err := checkCounter(fmt.Sprintf("%s %v", what, d), ctr); err != nil {
		return Dot{}, err
	}
	return d, nil
}
