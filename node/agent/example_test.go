package agent_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/node"
	"github.com/converge-crdt/converge/node/agent"
)

// open starts a single in-memory node with an agent, for the examples.
func open(name string) (*node.Node, *agent.Agent) {
	n, err := node.Open(node.Config{Name: name})
	if err != nil {
		panic(err)
	}
	a, err := agent.New(context.Background(), n, agent.Config{Meta: map[string]string{"model": "small"}})
	if err != nil {
		panic(err)
	}
	return n, a
}

func ExampleNew() {
	n, a := open("agent-1")
	defer n.Close()
	for _, i := range a.Live() {
		fmt.Println(i.Name, i.Meta["model"])
	}
	// Output: agent-1 small
}

func ExampleAgent_Owner() {
	n, a := open("agent-1")
	defer n.Close()
	o, _ := a.Owner("task-42") // rendezvous hashing over the live agents
	fmt.Println(o.Name, a.Owns("task-42"))
	// Output: agent-1 true
}

func ExampleAgent_Ownership() {
	n, a := open("agent-1")
	defer n.Close()
	tr := a.Ownership(func() []string { return []string{"t1", "t2"} })
	ch, _ := tr.Next(context.Background()) // the first call reports what is owned now
	fmt.Println(ch.Gained, ch.Lost, len(ch.Live))
	// Output: [t1 t2] [] 1
}

func ExampleLease() {
	n, a := open("agent-1")
	defer n.Close()
	ctx := context.Background()
	l := a.Lease("leader")
	tok, err := l.Acquire(ctx, 10*time.Second)
	fmt.Println(tok.Seq, err)
	fmt.Println(l.Renew(ctx, tok, 10*time.Second))
	fmt.Println(l.Release(ctx, tok))
	tok2, _ := l.Acquire(ctx, 10*time.Second) // the next holder's token is larger
	fmt.Println(tok2.Compare(tok) > 0)
	// Output:
	// 1 <nil>
	// <nil>
	// <nil>
	// true
}

func ExampleLease_Hold() {
	n, a := open("agent-1")
	defer n.Close()
	err := a.Lease("cron").Hold(context.Background(), 3*time.Second, 100*time.Millisecond,
		func(ctx context.Context, tok crdt.Token) error {
			fmt.Println("holding with token", tok.Seq)
			return nil
		})
	fmt.Println(err)
	// Output:
	// holding with token 1
	// <nil>
}

func ExampleFence() {
	var f agent.Fence // at the resource
	old := crdt.Token{Seq: 1, Replica: "a~1"}
	cur := crdt.Token{Seq: 2, Replica: "b~7"}
	fmt.Println(f.Check(old), f.Check(cur))
	fmt.Println(errors.Is(f.Check(old), agent.ErrStaleToken))
	// Output:
	// <nil> <nil>
	// true
}

func ExampleClaims() {
	n, a := open("agent-1")
	defer n.Close()
	board, _ := a.Claims("tasks")
	c, _ := board.Claim(context.Background(), "task-7")
	fmt.Println(c.Won, c.Winner, c.Round, c.Contested)
	// Output: true agent-1 0 false
}

func ExampleRegistry() {
	n, a := open("agent-1")
	defer n.Close()
	ctx := context.Background()
	reg, _ := a.Registry("payments")
	pay := func(context.Context) ([]byte, error) { fmt.Println("charging"); return []byte("receipt-1"), nil }
	o, _ := reg.Do(ctx, "order-9", pay) // runs
	fmt.Println(string(o.Value), o.Replayed)
	o, _ = reg.Do(ctx, "order-9", pay) // a retry: replayed, not charged again
	fmt.Println(string(o.Value), o.Replayed)
	// Output:
	// charging
	// receipt-1 false
	// receipt-1 true
}

func ExampleDo() {
	n, a := open("agent-1")
	defer n.Close()
	reg, _ := a.Registry("results")
	sum, o, err := agent.Do(context.Background(), reg, "job-1", func(context.Context) (int, error) { return 2 + 3, nil })
	fmt.Println(sum, o.Replayed, err)
	// Output: 5 false <nil>
}

func ExampleRegistry_Compensate() {
	n, a := open("agent-1")
	defer n.Close()
	ctx := context.Background()
	reg, _ := a.Registry("saga")
	refund := func(context.Context) ([]byte, error) { fmt.Println("refunding"); return nil, nil }
	_, _ = reg.Compensate(ctx, "order-9", refund)
	o, _ := reg.Compensate(ctx, "order-9", refund) // delivered twice: applied once
	fmt.Println(o.Replayed)
	// Output:
	// refunding
	// true
}
