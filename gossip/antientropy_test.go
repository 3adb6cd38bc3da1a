package gossip_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
)

// TestEqualRoundsCostOnePacket checks that while replicas agree, an
// anti-entropy round sends the root digest and nothing else.
func TestEqualRoundsCostOnePacket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, true, nil)
		for i := range 50 {
			c.nodes[i%3].publish(t, fmt.Sprintf("k%d", i), "v")
		}
		c.waitConverged(10 * time.Second)
		time.Sleep(3 * time.Second) // let stragglers settle
		before := make([]gossip.Stats, 3)
		for i, nd := range c.nodes {
			before[i] = nd.g.Stats()
		}
		time.Sleep(10 * time.Second)
		for i, nd := range c.nodes {
			st := nd.g.Stats()
			rounds := st.AERounds - before[i].AERounds
			roots := st.Sent[gossip.MsgRoot].Msgs - before[i].Sent[gossip.MsgRoot].Msgs
			rootBytes := st.Sent[gossip.MsgRoot].Bytes - before[i].Sent[gossip.MsgRoot].Bytes
			if rounds < 8 || roots != rounds {
				t.Errorf("%s: %d rounds, %d root messages", nd.name, rounds, roots)
			}
			if rounds > 0 && rootBytes/rounds > 32 {
				t.Errorf("%s: %d bytes per root message", nd.name, rootBytes/rounds)
			}
			for _, typ := range []gossip.MsgType{gossip.MsgDigests, gossip.MsgWant, gossip.MsgState, gossip.MsgChunk, gossip.MsgDelta} {
				if n := st.Sent[typ].Msgs - before[i].Sent[typ].Msgs; n != 0 {
					t.Errorf("%s sent %d %v messages while states were equal", nd.name, n, typ)
				}
			}
		}
	})
}

// TestAntiEntropyRepairsLoss drops packets and overflows the inbound queue:
// pushes and broadcasts are lost, the drops are counted, and anti-entropy
// still brings every replica to the same state.
func TestAntiEntropyRepairsLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 4, true, func(cfg *gossip.Config) { cfg.InboundQueueDepth = 4 })
		c.net.SetLoss(0.3)
		for i := range 200 {
			c.nodes[i%4].publish(t, fmt.Sprintf("k%d", i%20), fmt.Sprint(i))
		}
		c.waitConverged(30 * time.Second)
		var dropped uint64
		for _, nd := range c.nodes {
			dropped += nd.g.Stats().DroppedInbound
			if got := countAll(nd); got != 200 {
				t.Errorf("%s holds %d elements, want 200", nd.name, got)
			}
		}
		if dropped == 0 {
			t.Error("no inbound drops counted with a queue of 4 under a burst of 200")
		}
	})
}

func countAll(nd *tnode) int {
	n := 0
	for _, k := range nd.r.Keys() {
		n += nd.r.Len(k)
	}
	return n
}
