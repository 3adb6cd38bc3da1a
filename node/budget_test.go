package node

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// gcounterBlob encodes a GCounter of one increment by replica r.
func gcounterBlob(t testing.TB, r crdt.ReplicaID) []byte {
	t.Helper()
	g := crdt.NewGCounter()
	if _, err := g.Inc(r, 1); err != nil {
		t.Fatal(err)
	}
	b, err := g.MarshalBinary()
	must(t, err)
	return b
}

// setBlob encodes an ORSet holding one element of size bytes, added by r
// (the element is r's ID padded with x).
func setBlob(t testing.TB, r crdt.ReplicaID, size int) []byte {
	t.Helper()
	s := crdt.NewORSet[rawValue]()
	e, err := toRaw(string(r) + strings.Repeat("x", size-len(r)))
	must(t, err)
	s.Add(r, e)
	b, err := s.MarshalBinary()
	must(t, err)
	return b
}

// A flood of blobs for new keys cannot take the objects reserved for local
// keys (issue 9, finding 4: on dbc6c32 peers filled every object and new
// handles failed with ErrTooManyObjects), and one origin cannot take more
// than its share, so other peers still create keys.
func TestBudgetsKeepRoomForLocalKeysAndOtherPeers(t *testing.T) {
	victim := openLocal(t, Config{Name: "victim", MaxObjects: 100})
	accepted := 0
	for i := range 200 {
		if _, err := (*replica)(victim).Merge(fmt.Sprint("junk-", i), gcounterBlob(t, "evil~1")); err == nil {
			accepted++
		} else if !errors.Is(err, ErrTooManyObjects) {
			t.Fatalf("flood blob %d: %v", i, err)
		}
	}
	if accepted > 90 {
		t.Fatalf("peers filled %d of 100 objects, want at most 90", accepted)
	}
	local := 0
	for ; ; local++ {
		if _, err := GCounter(victim, fmt.Sprint("local-", local)); err != nil {
			if !errors.Is(err, ErrTooManyObjects) {
				t.Fatal(err)
			}
			break
		}
	}
	if local < 10 || len(victim.Keys()) != 100 {
		t.Fatalf("after the flood, %d local keys fit, %d objects in all; want at least 10 and 100", local, len(victim.Keys()))
	}
	t.Logf("flood: %d of 200 blobs accepted, %d objects", accepted, len(victim.Keys()))

	// Per origin: evil's blobs stop at half of the peers' part; good's
	// still create keys.
	n := openLocal(t, Config{Name: "n", MaxObjects: 100})
	evil, good := gossip.Origin{Name: "evil", Epoch: 1}, gossip.Origin{Name: "good", Epoch: 1}
	accepted = 0
	for i := range 100 {
		if _, err := (*replica)(n).MergeFrom(evil, fmt.Sprint("junk-", i), gcounterBlob(t, "evil~1")); err == nil {
			accepted++
		}
	}
	if accepted != 45 {
		t.Errorf("one origin created %d objects, want its share, 45", accepted)
	}
	for i := range 20 {
		if _, err := (*replica)(n).MergeFrom(good, fmt.Sprint("good-", i), gcounterBlob(t, "good~1")); err != nil {
			t.Fatalf("honest peer's key %d after the flood: %v", i, err)
		}
	}
	if got := n.Counters().OriginShareDrops; got != 55 {
		t.Errorf("OriginShareDrops = %d, want 55", got)
	}
}

// The bytes peers' blobs may fill are bounded too, for new keys and for
// growing existing ones; local writes keep the reserve.
func TestByteBudget(t *testing.T) {
	const budget = 64 << 10
	n := openLocal(t, Config{Name: "n", MaxBytes: budget})
	sent, accepted := 0, 0
	for i := range 200 {
		b := setBlob(t, crdt.ReplicaID(fmt.Sprint("p", i%8, "~1")), 1000)
		sent += len(b)
		_, err := (*replica)(n).Merge(fmt.Sprint("k", i), b)
		if err == nil {
			accepted += len(b)
		} else if !errors.Is(err, ErrTooManyBytes) && !errors.Is(err, ErrTooManyObjects) {
			t.Fatalf("blob %d: %v", i, err)
		}
	}
	if limit := budget * 9 / 10; accepted > limit {
		t.Fatalf("peers' blobs took %d bytes, want at most %d", accepted, limit)
	}
	// Growing an existing key stops at the peers' part of the budget.
	grow := 0
	for i := range 100 {
		_, err := (*replica)(n).Merge("k0", setBlob(t, crdt.ReplicaID(fmt.Sprint("g", i, "~1")), 1000))
		if err == nil {
			grow++
		} else if !errors.Is(err, ErrTooManyBytes) {
			t.Fatalf("growth blob %d: %v", i, err)
		}
	}
	if grow == 100 {
		t.Errorf("all %d blobs grew a key: no bound", grow)
	}
	n.Digest() // exact sizes
	n.mu.Lock()
	used := n.budget.bytes
	n.mu.Unlock()
	if used > budget*9/10 {
		t.Fatalf("objects take %d bytes, peers' part %d", used, budget*9/10)
	}
	// Local writes use the reserve, then fail.
	s, err := ORSet[string](n, "mine")
	must(t, err)
	ctx := ctxT(t)
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		werr = s.Add(ctx, fmt.Sprint(i, strings.Repeat("y", 1000)))
	}
	if !errors.Is(werr, ErrTooManyBytes) {
		t.Fatalf("local writes past MaxBytes: %v, want ErrTooManyBytes", werr)
	}
	if s.Len() < 5 {
		t.Errorf("only %d local writes fit in the reserve", s.Len())
	}
	t.Logf("sent %d bytes, accepted %d for new keys and %d growths, objects take %d; %d local writes in the reserve", sent, accepted, grow, used, s.Len())
	if _, err := Open(Config{MaxBytes: -1}); !errors.Is(err, ErrConfig) {
		t.Errorf("MaxBytes -1: %v, want ErrConfig", err)
	}
}

// A member writing invented names in its headers gets one share for all of
// them, not one per name; blobs from real members keep their own share.
func TestBudgetInventedOriginsShareOneShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &testCluster{t: t, net: gossiptest.NewNetwork(1)}
		t.Cleanup(c.closeAll)
		for _, name := range []string{"a", "b"} {
			cfg := c.config(name)
			cfg.MaxObjects = 100
			n, err := Open(cfg)
			must(t, err)
			c.nodes = append(c.nodes, n)
		}
		c.join(c.nodes[1], c.nodes[0])
		c.waitMembers(2)
		a := c.nodes[0]
		accepted := 0
		for i := range 100 {
			from := gossip.Origin{Name: fmt.Sprint("invented-", i), Epoch: 1}
			if _, err := (*replica)(a).MergeFrom(from, fmt.Sprint("junk-", i), gcounterBlob(t, "evil~1")); err == nil {
				accepted++
			}
		}
		if accepted != 45 {
			t.Errorf("100 invented origins created %d objects, want one share, 45", accepted)
		}
		for i := range 20 {
			if _, err := (*replica)(a).MergeFrom(gossip.Origin{Name: "b", Epoch: 1}, fmt.Sprint("b-", i), gcounterBlob(t, "b~1")); err != nil {
				t.Fatalf("member b's key %d: %v", i, err)
			}
		}
	})
}
