package node_test

import (
	"context"
	"fmt"

	"github.com/converge-crdt/converge/node"
)

// Prefix stops at a '/' boundary; RawPrefix matches bytes; Exact one key.
func ExamplePrefix() {
	for _, m := range []node.Match{node.Prefix("claims"), node.RawPrefix("claims"), node.Exact("claims")} {
		fmt.Println(m, m.Matches("claims"), m.Matches("claims/7"), m.Matches("claims-archive"))
	}
	// Output:
	// prefix:claims true true false
	// raw:claims true true true
	// exact:claims true false false
}

// Exact watches one key.
func ExampleExact() {
	fmt.Println(node.Exact("jobs").Matches("jobs"), node.Exact("jobs").Matches("jobs/1"))
	// Output: true false
}

// RawPrefix matches keys byte for byte.
func ExampleRawPrefix() {
	fmt.Println(node.RawPrefix("job").Matches("jobs/1"))
	// Output: true
}

// Matches is the rule every watch applies.
func ExampleMatch_Matches() {
	fmt.Println(node.Prefix("jobs/").Matches("jobs"), node.Prefix("jobs/").Matches("jobs/1"))
	// Output: false true
}

// WatchEvents delivers the key, its type and the sequence number of its
// latest change.
func ExampleNode_WatchEvents() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	events := make(chan node.Event, 10)
	cancel, _ := n.WatchEvents(node.Exact("jobs"), func(e node.Event) { events <- e })
	defer cancel()

	jobs, _ := node.PNCounter(n, "jobs")
	_ = jobs.Inc(context.Background(), 2)
	e := <-events
	fmt.Println(e.Key, e.Type, e.Seq)
	// Output: jobs PNCounter 1
}

// Subscribe is the channel form; Read gives the value with the sequence
// number it belongs to.
func ExampleNode_Subscribe() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, _ := n.Subscribe(ctx, node.Prefix("claims"))

	claims, _ := node.LWWMap[string, string](n, "claims")
	_ = claims.Set(ctx, "task-1", "agent-a")
	e := <-ch
	s, _ := n.Read(e.Key)
	fmt.Println(e.Key, s.Value, s.Seq >= e.Seq)
	// Output: claims map[task-1:agent-a] true
}

// Read returns a consistent snapshot of one key as plain data.
func ExampleNode_Read() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	agents, _ := node.ORSet[string](n, "agents")
	_ = agents.Add(context.Background(), "b")
	_ = agents.Add(context.Background(), "a")
	s, _ := n.Read("agents")
	fmt.Println(s.Type, s.Value, s.Seq)
	_, err := n.Read("missing")
	fmt.Println(err == node.ErrNotFound)
	// Output:
	// ORSet [a b] 2
	// true
}

// ChangedSince lists the keys changed after a sequence number: a consumer
// that stored Seq catches up without missing a change.
func ExampleNode_ChangedSince() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	ctx := context.Background()
	a, _ := node.GCounter(n, "a")
	b, _ := node.GCounter(n, "b")
	_ = a.Inc(ctx, 1)
	seen := n.Seq()
	_ = b.Inc(ctx, 1)
	for _, e := range n.ChangedSince(seen) {
		fmt.Println(e.Key, e.Seq)
	}
	// Output: b 2
}

// Seq counts the node's changes; every Event and Snapshot names one.
func ExampleNode_Seq() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	c, _ := node.GCounter(n, "c")
	fmt.Println(n.Seq())
	_ = c.Inc(context.Background(), 1)
	_ = c.Inc(context.Background(), 1)
	fmt.Println(n.Seq())
	// Output:
	// 0
	// 2
}

// String says what a Match selects.
func ExampleMatch_String() {
	fmt.Println(node.Exact("a"), node.Prefix("b"), node.RawPrefix("c"), node.Match{})
	// Output: exact:a prefix:b raw:c prefix:
}

// An Event names a key, its type and its latest change.
func ExampleEvent() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	s, _ := node.ORSet[string](n, "agents")
	_ = s.Add(context.Background(), "a")
	for _, e := range n.ChangedSince(0) {
		fmt.Printf("%+v\n", e)
	}
	// Output: {Key:agents Type:ORSet Seq:1}
}

// A Snapshot is a value with the change it belongs to.
func ExampleSnapshot() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	m, _ := node.LWWMap[string, int](n, "load")
	_ = m.Set(context.Background(), "agent-a", 3)
	s, _ := n.Read("load")
	fmt.Println(s.Key, s.Type, s.Seq, s.Value, !s.Changed.IsZero())
	// Output: load LWWMap 1 map[agent-a:3] true
}
