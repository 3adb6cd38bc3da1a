package crdt

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/converge-crdt/converge/internal/wire"
)

var (
	_ Pruner[*GCounter] = (*GCounter)(nil)
	_ Collector         = (*GCounter)(nil)
)

// Replicas returns the replicas that have a count, sorted. Pruned replicas
// are not listed.
func (g *GCounter) Replicas() []ReplicaID { return slices.Sorted(maps.Keys(g.counts.m)) }

// Prune folds replica r's count into a prune record stamped at and returns
// the delta, a counter holding just that record; the value does not
// change. Merging any state that still holds a count of r into a counter
// with the record raises the record to that count instead of adding it,
// so r is counted once however many replicas prune it (see the package
// documentation). Pruning a replica without a count returns an empty
// delta.
func (g *GCounter) Prune(r ReplicaID, at HLC) *GCounter {
	c := g.counts.Get(r)
	if c == 0 {
		return NewGCounter()
	}
	if at.Compare(g.pr.floor) < 0 {
		at = g.pr.floor // a record before the floor would be dropped at once
	}
	delete(g.counts.m, r)
	g.pr.put(r, c, at)
	x, _ := g.pr.get(r)
	return g.recordDelta(r, x)
}

// recordDelta returns a counter holding only the record x of r.
func (g *GCounter) recordDelta(r ReplicaID, x pruneRec) *GCounter {
	d := &GCounter{sum: sum128{lo: x.n}}
	d.pr.recs = map[ReplicaID]pruneRec{r: x}
	return d
}

// incPruned is Inc for a replica that was pruned while alive (a partition
// made it look gone): the increment goes into its record.
func (g *GCounter) incPruned(r ReplicaID, n uint64) (*GCounter, error) {
	x, _ := g.pr.get(r)
	if x.n > math.MaxUint64-n {
		return nil, fmt.Errorf("%w: replica %q count %d + %d exceeds %d", ErrOverflow, r, x.n, n, uint64(math.MaxUint64))
	}
	if total, ok := g.sum.uint64(); !ok || total > math.MaxUint64-n {
		return nil, fmt.Errorf("%w: value %v + %d exceeds %d", ErrOverflow, g.sum, n, uint64(math.MaxUint64))
	}
	x.n += n
	g.pr.recs[r] = x
	g.sum = g.sum.add(n)
	return g.recordDelta(r, x), nil
}

// mergePruned is MergeChanged when either side holds prune records: join
// the records, strip every count of a pruned replica into its record, and
// recompute the sum.
func (g *GCounter) mergePruned(other *GCounter) (changed bool) {
	if g == other {
		return false
	}
	changed = g.pr.merge(&other.pr)
	for r, c := range other.counts.m {
		if _, ok := g.pr.get(r); ok {
			if g.pr.put(r, c, g.pr.recs[r].at) {
				changed = true
			}
			continue
		}
		if c > g.counts.m[r] {
			g.counts.Advance(r, c)
			changed = true
		}
	}
	for r, c := range g.counts.m {
		if x, ok := g.pr.get(r); ok {
			g.pr.put(r, c, x.at)
			delete(g.counts.m, r)
			changed = true
		}
	}
	g.resum()
	return changed
}

// resum recomputes the total from counts, records and base.
func (g *GCounter) resum() {
	s := sum128{lo: g.pr.base}
	for _, c := range g.counts.m {
		s = s.add(c)
	}
	for _, x := range g.pr.recs {
		s = s.add(x.n)
	}
	g.sum = s
}

// Collect drops the prune records stamped before before, adding their
// counts to the counter's base so that the value does not change, and
// raises the floor: a state merged later is stripped of its records
// stamped before the floor, which the base already holds. It changes
// nothing if the base would overflow a uint64. See the package
// documentation for the horizon this relies on.
func (g *GCounter) Collect(before HLC) bool {
	add := uint64(0)
	for _, x := range g.pr.recs {
		if x.at.Compare(before) < 0 {
			if add > math.MaxUint64-x.n || g.pr.base > math.MaxUint64-add-x.n {
				return false
			}
			add += x.n
		}
	}
	if _, changed := g.pr.collect(before); !changed {
		return false
	}
	g.pr.base += add
	return true
}

// decodePruned reads the prune set of a version 2 encoding into g and
// checks it against the counts. allowEmpty is for PNCounter, whose halves
// are written together.
func (g *GCounter) decodePruned(r *wire.Reader, what string, allowEmpty bool) error {
	p, err := decodePruneSet(r, true, allowEmpty)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for id := range p.recs {
		if g.counts.Get(id) != 0 {
			return fmt.Errorf("%w: %s: replica %q has both a count and a prune record", ErrInvalid, what, id)
		}
	}
	g.pr = p
	g.resum()
	return nil
}
