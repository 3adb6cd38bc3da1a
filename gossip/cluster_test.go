package gossip_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// testLogger logs to stderr when GOSSIP_TEST_LOG is set (debug, info,
// warn), and nowhere otherwise: memberlist goroutines may log after a test
// returns, which testing.T's output does not allow.
func testLogger() *slog.Logger {
	var level slog.Level
	switch os.Getenv("GOSSIP_TEST_LOG") {
	case "":
		return nil
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	default:
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// tnode is one member of a test cluster.
type tnode struct {
	name string
	g    *gossip.Gossip
	r    *gossiptest.Replica
	tr   *gossiptest.Transport
}

// publish adds elems to key locally and publishes the delta.
func (n *tnode) publish(t testing.TB, key string, elems ...string) {
	t.Helper()
	if err := n.g.Publish(key, n.r.Add(key, elems...)); err != nil {
		t.Fatalf("%s: publish %s: %v", n.name, key, err)
	}
}

// cluster is a set of nodes on an in-memory network.
type cluster struct {
	t     testing.TB
	net   *gossiptest.Network
	nodes []*tnode
	plain bool // replicas without change notifications (plainReplica)
}

// newCluster starts n nodes named n0..n{n-1} on an in-memory network and,
// if join, joins them all to n0 and waits until all see each other.
// configure may adjust each node's config.
func newCluster(t testing.TB, n int, join bool, configure func(*gossip.Config)) *cluster {
	t.Helper()
	return newClusterOf(t, n, join, false, configure)
}

// plainReplica hides gossiptest.Replica's gossip.DigestSource methods, so
// anti-entropy copies every digest each round (Replica.Digests), as it does
// for replicas without change notifications.
type plainReplica struct{ gossip.Replica }

// newClusterOf is newCluster whose replicas are plainReplicas if plain.
func newClusterOf(t testing.TB, n int, join, plain bool, configure func(*gossip.Config)) *cluster {
	t.Helper()
	c := &cluster{t: t, net: gossiptest.NewNetwork(1), plain: plain}
	for i := range n {
		c.add(fmt.Sprintf("n%d", i), configure)
	}
	t.Cleanup(c.close)
	if join {
		for _, nd := range c.nodes[1:] {
			c.join(nd, c.nodes[0])
		}
		c.waitMembers(n)
	}
	return c
}

// add starts one more node (not joined). configure may set cfg.Transport
// to one from c.net; otherwise the node gets a fresh one.
func (c *cluster) add(name string, configure func(*gossip.Config)) *tnode {
	c.t.Helper()
	nd := &tnode{name: name, r: gossiptest.NewReplica()}
	cfg := gossip.DefaultConfig(name)
	cfg.Origin.Epoch = 1
	cfg.Memberlist = gossiptest.FastMemberlist()
	cfg.Logger = testLogger()
	cfg.RejoinInterval = time.Second
	if configure != nil {
		configure(&cfg)
	}
	if cfg.Transport == nil {
		nd.tr = c.net.NewTransport(name)
		cfg.Transport = nd.tr
	} else if w, ok := cfg.Transport.(interface{ Base() *gossiptest.Transport }); ok {
		nd.tr = w.Base() // a test wrapper around a network transport
	} else {
		nd.tr = cfg.Transport.(*gossiptest.Transport)
	}
	var rep gossip.Replica = nd.r
	if c.plain {
		rep = plainReplica{nd.r}
	}
	g, err := gossip.New(cfg, rep)
	if err != nil {
		c.t.Fatalf("new %s: %v", name, err)
	}
	nd.g = g
	c.nodes = append(c.nodes, nd)
	return nd
}

func (c *cluster) join(nd, to *tnode) {
	c.t.Helper()
	if _, err := nd.g.Join(context.Background(), to.name+"/"+to.tr.Addr()); err != nil {
		c.t.Fatalf("%s joins %s: %v", nd.name, to.name, err)
	}
}

// close closes every node, then lets fake time run on so that memberlist's
// goroutines that outlive Shutdown (a probe waiting for its timeout, a
// stream handler waiting for its deadline) finish: synctest fails a test
// that returns with goroutines still blocked.
func (c *cluster) close() {
	for _, nd := range c.nodes {
		nd.g.Close()
	}
	time.Sleep(30 * time.Second)
}

// waitFor polls cond every 10 ms (of fake time, under synctest) until it
// holds, failing the test after timeout with what describe says.
func waitFor(t testing.TB, timeout time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not true after %v: %s", timeout, describe())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *cluster) waitMembers(n int) {
	c.t.Helper()
	waitFor(c.t, 30*time.Second, func() bool {
		for _, nd := range c.nodes {
			if nd.g.NumMembers() != n {
				return false
			}
		}
		return true
	}, func() string { return c.describeMembers() })
}

func (c *cluster) describeMembers() string {
	s := ""
	for _, nd := range c.nodes {
		s += fmt.Sprintf("%s sees %d; ", nd.name, nd.g.NumMembers())
	}
	return s
}

// converged reports whether all nodes have the same root digest.
func (c *cluster) converged() bool {
	root := c.nodes[0].r.Root()
	for _, nd := range c.nodes[1:] {
		if nd.r.Root() != root {
			return false
		}
	}
	return true
}

func (c *cluster) describe() string {
	s := ""
	for _, nd := range c.nodes {
		st := nd.g.Stats()
		s += fmt.Sprintf("\n%s: root %x keys %v members %d queue %d merged %d ae %d keysRecv %d keysSent %d dropped %d"+
			" droppedSend %d sendErrors %d refusedRequests %d refusedStreams %d wantsExpired %d transfersLost %d",
			nd.name, nd.r.Root(), lens(nd.r), nd.g.NumMembers(), nd.g.QueueLen(), st.Merged, st.AERounds, st.KeysReceived, st.KeysSent, st.DroppedInbound,
			st.DroppedSend, st.SendErrors, st.RefusedRequests, st.RefusedStreams, st.WantsExpired, st.TransfersLost)
	}
	return s
}

func lens(r *gossiptest.Replica) map[string]int {
	m := map[string]int{}
	for _, k := range r.Keys() {
		m[k] = r.Len(k)
	}
	return m
}

func (c *cluster) waitConverged(timeout time.Duration) {
	c.t.Helper()
	waitFor(c.t, timeout, c.converged, c.describe)
}
