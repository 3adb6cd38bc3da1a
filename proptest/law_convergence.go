package proptest

import "fmt"

// convergence replays the history, whose deltas were dropped, duplicated
// and reordered along the way, and repairs it twice: once by delivering
// every delta still in flight (reordered and twice), once by dropping them
// and running one full-state anti-entropy round. Both must leave every
// replica Equal to an observer that merged each delta once, in order: the
// state one replica reaches by applying the effect of every operation.
// (Applying the operations themselves at one replica would serialize
// concurrent ones: a remove would see adds its own replica never saw.)
func (c *checker[T]) convergence(h history) error {
	obs := c.fresh(h).observer()

	viaDeltas := c.fresh(h)
	viaDeltas.deliverAll()
	for i, x := range viaDeltas.reps {
		if !x.Equal(obs) {
			return fmt.Errorf("after every delta in flight arrived (reordered, duplicated), %s = %s, but a replica that merged every delta once = %s",
				viaDeltas.ids[i], show(x), show(obs))
		}
	}

	viaState := c.fresh(h)
	viaState.antiEntropy()
	for i, x := range viaState.reps {
		if !x.Equal(viaState.reps[0]) {
			return fmt.Errorf("replicas differ after dropping the deltas in flight and one full-state anti-entropy round: %s = %s, %s = %s",
				viaState.ids[0], show(viaState.reps[0]), viaState.ids[i], show(x))
		}
	}
	if !viaState.reps[0].Equal(obs) {
		return fmt.Errorf("after dropping the deltas in flight and one full-state anti-entropy round every replica = %s, but a replica that merged every delta once = %s",
			show(viaState.reps[0]), show(obs))
	}
	return nil
}
