package gossip_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// loopbackNode starts a node on memberlist's real UDP/TCP transport on
// 127.0.0.1, closed at cleanup.
func loopbackNode(t testing.TB, name string, configure func(*gossip.Config), plain ...bool) *tnode {
	t.Helper()
	nd := &tnode{name: name, r: gossiptest.NewReplica()}
	cfg := gossip.DefaultConfig(name)
	cfg.Origin.Epoch = 1
	cfg.Logger = testLogger()
	if configure != nil {
		configure(&cfg)
	}
	var rep gossip.Replica = nd.r
	if len(plain) > 0 && plain[0] {
		rep = plainReplica{nd.r}
	}
	g, err := gossip.New(cfg, rep)
	if err != nil {
		t.Fatalf("new %s: %v", name, err)
	}
	nd.g = g
	t.Cleanup(func() { g.Close() })
	return nd
}

func joinLoopback(t testing.TB, nd, to *tnode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := nd.g.Join(ctx, to.g.LocalAddr()); err != nil {
		t.Fatalf("%s joins %s: %v", nd.name, to.name, err)
	}
}

// TestLargeStateReachesNewNode moves a delta over the packet budget, then a
// state over 25 MiB whose largest key is over memberlist's 20 MiB stream
// limit, to a node that joins afterwards. It uses real loopback sockets:
// tens of MiB through synctest's net.Pipe would test the pipe, not gossip.
func TestLargeStateReachesNewNode(t *testing.T) {
	if testing.Short() {
		t.Skip("moves ~80 MiB over loopback")
	}
	// Every 4 MiB chunk is LZW-compressed and decompressed by memberlist;
	// under -race on a loaded 2-core CI host that alone took seconds per
	// chunk, and the 22 MiB key missed the default 30 s TransferTimeout
	// (transfersLost 1, then a fresh transfer from scratch missed the 60 s
	// wait). The transfer deadline is tested in chunk_test.go; here it is
	// out of the way, and the waits are generous, since this test is about
	// the state arriving, not about how fast.
	slow := func(cfg *gossip.Config) { cfg.TransferTimeout = 5 * time.Minute }
	const converge = 4 * time.Minute
	c := &cluster{t: t}
	for i := range 3 {
		c.nodes = append(c.nodes, loopbackNode(t, fmt.Sprintf("n%d", i), slow))
	}
	joinLoopback(t, c.nodes[1], c.nodes[0])
	joinLoopback(t, c.nodes[2], c.nodes[0])

	// A 150 KB delta goes over streams to the fanout peers.
	big := strings.Repeat("d", 150_000)
	c.nodes[0].publish(t, "delta", big)
	waitFor(t, converge, func() bool { return c.nodes[1].r.Has("delta", big) && c.nodes[2].r.Has("delta", big) }, c.describe)
	if st := c.nodes[0].g.Stats(); st.OversizeRerouted == 0 {
		t.Errorf("oversize delta not counted: %+v", st)
	}

	// 27 MiB on n1 alone: 150 keys of 32 KiB (enough keys for bucketed
	// digests) and one key of 22 MiB, then anti-entropy spreads it.
	const mib = 1 << 20
	for k := range 150 {
		c.nodes[1].r.Add(fmt.Sprintf("small-%03d", k), strings.Repeat(string(rune('a'+k%26)), 32<<10))
	}
	var huge []string
	for i := range 22 {
		huge = append(huge, fmt.Sprintf("%02d", i)+strings.Repeat("h", mib))
	}
	c.nodes[1].r.Add("huge", huge...)
	c.waitConverged(converge)

	late := loopbackNode(t, "late", slow)
	c.nodes = append(c.nodes, late)
	start := time.Now()
	joinLoopback(t, late, c.nodes[2])
	c.waitConverged(converge)
	st := late.g.Stats()
	t.Logf("late node caught up with 27 MiB in %v: %d keys, %d chunked transfers; received %v (reassembled messages count as their own type too)",
		time.Since(start).Round(time.Millisecond), st.KeysReceived, st.TransfersDone, st.Received)
	if late.r.Len("huge") != 22 || len(late.r.Keys()) != 152 {
		t.Errorf("late node holds %d keys, huge has %d elements", len(late.r.Keys()), late.r.Len("huge"))
	}
	if st.TransfersDone == 0 {
		t.Error("no chunked transfer: the huge key cannot have fit one stream message")
	}
}
