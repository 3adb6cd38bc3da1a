package proptest

import (
	"fmt"
	"reflect"
	"slices"
)

// model checks what users see against the user's sequential model, after
// every step at the replica the step changed, and at every replica once all
// deltas have arrived.
//
// Deltas are delivered causally here (see sim.causal): a replica that got a
// delta ahead of its causal past holds information the model cannot know
// about (a delta may carry more than its own operation, or supersede events
// the replica never received), and an operation it then runs has no
// well-defined causal past. Dropped, duplicated and reordered deltas are the
// convergence law's business, and it shows that they end in the same state.
func (c *checker[T]) model(h history) error {
	if got, want := c.spec.Observe(c.spec.New()), c.spec.Model(nil); !reflect.DeepEqual(got, want) {
		return fmt.Errorf("the empty state shows %s, the model says %s", show(got), show(want))
	}
	s := newSim(c.spec, false)
	s.causal = true
	for k, st := range h {
		if _, err := s.do(st); err != nil {
			return err
		}
		if err := c.compareModel(s, st.replica, fmt.Sprintf("after step %d", k+1)); err != nil {
			return err
		}
	}
	s.deliverAll()
	for r := range s.reps {
		if err := c.compareModel(s, r, "after every delta arrived"); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker[T]) compareModel(s *sim[T], r int, when string) error {
	seen := slices.DeleteFunc(s.seenEvents(r), func(e Event) bool { return c.silent(e.Op) })
	got, want := c.spec.Observe(s.reps[r]), c.spec.Model(seen)
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("%s, %s shows %s but the model says %s, from the events it has seen: %v",
			when, s.ids[r], show(got), show(want), seen)
	}
	return nil
}
