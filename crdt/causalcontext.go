package crdt

import (
	"fmt"
	"iter"
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
// The cloud is kept per replica, sorted, so compaction touches only the
// replicas an Add or a Merge changed: the reference code sorts the whole
// cloud on every call, and a peer that plants 400,000 gapped dots then
// makes every later Add on the key cost half a second (issue 9, finding
// 5). Add costs O(log k) for a replica with k cloud dots; Merge costs
// O(other) plus, for each replica whose cloud it extends, O(k). The
// decoder refuses a cloud of more than MaxCloudDots dots.
//
// The zero value is an empty context, ready to use.
type CausalContext struct {
	vv VersionVector
	// cloud holds, per replica, the counters of the events seen past a
	// gap: strictly increasing, never empty, each above vv[replica]+1.
	cloud map[ReplicaID][]uint64
}

// MaxCloudDots bounds the dot cloud of a decoded causal context. A cloud
// holds events seen past a gap, which anti-entropy fills within a round or
// two, so honest contexts hold far fewer; a peer's larger cloud is refused
// with ErrTooLarge. Local merges are not bounded by it.
const MaxCloudDots = 1 << 18

// NewCausalContext returns an empty context.
func NewCausalContext() *CausalContext { return &CausalContext{} }

// Contains reports whether the event d has been seen.
func (c *CausalContext) Contains(d Dot) bool {
	return c.vv.Contains(d) || c.cloudHas(d)
}

// cloudHas reports whether d is a cloud dot.
func (c *CausalContext) cloudHas(d Dot) bool {
	s := c.cloud[d.Replica]
	if len(s) == 0 {
		return false
	}
	_, ok := slices.BinarySearch(s, d.Counter)
	return ok
}

// cloudDots yields the cloud dots in no particular order.
func (c *CausalContext) cloudDots() iter.Seq[Dot] {
	return func(yield func(Dot) bool) {
		for r, s := range c.cloud {
			for _, n := range s {
				if !yield(Dot{Replica: r, Counter: n}) {
					return
				}
			}
		}
	}
}

// sortedCloud returns the cloud dots in dot order.
func (c *CausalContext) sortedCloud() []Dot {
	out := make([]Dot, 0, c.CloudLen())
	for _, r := range slices.Sorted(maps.Keys(c.cloud)) {
		for _, n := range c.cloud[r] {
			out = append(out, Dot{Replica: r, Counter: n})
		}
	}
	return out
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
	if d.Counter == 0 || c.vv.Contains(d) {
		return
	}
	if d.Counter == c.vv.Get(d.Replica)+1 {
		c.vv.Advance(d.Replica, d.Counter)
		c.absorb(d.Replica)
		return
	}
	s := c.cloud[d.Replica]
	i, found := slices.BinarySearch(s, d.Counter)
	if found {
		return
	}
	if c.cloud == nil {
		c.cloud = make(map[ReplicaID][]uint64)
	}
	c.cloud[d.Replica] = slices.Insert(s, i, d.Counter)
}

// absorb restores the invariant for replica r after its vector entry rose
// or its cloud grew: it drops the cloud dots the vector covers and moves
// the run that extends the vector into it. O(log k + moved) for k cloud
// dots of r; other replicas are not touched.
func (c *CausalContext) absorb(r ReplicaID) {
	s := c.cloud[r]
	if len(s) == 0 {
		return
	}
	v := c.vv.Get(r)
	i, _ := slices.BinarySearch(s, v+1)
	for i < len(s) && s[i] == v+1 {
		v++
		i++
	}
	c.vv.Advance(r, v)
	if i == len(s) {
		delete(c.cloud, r)
		if len(c.cloud) == 0 {
			c.cloud = nil
		}
		return
	}
	c.cloud[r] = s[i:]
}

// Merge adds every event of other and compacts. other is not modified.
func (c *CausalContext) Merge(other *CausalContext) { c.MergeChanged(other) }

// MergeChanged is Merge, and reports whether c gained an event.
// Compaction moves events from the cloud to the vector without changing the
// set, so it does not count. (A rising vector entry is always a gain: the
// event right after the old entry is never in the cloud.)
func (c *CausalContext) MergeChanged(other *CausalContext) (changed bool) {
	for r, n := range other.vv.m {
		if n > c.vv.Get(r) {
			c.vv.Advance(r, n)
			c.absorb(r)
			changed = true
		}
	}
	for r, os := range other.cloud {
		if c.unionCloud(r, os) {
			changed = true
		}
	}
	return changed
}

// unionCloud adds the counters os (sorted, of replica r) that c has not
// seen to r's cloud, compacts r, and reports whether any was new. It never
// retains os.
func (c *CausalContext) unionCloud(r ReplicaID, os []uint64) (added bool) {
	floor := c.vv.Get(r)
	if i, _ := slices.BinarySearch(os, floor+1); i > 0 {
		os = os[i:] // covered by the vector
	}
	if len(os) == 0 {
		return false
	}
	s := c.cloud[r]
	var out []uint64
	if len(os) <= 8 && len(s) > 0 {
		// A few dots into a large cloud: insert them in place.
		out = s
		for _, n := range os {
			i, found := slices.BinarySearch(out, n)
			if !found {
				out = slices.Insert(out, i, n)
				added = true
			}
		}
	} else {
		out = make([]uint64, 0, len(s)+len(os))
		i, j := 0, 0
		for i < len(s) || j < len(os) {
			switch {
			case j == len(os) || (i < len(s) && s[i] < os[j]):
				out = append(out, s[i])
				i++
			case i == len(s) || os[j] < s[i]:
				out = append(out, os[j])
				j++
				added = true
			default:
				out = append(out, s[i])
				i++
				j++
			}
		}
	}
	if !added {
		return false
	}
	if c.cloud == nil {
		c.cloud = make(map[ReplicaID][]uint64)
	}
	c.cloud[r] = out
	c.absorb(r)
	return true
}

// Clone returns a copy sharing nothing with c.
func (c *CausalContext) Clone() *CausalContext {
	k := &CausalContext{vv: *c.vv.Clone()}
	if len(c.cloud) > 0 {
		k.cloud = make(map[ReplicaID][]uint64, len(c.cloud))
		for r, s := range c.cloud {
			k.cloud[r] = slices.Clone(s)
		}
	}
	return k
}

// Equal reports whether both contexts hold the same events. Both are
// compact, so equal sets have equal vectors and clouds.
func (c *CausalContext) Equal(other *CausalContext) bool {
	return c.vv.Equal(&other.vv) && maps.EqualFunc(c.cloud, other.cloud, slices.Equal)
}

// Vector returns a copy of the compact part: every replica's contiguous
// prefix of events.
func (c *CausalContext) Vector() *VersionVector { return c.vv.Clone() }

// CloudLen returns the number of dots seen past a gap.
func (c *CausalContext) CloudLen() int {
	n := 0
	for _, s := range c.cloud {
		n += len(s)
	}
	return n
}

func (c *CausalContext) String() string {
	return fmt.Sprintf("{vv:%v cloud:%v}", c.vv.String(), c.sortedCloud())
}

// encode writes [vector, cloud]; the cloud is a flat array r1, c1, r2, c2, …
// in dot order.
func (c *CausalContext) encode(w *wire.Writer) {
	w.Array(2)
	c.vv.encode(w)
	w.Array(2 * c.CloudLen())
	for _, r := range slices.Sorted(maps.Keys(c.cloud)) {
		for _, n := range c.cloud[r] {
			w.String(string(r))
			w.Uint(n)
		}
	}
}

// decodeCausalContext reads what encode wrote and checks the invariant: the
// cloud is strictly ordered, has no zero or oversized counters, holds no
// dot the vector covers or could absorb, and has at most MaxCloudDots dots.
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
	if n/2 > MaxCloudDots {
		return nil, fmt.Errorf("%w: dot cloud of %d dots, limit %d (MaxCloudDots)", ErrTooLarge, n/2, MaxCloudDots)
	}
	var prev Dot
	var run []uint64 // counters of prev's replica so far
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
		if i > 0 && d.Replica != prev.Replica {
			c.setRun(prev.Replica, run)
			run = nil
		}
		run = append(run, d.Counter)
		prev = d
	}
	if len(run) > 0 {
		c.setRun(prev.Replica, run)
	}
	return c, nil
}

// setRun stores the decoded cloud counters of r.
func (c *CausalContext) setRun(r ReplicaID, run []uint64) {
	if c.cloud == nil {
		c.cloud = make(map[ReplicaID][]uint64)
	}
	c.cloud[r] = slices.Clip(run)
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
