package node

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// sizedCluster starts two joined nodes whose gossip layer has the given
// MaxBlob, on an in-memory network (run it inside synctest).
func sizedCluster(t *testing.T, maxBlob int) (a, b *Node) {
	t.Helper()
	c := &testCluster{t: t, net: gossiptest.NewNetwork(1)}
	t.Cleanup(c.closeAll)
	for _, name := range []string{"a", "b"} {
		cfg := c.config(name)
		cfg.Gossip.MaxBlob = maxBlob
		n, err := Open(cfg)
		if err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		c.nodes = append(c.nodes, n)
	}
	c.join(c.nodes[1], c.nodes[0])
	c.waitMembers(2)
	return c.nodes[0], c.nodes[1]
}

// TestOversizeWriteFailsBeforeChange: a write whose state or delta would be
// over what gossip can send (Gossip.MaxBlob less framing) fails with
// ErrTooLarge and changes nothing: no state, no digest, no publish error.
// Writes that fit, up to the limit, replicate. The limit follows the
// config: the same write succeeds and replicates under a larger MaxBlob.
func TestOversizeWriteFailsBeforeChange(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	tests := []struct {
		name string
		bind func(n *Node) (write func(context.Context) error) // binds the key, returns the write
	}{
		{"LWWMap.Set", func(n *Node) func(context.Context) error {
			m, err := LWWMap[string, string](n, "obj")
			must(t, err)
			return func(ctx context.Context) error { return m.Set(ctx, "k", big) }
		}},
		{"ORSet.Add", func(n *Node) func(context.Context) error {
			s, err := ORSet[string](n, "obj")
			must(t, err)
			return func(ctx context.Context) error { return s.Add(ctx, big) }
		}},
	}
	for _, tc := range tests {
		for _, maxBlob := range []int{64 << 10, 256 << 10} {
			fits := maxBlob > len(big)+1024
			t.Run(fmt.Sprintf("%s/MaxBlob %d KiB", tc.name, maxBlob>>10), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					a, b := sizedCluster(t, maxBlob)
					ctx := context.Background()
					write := tc.bind(a)
					before := a.Digest()
					err := write(ctx)
					if !fits {
						if !errors.Is(err, ErrTooLarge) {
							t.Fatalf("write of %d KiB under MaxBlob %d KiB: err %v, want ErrTooLarge", len(big)>>10, maxBlob>>10, err)
						}
						if a.Digest() != before {
							t.Error("the refused write changed the state")
						}
						if st := a.Status(); st.Counters.Updates != 0 || st.Counters.PublishErrors != 0 {
							t.Errorf("counters after a refused write: %+v", st.Counters)
						}
						return
					}
					must(t, err)
					waitConverged(t, 30*time.Second, a, b)
					if got := a.Status().Counters.PublishErrors; got != 0 {
						t.Errorf("%d publish errors", got)
					}
				})
			})
		}
	}
}

// TestWritesUpToTheLimitReplicate grows one map by many writes that each
// fit: they run in place while far from the limit and on a copy near it.
// The write that would cross the limit fails and changes nothing; every
// accepted one reaches the peer, by push or by anti-entropy.
func TestWritesUpToTheLimitReplicate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := sizedCluster(t, 64<<10)
		ctx := context.Background()
		m, err := LWWMap[int, string](a, "m")
		must(t, err)
		val := strings.Repeat("v", 3000)
		accepted := 0
		for i := range 100 {
			err := m.Set(ctx, i%30, fmt.Sprintf("%d%s", i, val)) // overwrites too
			if errors.Is(err, ErrTooLarge) {
				break
			}
			must(t, err)
			accepted++
		}
		if accepted < 15 || accepted == 100 {
			t.Fatalf("%d writes of 3 KB accepted under a 64 KiB MaxBlob", accepted)
		}
		before := a.Digest()
		if err := m.Set(ctx, 1000, val); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("a write over the limit: %v", err)
		}
		if a.Digest() != before || m.Len() != min(accepted, 30) {
			t.Fatalf("the refused write changed the state (len %d)", m.Len())
		}
		waitConverged(t, 30*time.Second, a, b)
		got, err := LWWMap[int, string](b, "m")
		must(t, err)
		if got.Len() != m.Len() {
			t.Fatalf("peer holds %d keys, writer %d", got.Len(), m.Len())
		}
		if st := a.Status(); st.Counters.PublishErrors != 0 || st.Counters.Updates != uint64(accepted) {
			t.Errorf("counters %+v, want %d updates, no publish errors", st.Counters, accepted)
		}
	})
}

// TestGrowthBoundsHold checks the growth of each built-in write (the grow
// functions) against real encodings: after random writes, with a long
// replica ID, values of many sizes and re-adds of elements with many dots,
// no write makes the state's encoding grow by more than its growth plus
// growthSlack, and no delta is larger than the old state plus that. The
// in-place path of mutateLocked relies on both.
func TestGrowthBoundsHold(t *testing.T) {
	n := openLocal(t, Config{Name: strings.Repeat("r", MaxNameLen)})
	ids := []crdt.ReplicaID{n.cfg.replica, "peer~1", crdt.ReplicaID(strings.Repeat("p", 300))}
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(what string, before, after, delta []byte, grow int) {
		t.Helper()
		if len(after) > len(before)+grow+growthSlack {
			t.Fatalf("%s: state grew from %d to %d bytes, growth bound %d+%d", what, len(before), len(after), grow, growthSlack)
		}
		if len(delta) > len(before)+grow+growthSlack {
			t.Fatalf("%s: delta of %d bytes from a state of %d, growth bound %d+%d", what, len(delta), len(before), grow, growthSlack)
		}
	}
	enc := func(o typeOps, v any) []byte {
		b, err := o.encode(v)
		must(t, err)
		return b
	}
	value := func() rawValue {
		r, err := toRaw(strings.Repeat("v", rng.IntN(3)*rng.IntN(300)))
		must(t, err)
		return r
	}

	g, pn := crdt.NewGCounter(), crdt.NewPNCounter()
	set, m := crdt.NewORSet[rawValue](), crdt.NewLWWMap[rawValue, rawValue]()
	var clock int64
	for i := range 500 {
		id := ids[rng.IntN(len(ids))]
		before := enc(gcounterOps, g)
		// Large increments, so counts take every integer width; one that
		// would overflow is refused and changes nothing.
		if d, err := g.Inc(n.cfg.replica, rng.Uint64N(1<<uint(rng.IntN(60)))); err == nil {
			check("GCounter.Inc", before, enc(gcounterOps, g), enc(gcounterOps, d), n.growCounter())
		}

		before = enc(pncounterOps, pn)
		if rng.IntN(2) == 0 {
			if dp, err := pn.Inc(n.cfg.replica, rng.Uint64N(1<<uint(rng.IntN(60)))); err == nil {
				check("PNCounter.Inc", before, enc(pncounterOps, pn), enc(pncounterOps, dp), n.growCounter())
			}
		} else {
			if dp, err := pn.Dec(n.cfg.replica, rng.Uint64N(1<<uint(rng.IntN(60)))); err == nil {
				check("PNCounter.Dec", before, enc(pncounterOps, pn), enc(pncounterOps, dp), n.growCounter())
			}
		}

		// Other replicas add too (merged), so re-adds carry many dots.
		e, _ := toRaw(rng.IntN(20))
		if id != n.cfg.replica {
			other := set.Clone()
			set.Merge(other.Add(id, e))
			continue
		}
		before = enc(orsetOps, set)
		if rng.IntN(4) == 0 {
			ds := set.Remove(e)
			check("ORSet.Remove", before, enc(orsetOps, set), enc(orsetOps, ds), 0)
		} else {
			ds := set.Add(id, e)
			check("ORSet.Add", before, enc(orsetOps, set), enc(orsetOps, ds), n.growSetAdd(e))
		}

		k, v := value(), value()
		clock += rng.Int64N(1 << 40)
		ts := crdt.HLC{Wall: clock, Logical: uint32(i)}
		before = enc(lwwmapOps, m)
		if rng.IntN(4) == 0 {
			dm := m.Delete(id, ts, k)
			check("LWWMap.Delete", before, enc(lwwmapOps, m), enc(lwwmapOps, dm), n.growMapWrite(k, ""))
		} else {
			dm := m.Set(id, ts, k, v)
			check("LWWMap.Set", before, enc(lwwmapOps, m), enc(lwwmapOps, dm), n.growMapWrite(k, v))
		}
	}
}
