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
// still brings every replica to the same state. It uses epidemic
// dissemination, whose one message per delta overflows a queue of 4 (direct
// dissemination batches the burst into a few packets).
func TestAntiEntropyRepairsLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 4, true, func(cfg *gossip.Config) {
			cfg.InboundQueueDepth = 4
			cfg.Dissemination = gossip.DisseminateEpidemic
		})
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

// TestBucketsNarrowTheDigestList checks that replicas with many keys that
// differ in one key exchange bucket digests and then only that bucket's
// keys, not the whole key list (replicas that are not a DigestSource).
func TestBucketsNarrowTheDigestList(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newClusterOf(t, 2, true, true, nil)
		for i := range 1000 {
			c.nodes[0].r.Add(fmt.Sprintf("key-%04d", i), "v")
		}
		c.waitConverged(30 * time.Second)
		before := []gossip.Stats{c.nodes[0].g.Stats(), c.nodes[1].g.Stats()}
		c.nodes[1].r.Add("key-0500", "changed") // not published: only anti-entropy can carry it
		c.waitConverged(10 * time.Second)
		var digestBytes, buckets, keys uint64
		for i, nd := range c.nodes {
			st := nd.g.Stats()
			digestBytes += st.Sent[gossip.MsgDigests].Bytes - before[i].Sent[gossip.MsgDigests].Bytes
			buckets += st.Sent[gossip.MsgBuckets].Msgs - before[i].Sent[gossip.MsgBuckets].Msgs
			keys += st.KeysSent - before[i].KeysSent
		}
		// 1000 keys would list ~18 KB; a bucket holds about 4 of them.
		if buckets == 0 || digestBytes > 1000 {
			t.Errorf("repairing one key of 1000: %d bucket messages, %d bytes of digests", buckets, digestBytes)
		}
		// Digests cannot tell which side is ahead, so both send the key,
		// and rounds started by both sides at once may send it again.
		if keys == 0 || keys > 4 {
			t.Errorf("%d keys sent, want 1 to 4", keys)
		}
	})
}
