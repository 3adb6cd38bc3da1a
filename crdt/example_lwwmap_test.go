package crdt_test

import (
	"fmt"
	"maps"

	"github.com/converge-crdt/converge/crdt"
)

// Two replicas claim work in a shared map, ship each other the deltas the
// writes return, and agree.
func ExampleLWWMap() {
	var clockA, clockB crdt.Clock // the node feeds real wall time; here, fixed
	a := crdt.NewLWWMap[string, string]()
	b := crdt.NewLWWMap[string, string]()

	d1 := a.Set("agent-a", clockA.Now(100), "task/1", "agent-a")
	d2 := b.Set("agent-b", clockB.Now(200), "task/2", "agent-b")
	d3 := b.Set("agent-b", clockB.Now(300), "task/1", "agent-b") // later: wins

	// Deltas may arrive in any order, any number of times.
	a.Merge(d3)
	a.Merge(d2)
	b.Merge(d1)
	a.Merge(d2)

	fmt.Println(a.Equal(b), a.Len())
	fmt.Println(maps.Collect(a.All())) // fmt prints maps sorted by key
	owner, ok := a.Get("task/1")
	fmt.Println(owner, ok)
	// Output:
	// true 2
	// map[task/1:agent-b task/2:agent-b]
	// agent-b true
}

// Writes with equal timestamps are ordered by replica ID, whatever order
// they arrive in; a delete is a timestamped tombstone, so an older Set that
// arrives late does not bring the key back, while a newer one does.
func ExampleLWWMap_Delete() {
	ts := crdt.HLC{Wall: 1000}

	x := crdt.NewLWWMap[string, int]()
	x.Set("r1", ts, "k", 1)
	x.Set("r2", ts, "k", 2) // same timestamp: r2 > r1 wins
	y := crdt.NewLWWMap[string, int]()
	y.Set("r2", ts, "k", 2)
	y.Set("r1", ts, "k", 1) // arrives second, still loses: empty delta
	vx, _ := x.Get("k")
	vy, _ := y.Get("k")
	fmt.Println("tie:", vx, vy, x.Equal(y))

	x.Delete("r1", crdt.HLC{Wall: 2000}, "k")
	late := x.Set("r3", crdt.HLC{Wall: 1500}, "k", 3) // older than the delete
	_, ok := x.Get("k")
	fmt.Println("after delete and older set:", ok, late.Len(), x.Len())

	x.Set("r3", crdt.HLC{Wall: 2500}, "k", 4) // newer than the delete
	v, ok := x.Get("k")
	fmt.Println("after newer set:", v, ok)
	fmt.Println(x)
	// Output:
	// tie: 2 2 true
	// after delete and older set: false 0 0
	// after newer set: 4 true
	// LWWMap{k=4 @1970-01-01T00:00:00.0000025Z+0/r3}
}
