package crdt

import (
	"errors"
	"math"
	"testing"
)

// A peer's count of MaxUint64 for some replica saturates the value but
// never freezes another replica's Inc or Dec (issue 9, finding 1: it made
// Inc fail with ErrOverflow on every node).
func TestCountersHostileCountDoesNotFreezeInc(t *testing.T) {
	hostile := NewGCounter()
	if _, err := hostile.Inc("evil", math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	g := NewGCounter()
	mustGInc(t, g, "me", 1)
	g.Merge(hostile)
	if _, err := g.Inc("me", 1); err != nil {
		t.Fatalf("GCounter.Inc after merging a MaxUint64 count of another replica: %v", err)
	}
	if g.Value() != math.MaxUint64 || g.counts.Get("me") != 2 {
		t.Fatalf("got %v, want value saturated and me:2", g)
	}

	p := NewPNCounter()
	p.Merge(&PNCounter{p: *hostile, n: *hostile})
	for _, op := range []func(ReplicaID, uint64) (*PNCounter, error){p.Inc, p.Dec} {
		if _, err := op("me", 1); err != nil {
			t.Fatalf("PNCounter mutation after merging MaxUint64 counts: %v", err)
		}
	}
	big := NewPNCounter()
	if _, err := big.Inc("evil", math.MaxUint64); err != nil {
		t.Fatal(err)
	}
	p = NewPNCounter()
	p.Merge(big)
	if _, err := p.Inc("me", 1); err != nil || p.Value() != math.MaxInt64 {
		t.Fatalf("PNCounter.Inc past a hostile MaxUint64 increment: %v, value %d", err, p.Value())
	}
}

func TestCheckClaims(t *testing.T) {
	const self ReplicaID = "me"
	g := NewGCounter()
	mustGInc(t, g, self, 3)
	other := g.Clone()
	mustGInc(t, other, "peer", 9)
	if err := g.CheckClaims(other, self); err != nil {
		t.Errorf("GCounter: a peer's own count flagged: %v", err)
	}
	mustGInc(t, other, self, 1)
	if err := g.CheckClaims(other, self); !errors.Is(err, ErrIdentity) {
		t.Errorf("GCounter claiming me:4 against me:3: %v, want ErrIdentity", err)
	}

	pn := NewPNCounter()
	forged := NewPNCounter()
	if _, err := forged.Dec(self, 1); err != nil {
		t.Fatal(err)
	}
	if err := pn.CheckClaims(forged, self); !errors.Is(err, ErrIdentity) {
		t.Errorf("PNCounter claiming a decrement of me: %v, want ErrIdentity", err)
	}

	s := NewORSet[string]()
	s.Add(self, "a")
	s.Add(self, "b")
	echo := s.Clone()
	echo.Add("peer", "c")
	if err := s.CheckClaims(echo, self); err != nil {
		t.Errorf("ORSet: own adds echoed back flagged: %v", err)
	}
	for _, claim := range []Dot{{self, 3}, {self, 1 << 61}, {self, MaxCounter}} {
		bad := NewORSet[string]()
		bad.ctx.Add(claim) // a cloud dot, or the vector for counter 3
		if err := s.CheckClaims(bad, self); !errors.Is(err, ErrIdentity) {
			t.Errorf("ORSet context claiming %v against me:2: %v, want ErrIdentity", claim, err)
		}
	}

	m := NewLWWMap[string, int]()
	m.Set("peer", HLC{Wall: 5}, "k", 1)
	if _, ok := m.MaxStampBy(self); ok {
		t.Error("MaxStampBy found a write of a replica that made none")
	}
	m.Set(self, HLC{Wall: 7}, "j", 1)
	m.Set(self, HLC{Wall: 6}, "i", 1)
	if ts, ok := m.MaxStampBy(self); !ok || ts != (HLC{Wall: 7}) {
		t.Errorf("MaxStampBy = %v, %v, want wall 7", ts, ok)
	}
}

// A mutator never makes a state the decoders refuse: Add at MaxCounter
// records nothing (TryAdd says ErrOverflow) instead of issuing MaxCounter+1.
func TestORSetAddAtMaxCounter(t *testing.T) {
	s := NewORSet[string]()
	s.ctx.vv.Advance("me", MaxCounter)
	if d := s.Add("me", "x"); !d.Equal(NewORSet[string]()) || s.Contains("x") {
		t.Fatalf("Add at MaxCounter recorded %v", s)
	}
	if _, err := s.TryAdd("me", "x"); !errors.Is(err, ErrOverflow) {
		t.Fatalf("TryAdd at MaxCounter: %v, want ErrOverflow", err)
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := NewORSet[string]().UnmarshalBinary(b); err != nil {
		t.Fatalf("state after refused Add does not decode: %v", err)
	}
	s.ctx.vv.m["me"] = MaxCounter - 1
	if _, err := s.TryAdd("me", "x"); err != nil || !s.Contains("x") {
		t.Fatalf("TryAdd one below MaxCounter: %v", err)
	}
	if _, err := s.TryAdd("", "x"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("TryAdd with an empty replica: %v, want ErrInvalid", err)
	}
}
