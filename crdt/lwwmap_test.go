package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/converge-crdt/converge/internal/wire"
)

// lwwOp is one write to an LWWMap[string, string] in a table test.
type lwwOp struct {
	replica ReplicaID
	ts      HLC
	key     string
	value   string
	del     bool
}

func (op lwwOp) apply(m *LWWMap[string, string]) *LWWMap[string, string] {
	if op.del {
		return m.Delete(op.replica, op.ts, op.key)
	}
	return m.Set(op.replica, op.ts, op.key, op.value)
}

func at(wall int64) HLC { return HLC{Wall: wall} }

// permutations calls f with every ordering of ops.
func permutations(ops []lwwOp, f func([]lwwOp)) {
	var rec func(k int)
	p := append([]lwwOp(nil), ops...)
	rec = func(k int) {
		if k == len(p) {
			f(p)
			return
		}
		for i := k; i < len(p); i++ {
			p[k], p[i] = p[i], p[k]
			rec(k + 1)
			p[k], p[i] = p[i], p[k]
		}
	}
	rec(0)
}

func liveEntries[K comparable, V any](m *LWWMap[K, V]) map[K]V {
	return maps.Collect(m.All())
}

func TestLWWMapSemantics(t *testing.T) {
	tests := []struct {
		name string
		ops  []lwwOp
		want map[string]string // live entries after all ops, in any order
	}{
		{
			name: "later timestamp wins",
			ops: []lwwOp{
				{replica: "r1", ts: at(1), key: "a", value: "old"},
				{replica: "r1", ts: at(2), key: "a", value: "new"},
			},
			want: map[string]string{"a": "new"},
		},
		{
			name: "later timestamp wins over larger replica ID",
			ops: []lwwOp{
				{replica: "r9", ts: at(1), key: "a", value: "old"},
				{replica: "r1", ts: at(2), key: "a", value: "new"},
			},
			want: map[string]string{"a": "new"},
		},
		{
			name: "logical counter orders within one wall time",
			ops: []lwwOp{
				{replica: "r9", ts: HLC{Wall: 5, Logical: 0}, key: "a", value: "old"},
				{replica: "r1", ts: HLC{Wall: 5, Logical: 1}, key: "a", value: "new"},
			},
			want: map[string]string{"a": "new"},
		},
		{
			name: "equal timestamps: larger replica ID wins",
			ops: []lwwOp{
				{replica: "r1", ts: at(5), key: "a", value: "from r1"},
				{replica: "r2", ts: at(5), key: "a", value: "from r2"},
			},
			want: map[string]string{"a": "from r2"},
		},
		{
			name: "same stamp, different values: larger encoding wins",
			ops: []lwwOp{
				{replica: "r1", ts: at(5), key: "a", value: "apple"},
				{replica: "r1", ts: at(5), key: "a", value: "banana"},
			},
			want: map[string]string{"a": "banana"},
		},
		{
			name: "same stamp: encoding order, not string order (longer str header wins)",
			ops: []lwwOp{
				{replica: "r1", ts: at(5), key: "a", value: "zz"},  // a2 7a 7a
				{replica: "r1", ts: at(5), key: "a", value: "aaa"}, // a3 61 61 61
			},
			want: map[string]string{"a": "aaa"},
		},
		{
			name: "same stamp, set and delete: delete wins",
			ops: []lwwOp{
				{replica: "r1", ts: at(5), key: "a", value: "x"},
				{replica: "r1", ts: at(5), key: "a", del: true},
			},
			want: map[string]string{},
		},
		{
			name: "delete then older set does not resurrect",
			ops: []lwwOp{
				{replica: "r1", ts: at(3), key: "a", value: "x"},
				{replica: "r1", ts: at(5), key: "a", del: true},
				{replica: "r2", ts: at(4), key: "a", value: "late"},
			},
			want: map[string]string{},
		},
		{
			name: "delete then newer set revives",
			ops: []lwwOp{
				{replica: "r1", ts: at(3), key: "a", value: "x"},
				{replica: "r1", ts: at(5), key: "a", del: true},
				{replica: "r2", ts: at(6), key: "a", value: "back"},
			},
			want: map[string]string{"a": "back"},
		},
		{
			name: "delete of an absent key beats an older set",
			ops: []lwwOp{
				{replica: "r1", ts: at(5), key: "a", del: true},
				{replica: "r2", ts: at(3), key: "a", value: "x"},
			},
			want: map[string]string{},
		},
		{
			name: "keys are independent",
			ops: []lwwOp{
				{replica: "r1", ts: at(5), key: "a", value: "1"},
				{replica: "r2", ts: at(5), key: "b", value: "2"},
				{replica: "r3", ts: at(9), key: "a", del: true},
				{replica: "r1", ts: at(1), key: "c", value: "3"},
			},
			want: map[string]string{"b": "2", "c": "3"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var first *LWWMap[string, string]
			permutations(tc.ops, func(ops []lwwOp) {
				// Apply the writes in this order to one replica, and
				// their deltas in this order to another.
				m, viaDeltas := NewLWWMap[string, string](), NewLWWMap[string, string]()
				for _, op := range ops {
					viaDeltas.Merge(op.apply(m))
				}
				if got := liveEntries(m); !maps.Equal(got, tc.want) {
					t.Fatalf("order %v: got %v, want %v", ops, got, tc.want)
				}
				if m.Len() != len(tc.want) {
					t.Fatalf("order %v: Len %d, want %d", ops, m.Len(), len(tc.want))
				}
				for k, v := range tc.want {
					if got, ok := m.Get(k); !ok || got != v {
						t.Fatalf("order %v: Get(%q) = %q, %v; want %q", ops, k, got, ok, v)
					}
				}
				if !viaDeltas.Equal(m) {
					t.Fatalf("order %v: deltas give %v, writes give %v", ops, viaDeltas, m)
				}
				if first == nil {
					first = m
				} else if !m.Equal(first) {
					t.Fatalf("order %v gives %v, first order gave %v", ops, m, first)
				}
			})
		})
	}
}

func TestLWWMapGetAbsentAndDeleted(t *testing.T) {
	m := NewLWWMap[string, int64]()
	m.Set("r1", at(1), "a", 7)
	m.Delete("r1", at(2), "a")
	for _, k := range []string{"a", "never"} {
		if v, ok := m.Get(k); ok || v != 0 {
			t.Errorf("Get(%q) = %d, %v; want 0, false", k, v, ok)
		}
	}
	if m.Len() != 0 {
		t.Errorf("Len = %d, want 0", m.Len())
	}
	var zero LWWMap[string, int64] // the zero value is usable
	zero.Set("r1", at(1), "x", 1)
	if v, ok := zero.Get("x"); !ok || v != 1 {
		t.Errorf("zero value: Get = %d, %v", v, ok)
	}
}

func TestLWWMapMutatorDeltas(t *testing.T) {
	base := func() *LWWMap[string, string] {
		m := NewLWWMap[string, string]()
		m.Set("r1", at(10), "a", "x")
		m.Delete("r1", at(10), "gone")
		return m
	}
	tests := []struct {
		name      string
		op        lwwOp
		wantEmpty bool // the write loses and returns an empty delta
	}{
		{name: "newer set", op: lwwOp{replica: "r1", ts: at(11), key: "a", value: "y"}},
		{name: "set of a new key", op: lwwOp{replica: "r2", ts: at(1), key: "b", value: "y"}},
		{name: "newer delete", op: lwwOp{replica: "r2", ts: at(11), key: "a", del: true}},
		{name: "delete of an absent key", op: lwwOp{replica: "r2", ts: at(1), key: "c", del: true}},
		{name: "tie won by replica ID", op: lwwOp{replica: "r2", ts: at(10), key: "a", value: "y"}},
		{name: "older set loses", op: lwwOp{replica: "r1", ts: at(9), key: "a", value: "y"}, wantEmpty: true},
		{name: "older delete loses", op: lwwOp{replica: "r1", ts: at(9), key: "a", del: true}, wantEmpty: true},
		{name: "tie lost by replica ID", op: lwwOp{replica: "r0", ts: at(10), key: "a", value: "y"}, wantEmpty: true},
		{name: "same write again", op: lwwOp{replica: "r1", ts: at(10), key: "a", value: "x"}, wantEmpty: true},
		{name: "older set under tombstone", op: lwwOp{replica: "r1", ts: at(9), key: "gone", value: "y"}, wantEmpty: true},
		{name: "same-stamp set under tombstone", op: lwwOp{replica: "r1", ts: at(10), key: "gone", value: "y"}, wantEmpty: true},
		{name: "empty replica ignored", op: lwwOp{replica: "", ts: at(99), key: "a", value: "y"}, wantEmpty: true},
		{name: "negative wall ignored", op: lwwOp{replica: "r1", ts: at(-1), key: "z", value: "y"}, wantEmpty: true},
		{name: "oversized replica ignored", op: lwwOp{replica: ReplicaID(strings.Repeat("r", 257)), ts: at(99), key: "a", value: "y"}, wantEmpty: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := base()
			after := before.Clone()
			delta := tc.op.apply(after)
			if tc.wantEmpty {
				if !delta.Equal(NewLWWMap[string, string]()) {
					t.Fatalf("losing write returned delta %v", delta)
				}
				if !after.Equal(before) {
					t.Fatalf("losing write changed the state: %v -> %v", before, after)
				}
				return
			}
			if len(delta.entries) != 1 {
				t.Fatalf("delta %v, want exactly the written entry", delta)
			}
			if _, ok := delta.entries[tc.op.key]; !ok {
				t.Fatalf("delta %v lacks key %q", delta, tc.op.key)
			}
			if after.Equal(before) {
				t.Fatalf("winning write did not change the state")
			}
			checkDelta(t, before, after, delta)
			// The delta applied to a replica that never saw base has the
			// effect of the write alone.
			fresh := NewLWWMap[string, string]()
			tc.op.apply(fresh)
			if !delta.Equal(fresh) {
				t.Fatalf("delta %v differs from the write on an empty map %v", delta, fresh)
			}
		})
	}
	t.Run("NaN key ignored", func(t *testing.T) {
		m := NewLWWMap[float64, int]()
		if d := m.Set("r1", at(1), math.NaN(), 1); d.Len() != 0 || len(d.entries) != 0 || len(m.entries) != 0 {
			t.Fatalf("NaN key stored: %v", m)
		}
	})
}

// lwwThreeReplicas returns three replicas with overlapping, conflicting
// writes.
func lwwThreeReplicas() [3]*LWWMap[string, string] {
	a, b, c := NewLWWMap[string, string](), NewLWWMap[string, string](), NewLWWMap[string, string]()
	a.Set("a", at(1), "k", "a1")
	a.Set("a", at(4), "x", "ax")
	b.Set("b", at(1), "k", "b1") // ties with a on k; b > a wins
	b.Delete("b", at(5), "x")
	c.Set("c", at(3), "x", "cx") // older than b's delete
	c.Set("c", at(2), "y", "cy")
	c.Delete("c", at(1), "z")
	return [3]*LWWMap[string, string]{a, b, c}
}

func TestLWWMapMergeEveryOrder(t *testing.T) {
	want := map[string]string{"k": "b1", "y": "cy"}
	reps := lwwThreeReplicas()
	var first *LWWMap[string, string]
	idx := []lwwOp{{key: "0"}, {key: "1"}, {key: "2"}} // permute indices
	permutations(idx, func(order []lwwOp) {
		for _, dup := range []bool{false, true} {
			m := NewLWWMap[string, string]()
			for _, o := range order {
				r := reps[o.key[0]-'0']
				m.Merge(r)
				if dup {
					m.Merge(r)
				}
			}
			if got := liveEntries(m); !maps.Equal(got, want) {
				t.Fatalf("order %v dup %v: got %v, want %v", order, dup, got, want)
			}
			if first == nil {
				first = m
			} else if !m.Equal(first) {
				t.Fatalf("order %v dup %v: %v differs from %v", order, dup, m, first)
			}
		}
	})
	// Merging into one of the replicas in place agrees too.
	b := reps[1].Clone()
	b.Merge(reps[2])
	b.Merge(reps[0])
	if !b.Equal(first) {
		t.Fatalf("in-place merge %v differs from %v", b, first)
	}
	if first.Len() != 2 || len(first.entries) != 4 {
		t.Fatalf("merged state %v: Len %d, %d entries; want 2 live of 4", first, first.Len(), len(first.entries))
	}
}

// TestLWWMapDeltaDelivery runs three replicas that each write and ship
// their deltas over a simulated network that drops, duplicates and
// reorders. Without drops the replicas must agree once the network is
// pumped dry; with drops they must agree after one anti-entropy round of
// full-state merges.
func TestLWWMapDeltaDelivery(t *testing.T) {
	tests := []struct {
		name    string
		drop    float64 // probability a delta is lost
		dup     float64 // probability a delta is delivered twice
		reorder bool    // deliver in random order instead of send order
	}{
		{name: "reliable in order"},
		{name: "duplicated", dup: 0.5},
		{name: "reordered", reorder: true},
		{name: "duplicated and reordered", dup: 0.5, reorder: true},
		{name: "dropped", drop: 0.3},
		{name: "dropped, duplicated and reordered", drop: 0.3, dup: 0.3, reorder: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := newRand(t)
			ids := []ReplicaID{"r1", "r2", "r3"}
			reps := make([]*LWWMap[string, int64], len(ids))
			for i := range reps {
				reps[i] = NewLWWMap[string, int64]()
			}
			type msg struct {
				to    int
				delta *LWWMap[string, int64]
			}
			var queue []msg
			dropped := 0
			for step := range 300 {
				from := rng.IntN(len(reps))
				ts := at(rng.Int64N(40)) // many collisions
				key := fmt.Sprintf("k%d", rng.IntN(8))
				var d *LWWMap[string, int64]
				if rng.IntN(4) == 0 {
					d = reps[from].Delete(ids[from], ts, key)
				} else {
					d = reps[from].Set(ids[from], ts, key, int64(step))
				}
				for to := range reps {
					if to == from {
						continue
					}
					if rng.Float64() < tc.drop {
						dropped++
						continue
					}
					queue = append(queue, msg{to, d})
					if rng.Float64() < tc.dup {
						queue = append(queue, msg{to, d})
					}
				}
				// Deliver some of the queue now, the rest later.
				for len(queue) > 0 && rng.IntN(3) != 0 {
					i := 0
					if tc.reorder {
						i = rng.IntN(len(queue))
					}
					reps[queue[i].to].Merge(queue[i].delta)
					queue = append(queue[:i], queue[i+1:]...)
				}
			}
			for len(queue) > 0 {
				i := 0
				if tc.reorder {
					i = rng.IntN(len(queue))
				}
				reps[queue[i].to].Merge(queue[i].delta)
				queue = append(queue[:i], queue[i+1:]...)
			}
			if tc.drop == 0 {
				for i := 1; i < len(reps); i++ {
					if !reps[i].Equal(reps[0]) {
						t.Fatalf("without drops, replica %d differs:\n%v\n%v", i, reps[i], reps[0])
					}
				}
			}
			// One anti-entropy round: everyone pulls everyone's state.
			for i := range reps {
				for j := range reps {
					if i != j {
						reps[i].Merge(reps[j].Clone())
					}
				}
			}
			for i := 1; i < len(reps); i++ {
				if !reps[i].Equal(reps[0]) {
					t.Fatalf("after anti-entropy (%d deltas dropped), replica %d differs:\n%v\n%v", dropped, i, reps[i], reps[0])
				}
			}
		})
	}
}

func TestLWWMapCloneIndependent(t *testing.T) {
	orig := NewLWWMap[string, string]()
	orig.Set("r1", at(1), "a", "1")
	orig.Delete("r1", at(1), "b")
	snapshot := orig.Clone()
	clone := orig.Clone()

	clone.Set("r2", at(2), "a", "changed")
	clone.Set("r2", at(2), "b", "revived")
	clone.Set("r2", at(2), "c", "new")
	if !orig.Equal(snapshot) {
		t.Fatalf("changing the clone changed the original: %v", orig)
	}
	orig.Delete("r3", at(3), "a")
	if v, ok := clone.Get("a"); !ok || v != "changed" {
		t.Fatalf("changing the original changed the clone: Get(a) = %q, %v", v, ok)
	}
	if clone.Len() != 3 || orig.Len() != 0 {
		t.Fatalf("Len: clone %d (want 3), original %d (want 0)", clone.Len(), orig.Len())
	}
}

func TestLWWMapMergeDoesNotMutateArgument(t *testing.T) {
	a := NewLWWMap[string, string]()
	a.Set("r1", at(5), "k", "a")
	b := NewLWWMap[string, string]()
	b.Set("r2", at(1), "k", "b")
	b.Set("r2", at(1), "only-b", "b")
	b.Delete("r2", at(1), "dead")
	bBefore := b.Clone()

	a.Merge(b)
	if !b.Equal(bBefore) {
		t.Fatalf("Merge mutated its argument: %v", b)
	}
	// Later changes to a must not reach b through shared structure.
	a.Set("r1", at(9), "only-b", "a")
	a.Set("r1", at(9), "dead", "a")
	a.Delete("r1", at(9), "k")
	if !b.Equal(bBefore) {
		t.Fatalf("Merge retained its argument: %v", b)
	}
	// And the other way round.
	b.Set("r2", at(20), "k", "b2")
	if v, _ := a.Get("k"); v != "" {
		t.Fatalf("change to the argument reached the receiver: %q", v)
	}
	a.Merge(nil) // nil is empty
	a.Merge(a)   // self-merge is idempotent
	if a.Len() != 2 {
		t.Fatalf("Len %d after merging nil and self, want 2: %v", a.Len(), a)
	}
}

// TestLWWMapMergeIntoSmallReceiver covers Merge's path for a receiver much
// smaller than its argument, which copies the argument's table.
func TestLWWMapMergeIntoSmallReceiver(t *testing.T) {
	big := NewLWWMap[string, string]()
	for i := range 10 {
		big.Set("r1", at(5), fmt.Sprintf("k%d", i), "big")
	}
	big.Delete("r1", at(5), "dead")
	bigBefore := big.Clone()

	small := NewLWWMap[string, string]()
	small.Set("r2", at(9), "k0", "small wins")  // later than big's
	small.Set("r0", at(5), "k1", "small loses") // tie lost by replica ID
	small.Set("r2", at(1), "dead", "stays dead")
	small.Set("r2", at(1), "own", "kept")
	small.Merge(big)

	want := map[string]string{"k0": "small wins", "own": "kept"}
	for i := 1; i < 10; i++ {
		want[fmt.Sprintf("k%d", i)] = "big"
	}
	if got := liveEntries(small); !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if small.Len() != len(want) || len(small.entries) != len(want)+1 {
		t.Fatalf("Len %d with %d entries, want %d live of %d", small.Len(), len(small.entries), len(want), len(want)+1)
	}
	// The copied table is the receiver's own.
	small.Set("r3", at(99), "k5", "changed")
	small.Delete("r3", at(99), "k6")
	if !big.Equal(bigBefore) {
		t.Fatalf("changes after the merge reached the argument: %v", big)
	}
	var zero LWWMap[string, string]
	zero.Merge(big)
	if !zero.Equal(big) {
		t.Fatalf("merge into the zero value: %v, want %v", &zero, big)
	}
}

func TestLWWMapEqualIsLatticeEquality(t *testing.T) {
	tests := []struct {
		name  string
		build func(a, b *LWWMap[string, string])
		equal bool
	}{
		{name: "both empty", build: func(a, b *LWWMap[string, string]) {}, equal: true},
		{name: "same writes", equal: true, build: func(a, b *LWWMap[string, string]) {
			a.Set("r1", at(1), "k", "v")
			b.Set("r1", at(1), "k", "v")
		}},
		{name: "same value, different stamp", build: func(a, b *LWWMap[string, string]) {
			a.Set("r1", at(1), "k", "v")
			b.Set("r1", at(2), "k", "v")
		}},
		{name: "same value, different replica", build: func(a, b *LWWMap[string, string]) {
			a.Set("r1", at(1), "k", "v")
			b.Set("r2", at(1), "k", "v")
		}},
		{name: "tombstone versus nothing", build: func(a, b *LWWMap[string, string]) {
			a.Delete("r1", at(1), "k")
		}},
		{name: "different tombstones", build: func(a, b *LWWMap[string, string]) {
			a.Delete("r1", at(1), "k")
			b.Delete("r1", at(2), "k")
		}},
		{name: "same stamp, different values", build: func(a, b *LWWMap[string, string]) {
			a.Set("r1", at(1), "k", "v")
			b.Set("r1", at(1), "k", "w")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := NewLWWMap[string, string](), NewLWWMap[string, string]()
			tc.build(a, b)
			if a.Equal(b) != tc.equal || b.Equal(a) != tc.equal {
				t.Fatalf("Equal(%v, %v) = %v, want %v", a, b, a.Equal(b), tc.equal)
			}
		})
	}
}

func TestLWWMapInterfaceValuesOfDifferentTypes(t *testing.T) {
	// With V = any, two writes at one stamp may hold different dynamic
	// types; the tie rule must order them by encoding, not panic.
	a, b := NewLWWMap[string, any](), NewLWWMap[string, any]()
	a.Set("r1", at(1), "k", "text")   // a4 ...
	b.Set("r1", at(1), "k", int64(7)) // d3 ... (msgpack writes int64 in 9 bytes)
	a2, b2 := a.Clone(), b.Clone()
	a2.Merge(b)
	b2.Merge(a)
	if !a2.Equal(b2) {
		t.Fatalf("tie between types does not converge: %v vs %v", a2, b2)
	}
	if v, _ := a2.Get("k"); v != int64(7) {
		t.Fatalf("winner %v (%T), want int64 7: its encoding d3… is larger than a4…", v, v)
	}
	if a.Equal(b) || !a.Equal(a.Clone()) {
		t.Fatal("Equal wrong for values of different types")
	}
}

func TestLWWMapString(t *testing.T) {
	m := NewLWWMap[string, int64]()
	m.Set("r2", HLC{Wall: 1e9, Logical: 1}, "b", 2)
	m.Set("r1", at(0), "a", 1)
	m.Delete("r1", at(2e9), "c")
	want := "LWWMap{a=1 @1970-01-01T00:00:00Z+0/r1, b=2 @1970-01-01T00:00:01Z+1/r2, c=<deleted> @1970-01-01T00:00:02Z+0/r1}"
	for range 5 { // map iteration order must not show
		if got := m.String(); got != want {
			t.Fatalf("String() =\n%s\nwant\n%s", got, want)
		}
	}
}

// lwwValueGen draws values for the law checks; few distinct values, so
// same-stamp writes often carry equal and often different values.
type lwwValueGen[V any] func(*rand.Rand) V

type lwwStruct struct {
	Name  string
	Count int64
	Tags  []string
}

// lwwRandomHistory plays a random history on three replicas: writes with
// random stamps drawn from a small space (so timestamps, and whole stamps,
// collide often, including one replica ID writing different values at one
// stamp, as a buggy replica would), interleaved with random merges. Every
// mutation is checked against its delta, every merge against MergeChanged's
// report. It returns the replicas and the deltas.
func lwwRandomHistory[V any](t *testing.T, rng *rand.Rand, gen lwwValueGen[V]) (reps [3]*LWWMap[string, V], deltas []*LWWMap[string, V]) {
	t.Helper()
	for i := range reps {
		reps[i] = NewLWWMap[string, V]()
	}
	ids := []ReplicaID{"r1", "r2", "r3"}
	for range rng.IntN(30) {
		i := rng.IntN(3)
		m := reps[i]
		switch rng.IntN(6) {
		case 0: // merge another replica's state
			mergeChecked(t, m, reps[rng.IntN(3)])
			continue
		case 1:
			before := m.Clone()
			d := m.Delete(ids[rng.IntN(3)], HLC{Wall: rng.Int64N(6), Logical: uint32(rng.IntN(2))}, fmt.Sprintf("k%d", rng.IntN(5)))
			checkDelta(t, before, m, d)
			deltas = append(deltas, d)
		default:
			before := m.Clone()
			d := m.Set(ids[rng.IntN(3)], HLC{Wall: rng.Int64N(6), Logical: uint32(rng.IntN(2))}, fmt.Sprintf("k%d", rng.IntN(5)), gen(rng))
			checkDelta(t, before, m, d)
			deltas = append(deltas, d)
		}
	}
	return reps, deltas
}

func lwwLaws[V any](t *testing.T, gen lwwValueGen[V]) {
	rng := newRand(t)
	fresh := func() *LWWMap[string, V] { return NewLWWMap[string, V]() }
	for range lawRounds {
		reps, deltas := lwwRandomHistory(t, rng, gen)
		checkMergeLaws(t, reps[0], reps[1], reps[2])
		checkMergeChanged(t, rng, append(reps[:], deltas...), fresh)
		for _, m := range reps {
			checkRoundTrip(t, m, fresh)
			if live := len(liveEntries(m)); live != m.Len() {
				t.Fatalf("Len %d, All yields %d: %v", m.Len(), live, m)
			}
		}
		all := reps[0].Clone()
		all.Merge(reps[1])
		all.Merge(reps[2])
		checkRoundTrip(t, all, fresh)
	}
}

func TestLWWMapLaws(t *testing.T) {
	t.Run("string values", func(t *testing.T) {
		lwwLaws(t, func(r *rand.Rand) string { return []string{"", "a", "b", "zz", "aaa"}[r.IntN(5)] })
	})
	t.Run("int64 values", func(t *testing.T) {
		lwwLaws(t, func(r *rand.Rand) int64 { return []int64{0, 1, -1, 300, math.MinInt64}[r.IntN(5)] })
	})
	t.Run("float64 values incl. NaN", func(t *testing.T) {
		lwwLaws(t, func(r *rand.Rand) float64 { return []float64{0, 1.5, math.NaN(), math.Inf(-1)}[r.IntN(4)] })
	})
	t.Run("byte slice values incl. nil and empty", func(t *testing.T) {
		lwwLaws(t, func(r *rand.Rand) []byte { return [][]byte{nil, {}, {1}, {1, 2}}[r.IntN(4)] })
	})
	t.Run("map values", func(t *testing.T) {
		// Equal and ties compare encodings, which must not depend on Go's
		// random map iteration order.
		lwwLaws(t, func(r *rand.Rand) map[string]int {
			m := map[string]int{}
			for i := range r.IntN(6) {
				m[fmt.Sprintf("f%d", i)] = r.IntN(2)
			}
			return m
		})
	})
	t.Run("struct values", func(t *testing.T) {
		lwwLaws(t, func(r *rand.Rand) lwwStruct {
			s := lwwStruct{Name: []string{"x", "y"}[r.IntN(2)], Count: r.Int64N(3) - 1}
			if r.IntN(2) == 0 {
				s.Tags = []string{"t"}
			}
			return s
		})
	})
}

// lwwGoldenState is the state pinned by testdata/lwwmap.golden: live
// entries, a tombstone, a same-timestamp tie and a logical counter.
func lwwGoldenState() *LWWMap[string, string] {
	m := NewLWWMap[string, string]()
	wall := int64(1_795_000_000_000_000_000) // 2026-11-18
	m.Set("node-a", HLC{Wall: wall}, "task/1", "claimed by a")
	m.Set("node-b", HLC{Wall: wall}, "task/1", "claimed by b") // tie: b wins
	m.Set("node-a", HLC{Wall: wall, Logical: 3}, "task/2", "")
	m.Set("node-b", HLC{Wall: wall - 1}, "gone", "x")
	m.Delete("node-a", HLC{Wall: wall + 1}, "gone")
	m.Set("node-c", HLC{}, "a", "zero stamp")
	return m
}

func TestLWWMapGolden(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		state  func() interface {
			MarshalBinary() ([]byte, error)
		}
		decode func([]byte) (fmt.Stringer, error)
	}{
		{
			name:   "string to string",
			golden: "lwwmap.golden",
			state: func() interface{ MarshalBinary() ([]byte, error) } {
				return lwwGoldenState()
			},
			decode: func(b []byte) (fmt.Stringer, error) {
				m := NewLWWMap[string, string]()
				err := m.UnmarshalBinary(b)
				if err == nil && !m.Equal(lwwGoldenState()) {
					return m, fmt.Errorf("decoded %v, want %v", m, lwwGoldenState())
				}
				return m, err
			},
		},
		{
			name:   "empty",
			golden: "lwwmap_empty.golden",
			state: func() interface{ MarshalBinary() ([]byte, error) } {
				return NewLWWMap[string, string]()
			},
			decode: func(b []byte) (fmt.Stringer, error) {
				m := NewLWWMap[string, string]()
				m.Set("r", at(1), "stale", "state is replaced")
				err := m.UnmarshalBinary(b)
				if err == nil && !m.Equal(NewLWWMap[string, string]()) {
					return m, fmt.Errorf("decoded %v, want empty", m)
				}
				return m, err
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.state().MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.golden, b)
			if _, err := tc.decode(b); err != nil {
				t.Fatal(err)
			}
			tag, v, err := PeekTag(b)
			if err != nil || tag != TagLWWMap || v != formatV1 {
				t.Fatalf("PeekTag = %v, %d, %v", tag, v, err)
			}
		})
	}
}

// lwwEnc builds LWWMap encodings by hand, valid or not.
type lwwEnc struct {
	w *wire.Writer
}

func newLWWEnc(tag TypeTag, version uint64, entries int) *lwwEnc {
	e := &lwwEnc{w: wire.NewWriter()}
	e.w.Array(3)
	e.w.Uint(uint64(tag))
	e.w.Uint(version)
	e.w.Array(entries)
	return e
}

// entry writes one entry; value nil omits the value field.
func (e *lwwEnc) entry(key []byte, wall int64, logical uint64, replica string, deleted bool, value []byte) *lwwEnc {
	if value == nil {
		e.w.Array(4)
	} else {
		e.w.Array(5)
	}
	e.w.Raw(key)
	e.w.Array(2)
	e.w.Int(wall)
	e.w.Uint(logical)
	e.w.String(replica)
	e.w.Bool(deleted)
	if value != nil {
		e.w.Raw(value)
	}
	return e
}

func (e *lwwEnc) raw(b ...byte) *lwwEnc { e.w.Raw(b); return e }

func (e *lwwEnc) bytes() []byte { return e.w.Bytes() }

func mp(v any) []byte {
	b, err := wire.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func deepArray(depth int) []byte {
	return append(bytes.Repeat([]byte{0x91}, depth), 0x01)
}

// lwwBadInputs is the bad-input catalogue, shared by the decoder's table
// test and the fuzz seeds.
func lwwBadInputs() []badInput {
	valid, err := lwwGoldenState().MarshalBinary()
	if err != nil {
		panic(err)
	}
	one := func() *lwwEnc { return newLWWEnc(TagLWWMap, 1, 1) }
	return []badInput{
		{name: "empty input", in: nil, want: ErrTruncated},
		{name: "truncated", in: valid[:len(valid)-1], want: ErrTruncated},
		{name: "truncated header", in: valid[:2], want: ErrTooLarge},
		{name: "trailing byte", in: append(append([]byte(nil), valid...), 0x00), want: ErrTrailing},
		{name: "not an array", in: []byte{0xc0}, want: ErrMalformed},
		{name: "wrong tag", in: newLWWEnc(TagGCounter, 1, 0).bytes(), want: ErrWrongType, msg: "GCounter"},
		{name: "unknown version", in: newLWWEnc(TagLWWMap, 2, 0).bytes(), want: ErrVersion, msg: "version 2"},
		{name: "extra header field", in: func() []byte {
			w := wire.NewWriter()
			writeHeader(w, TagLWWMap, 2)
			w.Array(0)
			w.Array(0)
			return w.Bytes()
		}(), want: ErrMalformed, msg: "fields"},
		{name: "huge entry count", in: []byte{0x93, 0x04, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff}, want: ErrTooLarge, msg: "entries"},
		{name: "entry count past input", in: []byte{0x93, 0x04, 0x01, 0x9f, 0x94, 0xa1, 'a'}, want: ErrTooLarge},
		{name: "entry with three fields", in: one().raw(0x93, 0xa1, 'a', 0x92, 0x01, 0x00, 0xa1, 'r').bytes(), want: ErrMalformed, msg: "3 fields"},
		{name: "entry not an array", in: one().raw(0xa1, 'a', 0xa1, 'b', 0xa1, 'c', 0xa1, 'd').bytes(), want: ErrMalformed, msg: "entry"},
		{name: "duplicate key", in: newLWWEnc(TagLWWMap, 1, 2).
			entry(mp("k"), 1, 0, "r1", false, mp("v")).
			entry(mp("k"), 2, 0, "r1", false, mp("w")).bytes(), want: ErrDuplicate, msg: "twice"},
		{name: "unsorted keys", in: newLWWEnc(TagLWWMap, 1, 2).
			entry(mp("b"), 1, 0, "r1", false, mp("v")).
			entry(mp("a"), 1, 0, "r1", false, mp("v")).bytes(), want: ErrMalformed, msg: "not sorted"},
		{name: "empty replica", in: one().entry(mp("k"), 1, 0, "", false, mp("v")).bytes(), want: ErrInvalid, msg: "empty replica"},
		{name: "replica too long", in: one().entry(mp("k"), 1, 0, strings.Repeat("r", 300), false, mp("v")).bytes(), want: ErrTooLarge, msg: "replica"},
		{name: "negative wall time", in: one().entry(mp("k"), -1, 0, "r1", false, mp("v")).bytes(), want: ErrInvalid, msg: "negative"},
		{name: "logical counter past 32 bits", in: one().entry(mp("k"), 1, 1<<32, "r1", false, mp("v")).bytes(), want: ErrInvalid, msg: "logical"},
		{name: "tombstone with a value", in: one().entry(mp("k"), 1, 0, "r1", true, mp("v")).bytes(), want: ErrMalformed, msg: "tombstone"},
		{name: "live entry without a value", in: one().entry(mp("k"), 1, 0, "r1", false, nil).bytes(), want: ErrMalformed, msg: "no value"},
		{name: "deleted flag not a bool", in: one().raw(0x94, 0xa1, 'k', 0x92, 0x01, 0x00, 0xa2, 'r', '1', 0x01).bytes(), want: ErrMalformed, msg: "deleted"},
		{name: "key of the wrong type", in: one().entry(mp(int64(7)), 1, 0, "r1", false, mp("v")).bytes(), want: ErrMalformed, msg: "key"},
		{name: "value of the wrong type", in: one().entry(mp("k"), 1, 0, "r1", false, mp([]int{1})).bytes(), want: ErrMalformed, msg: "value"},
		{name: "huge array header in value", in: one().entry(mp("k"), 1, 0, "r1", false, []byte{0xdd, 0xff, 0xff, 0xff, 0xff}).bytes(), want: ErrTooLarge, msg: "value"},
		{name: "huge bin header in value", in: one().entry(mp("k"), 1, 0, "r1", false, []byte{0xc6, 0xff, 0xff, 0xff, 0xff}).bytes(), want: ErrTruncated, msg: "value"},
		{name: "huge map header in value", in: one().entry(mp("k"), 1, 0, "r1", false, []byte{0xdf, 0xff, 0xff, 0xff, 0xff}).bytes(), want: ErrTooLarge},
		{name: "huge str header in key", in: one().entry([]byte{0xdb, 0xff, 0xff, 0xff, 0xff}, 1, 0, "r1", false, mp("v")).bytes(), want: ErrTruncated, msg: "key"},
		{name: "deep nesting in value", in: one().entry(mp("k"), 1, 0, "r1", false, deepArray(1000)).bytes(), want: ErrTooDeep, msg: "value"},
		{name: "deep nesting in key", in: one().entry(deepArray(100), 1, 0, "r1", false, mp("v")).bytes(), want: ErrTooDeep, msg: "key"},
		{name: "extension type in value", in: one().entry(mp("k"), 1, 0, "r1", false, []byte{0xd4, 0x01, 0x00}).bytes(), want: ErrMalformed, msg: "0xd4"},
	}
}

func TestLWWMapUnmarshalErrors(t *testing.T) {
	checkBadInputs(t, lwwBadInputs(), func(t *testing.T, in []byte) (any, error) {
		m := lwwGoldenState()
		err := m.UnmarshalBinary(in)
		if err != nil && !m.Equal(lwwGoldenState()) {
			t.Fatalf("failed decode changed the receiver: %v", m)
		}
		return m, err
	})
}

func TestLWWMapUnmarshalKeysDecodingEqual(t *testing.T) {
	// 0x07 and 0xcc 0x07 are both 7: sorted and distinct as bytes, but
	// the same key once decoded.
	b := newLWWEnc(TagLWWMap, 1, 2).
		entry([]byte{0x07}, 1, 0, "r1", false, mp("v")).
		entry([]byte{0xcc, 0x07}, 1, 0, "r1", false, mp("w")).bytes()
	m := NewLWWMap[int64, string]()
	if err := m.UnmarshalBinary(b); !errors.Is(err, ErrDuplicate) || !strings.Contains(err.Error(), "earlier key") {
		t.Fatalf("error %v, want ErrDuplicate naming an earlier key", err)
	}
	// A NaN key could never be looked up.
	b = newLWWEnc(TagLWWMap, 1, 1).entry(mp(math.NaN()), 1, 0, "r1", false, mp("v")).bytes()
	if err := NewLWWMap[float64, string]().UnmarshalBinary(b); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NaN key: error %v, want ErrInvalid", err)
	}
}

func TestLWWMapDecodedStateDoesNotAliasInput(t *testing.T) {
	src := NewLWWMap[string, []byte]()
	src.Set("r1", at(1), "key", []byte("value bytes"))
	src.Set("r1", at(1), "other", []byte{})
	b, err := src.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	m := NewLWWMap[string, []byte]()
	if err := m.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0xc1 // the caller reuses its buffer
	}
	if !m.Equal(src) {
		t.Fatalf("decoded state changed with its input: %v", m)
	}
}

func TestLWWMapMarshalErrors(t *testing.T) {
	t.Run("keys that encode alike", func(t *testing.T) {
		// msgpack skips unexported fields: distinct keys, one encoding.
		type key struct {
			Name   string
			hidden int
		}
		m := NewLWWMap[key, string]()
		m.Set("r1", at(1), key{"k", 1}, "a")
		m.Set("r1", at(1), key{"k", 2}, "b")
		if _, err := m.MarshalBinary(); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("error %v, want ErrDuplicate", err)
		}
	})
	t.Run("unencodable value", func(t *testing.T) {
		m := NewLWWMap[string, any]()
		m.Set("r1", at(1), "k", make(chan int))
		if _, err := m.MarshalBinary(); err == nil {
			t.Fatal("encoded a channel")
		}
	})
}

// lwwDenseInput encodes n entries as small as they get: two-byte keys,
// one-byte replica IDs, tombstones or empty values.
func lwwDenseInput(n int, live bool) []byte {
	e := newLWWEnc(TagLWWMap, 1, n)
	for i := range n {
		var v []byte
		if live {
			v = mp("")
		}
		e.entry(mp(string([]byte{byte(i >> 8), byte(i)})), 0, 0, "r", !live, v)
	}
	return e.bytes()
}

func TestLWWMapDecodeAllocationBounded(t *testing.T) {
	inputs := lwwBadInputs()
	valid, _ := lwwGoldenState().MarshalBinary()
	inputs = append(inputs,
		badInput{name: "valid", in: valid},
		badInput{name: "many minimal tombstones", in: lwwDenseInput(20000, false)},
		badInput{name: "many minimal live entries", in: lwwDenseInput(20000, true)},
	)
	for _, tc := range inputs {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			m := NewLWWMap[string, string]()
			runtime.GC()
			runtime.ReadMemStats(&before)
			_ = m.UnmarshalBinary(tc.in)
			runtime.ReadMemStats(&after)
			// Fixed overhead (decoder state, error text) plus a small
			// multiple of the input.
			limit := 8<<10 + 32*uint64(len(tc.in))
			got := after.TotalAlloc - before.TotalAlloc
			if got > limit {
				t.Fatalf("decoding %d bytes allocated %d bytes, limit %d", len(tc.in), got, limit)
			}
			t.Logf("%d bytes in, %d allocated (%.1f×)", len(tc.in), got, float64(got)/float64(max(len(tc.in), 1)))
		})
	}
}

// TestLWWMapMatchesModel compares random histories against the definition:
// a key's value is that of its greatest write by (timestamp, replica,
// deleted, encoded value), whichever replica made it and in whatever order
// the replicas merged.
func TestLWWMapMatchesModel(t *testing.T) {
	rng := newRand(t)
	greater := func(a, b lwwOp) bool { // a beats b
		if c := a.ts.Compare(b.ts); c != 0 {
			return c > 0
		}
		if a.replica != b.replica {
			return a.replica > b.replica
		}
		if a.del != b.del {
			return a.del
		}
		return !a.del && bytes.Compare(mp(a.value), mp(b.value)) > 0
	}
	for range lawRounds {
		ids := []ReplicaID{"r1", "r2", "r3"}
		reps := []*LWWMap[string, string]{NewLWWMap[string, string](), NewLWWMap[string, string](), NewLWWMap[string, string]()}
		var writes []lwwOp
		for range 1 + rng.IntN(40) {
			i := rng.IntN(len(reps))
			if rng.IntN(5) == 0 {
				reps[i].Merge(reps[rng.IntN(len(reps))])
				continue
			}
			op := lwwOp{
				replica: ids[rng.IntN(3)],
				ts:      HLC{Wall: rng.Int64N(4), Logical: uint32(rng.IntN(2))},
				key:     fmt.Sprintf("k%d", rng.IntN(4)),
				value:   []string{"", "a", "b", "zz", "aaa"}[rng.IntN(5)],
				del:     rng.IntN(4) == 0,
			}
			op.apply(reps[i])
			writes = append(writes, op)
		}
		// Merge everything in a random order.
		all := NewLWWMap[string, string]()
		for _, i := range rng.Perm(len(reps)) {
			all.Merge(reps[i])
		}
		model := map[string]lwwOp{}
		for _, w := range writes {
			if cur, ok := model[w.key]; !ok || greater(w, cur) {
				model[w.key] = w
			}
		}
		want := map[string]string{}
		for k, w := range model {
			if !w.del {
				want[k] = w.value
			}
		}
		if got := liveEntries(all); !maps.Equal(got, want) {
			t.Fatalf("got %v, model %v\nwrites %v\nstate %v", got, want, writes, all)
		}
		if len(all.entries) != len(model) {
			t.Fatalf("%d entries, model has %d keys written", len(all.entries), len(model))
		}
	}
}

func TestLWWMapStamps(t *testing.T) {
	m := NewLWWMap[string, int]()
	if _, _, ok := m.Stamp("k"); ok {
		t.Fatal("Stamp of an unwritten key reports ok")
	}
	if got := m.MaxStamp(); !got.IsZero() {
		t.Fatalf("MaxStamp of an empty map = %v, want zero", got)
	}
	m.Set("a", HLC{Wall: 5}, "k", 1)
	m.Delete("b", HLC{Wall: 9, Logical: 2}, "gone")
	m.Set("c", HLC{Wall: 7}, "j", 2)
	ts, r, ok := m.Stamp("gone")
	if !ok || r != "b" || ts != (HLC{Wall: 9, Logical: 2}) {
		t.Fatalf("Stamp(gone) = %v %q %v, want 9+2 b true", ts, r, ok)
	}
	if got := m.MaxStamp(); got != (HLC{Wall: 9, Logical: 2}) {
		t.Fatalf("MaxStamp = %v, want the tombstone's 9+2", got)
	}
	// A writer that observes the stamp first always wins.
	var c Clock
	now := c.Now(1)
	if m.Set("z", now, "gone", 3).Len() != 0 {
		t.Fatal("a write behind the stamp should lose")
	}
	if _, err := c.Observe(m.MaxStamp(), 1); err != nil {
		t.Fatal(err)
	}
	if d := m.Set("z", c.Now(1), "gone", 3); d.Len() != 1 {
		t.Fatalf("a write after observing the stamp lost: delta %v", d)
	}
}
