package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
)

// holders returns the names of nodes whose set "s" contains e.
func holders(nodes []*Node, e string) []string {
	var out []string
	for _, n := range nodes {
		s, _ := ORSet[string](n, "s")
		if ok, _ := s.Contains(e); ok {
			out = append(out, n.Name())
		}
	}
	return out
}

func levelErr(t testing.TB, err error) *LevelError {
	t.Helper()
	var le *LevelError
	if !errors.As(err, &le) || !errors.Is(err, ErrLevelNotMet) {
		t.Fatalf("error %v, want a *LevelError matching ErrLevelNotMet", err)
	}
	return le
}

// TestWriteMajority: with a minority cut off a majority write succeeds and
// a majority holds it when it returns; with a majority cut off it times out
// saying how many acknowledged, is applied locally all the same, and
// reaches everyone after the heal.
func TestWriteMajority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 5)
		n0 := c.nodes[0]
		s0, _ := ORSet[string](n0, "s")
		ctx := context.Background()

		must(t, s0.Add(ctx, "all-up", WriteMajority(time.Second)))
		if h := holders(c.nodes, "all-up"); len(h) < 3 {
			t.Fatalf("majority write returned with holders %v", h)
		}

		c.net.Partition([]string{"n0", "n1", "n2"}, []string{"n3", "n4"})
		must(t, s0.Add(ctx, "minority-down", WriteMajority(time.Second)))
		if h := holders(c.nodes, "minority-down"); len(h) < 3 || slices.Contains(h, "n3") || slices.Contains(h, "n4") {
			t.Fatalf("holders %v, want n0-n2", h)
		}
		c.net.Heal()
		c.waitMembers(5)

		c.net.Partition([]string{"n0", "n1"}, []string{"n2", "n3", "n4"})
		err := s0.Add(ctx, "majority-down", WriteMajority(500*time.Millisecond))
		le := levelErr(t, err)
		if le.Op != "write" || le.Got != 2 || le.Need != 3 || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v (%+v), want write 2 of 3 by deadline", err, le)
		}
		if h := holders(c.nodes, "majority-down"); !slices.Equal(h, []string{"n0", "n1"}) {
			t.Fatalf("holders %v, want n0 and n1", h)
		}
		c.net.Heal()
		waitFor(t, time.Minute, func() bool { return len(holders(c.nodes, "majority-down")) == 5 })
	})
}

// TestMajorityReadSeesAcknowledgedWrites (after Jepsen): during a short
// partition the majority side's majority writes succeed and the minority
// side's fail; every write is one or the other. Right after the heal a
// minority node lacks the acknowledged writes locally, and its majority
// read returns all of them.
func TestMajorityReadSeesAcknowledgedWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 5)
		ctx := context.Background()
		c.net.Partition([]string{"n0", "n1", "n2"}, []string{"n3", "n4"})
		var acked, failed []string
		done := make(chan error)
		s3, _ := ORSet[string](c.nodes[3], "s")
		go func() { done <- s3.Add(ctx, "minority", WriteMajority(300*time.Millisecond)) }()
		for i := range 6 {
			s, _ := ORSet[string](c.nodes[i%3], "s")
			e := fmt.Sprintf("w%d", i)
			if err := s.Add(ctx, e, WriteMajority(300*time.Millisecond)); err != nil {
				failed = append(failed, e)
				continue
			}
			acked = append(acked, e)
		}
		if err := <-done; err != nil {
			levelErr(t, err)
			failed = append(failed, "minority")
		} else {
			acked = append(acked, "minority")
		}
		if len(acked)+len(failed) != 7 || len(acked) != 6 {
			t.Fatalf("acked %v failed %v; want the 6 majority-side writes acked", acked, failed)
		}
		c.net.Heal()

		s4, _ := ORSet[string](c.nodes[4], "s")
		before, _ := s4.Elements()
		for _, e := range acked {
			if slices.Contains(before, e) {
				t.Fatalf("n4 already holds %s before the read (%v): the test shows nothing", e, before)
			}
		}
		got, err := s4.Read(ctx, ReadMajority(time.Second))
		must(t, err)
		for _, e := range acked {
			if !slices.Contains(got, e) {
				t.Errorf("majority read %v misses acknowledged %s", got, e)
			}
		}
		if local, _ := s4.Elements(); !slices.Equal(local, got) {
			t.Errorf("read returned %v but kept %v locally", got, local)
		}
	})
}

// TestReached: a local update's Receipt reports when n members hold it,
// checked against their state, without sending the update again.
func TestReached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 4)
		n0 := c.nodes[0]
		s0, _ := ORSet[string](n0, "s")
		ctx := context.Background()
		c.net.Partition([]string{"n0", "n1"}, []string{"n2", "n3"})
		var rc Receipt
		must(t, s0.Add(ctx, "x", Track(&rc)))
		if rc.Key() != "s" {
			t.Fatalf("receipt key %q", rc.Key())
		}
		c2, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		must(t, n0.Reached(c2, rc, 2))
		if h := holders(c.nodes, "x"); !slices.Contains(h, "n1") {
			t.Fatalf("Reached(2) returned but holders are %v", h)
		}
		c3, cancel3 := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel3()
		le := levelErr(t, n0.Reached(c3, rc, 3))
		if le.Got != 2 || le.Need != 3 {
			t.Fatalf("Reached(3) across the partition: %+v, want 2 of 3", le)
		}
		if h := holders(c.nodes, "x"); len(h) != 2 {
			t.Fatalf("holders %v while Reached(3) failed", h)
		}
		c.net.Heal()
		c4, cancel4 := context.WithTimeout(ctx, time.Minute)
		defer cancel4()
		must(t, n0.Reached(c4, rc, 4))
		if h := holders(c.nodes, "x"); len(h) != 4 {
			t.Fatalf("Reached(4) returned with holders %v", h)
		}
		if s := n0.GossipStats().Sent[gossip.MsgWriteReq]; s.Msgs != 0 {
			t.Errorf("Reached sent the update again: %d write requests", s.Msgs)
		}
		must(t, n0.Reached(ctx, Receipt{}, 4)) // nothing changed: nothing to wait for
	})
}

// TestWriteLevelsOnEveryHandle: every update method of every handle,
// custom types included, takes a write level; WriteAll returns when every
// node holds the update.
func TestWriteLevelsOnEveryHandle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 3)
		n := c.nodes[0]
		ctx := context.Background()
		all := WriteAll(time.Second)
		g, _ := GCounter(n, "g")
		p, _ := PNCounter(n, "p")
		s, _ := ORSet[string](n, "s")
		m, _ := LWWMap[string, int](n, "m")
		o, _ := Object[*maxReg](n, "r")
		steps := []struct {
			name  string
			do    func() error
			check func(peer *Node) bool
		}{
			{"GCounter.Inc", func() error { return g.Inc(ctx, 2, all) }, func(x *Node) bool { h, _ := GCounter(x, "g"); return h.Value() == 2 }},
			{"PNCounter.Inc", func() error { return p.Inc(ctx, 5, all) }, func(x *Node) bool { h, _ := PNCounter(x, "p"); return h.Value() == 5 }},
			{"PNCounter.Dec", func() error { return p.Dec(ctx, 1, all) }, func(x *Node) bool { h, _ := PNCounter(x, "p"); return h.Value() == 4 }},
			{"ORSet.Add", func() error { return s.Add(ctx, "e", all) }, func(x *Node) bool { h, _ := ORSet[string](x, "s"); return h.Len() == 1 }},
			{"ORSet.Remove", func() error { return s.Remove(ctx, "e", all) }, func(x *Node) bool { h, _ := ORSet[string](x, "s"); return h.Len() == 0 }},
			{"LWWMap.Set", func() error { return m.Set(ctx, "k", 1, all) }, func(x *Node) bool { h, _ := LWWMap[string, int](x, "m"); return h.Len() == 1 }},
			{"LWWMap.Delete", func() error { return m.Delete(ctx, "k", all) }, func(x *Node) bool { h, _ := LWWMap[string, int](x, "m"); return h.Len() == 0 }},
			{"Object.Update", func() error {
				return o.Update(ctx, func(v *maxReg) (*maxReg, error) { return v.Set(9) }, all)
			}, func(x *Node) bool { h, _ := Object[*maxReg](x, "r"); return h.Value().v == 9 }},
		}
		// A local write, then wait for all: no write request is sent.
		var rc Receipt
		must(t, s.Add(ctx, "local", Track(&rc)))
		must(t, n.ReachedAll(ctx, rc))
		for _, peer := range c.nodes {
			if h, _ := ORSet[string](peer, "s"); h.Len() != 1 {
				t.Fatalf("ReachedAll returned before %s held the update", peer.Name())
			}
		}
		must(t, s.Remove(ctx, "local"))
		waitFor(t, time.Minute, func() bool { return len(holders(c.nodes, "local")) == 0 })
		for _, st := range steps {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			for _, peer := range c.nodes {
				if !st.check(peer) {
					t.Errorf("%s returned before %s held it", st.name, peer.Name())
				}
			}
		}
	})
}

// TestLevelsWithoutNetwork: a single in-memory node is its own majority
// and all; more members cannot answer.
func TestLevelsWithoutNetwork(t *testing.T) {
	n := openLocal(t, Config{})
	ctx := ctxT(t)
	g, _ := GCounter(n, "g")
	must(t, g.Inc(ctx, 1, WriteMajority(time.Second)))
	must(t, g.Inc(ctx, 1, WriteAll(time.Second)))
	le := levelErr(t, g.Inc(ctx, 1, WriteTo(2, time.Second)))
	if le.Got != 1 || le.Need != 2 || g.Value() != 3 {
		t.Fatalf("%+v, value %d; want 1 of 2 and the update applied", le, g.Value())
	}
	if v, err := g.Read(ctx, ReadMajority(time.Second)); err != nil || v != 3 {
		t.Fatalf("read majority: %d, %v", v, err)
	}
	var rc Receipt
	must(t, g.Inc(ctx, 1, Track(&rc)))
	must(t, n.Reached(ctx, rc, 1))
	levelErr(t, n.Reached(ctx, rc, 2))
}
