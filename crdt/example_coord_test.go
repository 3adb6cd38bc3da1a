package crdt_test

import (
	"fmt"

	"github.com/converge-crdt/converge/crdt"
)

func ExampleFWWMap() {
	a, b := crdt.NewFWWMap(), crdt.NewFWWMap()
	// Two replicas claim the same task concurrently; the earlier stamp wins
	// on both once they have exchanged deltas, in any order.
	da := a.Write("task-1", 0, crdt.HLC{Wall: 100}, "a~1", []byte("agent-a"))
	db := b.Write("task-1", 0, crdt.HLC{Wall: 90}, "b~1", []byte("agent-b"))
	a.Merge(db)
	b.Merge(da)
	w, _ := a.Winner("task-1")
	fmt.Println(string(w.Value), a.Contested("task-1"), a.Equal(b))
	// A later round takes the task over (its claimant died).
	a.Write("task-1", 1, crdt.HLC{Wall: 200}, "a~1", []byte("agent-a"))
	w, _ = a.Winner("task-1")
	fmt.Println(string(w.Value), w.Round)
	// Output:
	// agent-b true true
	// agent-a 1
}

func ExampleLeaseMap() {
	m := crdt.NewLeaseMap()
	at := func(s int64) crdt.HLC { return crdt.HLC{Wall: s * 1e9} }
	l, _, _ := m.Acquire("leader", "a~1", []byte("a"), at(0), at(10), 0)
	_, _, err := m.Acquire("leader", "b~1", []byte("b"), at(5), at(15), 0)
	fmt.Println(l.Token, err != nil)
	l2, _, _ := m.Acquire("leader", "b~1", []byte("b"), at(11), at(20), 0) // after expiry
	fmt.Println(l2.Token, l2.Token.Compare(l.Token))
	// Output:
	// 1@a~1 true
	// 2@b~1 1
}
