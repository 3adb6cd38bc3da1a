package proptest

import "fmt"

// The mutation laws: operations inflate, and their deltas carry exactly the
// mutation. Both look at every operation of the history, with the state
// right before it rebuilt by replaying the prefix.

func (c *checker[T]) inflation(h history) error {
	for k, st := range h {
		if st.kind != stepOp {
			continue
		}
		r := st.replica
		after := c.replay(h, k)
		res, err := after.do(st)
		if err != nil {
			return err
		}
		before := c.replay(h, k)
		if res.rejected != nil {
			if !after.reps[r].Equal(before.reps[r]) {
				return fmt.Errorf("step %d: rejected operation (%v) changed %s from %s to %s",
					k+1, res.rejected, after.ids[r], show(before.reps[r]), show(after.reps[r]))
			}
			continue
		}
		want := c.replay(h, k+1)
		after.reps[r].Merge(before.reps[r])
		if !after.reps[r].Equal(want.reps[r]) {
			return fmt.Errorf("step %d: m(x) ⊔ x ≠ m(x) at %s, so the operation lost information: x = %s, m(x) = %s, m(x) ⊔ x = %s",
				k+1, after.ids[r], show(c.replay(h, k).reps[r]), show(want.reps[r]), show(after.reps[r]))
		}
	}
	return nil
}

func (c *checker[T]) delta(h history) error {
	for k, st := range h {
		if st.kind != stepOp {
			continue
		}
		r := st.replica
		mut := c.replay(h, k)
		res, err := mut.do(st)
		if err != nil {
			return err
		}
		if res.rejected != nil {
			continue
		}
		// Every use of the delta gets its own copy, from its own replay, so
		// that a Merge that mutates its argument (a law of its own) does not
		// show up here as a wrong delta.
		deltaOf := func() T {
			m := c.replay(h, k)
			res, _ := m.do(st)
			return m.deltas[res.event]
		}

		x := c.replay(h, k)
		d := deltaOf()
		x.reps[r].Merge(d)
		if !x.reps[r].Equal(mut.reps[r]) {
			return fmt.Errorf("step %d: x ⊔ delta ≠ m(x) at %s: x = %s, delta = %s, m(x) = %s, x ⊔ delta = %s",
				k+1, x.ids[r], show(c.replay(h, k).reps[r]), show(deltaOf()), show(mut.reps[r]), show(x.reps[r]))
		}
		for y := range mut.reps {
			if y == r {
				continue
			}
			viaDelta := c.replay(h, k)
			viaDelta.reps[y].Merge(deltaOf())
			viaDelta.reps[y].Merge(viaDelta.reps[r])
			viaState := c.replay(h, k+1)
			viaState.reps[y].Merge(viaState.reps[r])
			if !viaDelta.reps[y].Equal(viaState.reps[y]) {
				return fmt.Errorf("step %d: y ⊔ delta ⊔ x ≠ y ⊔ m(x) for x = %s, y = %s: delta = %s, y = %s, y ⊔ delta ⊔ x = %s, y ⊔ m(x) = %s",
					k+1, mut.ids[r], mut.ids[y], show(deltaOf()), show(c.replay(h, k).reps[y]), show(viaDelta.reps[y]), show(viaState.reps[y]))
			}
		}
	}
	return nil
}
