package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
	"github.com/converge-crdt/converge/node"
)

// fleet is agents on nodes of an in-memory network, run under synctest.
type fleet struct {
	t      testing.TB
	net    *gossiptest.Network
	mu     sync.Mutex
	agents map[string]*Agent // by node name, the current incarnation
	all    []*node.Node      // every node ever opened, closed at cleanup
	skew   map[string]time.Duration
	cfg    func(*Config)
}

func newFleet(t testing.TB, n int) *fleet { return newFleetWith(t, n, nil, nil) }

func newSkewedFleet(t testing.TB, n int, skew map[string]time.Duration) *fleet {
	return newFleetWith(t, n, skew, nil)
}

// newFleetWith starts n agents a0, a1, ... whose wall clocks run ahead (or
// behind) of real time by skew[name], with agent configs adjusted by cfg.
func newFleetWith(t testing.TB, n int, skew map[string]time.Duration, cfg func(*Config)) *fleet {
	t.Helper()
	f := &fleet{t: t, net: gossiptest.NewNetwork(7), agents: map[string]*Agent{}, skew: skew, cfg: cfg}
	t.Cleanup(f.closeAll)
	var first string
	for i := range n {
		name := fmt.Sprintf("a%d", i)
		f.start(name)
		if i == 0 {
			first = name
		} else {
			f.join(name, first)
		}
	}
	f.waitLive(n, f.names()...)
	return f
}

// skewedClock is the wall clock shifted by a fixed offset.
type skewedClock struct{ d time.Duration }

func (c skewedClock) Now() time.Time { return time.Now().Add(c.d) }

func (f *fleet) start(name string) *Agent {
	f.t.Helper()
	g := gossip.DefaultConfig(name)
	g.Memberlist = gossiptest.FastMemberlist()
	g.Transport = f.net.NewTransport(name)
	g.RejoinInterval = time.Second
	clock := skewedClock{f.skew[name]}
	n, err := node.Open(node.Config{Name: name, Gossip: &g, Clock: clock, Logger: discard()})
	if err != nil {
		f.t.Fatalf("open %s: %v", name, err)
	}
	cfg := Config{Clock: clock, Meta: map[string]string{"role": "worker"}}
	if f.cfg != nil {
		f.cfg(&cfg)
	}
	a, err := New(context.Background(), n, cfg)
	if err != nil {
		f.t.Fatalf("agent %s: %v", name, err)
	}
	f.mu.Lock()
	f.agents[name] = a
	f.all = append(f.all, n)
	f.mu.Unlock()
	return a
}

func (f *fleet) join(name, to string) {
	f.t.Helper()
	dst := f.agents[to].n
	if _, err := f.agents[name].n.Join(context.Background(), dst.Name()+"/"+dst.Addr()); err != nil {
		f.t.Fatalf("%s joins %s: %v", name, to, err)
	}
}

// kill cuts name off the network and closes its node: nobody hears it leave.
func (f *fleet) kill(name string) {
	f.t.Helper()
	var rest []string
	for _, o := range f.names() {
		if o != name {
			rest = append(rest, o)
		}
	}
	f.net.Partition([]string{name}, rest)
	_ = f.agents[name].n.Close()
	f.net.Heal()
	f.mu.Lock()
	delete(f.agents, name)
	f.mu.Unlock()
}

func (f *fleet) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for i := range 64 {
		if _, ok := f.agents[fmt.Sprintf("a%d", i)]; ok {
			out = append(out, fmt.Sprintf("a%d", i))
		}
	}
	return out
}

func (f *fleet) closeAll() {
	for _, n := range f.all {
		_ = n.Close()
	}
	time.Sleep(10 * time.Second) // let memberlist's timers end inside the bubble
}

// waitLive waits until each named agent sees k live agents.
func (f *fleet) waitLive(k int, names ...string) {
	f.t.Helper()
	waitFor(f.t, time.Minute, func() bool {
		for _, name := range names {
			if len(f.agents[name].Live()) != k {
				return false
			}
		}
		return true
	}, func() string {
		s := ""
		for _, name := range names {
			s += fmt.Sprintf(" %s sees %d;", name, len(f.agents[name].Live()))
		}
		return s
	})
}

func (f *fleet) waitConverged(names ...string) {
	f.t.Helper()
	waitFor(f.t, time.Minute, func() bool {
		d := f.agents[names[0]].n.Digest()
		for _, name := range names[1:] {
			if f.agents[name].n.Digest() != d {
				return false
			}
		}
		return true
	}, func() string { return "digests differ" })
}

// waitFor polls cond every 10 ms of (fake) time until timeout.
func waitFor(t testing.TB, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not after %v:%s", timeout, what())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// atLosses runs test at 0 and 20 % packet loss, as subtests.
func atLosses(t *testing.T, test func(t *testing.T, loss float64)) {
	for _, loss := range []float64{0, 0.2} {
		t.Run(fmt.Sprintf("loss=%v", loss), func(t *testing.T) { test(t, loss) })
	}
}
