package proptest

import "fmt"

// The lattice laws: replay determinism (which every other law relies on)
// and the three laws that make Merge a join.

func (c *checker[T]) replayDeterministic(h history) error {
	a, b := c.fresh(h), c.fresh(h)
	for i := range a.reps {
		if !a.reps[i].Equal(b.reps[i]) {
			return fmt.Errorf("two replays of the same history differ at %s: %s vs %s "+
				"(does the type read the clock, randomness or Go map order, or is Equal not reflexive?)",
				a.ids[i], show(a.reps[i]), show(b.reps[i]))
		}
	}
	for k := range a.deltas {
		if !a.deltas[k].Equal(b.deltas[k]) {
			return fmt.Errorf("two replays of the same history gave different deltas for e%d: %s vs %s",
				k+1, show(a.deltas[k]), show(b.deltas[k]))
		}
	}
	return nil
}

func (c *checker[T]) idempotent(h history) error {
	a, b, want := c.fresh(h), c.fresh(h), c.fresh(h)
	for i := range a.reps {
		a.reps[i].Merge(b.reps[i])
		if !a.reps[i].Equal(want.reps[i]) {
			return fmt.Errorf("x ⊔ x ≠ x at %s: x = %s, x ⊔ x = %s", a.ids[i], show(want.reps[i]), show(a.reps[i]))
		}
	}
	for k := range a.deltas {
		a.deltas[k].Merge(b.deltas[k])
		if !a.deltas[k].Equal(want.deltas[k]) {
			return fmt.Errorf("d ⊔ d ≠ d for the delta of e%d: d = %s, d ⊔ d = %s", k+1, show(want.deltas[k]), show(a.deltas[k]))
		}
	}
	x := c.fresh(h)
	for i := range x.reps {
		x.reps[i].Merge(c.spec.New())
		if !x.reps[i].Equal(want.reps[i]) {
			return fmt.Errorf("x ⊔ ⊥ ≠ x at %s: x = %s, x ⊔ ⊥ = %s", x.ids[i], show(want.reps[i]), show(x.reps[i]))
		}
		bot := c.spec.New()
		bot.Merge(c.fresh(h).reps[i])
		if !bot.Equal(want.reps[i]) {
			return fmt.Errorf("⊥ ⊔ x ≠ x at %s: x = %s, ⊥ ⊔ x = %s", x.ids[i], show(want.reps[i]), show(bot))
		}
	}
	// Deltas are merged into empty values all the time (a new replica, a
	// delta group), so ⊥ must be their identity too.
	for k, d := range x.deltas {
		d.Merge(c.spec.New())
		if !d.Equal(want.deltas[k]) {
			return fmt.Errorf("d ⊔ ⊥ ≠ d for the delta of e%d: d = %s, d ⊔ ⊥ = %s", k+1, show(want.deltas[k]), show(d))
		}
		bot := c.spec.New()
		bot.Merge(c.fresh(h).deltas[k])
		if !bot.Equal(want.deltas[k]) {
			return fmt.Errorf("⊥ ⊔ d ≠ d for the delta of e%d: d = %s, ⊥ ⊔ d = %s", k+1, show(want.deltas[k]), show(bot))
		}
	}
	return nil
}

func (c *checker[T]) commutative(h history) error {
	n := c.spec.replicas()
	for i := range n {
		for j := i + 1; j < n; j++ {
			a, b := c.fresh(h), c.fresh(h)
			a.reps[i].Merge(a.reps[j])
			b.reps[j].Merge(b.reps[i])
			if !a.reps[i].Equal(b.reps[j]) || !b.reps[j].Equal(a.reps[i]) {
				x, y := c.fresh(h), c.fresh(h)
				return fmt.Errorf("x ⊔ y ≠ y ⊔ x for x = %s (%s), y = %s (%s): x ⊔ y = %s, y ⊔ x = %s",
					a.ids[i], show(x.reps[i]), a.ids[j], show(y.reps[j]), show(a.reps[i]), show(b.reps[j]))
			}
		}
	}
	return nil
}

func (c *checker[T]) associative(h history) error {
	n := c.spec.replicas()
	for i := range n {
		x, y, z := i, (i+1)%n, (i+2)%n
		l, r := c.fresh(h), c.fresh(h)
		l.reps[x].Merge(l.reps[y])
		l.reps[x].Merge(l.reps[z])
		r.reps[y].Merge(r.reps[z])
		r.reps[x].Merge(r.reps[y])
		if !l.reps[x].Equal(r.reps[x]) {
			return fmt.Errorf("(x ⊔ y) ⊔ z ≠ x ⊔ (y ⊔ z) for x, y, z = %s, %s, %s: %s vs %s",
				l.ids[x], l.ids[y], l.ids[z], show(l.reps[x]), show(r.reps[x]))
		}
	}
	return nil
}
