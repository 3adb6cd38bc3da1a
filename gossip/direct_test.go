package gossip_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// noAE puts anti-entropy rounds an hour apart, so that only dissemination
// can carry updates.
func noAE(cfg *gossip.Config) { cfg.AntiEntropyInterval = time.Hour }

// sentOf and recvOf sum a message type's count over the cluster.
func (c *cluster) sentOf(t gossip.MsgType) (n uint64) {
	for _, nd := range c.nodes {
		n += nd.g.Stats().Sent[t].Msgs
	}
	return n
}

// TestDirectOneCopyPerMember: with direct dissemination and no loss, each
// single write reaches every other member in exactly one batch from the
// publisher, nobody forwards, every batch is acknowledged once, and the
// queues are empty afterwards.
func TestDirectOneCopyPerMember(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, updates = 6, 10
		c := newCluster(t, n, true, noAE)
		b0, a0 := c.sentOf(gossip.MsgBatch), c.sentOf(gossip.MsgAck)
		for i := range updates {
			pub := c.nodes[i%n]
			pub.publish(t, fmt.Sprintf("k%d", i), "v")
			c.waitConverged(time.Second)
			time.Sleep(50 * time.Millisecond) // past the batch window: the next write is single too
		}
		c.waitDrained(time.Second)
		if got, want := c.sentOf(gossip.MsgBatch)-b0, uint64(updates*(n-1)); got != want {
			t.Errorf("%d batches sent for %d single writes on %d nodes, want %d (one per other member)", got, updates, n, want)
		}
		if got, want := c.sentOf(gossip.MsgAck)-a0, uint64(updates*(n-1)); got != want {
			t.Errorf("%d acks, want %d", got, want)
		}
		for _, nd := range c.nodes {
			st := nd.g.Stats()
			if st.Retransmits != 0 || st.Sent[gossip.MsgDelta].Msgs != 0 || st.Forwarded != 0 {
				t.Errorf("%s: %d retransmits, %d epidemic deltas, %d forwarded; want none without loss",
					nd.name, st.Retransmits, st.Sent[gossip.MsgDelta].Msgs, st.Forwarded)
			}
		}
	})
}

// TestDirectBatchesManyKeys: a burst of updates to many keys leaves in a few
// packets per member, updates to one key are joined before they leave, and
// acks for many batches share packets.
func TestDirectBatchesManyKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, true, noAE)
		pub := c.nodes[0]
		b0, a0 := c.sentOf(gossip.MsgBatch), c.sentOf(gossip.MsgAck)
		for i := range 300 {
			pub.publish(t, fmt.Sprintf("key-%03d", i%100), fmt.Sprint(i))
		}
		c.waitConverged(5 * time.Second)
		c.waitDrained(5 * time.Second)
		for _, nd := range c.nodes {
			if got := countAll(nd); got != 300 {
				t.Errorf("%s holds %d elements, want 300", nd.name, got)
			}
		}
		batches, acks := c.sentOf(gossip.MsgBatch)-b0, c.sentOf(gossip.MsgAck)-a0
		// 100 keys of ~12-byte deltas fit a couple of packets; the first
		// publish leaves alone, before the burst.
		if batches > 2*8 {
			t.Errorf("%d batches for 300 updates of 100 keys to 2 members", batches)
		}
		if acks > batches {
			t.Errorf("%d ack packets for %d batches", acks, batches)
		}
		if st := pub.g.Stats(); st.DeltaJoinErrors != 0 {
			t.Errorf("%d join errors", st.DeltaJoinErrors)
		}
		t.Logf("300 updates of 100 keys: %d batches, %d ack packets to 2 members", batches, acks)
	})
}

// TestDirectRetransmitsUnderLoss: with 30 % of packets lost and
// anti-entropy off, retransmissions alone bring every update everywhere,
// and they stop: the queues drain and stay empty.
func TestDirectRetransmitsUnderLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 5, true, noAE)
		c.net.SetLoss(0.3)
		for i := range 40 {
			c.nodes[i%5].publish(t, fmt.Sprintf("k%d", i%7), fmt.Sprint(i))
			time.Sleep(3 * time.Millisecond)
		}
		c.waitConverged(10 * time.Second)
		c.waitDrained(10 * time.Second)
		var retrans, gaveUp uint64
		for _, nd := range c.nodes {
			st := nd.g.Stats()
			retrans += st.Retransmits
			gaveUp += st.GaveUp
			if st.KeysReceived != 0 {
				t.Errorf("%s received %d keys by anti-entropy, which was off", nd.name, st.KeysReceived)
			}
		}
		if retrans == 0 {
			t.Error("no retransmission under 30 % loss")
		}
		// A copy is given up when its 9 sends or their acks were all lost
		// (about 0.2 % of copies at 30 % loss); the delta itself is lost
		// only if all 9 sends were (0.002 %).
		if gaveUp > 4 {
			t.Errorf("%d batch copies given up", gaveUp)
		}
		batches := c.sentOf(gossip.MsgBatch)
		time.Sleep(5 * time.Second)
		if c.sentOf(gossip.MsgBatch) != batches {
			t.Error("batches still sent after every one was acknowledged")
		}
	})
}

// TestDirectGivesUpOnSilentMember: a member that never acknowledges (cut
// off) costs RetransmitAttempts retransmissions per batch, then is left to
// anti-entropy; the publisher's queue empties, and after the partition
// heals anti-entropy brings the member up to date.
func TestDirectGivesUpOnSilentMember(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, true, func(cfg *gossip.Config) {
			cfg.RetransmitAttempts = 3
			cfg.AntiEntropyInterval = 500 * time.Millisecond
		})
		c.net.Partition([]string{"n0", "n1"}, []string{"n2"})
		c.nodes[0].publish(t, "k", "v")
		waitFor(t, time.Second, func() bool { return c.nodes[1].r.Has("k", "v") }, c.describe)
		waitFor(t, 2*time.Second, func() bool { return c.nodes[0].g.QueueLen() == 0 }, c.describe)
		st := c.nodes[0].g.Stats()
		if st.GaveUp != 1 || st.Retransmits != 3 {
			t.Errorf("publisher: %d given up, %d retransmits; want 1 and 3", st.GaveUp, st.Retransmits)
		}
		c.net.Heal()
		c.waitConverged(20 * time.Second)
	})
}

// TestDirectRetransmissionMergedOnce: a batch that arrives again under the
// same number (a retransmission after a lost ack) is acknowledged but not
// merged again; a new number is merged.
func TestDirectRetransmissionMergedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 2, true, noAE)
		n0, n1 := c.nodes[0], c.nodes[1]
		send := func(seq uint64, elem string) {
			msg := gossip.EncodeBatch(n1.g.Origin(), seq, "k", gossiptest.Encode(elem))
			if err := gossip.MemberlistOf(n1.g).SendBestEffort(gossip.MemberlistOf(n0.g).LocalNode(), msg); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		send(77, "first")
		send(77, "same number, other content")
		send(78, "second")
		if !n0.r.Has("k", "first") || !n0.r.Has("k", "second") {
			t.Fatalf("batches not merged: %v", lens(n0.r))
		}
		if n0.r.Has("k", "same number, other content") {
			t.Error("a batch number seen before was merged again")
		}
		if st := n0.g.Stats(); st.DuplicateBatches != 1 || st.Sent[gossip.MsgAck].Msgs == 0 {
			t.Errorf("%d duplicates counted, %d acks sent; want 1 and some", st.DuplicateBatches, st.Sent[gossip.MsgAck].Msgs)
		}
	})
}

// TestDirectCloseSendsPending: a delta published just before Close, still
// inside the batch window, reaches the other members: Close sends what is
// pending before it leaves.
func TestDirectCloseSendsPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, true, func(cfg *gossip.Config) {
			noAE(cfg)
			cfg.BatchWindow = time.Hour // nothing leaves before Close
		})
		pub := c.nodes[0]
		pub.publish(t, "k", "last words")
		if err := pub.g.Close(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, time.Minute, func() bool {
			return c.nodes[1].r.Has("k", "last words") && c.nodes[2].r.Has("k", "last words")
		}, c.describe)
	})
}
