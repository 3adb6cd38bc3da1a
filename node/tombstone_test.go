package node

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

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
		c := &testCluster{t: t, net: gossiptest.NewNetwork(1)}
		t.Cleanup(c.closeAll)
		const horizon = 2 * time.Minute
		a := c.openPruning("a", 10*time.Second, horizon)
		b := c.openPruning("b", 10*time.Second, horizon)
		s := c.openPruning("s", 10*time.Second, horizon)
		c.join(b, a)
		c.join(s, a)
		c.waitMembers(3)
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

		// After the horizon.
		c.net.Partition([]string{"a", "b"}, []string{"s"})
		must(t, ma.Delete(ctx, "late"))
		time.Sleep(horizon + 2*pruneInterval)
		if tombstoneOf(a, "m", "late") {
			t.Fatal("tombstone not collected after the horizon")
		}
		c.net.Heal()
		waitFor(t, 5*time.Minute, func() bool {
			v, ok, _ := ma.Get("late")
			return ok && v == "old"
		})
	})
}
