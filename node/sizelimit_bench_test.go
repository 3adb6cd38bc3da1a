package node

import (
	"context"
	"fmt"
	"testing"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// BenchmarkSizeCheckedWrite measures an LWW-Map Set on a networked node
// (gossip on an in-memory network, alone) holding 1000 entries of about 50
// bytes, with the oversize check on each write. Each write overwrites an
// entry with one of the same size. "far" has the default MaxBlob: writes
// run in place. "near" has room for 20 KB more: the size bound, which
// grows with every write, reaches the limit every hundred writes or so and
// is made exact by one encoding. "edge" has room for 100 bytes, less than
// a write's growth bound: every write runs on a copy that is encoded to
// check its size. The ratios are the price of writing near the limit.
func BenchmarkSizeCheckedWrite(b *testing.B) {
	ctx := context.Background()
	fill := func(b *testing.B, n *Node) *LWWMapHandle[string, string] {
		m, _ := LWWMap[string, string](n, "m")
		for i := range 1000 {
			if err := m.Set(ctx, fmt.Sprintf("key-%04d", i), "value-of-about-fifty-bytes-0123456789"); err != nil {
				b.Fatal(err)
			}
		}
		return m
	}
	c := &testCluster{t: b, net: gossiptest.NewNetwork(1)}
	probe, err := Open(c.config("w"))
	if err != nil {
		b.Fatal(err)
	}
	fill(b, probe)
	state, _, _ := (*replica)(probe).Encode("m")
	framing := gossip.DefaultMaxBlob - probe.net.MaxBlobSize("m")
	_ = probe.Close()
	for _, tc := range []struct {
		name    string
		maxBlob int
	}{{"far", 0}, {"near", len(state) + framing + 20_000}, {"edge", len(state) + framing + 100}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := c.config("w")
			if tc.maxBlob > 0 {
				cfg.Gossip.MaxBlob = tc.maxBlob
			}
			n, err := Open(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			m := fill(b, n)
			i := 0
			for b.Loop() {
				if err := m.Set(ctx, fmt.Sprintf("key-%04d", i%1000), "value-of-about-fifty-bytes-9876543210"); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
