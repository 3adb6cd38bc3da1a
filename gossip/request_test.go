package gossip_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

func memberNames(ms []gossip.Member) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Name)
	}
	return strings.Join(s, ",")
}

// TestDeliverMinorityAndMajority: Deliver returns once enough peers merged
// the delta (checked in their replicas); cut off from all but one peer it
// returns that one and the context's error; after the heal the delta
// reaches everyone anyway.
func TestDeliverMinorityAndMajority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 5, true, nil)
		n0 := c.nodes[0]
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		acked, err := n0.g.Deliver(ctx, "k", n0.r.Add("k", "a"), 4)
		if err != nil || len(acked) != 4 {
			t.Fatalf("Deliver to all 4 peers: %v acked %s", err, memberNames(acked))
		}
		for _, nd := range c.nodes[1:] {
			if !nd.r.Has("k", "a") {
				t.Errorf("%s acknowledged but lacks the element", nd.name)
			}
		}

		c.net.Partition([]string{"n0", "n1"}, []string{"n2", "n3", "n4"})
		ctx2, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel2()
		acked, err = n0.g.Deliver(ctx2, "k", n0.r.Add("k", "b"), 2)
		if !errors.Is(err, context.DeadlineExceeded) || memberNames(acked) != "n1" {
			t.Fatalf("partitioned Deliver: %v acked %q, want deadline and n1", err, memberNames(acked))
		}
		if c.nodes[2].r.Has("k", "b") {
			t.Fatal("n2 has b across the partition")
		}
		c.net.Heal()
		waitFor(t, time.Minute, func() bool {
			for _, nd := range c.nodes {
				if !nd.r.Has("k", "b") {
					return false
				}
			}
			return true
		}, func() string { return "b did not reach everyone after the heal" })
	})
}

// badReplica answers every Encode with bytes that fail to decode.
type badReplica struct{ *gossiptest.Replica }

func (badReplica) Encode(string) ([]byte, bool, error) { return []byte{0xff}, true, nil }

// hugeReplica answers every Encode with a valid but huge state.
type hugeReplica struct{ *gossiptest.Replica }

func (hugeReplica) Encode(string) ([]byte, bool, error) {
	return gossiptest.Encode(strings.Repeat("x", 200<<10)), true, nil
}

// TestFetchRefusesBadAndOversizedReplies: a state that fails to merge and
// one over the reader's MaxBlob count as no answer; a good peer's state is
// merged and counts.
func TestFetchRefusesBadAndOversizedReplies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &cluster{t: t, net: gossiptest.NewNetwork(1)}
		t.Cleanup(c.close)
		reader := c.add("n0", func(cfg *gossip.Config) { cfg.MaxBlob = 64 << 10; cfg.MaxReassemblyBytes = 64 << 10 })
		good := c.add("n1", nil)
		for i, r := range []gossip.Replica{badReplica{gossiptest.NewReplica()}, hugeReplica{gossiptest.NewReplica()}} {
			name := []string{"bad", "huge"}[i]
			cfg := gossip.DefaultConfig(name)
			cfg.Origin.Epoch = 1
			cfg.Memberlist = gossiptest.FastMemberlist()
			cfg.Transport = c.net.NewTransport(name)
			g, err := gossip.New(cfg, r)
			if err != nil {
				t.Fatal(err)
			}
			c.nodes = append(c.nodes, &tnode{name: name, g: g, r: gossiptest.NewReplica(), tr: cfg.Transport.(*gossiptest.Transport)})
		}
		for _, nd := range c.nodes[1:] {
			c.join(nd, reader)
		}
		c.waitMembers(4)
		good.r.Add("k", "v")

		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		got, err := reader.g.Fetch(ctx, "k", 2)
		if memberNames(got) != "n1" {
			t.Fatalf("answered %q, want only n1 (err %v)", memberNames(got), err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v", err)
		}
		if !reader.r.Has("k", "v") {
			t.Error("the good state was not merged")
		}
		st := reader.g.Stats()
		if st.RepliesBad == 0 {
			t.Errorf("no bad reply counted: %+v", st)
		}
		if st.DecodeErrors == 0 && st.TransfersLost == 0 {
			t.Errorf("the oversized reply was not refused: %v %+v", err, st)
		}
	})
}

// TestRequestReplayRefused: the same request ID from the same origin is
// served once.
func TestRequestReplayRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 2, true, nil)
		n0, n1 := c.nodes[0], c.nodes[1]
		msg := gossip.EncodeRequest(gossip.MsgWriteReq, n0.g.Origin(), 42, "k", gossiptest.Encode("a"))
		ml := gossip.MemberlistOf(n0.g)
		for _, m := range ml.Members() {
			if m.Name == "n1" {
				for range 3 {
					if err := ml.SendBestEffort(m, msg); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		waitFor(t, 10*time.Second, func() bool { return n1.g.Stats().RequestsRefused == 2 },
			func() string { return "replays not refused" })
		if !n1.r.Has("k", "a") {
			t.Error("the first request was not served")
		}
		// The acks find no outstanding call at n0.
		waitFor(t, 10*time.Second, func() bool { return n0.g.Stats().RepliesStale >= 1 },
			func() string { return "stale ack not counted" })
		time.Sleep(time.Second)
		if s := n0.g.Stats().RepliesStale; s != 1 {
			t.Errorf("%d stale acks, want 1 (one per served request)", s)
		}
	})
}

// failingCommitter is a replica whose commits fail.
type failingCommitter struct {
	*gossiptest.Replica
	commits *atomic.Int32
}

func (f failingCommitter) Commit(string) error {
	f.commits.Add(1)
	return errors.New("disk full")
}

// TestAckWaitsForCommit: a durable replica acknowledges a write only once
// Commit succeeded; a failed commit is a refusal, not an acknowledgement.
func TestAckWaitsForCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &cluster{t: t, net: gossiptest.NewNetwork(1)}
		t.Cleanup(c.close)
		w := c.add("n0", nil)
		var commits atomic.Int32
		cfg := gossip.DefaultConfig("n1")
		cfg.Origin.Epoch = 1
		cfg.Memberlist = gossiptest.FastMemberlist()
		cfg.Transport = c.net.NewTransport("n1")
		r := gossiptest.NewReplica()
		g, err := gossip.New(cfg, failingCommitter{r, &commits})
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, &tnode{name: "n1", g: g, r: r, tr: cfg.Transport.(*gossiptest.Transport)})
		c.join(c.nodes[1], w)
		c.waitMembers(2)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		acked, err := w.g.Deliver(ctx, "k", w.r.Add("k", "a"), 1)
		if !errors.Is(err, gossip.ErrTooFewPeers) || len(acked) != 0 {
			t.Fatalf("Deliver: %v, acked %q; want a refusal", err, memberNames(acked))
		}
		if commits.Load() != 1 || !r.Has("k", "a") {
			t.Fatalf("%d commits, merged %v; want one commit of the merged write", commits.Load(), r.Has("k", "a"))
		}
	})
}

// TestForgedReadGetsNoState: a read request that names another member
// makes this node send that member one small token, never the state; the
// real member's read of the same large state goes through the token.
func TestForgedReadGetsNoState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// No anti-entropy: it would carry the state to n2 by itself.
		c := newCluster(t, 3, true, func(cfg *gossip.Config) { cfg.AntiEntropyInterval = time.Hour })
		n0, n1, n2 := c.nodes[0], c.nodes[1], c.nodes[2]
		big := strings.Repeat("x", 4000) // over a packet: a stream reply
		n1.r.Add("k", big)
		// n0 forges a read request naming n2.
		forged := gossip.EncodeRequest(gossip.MsgReadReq, n2.g.Origin(), 77, "k", nil)
		ml := gossip.MemberlistOf(n0.g)
		for _, m := range ml.Members() {
			if m.Name == "n1" {
				if err := ml.SendBestEffort(m, forged); err != nil {
					t.Fatal(err)
				}
			}
		}
		waitFor(t, 10*time.Second, func() bool { return n2.g.Stats().RepliesStale == 1 },
			func() string { return "n2 never got the token" })
		time.Sleep(time.Second)
		if st := n1.g.Stats().Sent[gossip.MsgReadReply]; st.Msgs != 1 || st.Bytes > 64 {
			t.Fatalf("n1 sent %d read replies, %d bytes, for a forged request; want one small token", st.Msgs, st.Bytes)
		}
		if n2.r.Has("k", big) {
			t.Fatal("n2 received the state")
		}

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		got, err := n2.g.Fetch(ctx, "k", 2)
		if err != nil || len(got) != 2 || !n2.r.Has("k", big) {
			t.Fatalf("Fetch: %v, answered %q, has %v", err, memberNames(got), n2.r.Has("k", big))
		}
	})
}
