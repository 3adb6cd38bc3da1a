package proptest

import "fmt"

// The isolation laws: values that the contract says are independent share
// nothing mutable. Each is checked by mutating one value afterwards (with
// the history's own operations, see probe) and comparing the other with a
// snapshot from an independent replay.

// stateAt returns replica i of s, or a new empty state for i < 0.
func (c *checker[T]) stateAt(s *sim[T], i int) T {
	if i < 0 {
		return c.spec.New()
	}
	return s.reps[i]
}

func (s *sim[T]) name(i int) string {
	if i < 0 {
		return "⊥"
	}
	return string(s.ids[i])
}

func (c *checker[T]) mergeArgument(h history) error {
	// Each replica is merged into the empty state and into the next
	// replica: every (x, y) pair costs four replays, and the histories
	// differ enough from case to case.
	n := c.spec.replicas()
	for y := range n {
		for _, x := range []int{-1, (y + 1) % n} {
			a, snap := c.fresh(h), c.fresh(h)
			recv := c.stateAt(a, x)
			recv.Merge(a.reps[y])
			if !a.reps[y].Equal(snap.reps[y]) {
				return fmt.Errorf("x.Merge(y) changed its argument, x = %s, y = %s: y was %s, is now %s",
					a.name(x), a.name(y), show(snap.reps[y]), show(a.reps[y]))
			}
			c.probe(recv, h)
			if !a.reps[y].Equal(snap.reps[y]) {
				return fmt.Errorf("x.Merge(y) kept part of its argument, x = %s, y = %s: mutating x afterwards changed y from %s to %s",
					a.name(x), a.name(y), show(snap.reps[y]), show(a.reps[y]))
			}

			b, w := c.fresh(h), c.fresh(h)
			recv = c.stateAt(b, x)
			recv.Merge(b.reps[y])
			c.probe(b.reps[y], h)
			want := c.stateAt(w, x)
			want.Merge(w.reps[y])
			if !recv.Equal(want) {
				return fmt.Errorf("x.Merge(y) kept part of its argument, x = %s, y = %s: mutating y afterwards changed x ⊔ y from %s to %s",
					a.name(x), a.name(y), show(want), show(recv))
			}
		}
	}

	// Deltas are merged as they arrive, often into an empty value. Each
	// delta gets fresh replays: deltas of one replay may share memory with
	// each other (a law of their own).
	for k := range c.fresh(h).deltas {
		a, snap := c.fresh(h), c.fresh(h)
		recv := c.spec.New()
		recv.Merge(a.deltas[k])
		if !a.deltas[k].Equal(snap.deltas[k]) {
			return fmt.Errorf("⊥.Merge(d) changed the delta d of e%d from %s to %s", k+1, show(snap.deltas[k]), show(a.deltas[k]))
		}
		c.probe(recv, h)
		if !a.deltas[k].Equal(snap.deltas[k]) {
			return fmt.Errorf("⊥.Merge(d) kept part of the delta d of e%d: mutating the receiver afterwards changed d from %s to %s",
				k+1, show(snap.deltas[k]), show(a.deltas[k]))
		}
		// Compare with ⊥ ⊔ d rebuilt from a replay, not with d: a type
		// whose ⊥ ⊔ d ≠ d breaks merge-idempotent, not this law.
		b := c.fresh(h)
		recv = c.spec.New()
		recv.Merge(b.deltas[k])
		c.probe(b.deltas[k], h)
		want := c.spec.New()
		want.Merge(c.fresh(h).deltas[k])
		if !recv.Equal(want) {
			return fmt.Errorf("⊥.Merge(d) kept part of the delta d of e%d: mutating d afterwards changed ⊥ ⊔ d from %s to %s",
				k+1, show(want), show(recv))
		}
	}
	return nil
}

func (c *checker[T]) clone(h history) error {
	for i := -1; i < c.spec.replicas(); i++ {
		a, snap := c.fresh(h), c.fresh(h)
		orig, want := c.stateAt(a, i), c.stateAt(snap, i)
		cl := orig.Clone()
		if sameObject(cl, orig) {
			return fmt.Errorf("Clone of %s returned its receiver", a.name(i))
		}
		if !cl.Equal(want) {
			return fmt.Errorf("Clone of %s is not Equal to it: %s, clone %s", a.name(i), show(want), show(cl))
		}
		c.probe(cl, h)
		if !orig.Equal(want) {
			return fmt.Errorf("Clone of %s shares memory with it: mutating the clone changed the original from %s to %s",
				a.name(i), show(want), show(orig))
		}

		b := c.fresh(h)
		orig = c.stateAt(b, i)
		cl = orig.Clone()
		c.probe(orig, h)
		if !cl.Equal(want) {
			return fmt.Errorf("Clone of %s shares memory with it: mutating the original changed the clone from %s to %s",
				a.name(i), show(want), show(cl))
		}
	}
	a, snap := c.fresh(h), c.fresh(h)
	for k, d := range a.deltas {
		cl := d.Clone()
		c.probe(cl, h)
		if !d.Equal(snap.deltas[k]) {
			return fmt.Errorf("Clone of the delta of e%d shares memory with it: mutating the clone changed the delta from %s to %s",
				k+1, show(snap.deltas[k]), show(d))
		}
	}
	return nil
}

func (c *checker[T]) deltaIndependent(h history) error {
	// The replicas went on after returning their deltas; mutate them more.
	a := c.fresh(h)
	for _, x := range a.reps {
		c.probe(x, h)
	}
	for k, d := range a.deltas {
		made := c.replay(h, a.stepOf[k]+1) // the delta as it was returned
		if !d.Equal(made.deltas[k]) {
			return fmt.Errorf("the delta of e%d (%s) changed after it was returned, from %s to %s: it shares memory with its replica, or a Merge that received it changed it",
				k+1, a.events[k], show(made.deltas[k]), show(d))
		}
	}

	// Join into every delta, as a delta group would, and mutate it.
	b, snap := c.fresh(h), c.fresh(h)
	for k, d := range b.deltas {
		for j, o := range c.fresh(h).deltas {
			if j != k {
				d.Merge(o)
			}
		}
		c.probe(d, h)
	}
	for i, x := range b.reps {
		if !x.Equal(snap.reps[i]) {
			return fmt.Errorf("mutating deltas after they were returned changed %s from %s to %s: a delta shares memory with the replica that made it, or with one that merged it",
				b.ids[i], show(snap.reps[i]), show(x))
		}
	}
	return nil
}
