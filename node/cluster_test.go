package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// testLogger logs to stderr when NODE_TEST_LOG is set, and nowhere
// otherwise (memberlist may log after a test returns; a nil Logger would
// print warnings).
func testLogger() *slog.Logger {
	if os.Getenv("NODE_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testCluster is nodes on an in-memory network.
type testCluster struct {
	t     testing.TB
	net   *gossiptest.Network
	mu    sync.Mutex
	nodes []*Node
	cfgs  []Config
}

func newTestCluster(t testing.TB, n int) *testCluster {
	t.Helper()
	c := &testCluster{t: t, net: gossiptest.NewNetwork(1)}
	t.Cleanup(c.closeAll)
	for i := range n {
		c.start(fmt.Sprintf("n%d", i))
	}
	for _, nd := range c.nodes[1:] {
		c.join(nd, c.nodes[0])
	}
	c.waitMembers(n)
	return c
}

func (c *testCluster) config(name string) Config {
	g := gossip.DefaultConfig(name)
	g.Memberlist = gossiptest.FastMemberlist()
	g.Transport = c.net.NewTransport(name)
	g.RejoinInterval = time.Second
	return Config{Name: name, Gossip: &g, Logger: testLogger(), Types: []Type{TypeOf(maxTag, newMaxReg)}}
}

// start opens a node named name on the network (not joined).
func (c *testCluster) start(name string) *Node {
	c.t.Helper()
	n, err := Open(c.config(name))
	if err != nil {
		c.t.Fatalf("open %s: %v", name, err)
	}
	c.mu.Lock()
	c.nodes = append(c.nodes, n)
	c.mu.Unlock()
	return n
}

func (c *testCluster) join(n, to *Node) {
	c.t.Helper()
	if _, err := n.Join(context.Background(), to.Name()+"/"+to.Addr()); err != nil {
		c.t.Fatalf("%s joins %s: %v", n.Name(), to.Name(), err)
	}
}

// closeAll closes every node, then lets fake time run on: memberlist
// goroutines still waiting on probe timers after Shutdown must finish before
// the bubble's main goroutine exits (time stops then, and synctest would
// report them as deadlocked). Test clusters run only inside synctest.
func (c *testCluster) closeAll() {
	for _, n := range c.nodes {
		_ = n.Close()
	}
	time.Sleep(10 * time.Second)
}

func (c *testCluster) waitMembers(k int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, n := range c.nodes {
		if err := n.WaitMembers(ctx, k); err != nil {
			c.t.Fatalf("%s sees %d members, want %d: %v", n.Name(), n.NumMembers(), k, err)
		}
	}
}

// waitConverged waits (in fake time under synctest) until every node
// in nodes has the same root digest, and fails with a per-node description
// otherwise.
func waitConverged(t testing.TB, timeout time.Duration, nodes ...*Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	equal := func() bool {
		root := nodes[0].Digest()
		for _, n := range nodes[1:] {
			if n.Digest() != root {
				return false
			}
		}
		return true
	}
	// Under synctest the 10 ms ticks are fake time: free and deterministic.
	for !equal() {
		select {
		case <-ctx.Done():
			var b strings.Builder
			for _, n := range nodes {
				st := n.Status()
				fmt.Fprintf(&b, "\n%s root %x members %d queue %d objects:", n.Name(), st.Root, len(st.Members), st.QueueLen)
				for _, o := range st.Objects {
					fmt.Fprintf(&b, " %s=%x", o.Key, o.Digest)
				}
			}
			t.Fatalf("not converged after %v:%s", timeout, b.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestClusterConverges runs concurrent updates on all four built-in types
// and a custom type on 4 nodes, in fake time, and checks that every object
// ends Equal on every node and holds the expected values.
func TestClusterConverges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const nodes, rounds = 4, 30
		c := newTestCluster(t, nodes)
		ctx := context.Background()
		var wg sync.WaitGroup
		for i, n := range c.nodes {
			wg.Go(func() {
				g, _ := GCounter(n, "g")
				p, _ := PNCounter(n, "p")
				s, _ := ORSet[string](n, "s")
				m, _ := LWWMap[string, int](n, "m")
				o, _ := Object[*maxReg](n, "r")
				for r := range rounds {
					must(t, g.Inc(ctx, 1))
					must(t, p.Dec(ctx, 2))
					must(t, s.Add(ctx, fmt.Sprintf("%s-%d", n.Name(), r)))
					if r%3 == 0 {
						must(t, s.Remove(ctx, fmt.Sprintf("%s-%d", n.Name(), r)))
					}
					must(t, m.Set(ctx, fmt.Sprintf("k%d", r%5), i*1000+r))
					must(t, o.Update(ctx, func(v *maxReg) (*maxReg, error) { return v.Set(int64(i*1000 + r)) }))
					time.Sleep(17 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		waitConverged(t, time.Minute, c.nodes...)

		for _, n := range c.nodes {
			g, _ := GCounter(n, "g")
			p, _ := PNCounter(n, "p")
			s, _ := ORSet[string](n, "s")
			m, _ := LWWMap[string, int](n, "m")
			o, _ := Object[*maxReg](n, "r")
			if g.Value() != nodes*rounds || p.Value() != -2*nodes*rounds {
				t.Errorf("%s: counters %d %d", n.Name(), g.Value(), p.Value())
			}
			if want := nodes * (rounds - rounds/3); s.Len() != want {
				t.Errorf("%s: set has %d elements, want %d", n.Name(), s.Len(), want)
			}
			if m.Len() != 5 {
				t.Errorf("%s: map has %d keys", n.Name(), m.Len())
			}
			if o.Value().v != int64((nodes-1)*1000+rounds-1) {
				t.Errorf("%s: register %d", n.Name(), o.Value().v)
			}
		}
		// Objects are lattice-Equal, not just equal digests.
		for _, key := range c.nodes[0].Keys() {
			ref := encodeOf(t, c.nodes[0], key)
			for _, n := range c.nodes[1:] {
				if got := encodeOf(t, n, key); string(got) != string(ref) {
					t.Errorf("%s: %q differs from n0", n.Name(), key)
				}
			}
		}
		// Re-gossip stops once everyone agrees.
		time.Sleep(5 * time.Second)
		for _, n := range c.nodes {
			if q := n.QueueLen(); q != 0 {
				t.Errorf("%s: broadcast queue %d after convergence", n.Name(), q)
			}
		}
	})
}

// writeAll makes each node do a few updates on every type.
func writeAll(t testing.TB, tag string, nodes ...*Node) {
	t.Helper()
	ctx := context.Background()
	for _, n := range nodes {
		g, err := GCounter(n, "g")
		must(t, err)
		must(t, g.Inc(ctx, 1))
		s, err := ORSet[string](n, "s")
		must(t, err)
		must(t, s.Add(ctx, tag+"-"+n.Name()))
		m, err := LWWMap[string, string](n, "m")
		must(t, err)
		must(t, m.Set(ctx, n.Name(), tag))
	}
}

// TestLateJoinerGetsFullState: a node that joins after the writes (and after
// the broadcasts have drained) gets everything through anti-entropy.
func TestLateJoinerGetsFullState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 3)
		writeAll(t, "early", c.nodes...)
		waitConverged(t, time.Minute, c.nodes...)
		time.Sleep(10 * time.Second) // broadcasts long gone

		late := c.start("late")
		c.join(late, c.nodes[1])
		waitConverged(t, time.Minute, c.nodes...)
		g, _ := GCounter(late, "g")
		s, _ := ORSet[string](late, "s")
		if g.Value() != 3 || s.Len() != 3 {
			t.Errorf("late joiner: counter %d, set %d; want 3, 3", g.Value(), s.Len())
		}
	})
}

// TestRestartWithNewEpoch: a node killed without leaving (cut off, then
// closed) and restarted under the same name gets a new epoch, rejoins, and
// its updates from both lives survive on every node.
func TestRestartWithNewEpoch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 3)
		old := c.nodes[2]
		writeAll(t, "first", c.nodes...)
		waitConverged(t, time.Minute, c.nodes...)

		// Kill n2: nobody hears it leave.
		c.net.Partition([]string{"n2"}, []string{"n0", "n1"})
		must(t, old.Close())
		c.net.Heal()
		waitFor(t, time.Minute, func() bool { return c.nodes[0].NumMembers() == 2 && c.nodes[1].NumMembers() == 2 })

		// Restart with empty state: same name, new epoch, new address.
		reborn := c.start("n2")
		if reborn.Epoch() == old.Epoch() || reborn.ReplicaID() == old.ReplicaID() {
			t.Fatal("restart reused the epoch")
		}
		c.join(reborn, c.nodes[0])
		live := []*Node{c.nodes[0], c.nodes[1], reborn}
		waitFor(t, time.Minute, func() bool {
			for _, n := range live {
				if n.NumMembers() != 3 {
					return false
				}
			}
			return true
		})
		writeAll(t, "second", reborn)
		waitConverged(t, time.Minute, live...)
		for _, n := range live {
			g, _ := GCounter(n, "g")
			s, _ := ORSet[string](n, "s")
			m, _ := LWWMap[string, string](n, "m")
			v, _, _ := m.Get("n2")
			if g.Value() != 4 || s.Len() != 4 || v != "second" {
				t.Errorf("%s: counter %d set %d map[n2] %q; want 4, 4, second", n.Name(), g.Value(), s.Len(), v)
			}
		}
		for _, m := range c.nodes[0].Members() {
			if m.Name == "n2" && m.Epoch != reborn.Epoch() {
				t.Errorf("n0 sees n2 with epoch %d, want the new %d", m.Epoch, reborn.Epoch())
			}
		}
	})
}

// waitFor polls cond every 10 ms (of fake time under synctest).
func waitFor(t testing.TB, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v", timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPartitionHeals: a 2|3 partition longer than GossipToTheDeadTime, with
// writes on both sides, heals to equal state once the network does.
func TestPartitionHeals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 5)
		writeAll(t, "before", c.nodes...)
		waitConverged(t, time.Minute, c.nodes...)

		left, right := c.nodes[:2], c.nodes[2:]
		c.net.Partition([]string{"n0", "n1"}, []string{"n2", "n3", "n4"})
		writeAll(t, "during", c.nodes...)
		// Long enough for each side to declare the other dead and forget it.
		time.Sleep(3 * gossiptest.FastMemberlist().GossipToTheDeadTime)
		waitConverged(t, time.Minute, left...)
		waitConverged(t, time.Minute, right...)
		if left[0].Digest() == right[0].Digest() {
			t.Fatal("the two sides agree during the partition")
		}

		c.net.Heal()
		waitConverged(t, 2*time.Minute, c.nodes...)
		for _, n := range c.nodes {
			g, _ := GCounter(n, "g")
			s, _ := ORSet[string](n, "s")
			if g.Value() != 10 || s.Len() != 10 {
				t.Errorf("%s: counter %d set %d; want 10, 10", n.Name(), g.Value(), s.Len())
			}
		}
	})
}

// TestWrongKeyCannotJoinOrInject: a node with another secret key can
// neither join an encrypted cluster nor change its state.
func TestWrongKeyCannotJoinOrInject(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &testCluster{t: t, net: gossiptest.NewNetwork(1)}
		t.Cleanup(c.closeAll)
		open := func(name string, key []byte) *Node {
			cfg := c.config(name)
			cfg.SecretKey = key
			n, err := Open(cfg)
			if err != nil {
				t.Fatalf("open %s: %v", name, err)
			}
			c.nodes = append(c.nodes, n)
			return n
		}
		good := []byte("0123456789abcdef")
		a, b := open("a", good), open("b", good)
		c.join(b, a)
		waitFor(t, time.Minute, func() bool { return a.NumMembers() == 2 && b.NumMembers() == 2 })
		writeAll(t, "good", a, b)
		waitConverged(t, time.Minute, a, b)
		root := a.Digest()

		evil := open("evil", []byte("fedcba9876543210"))
		writeAll(t, "evil", evil)
		if _, err := evil.Join(context.Background(), "a/"+a.Addr()); err == nil {
			t.Error("a node with the wrong key joined")
		}
		time.Sleep(10 * time.Second)
		if a.NumMembers() != 2 || b.NumMembers() != 2 || evil.NumMembers() != 1 {
			t.Errorf("members: a %d, b %d, evil %d", a.NumMembers(), b.NumMembers(), evil.NumMembers())
		}
		if a.Digest() != root || b.Digest() != root {
			t.Error("the node with the wrong key changed the cluster's state")
		}
	})
}

// TestLargeDeltaAndLateJoiner: a delta far over a packet (a 200 KB map
// value) reaches every node, and a node that joins later gets it through
// anti-entropy.
func TestLargeDeltaAndLateJoiner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 3)
		big := strings.Repeat("x", 200<<10)
		m, err := LWWMap[string, string](c.nodes[0], "big")
		must(t, err)
		must(t, m.Set(context.Background(), "blob", big))
		waitConverged(t, time.Minute, c.nodes...)

		late := c.start("late")
		c.join(late, c.nodes[2])
		waitConverged(t, time.Minute, c.nodes...)
		lm, err := LWWMap[string, string](late, "big")
		must(t, err)
		if v, ok, err := lm.Get("blob"); err != nil || !ok || v != big {
			t.Fatalf("late joiner: %d bytes, %v, %v", len(v), ok, err)
		}
	})
}
