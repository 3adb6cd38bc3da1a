package crdt_test

import (
	"fmt"

	"github.com/converge-crdt/converge/crdt"
)

// A dot names one event: the n-th update made by a replica.
func ExampleDot() {
	d := crdt.Dot{Replica: "node-a", Counter: 3}
	fmt.Println(d)
	// Output:
	// node-a:3
}

// A version vector records, per replica, how many of its events were
// seen; Descends tells whether one replica has seen all another has.
func ExampleVersionVector() {
	a, b := crdt.NewVersionVector(), crdt.NewVersionVector()
	a.Advance("x", 3)
	b.Advance("x", 1)
	b.Advance("y", 2)
	fmt.Println(a, b, a.Descends(b))

	a.Merge(b)
	fmt.Println(a, a.Descends(b), a.Contains(crdt.Dot{Replica: "y", Counter: 2}))
	// Output:
	// [x:3] [x:1 y:2] false
	// [x:3 y:2] true true
}

// A causal context keeps events that arrive past a gap in a dot cloud and
// folds them into its vector when the gap fills.
func ExampleCausalContext() {
	c := crdt.NewCausalContext()
	fmt.Println(c.Next("a"), c.Next("a")) // this replica's own events

	c.Add(crdt.Dot{Replica: "b", Counter: 1})
	c.Add(crdt.Dot{Replica: "b", Counter: 3}) // b:2 not seen yet
	fmt.Println(c, c.Contains(crdt.Dot{Replica: "b", Counter: 2}))

	other := crdt.NewCausalContext()
	other.Add(crdt.Dot{Replica: "b", Counter: 1})
	other.Add(crdt.Dot{Replica: "b", Counter: 2})
	c.Merge(other) // fills the gap: the cloud compacts away
	fmt.Println(c, c.CloudLen())
	// Output:
	// a:1 a:2
	// {vv:[a:2 b:1] cloud:[b:3]} false
	// {vv:[a:2 b:3] cloud:[]} 0
}
