package crdt

import (
	"fmt"
	"slices"
	"testing"
)

func stampAt(wall int64) HLC { return HLC{Wall: wall} }

func roundTrip[T interface {
	CRDT[T]
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}](t *testing.T, x T, fresh func() T) T {
	t.Helper()
	b, err := x.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	y := fresh()
	if err := y.UnmarshalBinary(b); err != nil {
		t.Fatalf("decode %v: %v", x, err)
	}
	if !y.Equal(x) {
		t.Fatalf("round trip %v gives %v", x, y)
	}
	return y
}

// TestPruneAkkaScenario is Akka Distributed Data's pruning test: three
// replicas write, one of them leaves, the others prune it (both at once:
// there is no coordinator), and the value stays 9, never 10, also after a
// stale copy from before the pruning is merged back.
func TestPruneAkkaScenario(t *testing.T) {
	a, b, c := NewGCounter(), NewGCounter(), NewGCounter()
	mustGInc(t, a, "a", 3)
	mustGInc(t, b, "b", 2)
	mustGInc(t, c, "c", 4)
	for _, x := range []*GCounter{a, b, c} {
		x.Merge(a)
		x.Merge(b)
		x.Merge(c)
	}
	stale := c.Clone() // c departs; a copy of its last state lives on somewhere
	da := a.Prune("c", stampAt(10))
	db := b.Prune("c", stampAt(11)) // concurrently, unaware of a's prune
	for _, x := range []*GCounter{a, b} {
		if x.Value() != 9 || slices.Contains(x.Replicas(), "c") {
			t.Fatalf("after pruning: %v, want value 9 without c", x)
		}
	}
	a.Merge(db)
	b.Merge(da)
	a.Merge(stale)
	b.Merge(stale)
	stale.Merge(a) // the stale copy itself learns the prune
	for _, x := range []*GCounter{a, b, stale} {
		if x.Value() != 9 {
			t.Fatalf("value %d after merging prunes and a stale copy, want 9: %v", x.Value(), x)
		}
		if !x.Equal(a) {
			t.Fatalf("replicas differ: %v vs %v", x, a)
		}
		roundTrip(t, x, NewGCounter)
	}
	// An increment c made that the pruners never saw is not lost: it
	// raises the record instead of adding c again.
	late := NewGCounter()
	late.Merge(stale)
	late.counts.Advance("c", 5) // as if c's last delta had reached only this copy
	late.pr = pruneSet{}
	late.resum()
	a.Merge(late)
	if a.Value() != 10 {
		t.Fatalf("value %d after c's unseen last increment, want 10: %v", a.Value(), a)
	}
	// Collecting the record after the horizon keeps the value.
	if !a.Collect(stampAt(100)) || a.Value() != 10 || len(a.pr.recs) != 0 {
		t.Fatalf("after collect: %v", a)
	}
	b.Merge(late)
	b.Merge(a) // b has not collected: a's higher floor drops b's record
	if b.Value() != 10 || !b.Equal(a) {
		t.Fatalf("uncollected %v merged with collected %v", b, a)
	}
	roundTrip(t, a, NewGCounter)
}

func TestPrunePNCounter(t *testing.T) {
	a, c := NewPNCounter(), NewPNCounter()
	if _, err := a.Inc("a", 5); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Inc("c", 7); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Dec("c", 3); err != nil {
		t.Fatal(err)
	}
	a.Merge(c)
	stale := a.Clone()
	d := a.Prune("c", stampAt(1))
	if a.Value() != 9 || slices.Contains(a.Replicas(), "c") {
		t.Fatalf("pruned %v", a)
	}
	stale.Merge(d)
	a.Merge(stale)
	if a.Value() != 9 || !a.Equal(stale) {
		t.Fatalf("%v vs %v", a, stale)
	}
	roundTrip(t, a, NewPNCounter)
	if !a.Collect(stampAt(2)) || a.Value() != 9 {
		t.Fatalf("collected %v", a)
	}
	roundTrip(t, a, NewPNCounter)
}

// TestPruneORSet: the elements of a departed replica that were removed
// stay removed when a stale copy returns; a live element added by it keeps
// the replica from being pruned past that add.
func TestPruneORSet(t *testing.T) {
	a, c := NewORSet[string](), NewORSet[string]()
	a.Add("a", "x")
	c.Add("c", "gone")
	c.Add("c", "kept")
	a.Merge(c)
	stale := a.Clone()
	a.Remove("gone")
	c.Merge(a)
	if d := a.Prune("c", stampAt(1)); d.pr.empty() {
		t.Fatalf("nothing pruned from %v", a)
	}
	// c:2 ("kept") is live, so only c:1 is folded and c stays in the vector.
	if x := a.pr.recs["c"]; x.n != 1 {
		t.Fatalf("record %v, want n=1", x)
	}
	a.Merge(stale)
	if a.Contains("gone") || !a.Contains("kept") || !a.Contains("x") {
		t.Fatalf("stale copy changed the elements: %v", a)
	}
	a.Remove("kept")
	a.Prune("c", stampAt(2))
	if slices.Contains(a.Replicas(), "c") {
		t.Fatalf("c still in the vector after its last element went: %v", a)
	}
	a.Merge(stale)
	a.Merge(c)
	if got := slices.Sorted(a.All()); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("elements %v after stale copies, want [x]: %v", got, a)
	}
	checkORSetInvariants(t, a)
	roundTrip(t, a, NewORSet[string])
	// A replica pruned while alive adds above its record.
	c.Merge(a)
	c.Add("c", "again")
	a.Merge(c)
	if !a.Contains("again") {
		t.Fatalf("add by a pruned live replica lost: %v", a)
	}
	roundTrip(t, a, NewORSet[string])
}

// churn returns a 20-agent live set and a counter after restarts agent
// restarts, each a new replica ID that re-adds its agent's element and
// increments the counter once, the departed pruned if prune is set.
func churn(restarts int, prune bool) (*ORSet[string], *GCounter) {
	s, g := NewORSet[string](), NewGCounter()
	live := make([]ReplicaID, 20)
	for i := range restarts + 20 {
		k := i % 20
		old := live[k]
		id := ReplicaID(fmt.Sprintf("agent-%02d~%013d", k, i))
		live[k] = id
		s.Add(id, fmt.Sprintf("agent-%02d", k))
		_, _ = g.Inc(id, 1)
		if prune && old != "" {
			s.Prune(old, at(int64(i)))
			g.Prune(old, at(int64(i)))
		}
	}
	return s, g
}

func encLen(t testing.TB, x interface{ MarshalBinary() ([]byte, error) }) int {
	t.Helper()
	b, err := x.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// TestPruneChurnSize measures the target: after 10,000 restarts and
// pruning, with the records collected, the live set and the counter are at
// most twice their size without churn, and their values are exact.
func TestPruneChurnSize(t *testing.T) {
	const restarts = 10_000
	s0, g0 := churn(0, false)
	s1, g1 := churn(restarts, false)
	s2, g2 := churn(restarts, true)
	sp, gp := encLen(t, s2), encLen(t, g2)
	s2.Collect(stampAt(restarts + 100))
	g2.Collect(stampAt(restarts + 100))
	t.Logf("live set: %d B without churn, %d B after %d restarts, %d B pruned (records kept), %d B collected",
		encLen(t, s0), encLen(t, s1), restarts, sp, encLen(t, s2))
	t.Logf("counter:  %d B without churn, %d B after %d restarts, %d B pruned (records kept), %d B collected",
		encLen(t, g0), encLen(t, g1), restarts, gp, encLen(t, g2))
	if s2.Len() != 20 || g2.Value() != restarts+20 {
		t.Fatalf("values: %d elements, count %d", s2.Len(), g2.Value())
	}
	if n := encLen(t, s2); n > 2*encLen(t, s0) {
		t.Errorf("pruned live set %d B, more than twice %d B", n, encLen(t, s0))
	}
	if n := encLen(t, g2); n > 2*encLen(t, g0) {
		t.Errorf("pruned counter %d B, more than twice %d B", n, encLen(t, g0))
	}
	// A stale copy from before pruning, merged within the horizon, adds
	// nothing back (here: before collection).
	s3, g3 := churn(restarts, true)
	s3.Merge(s1)
	g3.Merge(g1)
	if s3.Len() != 20 || g3.Value() != restarts+20 || encLen(t, s3) != sp || encLen(t, g3) != gp {
		t.Fatalf("stale copy changed the pruned state: %d elements, count %d, %d/%d B", s3.Len(), g3.Value(), encLen(t, s3), encLen(t, g3))
	}
}

func TestPruneDecodeRejects(t *testing.T) {
	g := NewGCounter()
	mustGInc(t, g, "a", 1)
	mustGInc(t, g, "b", 2)
	g.Prune("b", stampAt(5))
	good, _ := g.MarshalBinary()
	cases := []struct {
		name string
		mut  func(*GCounter)
	}{
		{"count and record", func(x *GCounter) { x.counts.Advance("b", 1) }},
		{"record before floor", func(x *GCounter) { x.pr.floor = stampAt(9) }},
		{"zero record", func(x *GCounter) { x.pr.recs["b"] = pruneRec{n: 0, at: stampAt(5)} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := g.Clone()
			tc.mut(x)
			b, _ := x.MarshalBinary()
			y := NewGCounter()
			if err := y.UnmarshalBinary(b); err == nil {
				t.Fatalf("decoded %v", y)
			}
		})
	}
	y := NewGCounter()
	if err := y.UnmarshalBinary(good); err != nil || !y.Equal(g) {
		t.Fatalf("good: %v %v", y, err)
	}
	// An ORSet whose vector still holds what its record folds.
	s := NewORSet[string]()
	s.Add("c", "x")
	s.Remove("x")
	s.Prune("c", stampAt(1))
	s.ctx.vv.Advance("c", 1)
	b, _ := s.MarshalBinary()
	if err := NewORSet[string]().UnmarshalBinary(b); err == nil {
		t.Fatal("decoded an ORSet whose vector repeats its prune record")
	}
}

func prunedGCounterSeeds(f *testing.F) [][]byte {
	_, g := churn(30, true)
	b1, _ := g.MarshalBinary()
	g.Collect(stampAt(10))
	b2, _ := g.MarshalBinary()
	return [][]byte{b1, b2}
}

func prunedPNCounterSeeds(f *testing.F) [][]byte {
	c := NewPNCounter()
	_, _ = c.Inc("a", 3)
	_, _ = c.Dec("b", 1)
	c.Prune("b", stampAt(1))
	b1, _ := c.MarshalBinary()
	c.Collect(stampAt(2))
	b2, _ := c.MarshalBinary()
	return [][]byte{b1, b2}
}

func prunedORSetSeeds(f *testing.F) [][]byte {
	s, _ := churn(30, true)
	b1, _ := s.MarshalBinary()
	s.Collect(stampAt(10))
	b2, _ := s.MarshalBinary()
	return [][]byte{b1, b2}
}

// TestPruneGoneShadowed: an agent restarted and re-added its element under
// a new ID before it saw its old add; PruneGone folds the old ID out all
// the same, and a replica that merges the delta keeps the element.
func TestPruneGoneShadowed(t *testing.T) {
	a, old, fresh := NewORSet[string](), NewORSet[string](), NewORSet[string]()
	old.Add("agent~1", "agent")
	fresh.Add("agent~2", "agent") // concurrent: fresh has not seen old's add
	a.Merge(old)
	a.Merge(fresh)
	if d := a.Prune("agent~1", stampAt(1)); !d.pr.empty() {
		t.Fatalf("Prune folded a live add: %v", a)
	}
	other := NewORSet[string]()
	other.Merge(old) // has seen only the old add
	d := a.PruneGone("agent~1", stampAt(1))
	if slices.Contains(a.Replicas(), "agent~1") || !a.Contains("agent") {
		t.Fatalf("after PruneGone: %v", a)
	}
	other.Merge(d)
	if !other.Contains("agent") || slices.Contains(other.Replicas(), "agent~1") {
		t.Fatalf("a replica that merged the delta: %v", other)
	}
	other.Merge(old) // the stale copy
	a.Merge(other)
	if !a.Equal(other) || a.Len() != 1 {
		t.Fatalf("%v vs %v", a, other)
	}
	checkORSetInvariants(t, a)
	roundTrip(t, a, NewORSet[string])
}

// TestLWWMapCollect: tombstones older than the cutoff go, newer ones and
// live entries stay; within the horizon a stale Set cannot come back, past
// it (the tombstone collected) it does, as LWWMap.Collect documents.
func TestLWWMapCollect(t *testing.T) {
	m := NewLWWMap[string, int]()
	m.Set("a", stampAt(1), "k", 1)
	stale := m.Clone()
	m.Delete("a", stampAt(2), "k")
	m.Set("a", stampAt(3), "live", 1)
	m.Delete("a", stampAt(5), "late")
	if m.Collect(stampAt(2)) {
		t.Fatal("collected a tombstone stamped at the cutoff")
	}
	within := m.Clone()
	within.Merge(stale)
	if _, ok := within.Get("k"); ok {
		t.Fatal("stale Set resurrected a key within the horizon")
	}
	if !m.Collect(stampAt(3)) || m.Len() != 1 {
		t.Fatalf("after collect: %v", m)
	}
	if _, _, ok := m.Stamp("k"); ok {
		t.Fatalf("tombstone of k still there: %v", m)
	}
	if _, _, ok := m.Stamp("late"); !ok {
		t.Fatalf("newer tombstone collected: %v", m)
	}
	m.Merge(stale)
	if v, ok := m.Get("k"); !ok || v != 1 {
		t.Fatalf("past the horizon the stale Set returns (documented); got %v %v", v, ok)
	}
}
