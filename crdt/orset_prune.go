package crdt

import (
	"fmt"
	"maps"
	"slices"

	"github.com/converge-crdt/converge/internal/wire"
)

var (
	_ Pruner[*ORSet[string]] = (*ORSet[string])(nil)
	_ Collector              = (*ORSet[string])(nil)
)

// Replicas returns the replicas whose events the causal context holds in
// its vector, sorted: the candidates for Prune.
func (s *ORSet[E]) Replicas() []ReplicaID { return slices.Sorted(maps.Keys(s.ctx.vv.m)) }

// Prune folds replica r out of the causal context, as far as that keeps
// every live element's meaning, and returns the delta (a set holding just
// the prune record). It records n, the highest of r's events such that
// every event of r up to n has been seen and none of them is a live add;
// those events are then represented by the record alone. Merging any
// state into a set holding the record treats r's dots up to n as seen and
// removed, which is what this set already says of them: a stale copy
// cannot bring back an element they added. Dots of r above n (a live add
// of r, an add the pruner has not seen) keep their meaning, so a replica
// whose element is still in the set is pruned only up to that add, and
// fully once the element is removed or re-added by another replica. The
// elements do not change. Returns an empty delta if there is nothing to
// fold.
func (s *ORSet[E]) Prune(r ReplicaID, at HLC) *ORSet[E] {
	n := s.ctx.vv.Get(r)
	var buf [8]Dot
	for _, ds := range s.entries {
		for _, d := range ds.appendTo(buf[:0]) {
			if d.Replica == r && d.Counter <= n {
				n = d.Counter - 1
			}
		}
	}
	return s.pruneTo(r, n, at)
}

// pruneTo records r's events up to n as pruned (if that is news), strips
// the dots the record folds and returns the record as a delta.
func (s *ORSet[E]) pruneTo(r ReplicaID, n uint64, at HLC) *ORSet[E] {
	if old, ok := s.pr.get(r); n == 0 || ok && old.n >= n {
		return NewORSet[E]()
	}
	if at.Compare(s.pr.floor) < 0 {
		at = s.pr.floor
	}
	s.pr.put(r, n, at)
	x, _ := s.pr.get(r)
	s.stripEntries(&pruneSet{recs: map[ReplicaID]pruneRec{r: x}})
	s.canonCtx(&s.pr, r)
	d := NewORSet[E]()
	d.pr.recs = map[ReplicaID]pruneRec{r: x}
	return d
}

// PruneGone is Prune for a replica that is gone for good and whose adds
// have reached every replica (the node package waits Config.PruneAfter for
// that): an add of r that another add of the same element shadows is
// folded too, so a replica that re-added an element under a new ID (an
// agent that restarted) does not keep its old ID in the context. The
// delta carries the shadowing dots with the record, so a replica that
// merges it keeps the element. The elements do not change. Unlike Prune
// it is exact only under that condition: a replica that removed the
// element having seen the shadowing add but not r's would, before the
// prune, have kept the element through r's add.
func (s *ORSet[E]) PruneGone(r ReplicaID, at HLC) *ORSet[E] {
	n := s.ctx.vv.Get(r)
	var buf [8]Dot
	var shadowed []E
	for e, ds := range s.entries {
		mine, other := uint64(0), false
		for _, d := range ds.appendTo(buf[:0]) {
			switch {
			case d.Replica != r:
				other = true
			case d.Counter <= n && (mine == 0 || d.Counter < mine):
				mine = d.Counter
			}
		}
		switch {
		case mine == 0:
		case other:
			shadowed = append(shadowed, e)
		default:
			n = min(n, mine-1)
		}
	}
	d := s.pruneTo(r, n, at)
	if d.pr.empty() {
		return d
	}
	for _, e := range shadowed {
		ds, ok := s.entries[e]
		if !ok {
			continue
		}
		if d.entries == nil {
			d.entries = make(map[E]dotSet)
		}
		d.entries[e] = ds.clone()
		for _, dot := range ds.appendTo(buf[:0]) {
			d.ctx.Add(dot)
		}
	}
	d.peak = len(d.entries)
	d.canonCtx(&d.pr, r)
	return d
}

// unprune prepares an Add by r when r holds a prune record (it was pruned
// while alive): r's events up to the record's n go back into the vector, so
// that its next dot is above n and survives every merge.
func (s *ORSet[E]) unprune(r ReplicaID) {
	x, ok := s.pr.get(r)
	if !ok || s.ctx.vv.Get(r) >= x.n {
		return
	}
	s.ctx.vv.Advance(r, x.n)
	s.ctx.absorb(r)
}

// Collect drops the prune records stamped before before and raises the
// floor (see the package documentation for the horizon this relies on).
func (s *ORSet[E]) Collect(before HLC) bool {
	_, changed := s.pr.collect(before)
	return changed
}

// canonCtx puts the causal context in the one form a set with records p
// has, for replica only or, if only is empty, for every recorded replica:
// events up to a record's n are held by the record alone, so the vector
// entry goes if it is at most n and cloud dots up to n+1 fold in. It
// reports whether the context changed.
func (s *ORSet[E]) canonCtx(p *pruneSet, only ReplicaID) (changed bool) {
	fix := func(r ReplicaID, x pruneRec) {
		have, clouds := s.ctx.vv.Get(r), len(s.ctx.cloud[r])
		s.ctx.vv.Advance(r, x.n)
		s.ctx.absorb(r)
		if s.ctx.vv.Get(r) == x.n {
			delete(s.ctx.vv.m, r)
		}
		if s.ctx.vv.Get(r) != have || len(s.ctx.cloud[r]) != clouds {
			changed = true
		}
	}
	if only != "" {
		if x, ok := p.get(only); ok {
			fix(only, x)
		}
		return changed
	}
	if len(s.ctx.vv.m)+len(s.ctx.cloud) < len(p.recs) {
		// Fewer replicas in the context than records: visit those.
		rs := slices.Collect(maps.Keys(s.ctx.vv.m))
		for r := range s.ctx.cloud {
			rs = append(rs, r)
		}
		for _, r := range rs {
			if x, ok := p.get(r); ok {
				fix(r, x)
			}
		}
		return changed
	}
	for r, x := range p.recs {
		fix(r, x)
	}
	return changed
}

// stripEntries drops every dot that a record of p covers and reports
// whether an element lost a dot.
func (s *ORSet[E]) stripEntries(p *pruneSet) (changed bool) {
	if len(p.recs) == 0 {
		return false
	}
	var buf, kept [8]Dot
	for e, ds := range s.entries {
		out := kept[:0]
		for _, d := range ds.appendTo(buf[:0]) {
			if x, ok := p.recs[d.Replica]; ok && d.Counter <= x.n {
				continue
			}
			out = append(out, d)
		}
		switch {
		case len(out) == ds.len():
			continue
		case len(out) == 0:
			delete(s.entries, e)
		default:
			s.entries[e] = makeDotSet(out)
		}
		changed = true
	}
	return changed
}

// needsStrip reports whether s holds information that records of p fold:
// events of a replica that p has a record for and s has no record as high.
func (s *ORSet[E]) needsStrip(p *pruneSet) bool {
	for r, x := range p.recs {
		if own, ok := s.pr.get(r); ok && own.n >= x.n {
			continue
		}
		if s.ctx.vv.Get(r) != 0 {
			return true
		}
	}
	for r := range s.ctx.cloud {
		if _, ok := p.recs[r]; ok {
			return true
		}
	}
	return false
}

// mergePruned is MergeChanged when either side holds prune records: both
// sides are stripped of what the joined records fold, the stripped states
// merge as usual, and the context is put back in canonical form.
func (s *ORSet[E]) mergePruned(other *ORSet[E]) (changed bool) {
	joined := s.pr.clone()
	changed = joined.merge(&other.pr)
	o := &ORSet[E]{entries: other.entries, ctx: other.ctx, peak: other.peak} // read only
	if other.needsStrip(&joined) {
		o = other.Clone()
		o.pr = pruneSet{}
		o.stripEntries(&joined)
		o.canonCtx(&joined, "")
	}
	if changed {
		s.stripEntries(&joined) // s is already stripped of its own records
	}
	s.pr = pruneSet{}
	if s.MergeChanged(o) {
		changed = true
	}
	s.pr = joined
	if s.canonCtx(&s.pr, "") {
		changed = true
	}
	return changed
}

// decodeORSetPruned reads the prune records of a version 2 encoding and
// checks that ctx and entries are in the form canonCtx and stripEntries
// leave: no vector entry at or below a record's n, no cloud dot that the
// vector, counting the record, could absorb, and no element dot a record
// folds.
func decodeORSetPruned[E comparable](r *wire.Reader, ctx *CausalContext, entries map[E]dotSet) (pruneSet, error) {
	p, err := decodePruneSet(r, false, false)
	if err != nil {
		return p, fmt.Errorf("ORSet: %w", err)
	}
	for id, x := range p.recs {
		if v := ctx.vv.Get(id); v != 0 && v <= x.n {
			return p, fmt.Errorf("%w: ORSet context vector has %q up to %d, which its prune record (%d) covers", ErrInvalid, id, v, x.n)
		}
	}
	for id, cs := range ctx.cloud {
		if x, ok := p.recs[id]; ok && cs[0] <= max(ctx.vv.Get(id), x.n)+1 {
			return p, fmt.Errorf("%w: ORSet cloud dot %v not folded into its prune record (%d)", ErrInvalid, Dot{Replica: id, Counter: cs[0]}, x.n)
		}
	}
	var buf [8]Dot
	for e, ds := range entries {
		for _, d := range ds.appendTo(buf[:0]) {
			if x, ok := p.recs[d.Replica]; ok && d.Counter <= x.n {
				return p, fmt.Errorf("%w: ORSet element %s has dot %v, which its prune record (%d) folds", ErrInvalid, clip(e), d, x.n)
			}
		}
	}
	return p, nil
}
