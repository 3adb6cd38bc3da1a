package gossip_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// faultyTransport wraps an in-memory transport: dials to hanging addresses
// wait their whole timeout and fail, and streams to stalled addresses are
// accepted by a peer that never reads.
type faultyTransport struct {
	*gossiptest.Transport
	hangDials atomic.Int64

	mu      sync.Mutex
	stalled map[string]bool // guarded by mu
}

func (t *faultyTransport) stall(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stalled == nil {
		t.stalled = make(map[string]bool)
	}
	t.stalled[addr] = true
}

func (t *faultyTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t *faultyTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if strings.HasPrefix(a.Addr, "10.9.9.") {
		t.hangDials.Add(1)
		time.Sleep(timeout)
		return nil, errors.New("dial timed out")
	}
	t.mu.Lock()
	stalled := t.stalled[a.Addr]
	t.mu.Unlock()
	if stalled {
		c, _ := net.Pipe() // the other end is never read
		return c, nil
	}
	return t.Transport.DialAddressTimeout(a, timeout)
}

// newFaultyNode starts a node named name on c's network with a faulty
// transport and memberlist's TCPTimeout set to tcpTimeout.
func newFaultyNode(t *testing.T, c *cluster, name string, tcpTimeout time.Duration) (*gossip.Gossip, *faultyTransport) {
	t.Helper()
	tr := &faultyTransport{Transport: c.net.NewTransport(name)}
	cfg := gossip.DefaultConfig(name)
	cfg.Origin.Epoch = 1
	cfg.Memberlist = gossiptest.FastMemberlist()
	cfg.Memberlist.TCPTimeout = tcpTimeout
	cfg.RejoinInterval = time.Hour // no rejoins of the seeds in these tests
	cfg.Logger = testLogger()
	cfg.Transport = tr
	g, err := gossip.New(cfg, gossiptest.NewReplica())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g, tr
}

// TestJoinStopsWhenContextEnds: Join tries one address at a time and stops
// trying when its context ends, instead of dialing every address (each up
// to TCPTimeout) in the background, which Close would then wait for.
func TestJoinStopsWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 0, false, nil)
		g, tr := newFaultyNode(t, c, "a", time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := g.Join(ctx, "x1/10.9.9.1:7946", "x2/10.9.9.2:7946", "x3/10.9.9.3:7946", "x4/10.9.9.4:7946", "x5/10.9.9.5:7946")
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 1500*time.Millisecond {
			t.Fatalf("join returned %v after %v; want the context's error at its deadline", err, time.Since(start))
		}
		time.Sleep(10 * time.Second)
		if n := tr.hangDials.Load(); n > 2 {
			t.Errorf("%d addresses dialed; want at most 2 (the join stops when its context ends)", n)
		}
		start = time.Now()
		g.Close()
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Close took %v", d)
		}
	})
}

// TestCloseIsBoundedByStalledStreams: a peer that accepts a stream and
// never reads fails the send after TCPTimeout without progress, and cannot
// hold Close (which closes the stream) for even that long.
func TestCloseIsBoundedByStalledStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 1, false, nil)
		const tcpTimeout = 30 * time.Second
		g, tr := newFaultyNode(t, c, "a", tcpTimeout)
		if _, err := g.Join(context.Background(), "n0/"+c.nodes[0].tr.Addr()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, func() bool { return g.NumMembers() == 2 }, c.describeMembers)
		tr.stall(c.nodes[0].tr.Addr())
		big := strings.Repeat("x", 300_000) // over the packet budget: a stream
		r := gossiptest.NewReplica()
		// A stalled stream fails after TCPTimeout.
		before := g.Stats().SendErrors
		if err := g.Publish("big", r.Add("big", "1"+big)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, tcpTimeout+5*time.Second, func() bool { return g.Stats().SendErrors > before }, func() string { return "stalled stream never failed" })
		// Close does not wait for a stalled stream.
		if err := g.Publish("big", r.Add("big", "2"+big)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		start := time.Now()
		g.Close()
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Close took %v with a stalled stream (LeaveTimeout 1s, TCPTimeout %v)", d, tcpTimeout)
		}
	})
}

// TestLoopbackNetwork runs two nodes on memberlist's own UDP/TCP transport
// (which gossip builds and wraps itself) on dynamic loopback ports.
func TestLoopbackNetwork(t *testing.T) {
	var nodes []*gossip.Gossip
	var reps []*gossiptest.Replica
	for _, name := range []string{"a", "b"} {
		cfg := gossip.DefaultConfig(name)
		cfg.Logger = testLogger()
		r := gossiptest.NewReplica()
		g, err := gossip.New(cfg, r)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Close() })
		nodes, reps = append(nodes, g), append(reps, r)
	}
	addr := nodes[0].LocalAddr()
	if strings.HasSuffix(addr, ":0") {
		t.Fatalf("advertised %s, not the port bound", addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := nodes[1].Join(ctx, "a/"+addr); err != nil {
		t.Fatal(err)
	}
	if err := nodes[1].Publish("k", reps[1].Add("k", "hello")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !reps[0].Has("k", "hello") {
		if time.Now().After(deadline) {
			t.Fatal("delta not received over loopback")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
