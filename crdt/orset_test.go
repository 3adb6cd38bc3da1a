package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/converge-crdt/converge/internal/wire"
)

// orsetStep is one step of a scenario on named replicas of an ORSet[string].
type orsetStep struct {
	op      string   // "add", "remove", "merge" (full state), "delta" (deliver a recorded delta)
	replica string   // the replica acting or receiving
	elem    string   // add, remove
	from    string   // merge: the replica whose state is merged in
	label   string   // add, remove: name under which the delta is recorded
	deltas  []string // delta: labels of the recorded deltas to merge, in order
}

func orsetAdd(r, e, label string) orsetStep {
	return orsetStep{op: "add", replica: r, elem: e, label: label}
}
func orsetRemove(r, e, label string) orsetStep {
	return orsetStep{op: "remove", replica: r, elem: e, label: label}
}
func orsetMerge(dst, src string) orsetStep { return orsetStep{op: "merge", replica: dst, from: src} }
func orsetDeliver(dst string, ls ...string) orsetStep {
	return orsetStep{op: "delta", replica: dst, deltas: ls}
}

// runORSet plays steps on fresh replicas and returns them by name.
func runORSet(t *testing.T, steps []orsetStep) map[string]*ORSet[string] {
	t.Helper()
	reps := map[string]*ORSet[string]{}
	get := func(name string) *ORSet[string] {
		if reps[name] == nil {
			reps[name] = NewORSet[string]()
		}
		return reps[name]
	}
	deltas := map[string]*ORSet[string]{}
	for i, st := range steps {
		s := get(st.replica)
		before := s.Clone()
		switch st.op {
		case "add", "remove":
			var d *ORSet[string]
			if st.op == "add" {
				d = s.Add(ReplicaID(st.replica), st.elem)
			} else {
				d = s.Remove(st.elem)
			}
			checkDelta(t, before, s, d)
			if st.label != "" {
				deltas[st.label] = d
			}
		case "merge":
			s.Merge(get(st.from))
		case "delta":
			for _, l := range st.deltas {
				d, ok := deltas[l]
				if !ok {
					t.Fatalf("step %d: no delta %q", i, l)
				}
				s.Merge(d)
			}
		default:
			t.Fatalf("step %d: unknown op %q", i, st.op)
		}
		checkORSetInvariants(t, s)
	}
	return reps
}

func orsetSorted(s *ORSet[string]) []string { return slices.Sorted(s.All()) }

func TestORSetScenarios(t *testing.T) {
	tests := []struct {
		name  string
		steps []orsetStep
		want  map[string][]string // replica → sorted elements
	}{
		{
			name:  "add then contains",
			steps: []orsetStep{orsetAdd("a", "x", ""), orsetAdd("a", "y", "")},
			want:  map[string][]string{"a": {"x", "y"}},
		},
		{
			name: "concurrent add and remove: add wins",
			steps: []orsetStep{
				orsetAdd("a", "x", ""), orsetMerge("b", "a"),
				orsetRemove("b", "x", ""), orsetAdd("a", "x", ""), // concurrent
				orsetMerge("a", "b"), orsetMerge("b", "a"),
			},
			want: map[string][]string{"a": {"x"}, "b": {"x"}},
		},
		{
			name: "concurrent add by a replica that never saw the element survives a remove",
			steps: []orsetStep{
				orsetAdd("a", "x", ""), orsetMerge("b", "a"), orsetRemove("b", "x", ""),
				orsetAdd("c", "x", ""),
				orsetMerge("a", "b"), orsetMerge("a", "c"), orsetMerge("c", "a"),
			},
			want: map[string][]string{"a": {"x"}, "b": nil, "c": {"x"}},
		},
		{
			name: "remove after observing the add removes everywhere",
			steps: []orsetStep{
				orsetAdd("a", "x", ""), orsetAdd("a", "y", ""), orsetMerge("b", "a"),
				orsetRemove("b", "x", ""), orsetMerge("a", "b"),
			},
			want: map[string][]string{"a": {"y"}, "b": {"y"}},
		},
		{
			name: "remove then re-add",
			steps: []orsetStep{
				orsetAdd("a", "x", ""), orsetRemove("a", "x", ""), orsetAdd("a", "x", ""),
				orsetMerge("b", "a"),
			},
			want: map[string][]string{"a": {"x"}, "b": {"x"}},
		},
		{
			name: "re-add after a remove that was merged elsewhere first",
			steps: []orsetStep{
				orsetAdd("a", "x", ""), orsetMerge("b", "a"), orsetRemove("a", "x", ""),
				orsetMerge("b", "a"), orsetAdd("b", "x", ""), orsetMerge("a", "b"),
			},
			want: map[string][]string{"a": {"x"}, "b": {"x"}},
		},
		{
			name:  "remove of an absent element changes nothing",
			steps: []orsetStep{orsetAdd("a", "x", ""), orsetRemove("a", "y", ""), orsetMerge("b", "a")},
			want:  map[string][]string{"a": {"x"}, "b": {"x"}},
		},
		{
			name: "remove drops only the dots it observed",
			steps: []orsetStep{
				orsetAdd("a", "x", ""), orsetAdd("b", "x", ""), // concurrent adds
				orsetMerge("c", "a"), orsetRemove("c", "x", ""), // c saw only a's add
				orsetMerge("a", "b"), orsetMerge("a", "c"),
				orsetMerge("b", "c"), orsetMerge("c", "a"),
			},
			want: map[string][]string{"a": {"x"}, "b": {"x"}, "c": {"x"}},
		},
		{
			name: "a remove that observed both concurrent adds removes the element",
			steps: []orsetStep{
				orsetAdd("a", "x", ""), orsetAdd("b", "x", ""), orsetMerge("a", "b"),
				orsetRemove("a", "x", ""), orsetMerge("b", "a"),
			},
			want: map[string][]string{"a": nil, "b": nil},
		},
		{
			name: "deltas give the same result as states",
			steps: []orsetStep{
				orsetAdd("a", "x", "a1"), orsetAdd("a", "y", "a2"), orsetRemove("a", "x", "a3"),
				orsetDeliver("b", "a1", "a2", "a3"),
			},
			want: map[string][]string{"a": {"y"}, "b": {"y"}},
		},
		{
			name: "remove delta arriving before the add it removes",
			steps: []orsetStep{
				orsetAdd("a", "x", "a1"), orsetRemove("a", "x", "a2"),
				orsetDeliver("b", "a2", "a1"),
			},
			want: map[string][]string{"a": nil, "b": nil},
		},
		{
			name: "duplicated and reordered deltas",
			steps: []orsetStep{
				orsetAdd("a", "x", "a1"), orsetAdd("a", "y", "a2"), orsetAdd("a", "x", "a3"), orsetRemove("a", "y", "a4"),
				orsetDeliver("b", "a4", "a2", "a4", "a3", "a1", "a1", "a2"),
			},
			want: map[string][]string{"a": {"x"}, "b": {"x"}},
		},
		{
			name: "dropped delta repaired by a full-state merge",
			steps: []orsetStep{
				orsetAdd("a", "x", "a1"), orsetAdd("a", "y", "a2"), orsetRemove("a", "x", "a3"),
				orsetDeliver("b", "a3"), // a1 and a2 dropped
				orsetMerge("b", "a"),
			},
			want: map[string][]string{"a": {"y"}, "b": {"y"}},
		},
		{
			name: "add delta of a re-add supersedes the old add on the receiver",
			steps: []orsetStep{
				orsetAdd("a", "x", "a1"), orsetDeliver("b", "a1"), orsetRemove("b", "x", "b1"),
				orsetAdd("a", "x", "a2"), orsetDeliver("b", "a2"), orsetDeliver("a", "b1"),
			},
			want: map[string][]string{"a": {"x"}, "b": {"x"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reps := runORSet(t, tc.steps)
			for name, want := range tc.want {
				got := orsetSorted(reps[name])
				if !slices.Equal(got, want) {
					t.Errorf("replica %s: elements %q, want %q (state %v)", name, got, want, reps[name])
				}
				for _, e := range want {
					if !reps[name].Contains(e) {
						t.Errorf("replica %s: Contains(%q) = false", name, e)
					}
				}
				if reps[name].Len() != len(want) {
					t.Errorf("replica %s: Len %d, want %d", name, reps[name].Len(), len(want))
				}
			}
		})
	}
}

// TestORSetConvergesInEveryOrder merges the final states of three replicas
// in every order and checks that all results are Equal.
func TestORSetConvergesInEveryOrder(t *testing.T) {
	reps := runORSet(t, []orsetStep{
		orsetAdd("a", "x", ""), orsetAdd("a", "y", ""), orsetAdd("b", "x", ""), orsetMerge("c", "a"),
		orsetRemove("c", "x", ""), orsetAdd("c", "z", ""), orsetRemove("b", "x", ""), orsetAdd("b", "w", ""),
		orsetMerge("a", "b"), orsetRemove("a", "w", ""),
	})
	names := []string{"a", "b", "c"}
	var first *ORSet[string]
	for _, order := range orsetPermutations(names) {
		got := NewORSet[string]()
		for _, n := range order {
			got.Merge(reps[n])
		}
		if first == nil {
			first = got
			continue
		}
		if !got.Equal(first) {
			t.Fatalf("order %v gives %v, order %v gave %v", order, got, names, first)
		}
	}
	// x: c removed a's add after observing it and b removed its own; w: a
	// removed b's add after observing it.
	if want := []string{"y", "z"}; !slices.Equal(orsetSorted(first), want) {
		t.Fatalf("merged elements %q, want %q", orsetSorted(first), want)
	}
}

func orsetPermutations(xs []string) [][]string {
	if len(xs) <= 1 {
		return [][]string{slices.Clone(xs)}
	}
	var out [][]string
	for i := range xs {
		rest := slices.Concat(xs[:i:i], xs[i+1:])
		for _, p := range orsetPermutations(rest) {
			out = append(out, append([]string{xs[i]}, p...))
		}
	}
	return out
}

func TestORSetRemoveAbsentDeltaIsEmpty(t *testing.T) {
	s := NewORSet[string]()
	s.Add("a", "x")
	d := s.Remove("y")
	if !d.Equal(NewORSet[string]()) {
		t.Fatalf("delta of removing an absent element = %v, want empty", d)
	}
	if !s.Contains("x") || s.Len() != 1 {
		t.Fatalf("state changed: %v", s)
	}
}

func TestORSetAddInvalidArguments(t *testing.T) {
	tests := []struct {
		name    string
		replica ReplicaID
	}{
		{name: "empty replica", replica: ""},
		{name: "replica longer than the decoders accept", replica: ReplicaID(strings.Repeat("r", maxReplicaIDLen+1))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewORSet[string]()
			d := s.Add(tc.replica, "x")
			if !d.Equal(NewORSet[string]()) || !s.Equal(NewORSet[string]()) {
				t.Fatalf("Add(%q) recorded something: state %v, delta %v", tc.replica, s, d)
			}
		})
	}
	t.Run("NaN element", func(t *testing.T) {
		var nan float64
		nan /= nan * 0 // 0/0 without a constant expression
		s := NewORSet[float64]()
		if d := s.Add("a", nan); d.Len() != 0 || s.Len() != 0 {
			t.Fatalf("Add(NaN) recorded something: %v", s)
		}
	})
	t.Run("longest valid replica", func(t *testing.T) {
		s := NewORSet[string]()
		s.Add(ReplicaID(strings.Repeat("r", maxReplicaIDLen)), "x")
		if !s.Contains("x") {
			t.Fatal("Add with a 256-byte replica ID did nothing")
		}
		checkRoundTrip(t, s, NewORSet[string])
	})
}

func TestORSetZeroValue(t *testing.T) {
	var s ORSet[string]
	if s.Len() != 0 || s.Contains("x") {
		t.Fatal("zero set not empty")
	}
	s.Merge(NewORSet[string]())
	s.Remove("x")
	s.Add("a", "x")
	if !s.Contains("x") {
		t.Fatal("zero set does not take adds")
	}
	before := s.Clone()
	s.Merge(&s) // merging a set into itself changes nothing
	if !s.Equal(before) {
		t.Fatalf("s.Merge(s) changed s: %v", &s)
	}
	var z ORSet[string]
	other := NewORSet[string]()
	other.Add("b", "y")
	z.Merge(other)
	if !z.Contains("y") {
		t.Fatal("zero set does not merge")
	}
	checkRoundTrip(t, &z, NewORSet[string])
}

func TestORSetCloneIndependent(t *testing.T) {
	s := NewORSet[string]()
	s.Add("a", "x")
	s.Add("b", "y")
	s.Merge(orsetTwoDotX()) // x now holds two dots: exercises the overflow slice
	orig := s.String()
	c := s.Clone()
	if !c.Equal(s) {
		t.Fatalf("clone %v differs from %v", c, s)
	}
	c.Add("a", "z")
	c.Remove("x")
	c.Add("c", "y")
	if s.String() != orig {
		t.Fatalf("mutating the clone changed the original:\n got %s\nwant %s", s, orig)
	}
	s.Remove("y")
	if !c.Contains("y") {
		t.Fatal("mutating the original changed the clone")
	}
}

// twoDotX returns a set in which x holds two dots, from concurrent adds.
func orsetTwoDotX() *ORSet[string] {
	p, q := NewORSet[string](), NewORSet[string]()
	p.Add("p", "x")
	q.Add("q", "x")
	p.Merge(q)
	return p
}

func TestORSetMergeDoesNotMutateArgument(t *testing.T) {
	tests := []struct {
		name        string
		recv, other func() *ORSet[string]
	}{
		{
			name: "disjoint",
			recv: func() *ORSet[string] { s := NewORSet[string](); s.Add("a", "x"); return s },
			other: func() *ORSet[string] {
				s := NewORSet[string]()
				s.Add("b", "y")
				return s
			},
		},
		{
			name: "multi-dot element copied in",
			recv: NewORSet[string],
			other: func() *ORSet[string] {
				return orsetTwoDotX()
			},
		},
		{
			name: "multi-dot element joined",
			recv: func() *ORSet[string] { s := orsetTwoDotX(); s.Add("r", "x"); return s },
			other: func() *ORSet[string] {
				s := orsetTwoDotX()
				s.Add("o", "w")
				return s
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recv, other := tc.recv(), tc.other()
			before := other.String()
			recv.Merge(other)
			if other.String() != before {
				t.Fatalf("Merge mutated its argument:\n got %s\nwant %s", other, before)
			}
			// Mutate the receiver in every way; the argument must not see it.
			for e := range other.All() {
				recv.Add("z", e)
			}
			recv.Merge(orsetTwoDotX())
			for e := range other.All() {
				recv.Remove(e)
			}
			if other.String() != before {
				t.Fatalf("Merge retained its argument:\n got %s\nwant %s", other, before)
			}
		})
	}
}

func TestORSetEqualIsLatticeEquality(t *testing.T) {
	a, b := NewORSet[string](), NewORSet[string]()
	a.Add("a", "x")
	b.Add("a", "x")
	if !a.Equal(b) {
		t.Fatalf("same history not Equal: %v vs %v", a, b)
	}
	b.Add("a", "y")
	b.Remove("y")
	if a.Equal(b) {
		t.Fatalf("same elements but different contexts reported Equal: %v vs %v", a, b)
	}
	c := NewORSet[string]()
	c.Add("c", "x")
	if a.Equal(c) {
		t.Fatalf("same elements with different dots reported Equal")
	}
	// Same context, same element, same number of dots, but not the same
	// dots: x{p:1 q:1} (r's add was removed) against x{p:1 r:1}.
	mk := func(ds ...Dot) *ORSet[string] {
		s := NewORSet[string]()
		for _, d := range []Dot{{"p", 1}, {"q", 1}, {"r", 1}} {
			s.ctx.Add(d)
		}
		s.entries = map[string]dotSet{"x": makeDotSet(ds)}
		return s
	}
	if mk(Dot{"p", 1}, Dot{"q", 1}).Equal(mk(Dot{"p", 1}, Dot{"r", 1})) {
		t.Fatalf("elements with different second dots reported Equal")
	}
}

func TestORSetString(t *testing.T) {
	s := NewORSet[string]()
	s.Add("a", "y")
	s.Add("a", "x")
	s.Merge(orsetTwoDotX())
	want := "{x:[a:2 p:1 q:1] y:[a:1] | {vv:[a:2 p:1 q:1] cloud:[]}}"
	if got := s.String(); got != want {
		t.Fatalf("String() = %s, want %s", got, want)
	}
}

func TestORSetShrinksAfterRemoves(t *testing.T) {
	s := NewORSet[int]()
	for i := range 1000 {
		s.Add("a", i)
	}
	for i := range 500 {
		s.Remove(i)
	}
	if s.peak != s.Len() {
		t.Fatalf("after removing half, peak %d, len %d: map not rebuilt", s.peak, s.Len())
	}
	for i := 500; i < 1000; i++ {
		if !s.Contains(i) {
			t.Fatalf("lost %d in the rebuild", i)
		}
	}
}

// checkORSetInvariants checks the invariants the type documents.
func checkORSetInvariants[E comparable](t testing.TB, s *ORSet[E]) {
	t.Helper()
	seen := map[Dot]E{}
	for e, ds := range s.entries {
		if ds.more != nil && len(*ds.more) == 0 {
			t.Fatalf("element %v has an empty overflow slice", e)
		}
		all := ds.appendTo(nil)
		for i, d := range all {
			if i > 0 && compareDots(all[i-1], d) >= 0 {
				t.Fatalf("element %v dots not strictly sorted: %v", e, all)
			}
			if !s.ctx.Contains(d) {
				t.Fatalf("element %v dot %v not covered by context %v", e, d, &s.ctx)
			}
			if other, dup := seen[d]; dup {
				t.Fatalf("dot %v under two elements %v and %v", d, other, e)
			}
			seen[d] = e
		}
	}
	for d := range s.ctx.cloudDots() {
		if d.Counter <= s.ctx.vv.Get(d.Replica)+1 {
			t.Fatalf("context not compact: cloud dot %v, vector %v", d, s.ctx.vv.String())
		}
	}
}

// orsetModel is the add-wins specification, written with explicit event
// histories instead of dots and contexts: an add survives at a replica
// unless the replica has seen an event of the same element (a remove or a
// later add) that observed it.
type orsetModel struct {
	events []modelEvent
}

type modelEvent struct {
	elem     string
	observed map[int]bool // adds of elem live at the origin when this event happened
	isAdd    bool
}

// live returns the adds of e live for a replica that has seen the events
// in seen.
func (m *orsetModel) live(seen map[int]bool, e string) map[int]bool {
	out := map[int]bool{}
	for id := range seen {
		if ev := m.events[id]; ev.isAdd && ev.elem == e {
			out[id] = true
		}
	}
	for id := range seen {
		if ev := m.events[id]; ev.elem == e {
			for o := range ev.observed {
				delete(out, o)
			}
		}
	}
	return out
}

func (m *orsetModel) record(seen map[int]bool, e string, isAdd bool) int {
	id := len(m.events)
	m.events = append(m.events, modelEvent{elem: e, observed: m.live(seen, e), isAdd: isAdd})
	seen[id] = true
	return id
}

// orsetReplica is one replica in the randomized test: the real state and
// the model's view.
type orsetReplica struct {
	id   ReplicaID
	s    *ORSet[string]
	seen map[int]bool
}

type orsetDelta struct {
	d     *ORSet[string]
	event int
}

var orsetUniverse = []string{"a", "b", "c", "d"}

// TestORSetRandomized drives random histories on three replicas, with
// full-state merges and delta deliveries, and checks after every step that
// each replica matches the model, that every delta satisfies x ⊔ δ = m(x),
// and at the end the merge laws, encoding round trips and convergence.
//
// With more replicas than maxProbeScan, contexts are probed through their
// maps instead of a scanned copy; both paths run. Every merge checks
// MergeChanged's report. With scoped set, Merge tries to skip its pass
// over the receiver for every set, not only large ones, and each delta
// merge is compared with the full pass.
func TestORSetRandomized(t *testing.T) {
	tests := []struct {
		name     string
		replicas int
		rounds   int
		maxSteps int
		scoped   bool
	}{
		{name: "3 replicas", replicas: 3, rounds: lawRounds, maxSteps: 30},
		{name: "more replicas than the probe scans", replicas: maxProbeScan + 3, rounds: lawRounds / 4, maxSteps: 80},
		{name: "scoped delta merges", replicas: 3, rounds: lawRounds, maxSteps: 30, scoped: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.scoped {
				old := minScopedLen
				minScopedLen = 0
				t.Cleanup(func() { minScopedLen = old })
			}
			orsetRandomized(t, tc.replicas, tc.rounds, tc.maxSteps)
		})
	}
}

// orsetMergeBothWays merges y into x, trying to skip the pass over x
// whatever x's size, checks MergeChanged's report, and checks that the
// result and the report are those of a merge that makes the full pass.
func orsetMergeBothWays[E comparable](t testing.TB, x, y *ORSet[E]) {
	t.Helper()
	old := minScopedLen
	defer func() { minScopedLen = old }()
	full := x.Clone()
	minScopedLen = math.MaxInt
	fullChanged := full.MergeChanged(y)
	minScopedLen = 0
	before := x.Clone()
	mergeChecked(t, x, y)
	if !x.Equal(full) {
		t.Fatalf("merge differs from the full pass:\n x = %v\n y = %v\n x ⊔ y = %v\n full pass = %v", before, y, x, full)
	}
	if changed := !before.Equal(x); changed != fullChanged {
		t.Fatalf("full pass reported %v, state changed: %v", fullChanged, changed)
	}
}

func orsetRandomized(t *testing.T, nReplicas, rounds, maxSteps int) {
	rng := newRand(t)
	for round := range rounds {
		model := &orsetModel{}
		reps := make([]*orsetReplica, nReplicas)
		for i := range reps {
			reps[i] = &orsetReplica{id: ReplicaID(fmt.Sprint("r", i)), s: NewORSet[string](), seen: map[int]bool{}}
		}
		var deltas []orsetDelta
		steps := 5 + rng.IntN(maxSteps-5)
		for range steps {
			r := reps[rng.IntN(len(reps))]
			e := orsetUniverse[rng.IntN(len(orsetUniverse))]
			before := r.s.Clone()
			switch k := rng.IntN(10); {
			case k < 4:
				d := r.s.Add(r.id, e)
				checkDelta(t, before, r.s, d)
				deltas = append(deltas, orsetDelta{d, model.record(r.seen, e, true)})
			case k < 6:
				d := r.s.Remove(e)
				checkDelta(t, before, r.s, d)
				deltas = append(deltas, orsetDelta{d, model.record(r.seen, e, false)})
			case k < 8 && len(deltas) > 0:
				// Deliver a random earlier delta: dropped, duplicated and
				// reordered delivery all happen.
				x := deltas[rng.IntN(len(deltas))]
				orsetMergeBothWays(t, r.s, x.d)
				r.seen[x.event] = true
			default:
				src := reps[rng.IntN(len(reps))]
				orsetMergeBothWays(t, r.s, src.s)
				maps.Copy(r.seen, src.seen)
			}
			checkORSetInvariants(t, r.s)
			checkORSetModel(t, model, r, round)
		}
		checkMergeLaws(t, reps[0].s, reps[1].s, reps[2].s)
		if len(deltas) >= 3 {
			// Deltas are states too: they join into groups.
			i := rng.IntN(len(deltas))
			checkMergeLaws(t, deltas[i].d, deltas[(i+1)%len(deltas)].d, deltas[(i+2)%len(deltas)].d)
		}
		for _, r := range reps {
			checkRoundTrip(t, r.s, NewORSet[string])
		}
		for _, x := range deltas {
			checkRoundTrip(t, x.d, NewORSet[string])
		}
		states := []*ORSet[string]{}
		for _, r := range reps {
			states = append(states, r.s)
		}
		for _, x := range deltas {
			states = append(states, x.d)
		}
		checkMergeChanged(t, rng, states, NewORSet[string])
		// One anti-entropy round: everyone merges everyone; all converge.
		for _, r := range reps {
			for _, src := range reps {
				r.s.Merge(src.s)
				maps.Copy(r.seen, src.seen)
			}
		}
		for _, r := range reps {
			for _, src := range reps {
				r.s.Merge(src.s)
			}
			if !r.s.Equal(reps[0].s) {
				t.Fatalf("round %d: replicas did not converge:\n %v\n %v", round, r.s, reps[0].s)
			}
			checkORSetModel(t, model, r, round)
		}
	}
}

func checkORSetModel(t *testing.T, m *orsetModel, r *orsetReplica, round int) {
	t.Helper()
	for _, e := range orsetUniverse {
		want := len(m.live(r.seen, e)) > 0
		if got := r.s.Contains(e); got != want {
			t.Fatalf("round %d: replica %s Contains(%q) = %v, model says %v\nstate %v", round, r.id, e, got, want, r.s)
		}
	}
	n := 0
	for _, e := range orsetUniverse {
		if len(m.live(r.seen, e)) > 0 {
			n++
		}
	}
	if r.s.Len() != n {
		t.Fatalf("round %d: replica %s Len %d, model %d", round, r.id, r.s.Len(), n)
	}
}

// goldenORSet builds the state pinned by testdata/orset.golden: two
// replicas, a concurrent add (x holds two dots), a remove.
func goldenORSet() *ORSet[string] {
	a, b := NewORSet[string](), NewORSet[string]()
	a.Add("alpha", "x")
	a.Add("alpha", "y")
	a.Add("alpha", "gone")
	b.Add("beta", "x")
	a.Merge(b)
	a.Remove("gone")
	return a
}

// goldenORSetDelta builds the delta pinned by testdata/orset_delta.golden:
// a re-add whose context is a cloud (no prefix of its replica's events).
func goldenORSetDelta() *ORSet[string] {
	s := goldenORSet()
	return s.Add("alpha", "y")
}

func TestORSetGolden(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		state *ORSet[string]
	}{
		{name: "state", file: "orset.golden", state: goldenORSet()},
		{name: "delta with cloud", file: "orset_delta.golden", state: goldenORSetDelta()},
		{name: "empty", file: "orset_empty.golden", state: NewORSet[string]()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.state.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.file, b)
			got := NewORSet[string]()
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.state) {
				t.Fatalf("decoded %v, want %v", got, tc.state)
			}
		})
	}
	if d := goldenORSetDelta(); d.ctx.CloudLen() == 0 {
		t.Fatalf("golden delta has no cloud: %v", d)
	}
}

func TestORSetEncodingDeterministic(t *testing.T) {
	// The same state built in different orders (different map layouts)
	// encodes to the same bytes.
	build := func(order []int) []byte {
		s := NewORSet[string]()
		for _, i := range order {
			s.Add("a", fmt.Sprint("e", i))
		}
		// Re-adding in a fixed order makes the dots independent of order.
		for i := range order {
			s.Add("b", fmt.Sprint("e", i))
		}
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rng := newRand(t)
	order := rng.Perm(50)
	want := build(slices.Sorted(slices.Values(order)))
	for range 5 {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		if got := build(order); !bytes.Equal(got, want) {
			t.Fatalf("encoding depends on insertion order")
		}
	}
}

// TestORSetElementEncoderMatchesWire pins that the string fast path writes
// what wire.Marshal writes.
func TestORSetElementEncoderMatchesWire(t *testing.T) {
	for _, str := range []string{"", "x", strings.Repeat("s", 40)} {
		want, err := wire.Marshal(str)
		if err != nil {
			t.Fatal(err)
		}
		if fast := appendStringElem(nil, str); !bytes.Equal(fast, want) {
			t.Errorf("string of %d bytes: fast path wrote % x, wire.Marshal % x", len(str), fast, want)
		}
	}
	for _, n := range []int{31, 32, 255, 256, 65535, 65536} {
		str := strings.Repeat("s", n)
		want, _ := wire.Marshal(str)
		if fast := appendStringElem(nil, str); !bytes.Equal(fast, want) {
			t.Errorf("string of %d bytes: fast path header % x, wire.Marshal % x", n, fast[:5], want[:5])
		}
	}
}

// TestORSetStringFastPathAcceptsWhatGenericDoes pins that the string
// decoding fast path accepts exactly the inputs that the generic path
// (wire.Unmarshal, then the canonical re-encoding check) accepts.
func TestORSetStringFastPathAcceptsWhatGenericDoes(t *testing.T) {
	long := func(hdr []byte, n int) []byte { return append(hdr, bytes.Repeat([]byte{'s'}, n)...) }
	inputs := []struct {
		name string
		raw  []byte
	}{
		{"fixstr", []byte{0xa3, 'a', 'b', 'c'}},
		{"empty fixstr", []byte{0xa0}},
		{"str8 holding a short string", []byte{0xd9, 0x03, 'a', 'b', 'c'}},
		{"str8", long([]byte{0xd9, 32}, 32)},
		{"str16 holding 255 bytes", long([]byte{0xda, 0, 255}, 255)},
		{"str16", long([]byte{0xda, 1, 0}, 256)},
		{"str32 holding 256 bytes", long([]byte{0xdb, 0, 0, 1, 0}, 256)},
		{"str32", long([]byte{0xdb, 0, 1, 0, 0}, 1<<16)},
		{"bin", []byte{0xc4, 0x03, 'a', 'b', 'c'}},
		{"nil", []byte{0xc0}},
		{"integer", []byte{0x05}},
		{"array of a string", []byte{0x91, 0xa1, 'a'}},
		{"short header", []byte{0xd9}},
		{"short payload", []byte{0xa3, 'a'}},
		{"long payload", []byte{0xa1, 'a', 'b'}},
	}
	for _, tc := range inputs {
		t.Run(tc.name, func(t *testing.T) {
			_, fastOK := decodeStringElem(tc.raw)
			var s string
			genericOK := wire.Unmarshal(tc.raw, &s) == nil
			if genericOK {
				canon, err := wire.Marshal(s)
				genericOK = err == nil && bytes.Equal(canon, tc.raw)
			}
			if fastOK != genericOK {
				t.Fatalf("fast path accepts: %v, generic path: %v", fastOK, genericOK)
			}
		})
	}
}

// TestORSetEncodingSortsTrickyElements round-trips elements whose order
// by encoded bytes is easy to get wrong: shared prefixes, zero bytes,
// prefixes of each other, lengths across msgpack's string header sizes.
// The decoder refuses entries that are not strictly increasing.
func TestORSetEncodingSortsTrickyElements(t *testing.T) {
	long := strings.Repeat("p", 300)
	elems := []string{
		"", "\x00", "\x00\x00", "a", "a\x00", "a\x00\x00", "a\x00\x01", "ab", "a\xff",
		long, long + "\x00", long + "a", long + "b", long[:31], long[:32], strings.Repeat("p", 1<<16),
		"agent-00000001", "agent-00000002", "agent-0000000", "agent-000000010",
	}
	for _, n := range []int{2, 3, len(elems)} {
		s := NewORSet[string]()
		for _, e := range elems[:n] {
			s.Add("a", e)
		}
		checkRoundTrip(t, s, NewORSet[string])
	}
	// Every element sharing the whole common prefix: keys tie, full
	// comparison decides.
	s := NewORSet[string]()
	for i := range 20 {
		s.Add("a", long+strings.Repeat("\x00", i))
	}
	checkRoundTrip(t, s, NewORSet[string])
}

func TestORSetOtherElementTypes(t *testing.T) {
	type point struct {
		X, Y int64
	}
	p := NewORSet[point]()
	p.Add("a", point{1, 2})
	p.Add("a", point{-3, 4})
	p.Remove(point{1, 2})
	checkRoundTrip(t, p, NewORSet[point])

	n := NewORSet[int64]()
	for i := range int64(20) {
		n.Add("a", i*1000-5000)
	}
	checkRoundTrip(t, n, NewORSet[int64])
	if !n.Contains(-5000) || n.Contains(1) {
		t.Fatalf("int64 set wrong: %v", n)
	}
}

func TestORSetMarshalRefusesAmbiguousElements(t *testing.T) {
	s := NewORSet[any]()
	s.Add("a", int(1))
	s.Add("a", uint(1)) // a different element with the same encoding
	if _, err := s.MarshalBinary(); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("MarshalBinary = %v, want ErrDuplicate", err)
	}
	u := NewORSet[any]()
	u.Add("a", make(chan int))
	if _, err := u.MarshalBinary(); err == nil {
		t.Fatal("MarshalBinary of a channel element succeeded")
	}
}

// orsetEnc writes ORSet encodings by hand for the bad-input catalogue.
type orsetEnc struct{ w *wire.Writer }

func newORSetEnc(tag, version uint64, fields int) orsetEnc {
	e := orsetEnc{wire.NewWriter()}
	e.w.Array(fields)
	e.w.Uint(tag)
	e.w.Uint(version)
	return e
}

// ctx writes a context: vector pairs then cloud pairs, as replica, counter.
func (e orsetEnc) ctx(vv []any, cloud []any) orsetEnc {
	e.w.Array(2)
	e.pairs(vv)
	e.pairs(cloud)
	return e
}

func (e orsetEnc) pairs(xs []any) orsetEnc {
	e.w.Array(len(xs))
	for _, x := range xs {
		switch v := x.(type) {
		case string:
			e.w.String(v)
		case int:
			e.w.Uint(uint64(v))
		case uint64:
			e.w.Uint(v)
		case []byte:
			e.w.Raw(v)
		default:
			panic(fmt.Sprintf("orsetEnc: %T", x))
		}
	}
	return e
}

// entries writes the entries array header for n entries.
func (e orsetEnc) entries(n int) orsetEnc { e.w.Array(2 * n); return e }

// entry writes one element (a string, or raw bytes) and its dots.
func (e orsetEnc) entry(elem any, dots ...any) orsetEnc {
	switch v := elem.(type) {
	case string:
		e.w.String(v)
	case []byte:
		e.w.Raw(v)
	case int64:
		_ = e.w.Value(v)
	}
	return e.pairs(dots)
}

func (e orsetEnc) raw(b ...byte) orsetEnc { e.w.Raw(b); return e }
func (e orsetEnc) bytes() []byte          { return e.w.Bytes() }

func orsetDeepArray(depth int) []byte {
	b := bytes.Repeat([]byte{0x91}, depth)
	return append(b, 0x01)
}

// orsetBadInputs is the bad-input catalogue: each input must be refused
// with the given sentinel. It also seeds the fuzz test.
func orsetBadInputs() []badInput {
	valid := func() orsetEnc { return newORSetEnc(3, 1, 4).ctx([]any{"a", 2}, nil) }
	good := valid().entries(1).entry("x", "a", 1).bytes()
	return []badInput{
		{name: "empty input", in: nil, want: ErrTruncated},
		{name: "truncated", in: good[:len(good)-1], want: ErrTruncated},
		{name: "trailing byte", in: append(slices.Clone(good), 0x00), want: ErrTrailing},
		{name: "not an array", in: []byte{0x03}, want: ErrMalformed},
		{name: "wrong tag", in: newORSetEnc(1, 1, 4).ctx(nil, nil).entries(0).bytes(), want: ErrWrongType},
		{name: "unknown version", in: newORSetEnc(3, 3, 4).ctx(nil, nil).entries(0).bytes(), want: ErrVersion},
		{name: "too few fields", in: newORSetEnc(3, 1, 3).ctx(nil, nil).bytes(), want: ErrMalformed},
		{name: "too many fields", in: newORSetEnc(3, 1, 5).ctx(nil, nil).entries(0).raw(0x90).bytes(), want: ErrMalformed},
		{name: "huge entries header", in: valid().raw(0xdd, 0xff, 0xff, 0xff, 0xff).bytes(), want: ErrTooLarge},
		{name: "huge context header", in: newORSetEnc(3, 1, 4).raw(0x92, 0xdd, 0xff, 0xff, 0xff, 0xff).bytes(), want: ErrTooLarge},
		{name: "huge element string", in: valid().entries(1).raw(0xdb, 0xff, 0xff, 0xff, 0xff, 'x').bytes(), want: ErrTruncated},
		{name: "huge dots header", in: valid().entries(1).raw(0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff).bytes(), want: ErrTooLarge},
		{name: "odd entries", in: valid().raw(0x91, 0xa1, 'x').bytes(), want: ErrMalformed},
		{name: "duplicate element", in: valid().entries(2).entry("x", "a", 1).entry("x", "a", 2).bytes(), want: ErrDuplicate},
		{name: "unsorted entries", in: valid().entries(2).entry("y", "a", 1).entry("x", "a", 2).bytes(), want: ErrMalformed},
		{name: "non-canonical element", in: valid().entries(1).entry([]byte{0xd9, 0x01, 'x'}, "a", 1).bytes(), want: ErrMalformed},
		{name: "nil element", in: valid().entries(1).entry([]byte{0xc0}, "a", 1).bytes(), want: ErrMalformed},
		{name: "element of the wrong type", in: valid().entries(1).entry([]byte{0x92, 0x01, 0x02}, "a", 1).bytes(), want: ErrMalformed},
		{name: "deeply nested element", in: valid().entries(1).entry(orsetDeepArray(100), "a", 1).bytes(), want: ErrTooDeep},
		{name: "element with no dots", in: valid().entries(2).entry("x").entry("y", "a", 1).bytes(), want: ErrInvalid},
		{name: "odd dots", in: valid().entries(1).entry("x", "a").bytes(), want: ErrMalformed},
		{name: "duplicate dot in an element", in: valid().entries(1).entry("x", "a", 1, "a", 1).bytes(), want: ErrDuplicate},
		{name: "unsorted dots", in: valid().entries(1).entry("x", "a", 2, "a", 1).bytes(), want: ErrMalformed},
		{name: "same dot under two elements", in: valid().entries(2).entry("x", "a", 1).entry("y", "a", 1).bytes(), want: ErrDuplicate},
		{name: "dot not covered by the context", in: valid().entries(1).entry("x", "a", 3).bytes(), want: ErrInvalid},
		{name: "dot of a replica the context lacks", in: valid().entries(1).entry("x", "b", 1).bytes(), want: ErrInvalid},
		{name: "empty replica in a dot", in: valid().entries(1).entry("x", "", 1).bytes(), want: ErrInvalid},
		{name: "zero counter in a dot", in: valid().entries(1).entry("x", "a", 0).bytes(), want: ErrInvalid},
		{name: "counter above MaxCounter", in: newORSetEnc(3, 1, 4).ctx([]any{"a", uint64(MaxCounter)}, nil).entries(1).entry("x", "a", uint64(MaxCounter)+1).bytes(), want: ErrInvalid},
		{name: "negative counter", in: valid().entries(1).entry("x", "a", []byte{0xd0, 0xff}).bytes(), want: ErrMalformed},
		{name: "replica not a string", in: valid().entries(1).entry("x", 7, 1).bytes(), want: ErrMalformed},
		{name: "replica an array", in: valid().entries(1).entry("x", []byte{0x91, 0xa1, 'a'}, 1).bytes(), want: ErrTooDeep},
		{name: "replica too long", in: valid().entries(1).entry("x", strings.Repeat("a", maxReplicaIDLen+1), 1).bytes(), want: ErrTooLarge},
		{name: "empty replica in the context", in: newORSetEnc(3, 1, 4).ctx([]any{"", 1}, nil).entries(0).bytes(), want: ErrInvalid},
		{name: "zero counter in the context", in: newORSetEnc(3, 1, 4).ctx([]any{"a", 0}, nil).entries(0).bytes(), want: ErrInvalid},
		{name: "duplicate replica in the context", in: newORSetEnc(3, 1, 4).ctx([]any{"a", 1, "a", 2}, nil).entries(0).bytes(), want: ErrDuplicate},
		{name: "more than MaxDotsPerReplica dots of one replica", in: newORSetEnc(3, 1, 4).ctx([]any{"a", 17}, nil).entries(1).entry("x", "a", 1, "a", 2, "a", 3, "a", 4, "a", 5, "a", 6, "a", 7, "a", 8, "a", 9, "a", 10, "a", 11, "a", 12, "a", 13, "a", 14, "a", 15, "a", 16, "a", 17).bytes(), want: ErrInvalid},
		{name: "cloud dot the vector absorbs", in: newORSetEnc(3, 1, 4).ctx([]any{"a", 1}, []any{"a", 2}).entries(0).bytes(), want: ErrInvalid},
	}
}

func TestORSetUnmarshalBadInput(t *testing.T) {
	checkBadInputs(t, orsetBadInputs(), func(t *testing.T, in []byte) (any, error) {
		s := goldenORSet()
		before := s.Clone()
		err := s.UnmarshalBinary(in)
		if err != nil && !s.Equal(before) {
			t.Fatalf("failed UnmarshalBinary changed the receiver: %v", s)
		}
		t.Logf("%v", err)
		return s, err
	})
}

func TestORSetUnmarshalAcceptsCloudCoveredDot(t *testing.T) {
	// A dot the context covers through its cloud (past a gap) is valid:
	// this is what a delta looks like.
	in := newORSetEnc(3, 1, 4).ctx([]any{"a", 1}, []any{"a", 5}).entries(1).entry("x", "a", 5).bytes()
	s := NewORSet[string]()
	if err := s.UnmarshalBinary(in); err != nil {
		t.Fatal(err)
	}
	if !s.Contains("x") {
		t.Fatalf("decoded %v", s)
	}
	checkRoundTrip(t, s, NewORSet[string])
}

func TestORSetUnmarshalEveryPrefixFails(t *testing.T) {
	b, err := goldenORSet().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(b) {
		if err := NewORSet[string]().UnmarshalBinary(b[:i]); err == nil {
			t.Fatalf("prefix of %d of %d bytes decoded", i, len(b))
		}
	}
}

func TestORSetUnmarshalInterfaceElements(t *testing.T) {
	// A map element would panic as a map key; it must be an error.
	mapElem, err := wire.Marshal(map[string]int{"k": 1})
	if err != nil {
		t.Fatal(err)
	}
	in := newORSetEnc(3, 1, 4).ctx([]any{"a", 1}, nil).entries(1).entry(mapElem, "a", 1).bytes()
	if err := NewORSet[any]().UnmarshalBinary(in); !errors.Is(err, ErrInvalid) {
		t.Fatalf("map element in ORSet[any]: %v, want ErrInvalid", err)
	}
	// A NaN element is not equal to itself: no lookup could find it.
	nan := []byte{0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1}
	in = newORSetEnc(3, 1, 4).ctx([]any{"a", 1}, nil).entries(1).entry(nan, "a", 1).bytes()
	if err := NewORSet[float64]().UnmarshalBinary(in); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NaN element: %v, want ErrInvalid", err)
	}
}

func TestORSetUnmarshalBoundedAllocation(t *testing.T) {
	// A header claiming 2^32 entries, with little behind it, must fail
	// before allocating for them.
	in := newORSetEnc(3, 1, 4).ctx(nil, nil).raw(0xdd, 0xff, 0xff, 0xff, 0xfe).bytes()
	in = append(in, bytes.Repeat([]byte{0xa1}, 64)...)
	allocs := testing.AllocsPerRun(10, func() {
		_ = NewORSet[string]().UnmarshalBinary(in)
	})
	if allocs > 20 {
		t.Fatalf("%v allocations for a rejected 80-byte input", allocs)
	}
	// And a valid large encoding allocates a bounded multiple of its size.
	s := NewORSet[string]()
	for i := range 2000 {
		s.Add("a", fmt.Sprint(i))
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := NewORSet[string]().UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	if perByte := float64(alloc) / float64(len(b)); perByte > 64 {
		t.Fatalf("decoding %d bytes allocated %d bytes (%.1f per input byte)", len(b), alloc, perByte)
	}
	t.Logf("decoding %d bytes allocated %d bytes (%.1f per input byte)", len(b), alloc, float64(alloc)/float64(len(b)))
}
