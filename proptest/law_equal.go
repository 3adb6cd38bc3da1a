package proptest

import (
	"fmt"
	"reflect"
)

// equalCongruent checks that Equal is lattice equality rather than
// something coarser, such as equality of the visible value: states that
// Equal calls equal must stay equal whatever happens to both next. Every
// other law compares with Equal, so a coarse Equal would let them pass a
// broken Merge.
func (c *checker[T]) equalCongruent(h history) error {
	const maxPairs = 3 // Equal pairs checked per history; each costs replays
	states := c.statesOf(c.fresh(h))
	if err := c.equalShowsEqual(states[:1+c.spec.replicas()]); err != nil {
		return err
	}
	at := func(i int) T { return c.statesOf(c.fresh(h))[i].x }
	pairs := 0
	for i, a := range states {
		for j := i + 1; j < len(states) && pairs < maxPairs; j++ {
			b := states[j]
			ab, ba := a.x.Equal(b.x), b.x.Equal(a.x)
			if ab != ba {
				return fmt.Errorf("Equal is not symmetric: %s.Equal(%s) = %v, but %s.Equal(%s) = %v (x = %s, y = %s)",
					a.name, b.name, ab, b.name, a.name, ba, show(a.x), show(b.x))
			}
			if !ab {
				continue
			}
			pairs++
			for z := range c.spec.replicas() {
				x, y := at(i), at(j)
				x.Merge(c.fresh(h).reps[z])
				y.Merge(c.fresh(h).reps[z])
				if !x.Equal(y) {
					return fmt.Errorf("x = %s and y = %s are Equal, but x ⊔ z ≠ y ⊔ z for z = %s: %s vs %s "+
						"(does Equal compare less than the whole state, such as the visible value?)",
						a.name, b.name, replicaID(z), show(x), show(y))
				}
			}
			x, y := at(i), at(j)
			c.probe(x, h)
			c.probe(y, h)
			if !x.Equal(y) {
				return fmt.Errorf("x = %s and y = %s are Equal, but the same operations on both give %s vs %s "+
					"(does Equal compare less than the whole state, such as the visible value?)",
					a.name, b.name, show(x), show(y))
			}
		}
	}
	return nil
}

// equalShowsEqual checks, where Spec.Observe is given, that states Equal
// calls equal show the same value: Equal may compare more than the visible
// value, never less. This catches an Equal that is too coarse (at worst,
// one that always answers true) even for a type without an encoding, where
// no other law could. Only the empty state and the replicas are observed,
// since Observe is written for replicas.
func (c *checker[T]) equalShowsEqual(states []named[T]) error {
	if c.spec.Observe == nil {
		return nil
	}
	for i, a := range states {
		for _, b := range states[i+1:] {
			if !a.x.Equal(b.x) {
				continue
			}
			if va, vb := c.spec.Observe(a.x), c.spec.Observe(b.x); !reflect.DeepEqual(va, vb) {
				return fmt.Errorf("x = %s and y = %s are Equal but show different values, %s and %s: x = %s, y = %s "+
					"(does Equal compare less than the whole state?)",
					a.name, b.name, show(va), show(vb), show(a.x), show(b.x))
			}
		}
	}
	return nil
}
