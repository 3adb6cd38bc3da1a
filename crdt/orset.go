package crdt

import (
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
)

// ORSet is an add-wins observed-remove set (the aworset of the delta-state
// reference code; Almeida, Shoker, Baquero 2018). Each Add is an event named
// by a fresh Dot; an element is in the set while at least one of its add
// dots survives. Remove drops the dots the remover has observed, so an add
// that a remove has not seen (a concurrent add) keeps the element: add wins.
//
// The state is a dot store (element → the dots of its live adds) plus a
// CausalContext (every event this state has seen). A dot the context has
// seen but the store does not hold was removed; no tombstones are kept, so
// memory is bounded by the live elements plus the context, which compacts
// to one counter per replica when events arrive without gaps.
//
// Invariants (kept by every method and checked by UnmarshalBinary):
//   - every element in the store has at least one dot, its dots sorted by
//     replica, then counter, without repetition;
//   - every dot in the store is covered by the context;
//   - no dot appears under two elements (a dot names one add event).
//
// E is used as a Go map key, so its values must equal themselves (no NaN
// floats; Add ignores one) and an interface E must not hold an incomparable
// value (Add panics as a map would; the decoder refuses one). Elements go
// on the wire as msgpack (see MarshalBinary), so E's encoding must
// determine its value: decoding and re-encoding an element must give back
// its bytes. Strings, integers, booleans and structs of exported fields of
// these qualify; a struct with unexported fields does not (msgpack skips
// them), and two elements that encode alike make MarshalBinary fail.
//
// Memory: a set of 100 k short string elements added by three replicas
// holds about 90 bytes per element, element strings included, and the same
// per live element after half are removed (see BenchmarkORSetMemory).
//
// The zero value is an empty set, ready to use. An ORSet is not safe for
// concurrent use; the node package serialises access.
type ORSet[E comparable] struct {
	entries map[E]dotSet
	ctx     CausalContext
	// peak is the largest len(entries) since the map was last allocated.
	// Go maps never shrink, so when the set falls to half of peak the map
	// is rebuilt at its live size (see shrink).
	peak int
	// pr holds the records of pruned replicas (see Prune): for each, the
	// events up to its n are seen and none of them is live.
	pr pruneSet
}

var (
	_ CRDT[*ORSet[string]]           = (*ORSet[string])(nil)
	_ ChangeReporter[*ORSet[string]] = (*ORSet[string])(nil)
)

// dotSet holds the dots of one element. Nearly every element has exactly
// one (concurrent adds of the same element are rare), so the first dot is
// stored inline and only further dots go to a separate slice.
//
// Invariant: all dots, first then *more, are strictly increasing by
// compareDots; more is nil or holds at least one dot.
type dotSet struct {
	first Dot
	more  *[]Dot
}

func (s dotSet) len() int {
	if s.more == nil {
		return 1
	}
	return 1 + len(*s.more)
}

// appendTo appends the dots in order to buf.
func (s dotSet) appendTo(buf []Dot) []Dot {
	buf = append(buf, s.first)
	if s.more != nil {
		buf = append(buf, *s.more...)
	}
	return buf
}

// has reports whether s holds d. The dots are sorted, so a binary search
// keeps Merge O(n log n) for an element of n dots; a linear scan made it
// quadratic (a hostile 0.9 MB element stalled a merge for 8.7 s).
func (s dotSet) has(d Dot) bool {
	if s.first == d {
		return true
	}
	if s.more == nil {
		return false
	}
	_, ok := slices.BinarySearchFunc(*s.more, d, compareDots)
	return ok
}

// clone returns a dotSet that shares no slice with s.
func (s dotSet) clone() dotSet {
	if s.more != nil {
		more := slices.Clone(*s.more)
		s.more = &more
	}
	return s
}

func (s dotSet) equal(o dotSet) bool {
	if s.first != o.first || s.len() != o.len() {
		return false
	}
	return s.more == nil || slices.Equal(*s.more, *o.more)
}

// makeDotSet builds a dotSet from sorted, distinct, non-empty ds, copying
// it.
func makeDotSet(ds []Dot) dotSet {
	s := dotSet{first: ds[0]}
	if len(ds) > 1 {
		more := slices.Clone(ds[1:])
		s.more = &more
	}
	return s
}

// NewORSet returns an empty set.
func NewORSet[E comparable]() *ORSet[E] { return &ORSet[E]{} }

// Add inserts e as a new add event of replica r and returns the delta. Like
// aworset::add, it first drops e's current dots (the delta's context holds
// them, so the add also supersedes the adds it observed) and then records
// one fresh dot from the context. Afterwards e has exactly one dot.
//
// r must be this replica's own ID, non-empty and at most 256 bytes (the
// longest the decoders accept), with fewer than MaxCounter events, and e
// must equal itself (not a float NaN,
// which no lookup could find). A dot made from a bad ID could never be
// encoded for a peer to accept, so for such arguments Add records nothing
// and returns an empty delta. It does not panic, because a replica ID is
// configuration that the node package validates once when it starts; a bad
// one reaching here is a programming error that the caller's tests reveal
// (the element never appears), not a condition to crash a long-running
// agent over. TryAdd says why it recorded nothing.
func (s *ORSet[E]) Add(r ReplicaID, e E) *ORSet[E] {
	delta := NewORSet[E]()
	if r == "" || len(r) > maxReplicaIDLen || e != e || s.ctx.vv.Get(r) >= MaxCounter {
		return delta
	}
	if old, ok := s.entries[e]; ok {
		delta.ctx.Add(old.first)
		if old.more != nil {
			for _, d := range *old.more {
				delta.ctx.Add(d)
			}
		}
	}
	s.unprune(r)
	d := s.ctx.Next(r)
	delta.ctx.Add(d)
	if s.entries == nil {
		s.entries = make(map[E]dotSet)
	}
	s.entries[e] = dotSet{first: d}
	s.peak = max(s.peak, len(s.entries))
	delta.entries = map[E]dotSet{e: {first: d}}
	delta.peak = 1
	return delta
}

// Remove deletes e and returns the delta: no elements and a context holding
// the dots of e that this replica has observed. Merged elsewhere, the delta
// removes exactly those adds; an add it has not seen survives (add wins).
// Removing an absent element changes nothing and returns an empty delta.
func (s *ORSet[E]) Remove(e E) *ORSet[E] {
	delta := NewORSet[E]()
	old, ok := s.entries[e]
	if !ok {
		return delta
	}
	delta.ctx.Add(old.first)
	if old.more != nil {
		for _, d := range *old.more {
			delta.ctx.Add(d)
		}
	}
	delete(s.entries, e)
	s.shrink()
	return delta
}

// shrink reallocates the map at its live size once it has fallen to half
// of its peak. A Go map keeps its buckets after deletes, so without this a
// set that grew and then shrank would hold memory for elements it no longer
// has. Rebuilding costs O(len) once per halving, so O(1) amortised per
// removal.
func (s *ORSet[E]) shrink() {
	const minShrink = 64 // small maps are not worth rebuilding
	if s.peak >= minShrink && 2*len(s.entries) <= s.peak {
		// maps.Clone would copy the old capacity; rebuild at the live size.
		m := make(map[E]dotSet, len(s.entries))
		for e, ds := range s.entries {
			m[e] = ds
		}
		s.entries = m
		s.peak = len(m)
	}
}

// Contains reports whether e is in the set.
func (s *ORSet[E]) Contains(e E) bool {
	_, ok := s.entries[e]
	return ok
}

// Len returns the number of elements.
func (s *ORSet[E]) Len() int { return len(s.entries) }

// All yields the elements in an unspecified order that may differ between
// calls, like ranging over a map: ordering the elements would cost a sort of
// their encodings on every call, and most callers only test or collect. For
// a sorted list of an ordered E use slices.Sorted(s.All()). The set must not
// be modified during the iteration.
func (s *ORSet[E]) All() iter.Seq[E] {
	return func(yield func(E) bool) {
		for e := range s.entries {
			if !yield(e) {
				return
			}
		}
	}
}

// Merge joins other into s (the dot-kernel join): an element keeps each
// dot that both sides hold, and each dot that one side holds and the other
// side's context has not seen; a dot one side has seen and no longer holds
// was removed there and stays removed. Then the contexts join. other is
// neither mutated nor retained.
//
// Cost: one pass over other, and one over s to find the dots of s that
// other has seen and no longer holds (removed there). A map lookup is made
// only where the contexts leave the answer open (a dot of s that other has
// seen, a dot of other that s has not), so merging states that agree, or
// that hold disjoint elements, costs one lookup per element; nothing is
// sorted except the dots of an element that holds several.
//
// Merging a delta skips the pass over s when other is small (at most 64
// elements and 64 context events) and every event of other's context that
// s has seen is a dot s holds under one of other's elements: then only
// those elements can lose a dot. That is the case for the delta of an Add,
// of a new element or of one whose earlier dots s holds, so merging it
// costs O(delta), not O(len(s)): about 1 µs into a set of 100 k elements.
// The delta of a Remove carries no element, so s cannot tell which of its
// elements holds the removed dots without an index from dot to element,
// and that index would cost at least 40 bytes per element (past the
// 120-byte budget of BenchmarkORSetMemory). Merging a Remove delta, or an
// Add delta whose superseded dots s no longer holds, still costs the pass
// over s: about 20 ns per element, 2 ms for 100 k elements (see
// BenchmarkORSetMergeDelta). When s's context has a dot cloud (events
// past a gap), every merge also sorts it to compact it.
func (s *ORSet[E]) Merge(other *ORSet[E]) { s.MergeChanged(other) }

// MergeChanged is Merge, and reports whether s changed: a dot of s was
// removed, a dot of other was added, or the context gained an event.
func (s *ORSet[E]) MergeChanged(other *ORSet[E]) (changed bool) {
	if s == other {
		return false
	}
	if !s.pr.empty() || !other.pr.empty() {
		return s.mergePruned(other)
	}
	// Both passes test dots against the contexts as they were before the
	// merge; the contexts join at the end.
	sctx, octx := newCtxProbe(&s.ctx), newCtxProbe(&other.ctx)

	// Pass 1: keep the dots of s that other holds too or has not seen.
	if s.removalsScoped(other, &sctx, &octx) {
		for e := range other.entries {
			if ds, ok := s.entries[e]; ok && s.dropRemoved(e, ds, other, &octx) {
				changed = true
			}
		}
	} else {
		for e, ds := range s.entries {
			if ds.more == nil {
				// The common cases, inline: other has not seen the dot
				// (so it cannot have removed it), or holds it too.
				if !octx.contains(ds.first) {
					continue
				}
				if ods, ok := other.entries[e]; ok && ods.has(ds.first) {
					continue
				}
			}
			if s.dropRemoved(e, ds, other, &octx) {
				changed = true
			}
		}
	}

	// Pass 2: add the dots of other that s has not seen. s cannot hold
	// them, so they extend an element of s or make a new one.
	for e, ods := range other.entries {
		var obuf, fresh [8]Dot
		add := fresh[:0]
		if ods.more == nil {
			if sctx.contains(ods.first) {
				continue
			}
			add = append(add, ods.first)
		} else {
			for _, d := range ods.appendTo(obuf[:0]) {
				if !sctx.contains(d) {
					add = append(add, d)
				}
			}
			if len(add) == 0 {
				continue
			}
		}
		changed = true
		if s.entries == nil {
			s.entries = make(map[E]dotSet, len(other.entries))
		}
		ds, ok := s.entries[e]
		switch {
		case !ok && len(add) == 1:
			s.entries[e] = dotSet{first: add[0]}
		case !ok:
			s.entries[e] = makeDotSet(add) // copies: never retain other's slice
		default:
			var buf [16]Dot
			all := append(ds.appendTo(buf[:0]), add...)
			slices.SortFunc(all, compareDots)
			s.entries[e] = makeDotSet(all)
		}
	}

	if s.ctx.MergeChanged(&other.ctx) {
		changed = true
	}
	s.peak = max(s.peak, len(s.entries))
	s.shrink()
	return changed
}

// dropRemoved is pass 1 of Merge for one element e of s, holding ds: it
// drops the dots that other has seen and does not hold under e (other
// removed them), and reports whether it dropped any.
func (s *ORSet[E]) dropRemoved(e E, ds dotSet, other *ORSet[E], octx *ctxProbe) bool {
	if ds.more == nil {
		if !octx.contains(ds.first) {
			return false // other has not seen it, so it cannot have removed it
		}
		if ods, ok := other.entries[e]; !ok || !ods.has(ds.first) {
			delete(s.entries, e) // other saw this add and removed it
			return true
		}
		return false
	}
	var buf, kept [8]Dot
	out := kept[:0]
	var ods dotSet
	looked, inOther := false, false
	for _, d := range ds.appendTo(buf[:0]) {
		if octx.contains(d) {
			if !looked {
				ods, inOther = other.entries[e]
				looked = true
			}
			if !inOther || !ods.has(d) {
				continue
			}
		}
		out = append(out, d)
	}
	switch {
	case len(out) == 0:
		delete(s.entries, e)
	case len(out) < ds.len():
		s.entries[e] = makeDotSet(out)
	default:
		return false
	}
	return true
}

// maxScopedDots bounds the size of an other, in elements and in context
// events, for which Merge tries to skip its pass over s.
const maxScopedDots = 64

// minScopedLen is the smallest s for which Merge tries to skip its pass
// over s: below it the pass costs about what the attempt does. A variable
// so that tests can take the scoped path with small sets.
var minScopedLen = 4 * maxScopedDots

// removalsScoped reports whether pass 1 of Merge may visit only the
// elements of other: whether every event of other's context that s has
// seen is a dot that s holds under an element of other. Every dot s holds
// is in s's context and names one element, so then no other element of s
// holds a dot other has seen, and pass 1 would leave it alone. It answers
// false, at a cost of O(#replicas in other's context), when other is too
// large to list its context, or when s is too small for the answer to save
// anything.
func (s *ORSet[E]) removalsScoped(other *ORSet[E], sctx, octx *ctxProbe) bool {
	if len(other.entries) > maxScopedDots || len(s.entries) < minScopedLen {
		return false
	}
	events := uint64(other.ctx.CloudLen())
	for _, n := range other.ctx.vv.m {
		if n > maxScopedDots || events+n > maxScopedDots {
			return false
		}
		events += n
	}
	if events > maxScopedDots {
		return false
	}
	// seen counts the events of other's context that s has seen, held
	// those that s holds under an element of other. held ≤ seen.
	seen := 0
	for r, n := range other.ctx.vv.m {
		for c := uint64(1); c <= n; c++ {
			if sctx.contains(Dot{Replica: r, Counter: c}) {
				seen++
			}
		}
	}
	for d := range other.ctx.cloudDots() {
		if sctx.contains(d) {
			seen++
		}
	}
	held := 0
	for e := range other.entries {
		ds, ok := s.entries[e]
		if !ok {
			continue
		}
		if octx.contains(ds.first) {
			held++
		}
		if ds.more != nil {
			for _, d := range *ds.more {
				if octx.contains(d) {
					held++
				}
			}
		}
	}
	return held == seen
}

// ctxProbe answers Contains for one context during a merge. Contexts name
// few replicas, so it scans a copy of the vector instead of hashing the
// replica ID for every dot; a replica ID usually shares its bytes with the
// probe's copy, which makes the comparison a pointer check.
type ctxProbe struct {
	c  *CausalContext
	vv []probeEntry // nil when the vector is too large to scan
}

type probeEntry struct {
	r ReplicaID
	n uint64
}

const maxProbeScan = 8

func newCtxProbe(c *CausalContext) ctxProbe {
	p := ctxProbe{c: c}
	if len(c.vv.m) <= maxProbeScan {
		p.vv = make([]probeEntry, 0, maxProbeScan)
		for r, n := range c.vv.m {
			p.vv = append(p.vv, probeEntry{r, n})
		}
	}
	return p
}

func (p *ctxProbe) contains(d Dot) bool {
	if p.vv == nil {
		return p.c.Contains(d)
	}
	for _, x := range p.vv {
		if x.r == d.Replica {
			if d.Counter <= x.n {
				return true
			}
			break
		}
	}
	if len(p.c.cloud) == 0 {
		return false
	}
	return p.c.cloudHas(d)
}

// Clone returns a deep copy of s that shares nothing mutable with it.
func (s *ORSet[E]) Clone() *ORSet[E] {
	c := &ORSet[E]{ctx: *s.ctx.Clone(), pr: s.pr.clone()}
	if len(s.entries) > 0 {
		c.entries = maps.Clone(s.entries)
		for e, ds := range c.entries {
			if ds.more != nil {
				c.entries[e] = ds.clone()
			}
		}
	}
	c.peak = max(s.peak, len(c.entries)) // maps.Clone keeps the capacity
	return c
}

// Equal reports lattice equality: the same elements with the same dots and
// the same causal context. Two sets with the same elements can differ, for
// example when one has seen a remove the other has not.
func (s *ORSet[E]) Equal(other *ORSet[E]) bool {
	if len(s.entries) != len(other.entries) || !s.ctx.Equal(&other.ctx) || !s.pr.equal(&other.pr) {
		return false
	}
	for e, ds := range s.entries {
		ods, ok := other.entries[e]
		if !ok || !ds.equal(ods) {
			return false
		}
	}
	return true
}

// String formats the state deterministically: the elements with their dots,
// ordered by their %v form (then by first dot), and the context, for
// example {a:[r1:1] b:[r1:2 r2:1] | {vv:[r1:2 r2:1] cloud:[]}}.
func (s *ORSet[E]) String() string {
	type item struct {
		text string
		ds   dotSet
	}
	items := make([]item, 0, len(s.entries))
	for e, ds := range s.entries {
		items = append(items, item{fmt.Sprint(e), ds})
	}
	slices.SortFunc(items, func(a, b item) int {
		if c := strings.Compare(a.text, b.text); c != 0 {
			return c
		}
		return compareDots(a.ds.first, b.ds.first)
	})
	var sb strings.Builder
	sb.WriteByte('{')
	for i, it := range items {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%s:%v", it.text, it.ds.appendTo(nil))
	}
	if len(items) > 0 {
		sb.WriteByte(' ')
	}
	sb.WriteString("| ")
	sb.WriteString(s.ctx.String())
	sb.WriteString(s.pr.String())
	sb.WriteByte('}')
	return sb.String()
}

// MaxDotsPerReplica bounds the dots one element may hold from one replica
// in a decoded ORSet. A replica's own state holds at most one dot per
// element (Add supersedes the element's earlier dots), and another replica
// holds more only while it has merged re-adds of the element but not the
// removes between them, which anti-entropy delivers within a round or two.
// A state with more is refused by UnmarshalBinary: it is a shape an
// add-wins set does not produce, and the cheapest way for a peer to make
// one element expensive.
const MaxDotsPerReplica = 16
