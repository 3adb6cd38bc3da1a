package crdt_test

import (
	"fmt"

	"github.com/converge-crdt/converge/crdt"
)

// Two replicas prune a departed replica at the same time, without a
// coordinator; a stale copy from before the pruning arrives later. The
// value stays 9, never 10 (Akka's pruning scenario).
func ExampleGCounter_Prune() {
	a, b, gone := crdt.NewGCounter(), crdt.NewGCounter(), crdt.NewGCounter()
	_, _ = a.Inc("a", 3)
	_, _ = b.Inc("b", 2)
	_, _ = gone.Inc("c", 4)
	for _, x := range []*crdt.GCounter{a, b} {
		x.Merge(a)
		x.Merge(b)
		x.Merge(gone)
	}
	da := a.Prune("c", crdt.HLC{Wall: 10})
	db := b.Prune("c", crdt.HLC{Wall: 11})
	a.Merge(db)
	b.Merge(da)
	a.Merge(gone) // the stale copy
	fmt.Println(a.Value(), b.Value(), a.Replicas(), a.Equal(b))
	// Output: 9 9 [a b] true
}
