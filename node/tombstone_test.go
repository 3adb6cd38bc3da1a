package node

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// tombstoneOf reports whether node n's map key holds a tombstone for k.
func tombstoneOf(n *Node, key, k string) bool {
	rk, _ := toRaw(k)
	n.mu.Lock()
	defer n.mu.Unlock()
	obj := n.objects[key]
	if obj == nil {
		return false
	}
	m := obj.val.(*rawMap)
	_, present := m.Get(rk)
	_, _, stamped := m.Stamp(rk)
	return stamped && !present
}

// TestTombstoneCollectionAcrossPartition: a map entry is deleted while a
// stale node is partitioned away. Back within the horizon, the stale node
// learns the delete and nothing returns; the tombstones are then collected
// on every node. Back after the horizon (tombstone already collected), the
// stale node's old entry returns, as Config.PruneHorizon documents.
func TestTombstoneCollectionAcrossPartition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const horizon = 2 * time.Minute
		c, a, b, s := newPruningTrio(t, horizon)
		ctx := context.Background()
		ma, _ := LWWMap[string, string](a, "m")
		must(t, ma.Set(ctx, "soon", "old"))
		must(t, ma.Set(ctx, "late", "old"))
		waitConverged(t, time.Minute, a, b, s)

		// Within the horizon.
		c.net.Partition([]string{"a", "b"}, []string{"s"})
		must(t, ma.Delete(ctx, "soon"))
		time.Sleep(30 * time.Second)
		c.net.Heal()
		waitFor(t, 5*time.Minute, func() bool { return tombstoneOf(s, "m", "soon") })
		waitConverged(t, time.Minute, a, b, s)
		for _, n := range []*Node{a, b, s} {
			m, _ := LWWMap[string, string](n, "m")
			if _, ok, _ := m.Get("soon"); ok {
				t.Fatalf("%s: deleted key back after a partition within the horizon", n.Name())
			}
		}
		deleted := time.Now()
		waitFor(t, 2*horizon, func() bool {
			return !tombstoneOf(a, "m", "soon") && !tombstoneOf(b, "m", "soon") && !tombstoneOf(s, "m", "soon")
		})
		t.Logf("delete to tombstone collected on every node: %v (horizon %v)", time.Since(deleted), horizon)

		// After the horizon the tombstone is gone, so the stale node's
		// older entry returns, as Config.PruneHorizon documents.
		c.net.Partition([]string{"a", "b"}, []string{"s"})
		must(t, ma.Delete(ctx, "late"))
		time.Sleep(horizon + 2*pruneInterval)
		if tombstoneOf(a, "m", "late") {
			t.Fatal("tombstone not collected after the horizon")
		}
		c.net.Heal()
		c.waitMembers(3)
		waitConverged(t, 10*time.Minute, a, b, s)
		if v, ok, _ := ma.Get("late"); !ok || v != "old" {
			t.Fatalf("past the horizon the stale node's entry should return (documented); got %q %v", v, ok)
		}
	})
}

// TestDeleteKeyAcrossPartition: a key deleted while a stale node holds its
// old state stays deleted when the stale node returns (within the horizon);
// a write after the delete re-creates it from empty on every node; the
// tombstone survives a restart from the data directory; once older than
// the horizon and not written again, a deleted key's tombstone is
// collected everywhere.
func TestDeleteKeyAcrossPartition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const horizon = 2 * time.Minute
		c, a, b, s := newPruningTrio(t, horizon)
		ctx := context.Background()
		for _, n := range []*Node{a, b, s} {
			g, _ := GCounter(n, "jobs")
			must(t, g.Inc(ctx, 5))
			o, _ := GCounter(n, "gone")
			must(t, o.Inc(ctx, 1))
		}
		waitConverged(t, time.Minute, a, b, s)
		staleJobs := encoded(t, s, "jobs")

		c.net.Partition([]string{"a", "b"}, []string{"s"})
		must(t, a.Delete(ctx, "jobs"))
		must(t, a.Delete(ctx, "gone"))
		gs, _ := GCounter(s, "jobs")
		must(t, gs.Inc(ctx, 1)) // concurrent with the delete: lost with the key
		time.Sleep(30 * time.Second)
		c.net.Heal()
		waitFor(t, 5*time.Minute, func() bool { return gs.Value() == 0 })
		waitConverged(t, time.Minute, a, b, s)
		// A stale copy from before the delete changes nothing.
		if _, err := (*replica)(b).Merge("jobs", staleJobs); err != nil {
			t.Fatal(err)
		}
		gb, _ := GCounter(b, "jobs")
		if gb.Value() != 0 {
			t.Fatalf("stale copy resurrected a deleted key: %d", gb.Value())
		}
		// Re-creation: writes after the delete start from empty.
		must(t, gb.Inc(ctx, 2))
		must(t, gs.Inc(ctx, 3))
		waitConverged(t, time.Minute, a, b, s)
		for _, n := range []*Node{a, b, s} {
			g, _ := GCounter(n, "jobs")
			if g.Value() != 5 {
				t.Fatalf("%s: re-created key counts %d, want 5", n.Name(), g.Value())
			}
		}
		deleted := time.Now()
		waitFor(t, 2*horizon, func() bool {
			for _, n := range []*Node{a, b, s} {
				if slices.Contains(n.Keys(), "gone") {
					return false
				}
			}
			return true
		})
		t.Logf("delete to key tombstone collected everywhere: %v (horizon %v)", time.Since(deleted), horizon)
		if !slices.Contains(a.Keys(), "jobs") {
			t.Fatal("a re-created key was collected")
		}
	})
}

// TestDeletePersists: with a data directory, a delete is committed before
// it returns and the reopened node holds the tombstone, not the old state.
func TestDeletePersists(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	n, err := Open(Config{Name: "d", DataDir: dir})
	must(t, err)
	g, _ := GCounter(n, "c")
	must(t, g.Inc(ctx, 7))
	must(t, n.Delete(ctx, "c"))
	must(t, g.Inc(ctx, 1))
	must(t, n.Close())
	n2, err := Open(Config{Name: "d", DataDir: dir})
	must(t, err)
	defer n2.Close()
	g2, _ := GCounter(n2, "c")
	if g2.Value() != 1 {
		t.Fatalf("reopened: %d, want 1 (the write after the delete)", g2.Value())
	}
	n2.mu.Lock()
	gen := n2.objects["c"].gen
	n2.mu.Unlock()
	if gen.isZero() {
		t.Fatal("generation lost across a restart")
	}
	// A stale blob from before the delete is refused after the restart too.
	old := crdt.NewGCounter()
	_, _ = old.Inc("d~old", 7)
	b, _ := old.MarshalBinary()
	if _, err := (*replica)(n2).Merge("c", b); err != nil {
		t.Fatal(err)
	}
	if g2.Value() != 1 {
		t.Fatalf("stale blob merged after restart: %d", g2.Value())
	}
}

// TestExpireIdleKeys: a key nobody writes for ExpireAfter is deleted on
// every node; a key written more often stays; a stale node partitioned
// away with the idle key's old state does not bring it back when it
// returns within the horizon.
func TestExpireIdleKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &testCluster{t: t, net: gossiptest.NewNetwork(1)}
		t.Cleanup(c.closeAll)
		open := func(name string) *Node {
			cfg := c.config(name)
			cfg.PruneAfter, cfg.PruneHorizon, cfg.ExpireAfter = 10*time.Second, 10*time.Minute, time.Minute
			cfg.ReadyMembers = 2 // alone is not ready: s, cut off, expires nothing
			n, err := Open(cfg)
			must(t, err)
			c.nodes = append(c.nodes, n)
			return n
		}
		a, b, s := open("a"), open("b"), open("s")
		c.join(b, a)
		c.join(s, a)
		c.waitMembers(3)
		ctx := context.Background()
		idle, _ := GCounter(a, "idle")
		must(t, idle.Inc(ctx, 4))
		busy, _ := GCounter(a, "busy")
		must(t, busy.Inc(ctx, 1))
		waitConverged(t, time.Minute, a, b, s)
		c.net.Partition([]string{"a", "b"}, []string{"s"})
		for range 6 { // two minutes of writes every 20 s
			time.Sleep(20 * time.Second)
			must(t, busy.Inc(ctx, 1))
		}
		if idle.Value() != 0 || busy.Value() != 7 {
			t.Fatalf("idle %d (want expired), busy %d", idle.Value(), busy.Value())
		}
		if a.Status().Counters.Expired == 0 && b.Status().Counters.Expired == 0 {
			t.Error("Expired counters are 0")
		}
		c.net.Heal()
		waitFor(t, 5*time.Minute, func() bool {
			gi, _ := GCounter(s, "idle")
			gb, _ := GCounter(s, "busy")
			return gi.Value() == 0 && gb.Value() == 7
		})
		gi, _ := GCounter(a, "idle")
		if gi.Value() != 0 {
			t.Fatalf("the stale node brought an expired key back: %d", gi.Value())
		}
	})
}

// newPruningTrio starts nodes a, b and s pruning after 10 s with the given
// horizon, joined to a; s is the one the tests partition away.
func newPruningTrio(t *testing.T, horizon time.Duration) (c *testCluster, a, b, s *Node) {
	t.Helper()
	c = &testCluster{t: t, net: gossiptest.NewNetwork(1)}
	t.Cleanup(c.closeAll)
	a = c.openPruning("a", 10*time.Second, horizon)
	b = c.openPruning("b", 10*time.Second, horizon)
	s = c.openPruning("s", 10*time.Second, horizon)
	c.join(b, a)
	c.join(s, a)
	c.waitMembers(3)
	return c, a, b, s
}
