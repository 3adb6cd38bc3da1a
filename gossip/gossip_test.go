package gossip_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// TestConcurrentPublishesConverge checks the fast path: pushes and
// broadcasts alone converge concurrent publishes. Anti-entropy rounds are
// an hour apart, so they cannot repair what the fast path misses.
func TestConcurrentPublishesConverge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 5, true, func(cfg *gossip.Config) { cfg.AntiEntropyInterval = time.Hour })
		// A member that learns of another asks for a round with it
		// (NotifyJoin); the last of those may still be in flight when
		// waitMembers returns, and a round that meets the first publishes
		// ships a key by anti-entropy (KeysReceived 1, 3 of 60 runs). Let
		// them finish (fake time: each takes a few network latencies).
		time.Sleep(2 * time.Second)
		synctest.Wait()
		var wg sync.WaitGroup
		for i, nd := range c.nodes {
			wg.Go(func() {
				for j := range 20 {
					nd.publish(t, fmt.Sprintf("k%d", j%3), fmt.Sprintf("%s-%d", nd.name, j))
					time.Sleep(time.Duration(i+1) * 7 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		c.waitConverged(5 * time.Second)
		for _, nd := range c.nodes {
			total := 0
			for j := range 3 {
				total += nd.r.Len(fmt.Sprintf("k%d", j))
			}
			if total != 100 {
				t.Errorf("%s holds %d elements, want 100", nd.name, total)
			}
			if st := nd.g.Stats(); st.KeysReceived != 0 || st.Merged < 80 {
				t.Errorf("%s: %d keys by anti-entropy, %d merges; want 0 and >= 80 (the others' elements)", nd.name, st.KeysReceived, st.Merged)
			}
		}
	})
}

func TestLateJoinerCatchesUpByAntiEntropy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, true, nil)
		for i, nd := range c.nodes {
			for j := range 30 {
				nd.publish(t, fmt.Sprintf("key-%d", j), fmt.Sprintf("%s-%d", nd.name, i))
			}
		}
		c.waitConverged(5 * time.Second)
		late := c.add("late", nil)
		c.join(late, c.nodes[1])
		c.waitConverged(5 * time.Second)
		st := late.g.Stats()
		if st.KeysReceived < 30 {
			t.Errorf("late node received %d keys by anti-entropy, want >= 30", st.KeysReceived)
		}
	})
}

func TestQueueDrainsAfterLastPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 4, true, nil)
		for j := range 10 {
			c.nodes[j%4].publish(t, "k", fmt.Sprint(j))
		}
		c.waitConverged(5 * time.Second)
		queued := func() int {
			n := 0
			for _, nd := range c.nodes {
				n += nd.g.QueueLen()
			}
			return n
		}
		waitFor(t, 10*time.Second, func() bool { return queued() == 0 }, c.describe)
		before := make([]uint64, len(c.nodes))
		for i, nd := range c.nodes {
			before[i] = nd.g.Stats().Sent[gossip.MsgDelta].Msgs
		}
		// Stays drained: no node sends another delta.
		for range 50 {
			time.Sleep(100 * time.Millisecond)
			if n := queued(); n != 0 {
				t.Fatalf("queue refilled to %d without a publish", n)
			}
		}
		for i, nd := range c.nodes {
			if after := nd.g.Stats().Sent[gossip.MsgDelta].Msgs; after != before[i] {
				t.Errorf("%s sent %d more deltas after draining", nd.name, after-before[i])
			}
		}
	})
}

// TestLargeDeltaGoesDirect publishes deltas over the packet budget: every
// other member receives each one once, straight from the publisher, over a
// stream, and nobody forwards it.
func TestLargeDeltaGoesDirect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 5, true, nil)
		pub := c.nodes[0]
		for i := range 3 {
			pub.publish(t, "big", fmt.Sprintf("%d-%s", i, strings.Repeat("x", 120_000)))
		}
		c.waitConverged(5 * time.Second)
		if st := pub.g.Stats(); st.OversizeRerouted != 3 || st.Sent[gossip.MsgDeltaDirect].Msgs != 12 {
			t.Errorf("publisher: %d rerouted, %d direct sends; want 3 and 12", st.OversizeRerouted, st.Sent[gossip.MsgDeltaDirect].Msgs)
		}
		for _, nd := range c.nodes[1:] {
			st := nd.g.Stats()
			if got := st.Received[gossip.MsgDeltaDirect].Msgs; got != 3 {
				t.Errorf("%s received %d direct deltas, want 3", nd.name, got)
			}
			if st.Sent[gossip.MsgDeltaDirect].Msgs != 0 || st.Sent[gossip.MsgDelta].Msgs != 0 {
				t.Errorf("%s forwarded a large delta: %v", nd.name, st.Sent)
			}
		}
	})
}

// TestQueueDrainsNearPacketBudget publishes deltas whose messages are at and
// just under the packet budget, with encryption and a label on or off: each
// must leave the broadcast queue. A budget that ignores memberlist's
// encryption or label overhead queues broadcasts memberlist never sends.
func TestQueueDrainsNearPacketBudget(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	tests := []struct {
		name      string
		configure func(*gossip.Config)
	}{
		{name: "plain"},
		{name: "secret key", configure: func(cfg *gossip.Config) { cfg.SecretKey = key }},
		{name: "secret key and label", configure: func(cfg *gossip.Config) { cfg.SecretKey, cfg.Label = key, "cluster-a" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCluster(t, 3, true, tc.configure)
				g := c.nodes[0].g
				budget := g.PacketBudget()
				for i, under := range []int{0, 1, 13} {
					key := fmt.Sprintf("k%d", i)
					prefix := fmt.Sprintf("%d-", i)
					n := 0
					for len(gossip.EncodeDelta(g.Origin(), key, gossiptest.Encode(prefix+strings.Repeat("x", n)))) < budget-under {
						n++
					}
					c.nodes[0].publish(t, key, prefix+strings.Repeat("x", n))
				}
				c.waitConverged(5 * time.Second)
				waitFor(t, 60*time.Second, func() bool {
					for _, nd := range c.nodes {
						if nd.g.QueueLen() != 0 {
							return false
						}
					}
					return true
				}, func() string { return fmt.Sprintf("budget %d; queues stuck:%s", budget, c.describe()) })
			})
		})
	}
}
