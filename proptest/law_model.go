package proptest

import (
	"fmt"
	"reflect"
)

// model checks what users see against the user's sequential model. A
// replica's value is determined by the events it has seen only when that
// set is causally closed (a delta that arrived early may carry more than
// its own operation), so only such replicas are compared; every replica is
// compared at the end, once all deltas have arrived.
func (c *checker[T]) model(h history) error {
	if got, want := c.spec.Observe(c.spec.New()), c.spec.Model(nil); !reflect.DeepEqual(got, want) {
		return fmt.Errorf("the empty state shows %s, the model says %s", show(got), show(want))
	}
	s := newSim(c.spec, false)
	for k, st := range h {
		if _, err := s.do(st); err != nil {
			return err
		}
		if r := st.replica; s.closed(r) {
			if err := c.compareModel(s, r, fmt.Sprintf("after step %d", k+1)); err != nil {
				return err
			}
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
	seen := s.seenEvents(r)
	got, want := c.spec.Observe(s.reps[r]), c.spec.Model(seen)
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("%s, %s shows %s but the model says %s, from the events it has seen: %v",
			when, s.ids[r], show(got), show(want), seen)
	}
	return nil
}
