package agent

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
	"github.com/converge-crdt/converge/node"
)

// TestRegistryReplaysAndReportsConflicts: a done key replays on every
// replica without running the function; executions that raced in a
// partition are reported as Duplicate, and as Conflict when their outcomes
// differ, with the first completion winning everywhere.
func TestRegistryReplaysAndReportsConflicts(t *testing.T) {
	atLosses(t, testRegistryReplaysAndReportsConflicts)
}

func testRegistryReplaysAndReportsConflicts(t *testing.T, loss float64) {
	synctest.Test(t, func(t *testing.T) {
		f := newFleet(t, 3)
		f.net.SetLoss(loss)
		ctx := ctxT(t)
		reg := func(name string) *Registry {
			r, err := f.agents[name].Registry("effects")
			must(t, err)
			return r
		}
		runs := 0
		op := func(out string) func(context.Context) ([]byte, error) {
			return func(context.Context) ([]byte, error) { runs++; return []byte(out), nil }
		}
		o, err := reg("a0").Do(ctx, "k1", op("v1"))
		must(t, err)
		if o.Replayed || string(o.Value) != "v1" {
			t.Fatalf("first Do: %+v", o)
		}
		f.waitConverged(f.names()...)
		for _, name := range f.names() {
			o, err := reg(name).Do(ctx, "k1", op("other"))
			must(t, err)
			if !o.Replayed || string(o.Value) != "v1" {
				t.Fatalf("%s: %+v", name, o)
			}
		}
		if runs != 1 {
			t.Fatalf("ran %d times", runs)
		}
		// An error records nothing: the key can be retried.
		if _, err := reg("a1").Do(ctx, "k2", func(context.Context) ([]byte, error) { return nil, fmt.Errorf("boom") }); err == nil {
			t.Fatal("error lost")
		}
		if _, ok := reg("a1").Get("k2"); ok {
			t.Fatal("a failed execution was recorded")
		}

		f.net.Partition([]string{"a0"}, []string{"a1", "a2"})
		oa, err := reg("a0").Do(ctx, "k3", op("A"))
		must(t, err)
		time.Sleep(time.Millisecond)
		ob, err := reg("a1").Do(ctx, "k3", op("B"))
		must(t, err)
		if oa.Duplicate || ob.Duplicate {
			t.Fatal("duplicate reported before the sides met")
		}
		f.net.Heal()
		f.waitConverged(f.names()...)
		for _, name := range f.names() {
			o, _ := reg(name).Get("k3")
			if string(o.Value) != "A" || !o.Duplicate || !o.Conflict {
				t.Fatalf("%s after heal: %+v", name, o)
			}
		}
		// Typed form.
		v, o2, err := Do(ctx, reg("a2"), "typed", func(context.Context) (map[string]int, error) {
			return map[string]int{"n": 7}, nil
		})
		must(t, err)
		if v["n"] != 7 || o2.Replayed {
			t.Fatalf("typed Do: %v %+v", v, o2)
		}
		v, o2, err = Do(ctx, reg("a2"), "typed", func(context.Context) (map[string]int, error) { return nil, nil })
		must(t, err)
		if v["n"] != 7 || !o2.Replayed {
			t.Fatalf("typed replay: %v %+v", v, o2)
		}
	})
}

// TestRegistryRecordsExpire: records older than the retention disappear on
// every replica, also from a peer that was away, and a key can run again.
func TestRegistryRecordsExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		net := gossiptest.NewNetwork(3)
		var agents []*Agent
		for i := range 2 {
			name := fmt.Sprintf("e%d", i)
			g := gossip.DefaultConfig(name)
			g.Memberlist = gossiptest.FastMemberlist()
			g.Transport = net.NewTransport(name)
			n, err := node.Open(node.Config{Name: name, Gossip: &g, Logger: discard()})
			must(t, err)
			defer func() { _ = n.Close(); time.Sleep(10 * time.Second) }()
			a, err := New(context.Background(), n, Config{Retention: time.Hour})
			must(t, err)
			agents = append(agents, a)
		}
		ctx := ctxT(t)
		_, err := agents[1].n.Join(ctx, agents[0].n.Name()+"/"+agents[0].n.Addr())
		must(t, err)
		r0, _ := agents[0].Registry("x")
		r1, _ := agents[1].Registry("x")
		_, err = r0.Do(ctx, "old", func(context.Context) ([]byte, error) { return []byte("1"), nil })
		must(t, err)
		waitFor(t, time.Minute, func() bool { _, ok := r1.Get("old"); return ok }, func() string { return "not replicated" })
		net.Partition([]string{"e0"}, []string{"e1"})
		time.Sleep(time.Hour + 10*time.Minute)
		ctx = ctxT(t)
		ran := false
		_, err = r0.Do(ctx, "new", func(context.Context) ([]byte, error) { ran = true; return []byte("2"), nil })
		must(t, err)
		if _, ok := r0.Get("old"); ok || !ran {
			t.Fatal("the old record survived its retention")
		}
		net.Heal()
		waitFor(t, 5*time.Minute, func() bool { _, ok := r1.Get("new"); return ok }, func() string { return "new not replicated" })
		if _, ok := r1.Get("old"); ok {
			t.Fatal("the stale peer kept the expired record")
		}
		waitFor(t, time.Minute, func() bool { return agents[0].n.Digest() == agents[1].n.Digest() }, func() string { return "not converged" })
		if _, ok := r0.Get("old"); ok {
			t.Fatal("the stale peer brought the expired record back")
		}
	})
}
