package proptest

import (
	"fmt"

	"github.com/converge-crdt/converge/crdt"
)

// The change-report law, for types that implement crdt.ChangeReporter: a
// replica forwards a delta only if merging it changed local state, so a
// merge that misses a change stops an update from spreading, and one that
// reports a change it did not make keeps a delta circulating.

func (c *checker[T]) canReportChange() bool {
	_, ok := any(c.spec.New()).(crdt.ChangeReporter[T])
	return ok
}

func mergeChanged[T any](x, y T) bool {
	return any(x).(crdt.ChangeReporter[T]).MergeChanged(y)
}

// reportsChange merges every state of a history (the empty state, every
// replica, every delta) into every state, itself included, twice (the
// second time is already merged), in one replay with MergeChanged and in
// an independent one with Merge. Before each merge the two replays hold
// Equal states, so the second one gives the state before the merge: the
// report must be true exactly when the merge made the states differ, and
// afterwards they must be Equal again (MergeChanged is Merge). Every state
// merged into is reachable, so the merges compound into the delta groups
// and partly merged replicas a node holds.
func (c *checker[T]) reportsChange(h history) error {
	a, b := c.statesOf(c.fresh(h)), c.statesOf(c.fresh(h))
	for i := range a {
		for j := range a {
			for _, again := range []bool{false, true} {
				x, y, before := a[i].x, a[j].x, b[i].x
				what := fmt.Sprintf("x = %s, y = %s", a[i].name, a[j].name)
				if i == j {
					what = fmt.Sprintf("x = y = %s", a[i].name)
				}
				if again {
					what += ", merged a second time"
				}
				beforeText := ""
				got := mergeChanged(x, y)
				changed := !x.Equal(before)
				if got != changed {
					beforeText = show(before)
				}
				before.Merge(b[j].x)
				if !x.Equal(before) {
					return fmt.Errorf("x.MergeChanged(y) and x.Merge(y) give different states for %s: %s vs %s",
						what, show(x), show(before))
				}
				if got != changed {
					verb := "did not change"
					if changed {
						verb = "changed"
					}
					return fmt.Errorf("x.MergeChanged(y) reported %v, but the merge %s x, for %s: x was %s, x ⊔ y = %s",
						got, verb, what, beforeText, show(x))
				}
			}
		}
	}
	return nil
}
