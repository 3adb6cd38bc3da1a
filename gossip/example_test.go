package gossip_test

import (
	"context"
	"fmt"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// Two replicas on an in-memory network: one publishes a local update, the
// other receives it. With gossip.DefaultConfig and no Transport, the same
// code runs on real loopback sockets.
func Example() {
	network := gossiptest.NewNetwork(1)
	start := func(name string) (*gossip.Gossip, *gossiptest.Replica, string) {
		tr := network.NewTransport(name)
		cfg := gossip.DefaultConfig(name)
		cfg.Origin.Epoch = 1
		cfg.Transport = tr
		r := gossiptest.NewReplica()
		g, err := gossip.New(cfg, r)
		if err != nil {
			panic(err)
		}
		return g, r, name + "/" + tr.Addr()
	}
	a, ra, addrA := start("a")
	defer a.Close()
	b, rb, _ := start("b")
	defer b.Close()

	if _, err := b.Join(context.Background(), addrA); err != nil {
		panic(err)
	}
	// The replica applies the update locally and returns its delta;
	// gossip spreads the delta.
	if err := a.Publish("greetings", ra.Add("greetings", "hello")); err != nil {
		panic(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !rb.Has("greetings", "hello") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("b has hello:", rb.Has("greetings", "hello"))
	fmt.Println("members:", b.NumMembers())
	// Output:
	// b has hello: true
	// members: 2
}

// Stats counts cluster formation problems by name; InboundLen is the depth
// of the receive queue.
func ExampleGossip_InboundLen() {
	network := gossiptest.NewNetwork(1)
	cfg := gossip.DefaultConfig("solo")
	cfg.Origin.Epoch = 1
	cfg.Transport = network.NewTransport("solo")
	g, err := gossip.New(cfg, gossiptest.NewReplica())
	if err != nil {
		panic(err)
	}
	defer g.Close()
	_, err = g.Join(context.Background(), "127.0.0.1:1") // nobody there
	fmt.Println(err != nil, g.Stats().JoinFailures, g.InboundLen())
	// Output: true 1 0
}

// Direct dissemination (the default): each member receives a write once,
// in one batch from the publisher, and acknowledges it; QueueLen is back to
// zero once every member has.
func ExampleDissemination() {
	network := gossiptest.NewNetwork(1)
	var nodes []*gossip.Gossip
	var replicas []*gossiptest.Replica
	for _, name := range []string{"a", "b", "c"} {
		cfg := gossip.DefaultConfig(name)
		cfg.Origin.Epoch = 1
		cfg.Transport = network.NewTransport(name)
		cfg.AntiEntropyInterval = time.Hour // only dissemination carries the write
		cfg.RetransmitTimeout = time.Second // no resend on a slow host: the counts below are exact
		r := gossiptest.NewReplica()
		g, err := gossip.New(cfg, r)
		if err != nil {
			panic(err)
		}
		defer g.Close()
		if len(nodes) > 0 {
			if _, err := g.Join(context.Background(), "a/"+nodes[0].LocalAddr()); err != nil {
				panic(err)
			}
		}
		nodes, replicas = append(nodes, g), append(replicas, r)
	}
	for deadline := time.Now().Add(10 * time.Second); nodes[0].NumMembers() < 3 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if err := nodes[0].Publish("k", replicas[0].Add("k", "v")); err != nil {
		panic(err)
	}
	for deadline := time.Now().Add(10 * time.Second); (nodes[0].QueueLen() > 0 || !replicas[2].Has("k", "v")) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	st := nodes[0].Stats()
	fmt.Println("mode:", gossip.DisseminateDirect)
	fmt.Println("batches sent:", st.Sent[gossip.MsgBatch].Msgs, "acks received:", st.Received[gossip.MsgAck].Msgs)
	fmt.Println("c has v:", replicas[2].Has("k", "v"), "queue:", nodes[0].QueueLen())
	// Output:
	// mode: direct
	// batches sent: 2 acks received: 2
	// c has v: true queue: 0
}
