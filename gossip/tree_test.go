package gossip_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
)

// aeTraffic sums the anti-entropy bytes the cluster sent, and the keys
// whose state it sent.
func (c *cluster) aeTraffic() (bytes, keys uint64) {
	for _, nd := range c.nodes {
		st := nd.g.Stats()
		for _, t := range aeTypes {
			bytes += st.Sent[t].Bytes
		}
		keys += st.KeysSent
	}
	return bytes, keys
}

var aeTypes = []gossip.MsgType{gossip.MsgRoot, gossip.MsgRootReply, gossip.MsgDigests, gossip.MsgBuckets, gossip.MsgWant,
	gossip.MsgState, gossip.MsgChunk, gossip.MsgTree, gossip.MsgTreeDigests}

// TestTreeRepairCostsTheDifference: replicas that are DigestSources agree
// on 20,000 keys and differ in d of them (changed behind gossip's back, so
// only anti-entropy can carry them). The repair sends only the d keys'
// state and digest traffic proportional to d, far below what listing the
// differing buckets' keys costs (the same test with plain replicas).
func TestTreeRepairCostsTheDifference(t *testing.T) {
	const keys = 20000
	for _, d := range []int{1, 50} {
		var cost [2]uint64
		for i, plain := range []bool{false, true} {
			synctest.Test(t, func(t *testing.T) {
				c := newClusterOf(t, 2, false, plain, func(cfg *gossip.Config) { cfg.AntiEntropyInterval = 200 * time.Millisecond })
				for k := range keys {
					for _, nd := range c.nodes {
						nd.r.Add(fmt.Sprintf("key-%05d", k), "v")
					}
				}
				c.join(c.nodes[1], c.nodes[0])
				c.waitMembers(2)
				c.waitConverged(10 * time.Second)
				b0, k0 := c.aeTraffic()
				for k := range d {
					c.nodes[1].r.Add(fmt.Sprintf("key-%05d", k*97), "changed")
				}
				c.waitConverged(10 * time.Second)
				b1, k1 := c.aeTraffic()
				cost[i] = b1 - b0
				// Digests cannot tell which side is ahead, so both sides
				// may send a key, and rounds both started at once may
				// send it again.
				if sent := k1 - k0; sent < uint64(d) || sent > uint64(4*d) {
					t.Errorf("plain=%v: %d keys sent to repair %d", plain, sent, d)
				}
			})
		}
		t.Logf("%d of %d keys differ: %d bytes with the digest tree, %d listing buckets", d, keys, cost[0], cost[1])
		// Per differing key: three levels of 16 sums (384 bytes) and a
		// leaf of ~5 keys, twice at most (both sides start rounds), plus
		// the roots and replies of the rounds.
		if limit := uint64(d)*2*700 + 1000; cost[0] > limit {
			t.Errorf("%d differing keys cost %d bytes with the tree, want under %d", d, cost[0], limit)
		}
		if cost[0]*2 > cost[1] {
			t.Errorf("the tree (%d bytes) is not well below bucket listing (%d bytes)", cost[0], cost[1])
		}
	}
}

// TestTreeIdleRoundsAreConstant: once the tree is up to date, an idle round
// reads no digest from the replica; a change costs one KeyDigest read.
func TestTreeIdleRoundsAreConstant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 2, true, func(cfg *gossip.Config) { cfg.AntiEntropyInterval = 100 * time.Millisecond })
		for k := range 2000 {
			c.nodes[0].publish(t, fmt.Sprintf("k%d", k), "v")
		}
		c.waitConverged(10 * time.Second)
		time.Sleep(time.Second)
		// From here on nothing but gossip reads digests (waitConverged
		// would: it compares Digests roots).
		d0 := c.nodes[0].r.DigestReads()
		r0 := c.nodes[0].g.Stats().AERounds
		time.Sleep(5 * time.Second)
		if rounds := c.nodes[0].g.Stats().AERounds - r0; rounds < 20 {
			t.Fatalf("%d rounds in 5 s", rounds)
		}
		if got := c.nodes[0].r.DigestReads() - d0; got != 0 {
			t.Errorf("%d digest reads over idle rounds, want 0", got)
		}
		c.nodes[0].publish(t, "k7", "w")
		waitFor(t, time.Second, func() bool { return c.nodes[1].r.Has("k7", "w") }, c.describe)
		time.Sleep(time.Second)
		if got := c.nodes[0].r.DigestReads() - d0; got != 1 {
			t.Errorf("%d digest reads after one change, want 1", got)
		}
	})
}
