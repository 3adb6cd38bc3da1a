package node

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/internal/wire"
)

// orsetClaim encodes an empty ORSet whose causal context claims counter c
// for replica r: the 90-byte delta of issue 9, finding 1.
func orsetClaim(r crdt.ReplicaID, c uint64) []byte {
	w := wire.NewWriter()
	w.Array(4)
	w.Uint(uint64(crdt.TagORSet))
	w.Uint(1)
	w.Array(2)
	w.Array(2)
	w.String(string(r))
	w.Uint(c)
	w.Array(0)
	w.Array(0)
	return w.Bytes()
}

// A peer cannot take over a replica's own identity: a state claiming more
// events of the victim's ID than it issued is refused, and the victim's
// later writes still reach its peers (issue 9, finding 1). On dbc6c32 the
// claim of MaxCounter was merged, the victim's next Add issued
// MaxCounter+1, and every peer refused its state from then on; a claim of
// 2^61 erased the victim's elements.
func TestNodeRefusesClaimsOnItsOwnIdentity(t *testing.T) {
	ctx := ctxT(t)
	victim := openLocal(t, Config{Name: "victim"})
	peer := openLocal(t, Config{Name: "peer"})
	set, err := ORSet[string](victim, "s")
	must(t, err)
	must(t, set.Add(ctx, "mine"))

	for _, c := range []uint64{crdt.MaxCounter, 1 << 61, 2} {
		_, err := (*replica)(victim).Merge("s", orsetClaim(victim.ReplicaID(), c))
		if !errors.Is(err, crdt.ErrIdentity) {
			t.Fatalf("claim of %d events of the victim: %v, want crdt.ErrIdentity", c, err)
		}
	}
	// A key the victim does not hold yet: any claim in its name is forged.
	if _, err := (*replica)(victim).Merge("fresh", orsetClaim(victim.ReplicaID(), 1)); !errors.Is(err, crdt.ErrIdentity) {
		t.Fatalf("claim for a new key: %v, want crdt.ErrIdentity", err)
	}
	if got := victim.Counters().IdentityClaims; got != 4 {
		t.Errorf("IdentityClaims = %d, want 4", got)
	}
	if ok, _ := set.Contains("mine"); !ok {
		t.Fatal("a refused claim erased the victim's element")
	}
	must(t, set.Add(ctx, "later"))
	must(t, ship(t, victim, peer, "s"))
	ps, err := ORSet[string](peer, "s")
	must(t, err)
	if got, err := ps.Elements(); err != nil || len(got) != 2 {
		t.Fatalf("peer holds %v, %v; want both of the victim's elements", got, err)
	}
	// The victim's own events echoed back by a peer are not a claim.
	must(t, ps.Add(ctx, "theirs"))
	must(t, ship(t, peer, victim, "s"))
	if ok, _ := set.Contains("theirs"); !ok {
		t.Fatal("echo of the victim's own state with a peer's add was refused")
	}

	// Counters: a count in the victim's name beyond its own is refused;
	// a huge count of another replica is merged and does not freeze Inc.
	c, err := GCounter(victim, "c")
	must(t, err)
	must(t, c.Inc(ctx, 1))
	forged := crdt.NewGCounter()
	_, _ = forged.Inc(victim.ReplicaID(), 5)
	blob, _ := forged.MarshalBinary()
	if _, err := (*replica)(victim).Merge("c", blob); !errors.Is(err, crdt.ErrIdentity) {
		t.Fatalf("GCounter claiming 5 increments of the victim: %v, want crdt.ErrIdentity", err)
	}
	huge := crdt.NewGCounter()
	_, _ = huge.Inc("evil~1", math.MaxUint64)
	blob, _ = huge.MarshalBinary()
	if _, err := (*replica)(victim).Merge("c", blob); err != nil {
		t.Fatalf("GCounter with a MaxUint64 count of another replica: %v", err)
	}
	if err := c.Inc(ctx, 1); err != nil {
		t.Fatalf("Inc after a peer's MaxUint64 count: %v (frozen)", err)
	}
	if got := c.Value(); got != math.MaxUint64 {
		t.Errorf("Value = %d, want saturated", got)
	}

	// LWW-Map: a write in the victim's name stamped after its last stamp.
	m, err := LWWMap[string, string](victim, "m")
	must(t, err)
	must(t, m.Set(ctx, "k", "v"))
	fm := crdt.NewLWWMap[string, string]()
	fm.Set(victim.ReplicaID(), crdt.HLC{Wall: time.Now().Add(time.Second).UnixNano()}, "k", "forged")
	blob, _ = fm.MarshalBinary()
	if _, err := (*replica)(victim).Merge("m", blob); !errors.Is(err, crdt.ErrIdentity) {
		t.Fatalf("LWW-Map write in the victim's name from the future: %v, want crdt.ErrIdentity", err)
	}
	if v, _, _ := m.Get("k"); v != "v" {
		t.Errorf("k = %q, want v", v)
	}
	must(t, ship(t, victim, peer, "m")) // the victim's own writes travel
	must(t, ship(t, peer, victim, "m")) // and come back without a claim
}
