package crdt_test

import (
	"errors"
	"fmt"
	"slices"

	"github.com/converge-crdt/converge/crdt"
)

// Two agents track the set of live agents. Each applies its own updates and
// ships the deltas they return; deltas may arrive in any order, any number
// of times.
func ExampleORSet() {
	a := crdt.NewORSet[string]()
	b := crdt.NewORSet[string]()

	d1 := a.Add("agent-a", "agent-a")
	d2 := b.Add("agent-b", "agent-b")
	d3 := b.Add("agent-b", "agent-c")

	a.Merge(d3)
	a.Merge(d2)
	a.Merge(d3) // a duplicate changes nothing
	b.Merge(d1)

	d4 := a.Remove("agent-c") // a has seen agent-c's add, so the remove takes it out
	b.Merge(d4)

	fmt.Println(a.Equal(b), a.Len())
	fmt.Println(slices.Sorted(a.All())) // All has no order; sort for display
	fmt.Println(b.Contains("agent-c"))
	// Output:
	// true 2
	// [agent-a agent-b]
	// false
}

// A remove takes out only the adds its replica has observed, so an add that
// is concurrent with it wins. Here b removes "x" while a re-adds it; after
// they exchange state, both hold "x".
func ExampleORSet_Remove() {
	a := crdt.NewORSet[string]()
	a.Add("a", "x")
	b := a.Clone() // b has seen a's add

	b.Remove("x")   // removes the add b observed
	a.Add("a", "x") // concurrently, a adds "x" again (a new, unseen add)

	a.Merge(b)
	b.Merge(a)
	fmt.Println(a.Contains("x"), b.Contains("x"), a.Equal(b))

	// Once a remove has observed every add, the element is gone everywhere.
	b.Remove("x")
	a.Merge(b)
	fmt.Println(a.Contains("x"), a.Len())
	// Output:
	// true true true
	// false 0
}

// The wire form is deterministic: equal states encode to equal bytes, so
// replicas can compare digests. Decoding checks the bytes before use.
func ExampleORSet_MarshalBinary() {
	a, b := crdt.NewORSet[string](), crdt.NewORSet[string]()
	for _, e := range []string{"x", "y", "z"} {
		a.Merge(b.Add("r1", e))
	}
	ba, _ := a.MarshalBinary()
	bb, _ := b.MarshalBinary()
	fmt.Println(string(ba) == string(bb))

	c := crdt.NewORSet[string]()
	if err := c.UnmarshalBinary(ba); err != nil {
		fmt.Println(err)
	}
	fmt.Println(c.Equal(a), c)

	err := c.UnmarshalBinary(ba[:len(ba)-1]) // c is left unchanged
	fmt.Println(errors.Is(err, crdt.ErrTruncated), c.Len())
	// Output:
	// true
	// true {x:[r1:1] y:[r1:2] z:[r1:3] | {vv:[r1:3] cloud:[]}}
	// true 3
}
