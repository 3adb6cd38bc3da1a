package node_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/converge-crdt/converge/node"
)

// openCluster opens n nodes on loopback, joined to the first, and waits
// until each sees all of them.
func openCluster(ctx context.Context, n int) []*node.Node {
	var nodes []*node.Node
	for i := range n {
		cfg := node.DefaultConfig()
		cfg.Name = fmt.Sprintf("n%d", i)
		if i > 0 {
			cfg.Join = []string{nodes[0].Addr()}
		}
		nd, err := node.Open(cfg)
		if err != nil {
			log.Fatal(err)
		}
		nodes = append(nodes, nd)
	}
	for _, nd := range nodes {
		if err := nd.WaitMembers(ctx, n); err != nil {
			log.Fatal(err)
		}
	}
	return nodes
}

// A write that returns once a majority of the members merged it, and a
// read that merges a majority's state first: together they see each other
// whatever node serves them.
func Example_majority() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes := openCluster(ctx, 3)
	defer func() {
		for _, nd := range nodes {
			nd.Close()
		}
	}()

	claims, _ := node.ORSet[string](nodes[0], "claims")
	if err := claims.Add(ctx, "job-42", node.WriteMajority(5*time.Second)); err != nil {
		var le *node.LevelError
		if errors.As(err, &le) {
			log.Fatalf("only %d of %d members acknowledged", le.Got, le.Need)
		}
		log.Fatal(err)
	}
	fmt.Println("write acknowledged by a majority")

	other, _ := node.ORSet[string](nodes[2], "claims")
	got, err := other.Read(ctx, node.ReadMajority(5*time.Second))
	fmt.Println("majority read on n2:", got, err)

	// A local write, then wait until every member holds it.
	var r node.Receipt
	_ = claims.Add(ctx, "job-43", node.Track(&r))
	fmt.Println("reached all:", nodes[0].ReachedAll(ctx, r))
	// Output:
	// write acknowledged by a majority
	// majority read on n2: [job-42] <nil>
	// reached all: <nil>
}

// The current view, then every membership change after it.
func ExampleNode_MemberEvents() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes := openCluster(ctx, 2)
	defer nodes[0].Close()

	view, events, err := nodes[0].MemberEvents(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("members:", len(view))
	nodes[1].Close() // a graceful leave
	for ev := range events {
		fmt.Println(ev.Kind, ev.Member.Name)
		if ev.Kind == node.MemberLeave || ev.Kind == node.MemberFail {
			break
		}
	}
	// Output:
	// members: 2
	// leave n1
}
