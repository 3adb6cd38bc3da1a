package proptest_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/leanovate/gopter/gen"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/proptest"
)

// Deliberately broken CRDTs, each one bug away from a reference type. The
// kit must report every one of them with the law the bug breaks: a kit that
// passes a broken type is the worst bug it can have.

// sumCounter merges by adding entries instead of taking their maximum, so a
// redelivered state counts twice.
type sumCounter struct{ counter }

func (c *sumCounter) Merge(o *sumCounter) {
	for r, n := range o.m {
		c.m[r] += n
	}
}
func (c *sumCounter) Clone() *sumCounter       { return &sumCounter{*c.counter.Clone()} }
func (c *sumCounter) Equal(o *sumCounter) bool { return c.counter.Equal(&o.counter) }

func sumCounterSpec() proptest.Spec[*sumCounter] {
	return proptest.Spec[*sumCounter]{
		Name: "sumCounter",
		New:  func() *sumCounter { return &sumCounter{*newCounter()} },
		Ops: []proptest.Op[*sumCounter]{
			proptest.OpOf("inc", gen.UInt64Range(1, 100), func(c *sumCounter, at proptest.Site, n uint64) (*sumCounter, error) {
				c.m[at.Replica] += n
				return &sumCounter{counter{m: map[crdt.ReplicaID]uint64{at.Replica: n}}}, nil
			}),
		},
	}
}

// arrivalRegister is an LWW register that breaks timestamp ties by arrival
// order: on a tie the receiver keeps its own value.
type arrivalRegister struct{ register }

func (g *arrivalRegister) Merge(o *arrivalRegister) {
	if o.ts > g.ts {
		g.register = o.register
	}
}
func (g *arrivalRegister) Clone() *arrivalRegister       { c := *g; return &c }
func (g *arrivalRegister) Equal(o *arrivalRegister) bool { return g.register == o.register }

func arrivalRegisterSpec() proptest.Spec[*arrivalRegister] {
	return proptest.Spec[*arrivalRegister]{
		Name: "arrivalRegister",
		New:  func() *arrivalRegister { return &arrivalRegister{} },
		Ops: []proptest.Op[*arrivalRegister]{
			proptest.OpOf("set", gen.IntRange(0, 9), func(g *arrivalRegister, at proptest.Site, v int) (*arrivalRegister, error) {
				return &arrivalRegister{*g.set(at, v)}, nil
			}),
		},
	}
}

// contextFreeORSet removes an element by deleting its adds locally: the
// remove carries no causal context (no dots, no tombstones), so its delta
// is empty and merges bring the element back.
type contextFreeORSet struct{ orset }

func (s *contextFreeORSet) Merge(o *contextFreeORSet) { s.orset.Merge(&o.orset) }
func (s *contextFreeORSet) Clone() *contextFreeORSet  { return &contextFreeORSet{*s.orset.Clone()} }
func (s *contextFreeORSet) Equal(o *contextFreeORSet) bool {
	return s.orset.Equal(&o.orset)
}

func contextFreeORSetSpec() proptest.Spec[*contextFreeORSet] {
	elem := gen.OneConstOf("a", "b", "c")
	wrap := func() *contextFreeORSet { return &contextFreeORSet{*newORSet()} }
	return proptest.Spec[*contextFreeORSet]{
		Name: "contextFreeORSet",
		New:  wrap,
		Ops: []proptest.Op[*contextFreeORSet]{
			proptest.OpOf("add", elem, func(s *contextFreeORSet, at proptest.Site, e string) (*contextFreeORSet, error) {
				return &contextFreeORSet{*s.add(at, e)}, nil
			}),
			proptest.OpOf("remove", elem, func(s *contextFreeORSet, _ proptest.Site, e string) (*contextFreeORSet, error) {
				delete(s.adds, e)
				return wrap(), nil
			}),
		},
		Observe: func(s *contextFreeORSet) any { return s.elements() },
		Model:   addWins,
	}
}

// shallowCounter's Clone copies the struct and so shares the map.
type shallowCounter struct{ counter }

func (c *shallowCounter) Merge(o *shallowCounter)      { c.counter.Merge(&o.counter) }
func (c *shallowCounter) Clone() *shallowCounter       { return &shallowCounter{c.counter} }
func (c *shallowCounter) Equal(o *shallowCounter) bool { return c.counter.Equal(&o.counter) }

// greedyCounter's Merge also writes the joined entries back into its
// argument.
type greedyCounter struct{ counter }

func (c *greedyCounter) Merge(o *greedyCounter) {
	c.counter.Merge(&o.counter)
	maps.Copy(o.m, c.m)
}
func (c *greedyCounter) Clone() *greedyCounter       { return &greedyCounter{*c.counter.Clone()} }
func (c *greedyCounter) Equal(o *greedyCounter) bool { return c.counter.Equal(&o.counter) }

// adoptingCounter's Merge into an empty counter adopts the argument's map
// instead of copying it.
type adoptingCounter struct{ counter }

func (c *adoptingCounter) Merge(o *adoptingCounter) {
	if len(c.m) == 0 {
		c.m = o.m
		return
	}
	c.counter.Merge(&o.counter)
}
func (c *adoptingCounter) Clone() *adoptingCounter       { return &adoptingCounter{*c.counter.Clone()} }
func (c *adoptingCounter) Equal(o *adoptingCounter) bool { return c.counter.Equal(&o.counter) }

// silentCounter's MergeChanged merges but always reports no change: a node
// would never forward what it learned.
type silentCounter struct{ counter }

func (c *silentCounter) Merge(o *silentCounter) { c.counter.Merge(&o.counter) }
func (c *silentCounter) MergeChanged(o *silentCounter) bool {
	c.counter.Merge(&o.counter)
	return false
}
func (c *silentCounter) Clone() *silentCounter       { return &silentCounter{*c.counter.Clone()} }
func (c *silentCounter) Equal(o *silentCounter) bool { return c.counter.Equal(&o.counter) }

// noisyCounter's MergeChanged reports a change whenever the argument has an
// entry, even one the receiver already has: deltas would circulate forever.
type noisyCounter struct{ counter }

func (c *noisyCounter) Merge(o *noisyCounter) { c.counter.Merge(&o.counter) }
func (c *noisyCounter) MergeChanged(o *noisyCounter) bool {
	c.counter.Merge(&o.counter)
	return len(o.m) > 0
}
func (c *noisyCounter) Clone() *noisyCounter       { return &noisyCounter{*c.counter.Clone()} }
func (c *noisyCounter) Equal(o *noisyCounter) bool { return c.counter.Equal(&o.counter) }

// counterOps gives a counter-shaped type the reference counter's operation.
func counterOps[T any](wrap func(counter) T, inner func(T) *counter) []proptest.Op[T] {
	return []proptest.Op[T]{
		proptest.OpOf("inc", gen.UInt64Range(1, 100), func(c T, at proptest.Site, n uint64) (T, error) {
			return wrap(*inner(c).inc(at.Replica, n)), nil
		}),
	}
}

// mapOrderSet is a grow-only set of numbers whose encoder writes the
// elements in Go map iteration order.
type mapOrderSet struct{ m map[int]bool }

func newMapOrderSet() *mapOrderSet { return &mapOrderSet{m: map[int]bool{}} }

func (s *mapOrderSet) Merge(o *mapOrderSet)      { maps.Copy(s.m, o.m) }
func (s *mapOrderSet) Clone() *mapOrderSet       { return &mapOrderSet{maps.Clone(s.m)} }
func (s *mapOrderSet) Equal(o *mapOrderSet) bool { return maps.Equal(s.m, o.m) }

func (s *mapOrderSet) MarshalBinary() ([]byte, error) {
	var b strings.Builder
	for e := range s.m {
		fmt.Fprintf(&b, "%d,", e)
	}
	return []byte(b.String()), nil
}

func (s *mapOrderSet) UnmarshalBinary(b []byte) error {
	s.m = map[int]bool{}
	for f := range strings.SplitSeq(strings.TrimSuffix(string(b), ","), ",") {
		if f == "" {
			continue
		}
		var e int
		if _, err := fmt.Sscan(f, &e); err != nil {
			return err
		}
		s.m[e] = true
	}
	return nil
}

func mapOrderSetSpec() proptest.Spec[*mapOrderSet] {
	return proptest.Spec[*mapOrderSet]{
		Name: "mapOrderSet",
		New:  newMapOrderSet,
		Ops: []proptest.Op[*mapOrderSet]{
			proptest.OpOf("add", gen.IntRange(0, 1000), func(s *mapOrderSet, _ proptest.Site, e int) (*mapOrderSet, error) {
				s.m[e] = true
				return &mapOrderSet{map[int]bool{e: true}}, nil
			}),
		},
	}
}

// counterWith makes a spec for a counter-shaped broken type.
func counterWith[T crdt.CRDT[T]](name string, wrap func(counter) T, inner func(T) *counter) proptest.Spec[T] {
	return proptest.Spec[T]{
		Name: name,
		New:  func() T { return wrap(*newCounter()) },
		Ops:  counterOps(wrap, inner),
	}
}

// More bugs, beyond the ones issue 4 lists.

// maxDeltaCounter's delta carries the increment, not the new entry, so a
// replica that merges it by maximum loses earlier increments.
func maxDeltaCounterSpec() proptest.Spec[*counter] {
	s := counterSpec()
	s.Name = "maxDeltaCounter"
	s.Ops = []proptest.Op[*counter]{
		proptest.OpOf("inc", gen.UInt64Range(1, 100), func(c *counter, at proptest.Site, n uint64) (*counter, error) {
			c.m[at.Replica] += n
			return &counter{m: map[crdt.ReplicaID]uint64{at.Replica: n}}, nil
		}),
	}
	return s
}

// resetCounter has a reset that zeroes the replica's own entry: it
// deflates, and merges undo it.
func resetCounterSpec() proptest.Spec[*counter] {
	s := counterSpec()
	s.Name = "resetCounter"
	s.Model, s.Observe = nil, nil
	s.Ops = append(s.Ops, proptest.OpOf("reset", nil, func(c *counter, at proptest.Site, _ any) (*counter, error) {
		c.m[at.Replica] = 0
		return &counter{m: map[crdt.ReplicaID]uint64{at.Replica: 0}}, nil
	}))
	return s
}

// leakyDeltaCounter returns a delta that shares the replica's map.
func leakyDeltaCounterSpec() proptest.Spec[*counter] {
	s := counterSpec()
	s.Name = "leakyDeltaCounter"
	s.Ops = []proptest.Op[*counter]{
		proptest.OpOf("inc", gen.UInt64Range(1, 100), func(c *counter, at proptest.Site, n uint64) (*counter, error) {
			c.m[at.Replica] += n
			return &counter{m: c.m}, nil
		}),
	}
	return s
}

// boundedCounter rejects an increment past its bound, but only after
// applying it.
func boundedCounterSpec() proptest.Spec[*counter] {
	s := counterSpec()
	s.Name = "boundedCounter"
	s.Model, s.Observe = nil, nil
	s.Ops = []proptest.Op[*counter]{
		proptest.OpOf("inc", gen.UInt64Range(1, 100), func(c *counter, at proptest.Site, n uint64) (*counter, error) {
			d := c.inc(at.Replica, n)
			if c.value() > 150 {
				return nil, crdt.ErrOverflow
			}
			return d, nil
		}),
	}
	return s
}

// randomCounter increments by a random amount: replays differ.
func randomCounterSpec() proptest.Spec[*counter] {
	s := counterSpec()
	s.Name = "randomCounter"
	s.Model, s.Observe = nil, nil
	s.Ops = []proptest.Op[*counter]{
		proptest.OpOf("inc", nil, func(c *counter, at proptest.Site, _ any) (*counter, error) {
			return c.inc(at.Replica, 1+rand.Uint64N(1000)), nil
		}),
	}
	return s
}

// dupeSet is an add-wins set whose elements are observed with duplicates:
// the model catches it.
func dupeSetSpec() proptest.Spec[*orset] {
	s := orsetSpec("dupeSet", newORSet)
	s.Observe = func(x *orset) any {
		var out []string
		for e, ds := range x.adds {
			for d := range ds {
				if !x.removed[d] {
					out = append(out, e)
				}
			}
		}
		slices.Sort(out)
		if out == nil {
			out = []string{}
		}
		return out
	}
	return s
}

// valueEqualORSet's Equal compares only the visible elements, so two
// replicas that show the same elements for different reasons (different
// adds) pass for equal.
type valueEqualORSet struct{ orset }

func (s *valueEqualORSet) Merge(o *valueEqualORSet) { s.orset.Merge(&o.orset) }
func (s *valueEqualORSet) Clone() *valueEqualORSet  { return &valueEqualORSet{*s.orset.Clone()} }
func (s *valueEqualORSet) Equal(o *valueEqualORSet) bool {
	return slices.Equal(s.elements(), o.elements())
}

func valueEqualORSetSpec() proptest.Spec[*valueEqualORSet] {
	elem := gen.OneConstOf("a", "b", "c")
	wrap := func() *valueEqualORSet { return &valueEqualORSet{*newORSet()} }
	return proptest.Spec[*valueEqualORSet]{
		Name: "valueEqualORSet",
		New:  wrap,
		Ops: []proptest.Op[*valueEqualORSet]{
			proptest.OpOf("add", elem, func(s *valueEqualORSet, at proptest.Site, e string) (*valueEqualORSet, error) {
				return &valueEqualORSet{*s.add(at, e)}, nil
			}),
			proptest.OpOf("remove", elem, func(s *valueEqualORSet, _ proptest.Site, e string) (*valueEqualORSet, error) {
				return &valueEqualORSet{*s.remove(e)}, nil
			}),
		},
	}
}

func TestKitCatchesBrokenTypes(t *testing.T) {
	tests := []struct {
		name  string
		check func(proptest.TB)
		want  []proptest.Law
	}{
		{
			name:  "counter merging by sum",
			check: func(t proptest.TB) { proptest.Check(t, sumCounterSpec()) },
			want:  []proptest.Law{proptest.LawIdempotent},
		},
		{
			name:  "LWW register breaking ties by arrival",
			check: func(t proptest.TB) { proptest.Check(t, arrivalRegisterSpec()) },
			want:  []proptest.Law{proptest.LawCommutative},
		},
		{
			name:  "OR-Set whose remove carries no causal context",
			check: func(t proptest.TB) { proptest.Check(t, contextFreeORSetSpec()) },
			want:  []proptest.Law{proptest.LawConvergence, proptest.LawModel},
		},
		{
			name: "Clone sharing a map",
			check: func(t proptest.TB) {
				proptest.Check(t, counterWith("shallowCounter",
					func(c counter) *shallowCounter { return &shallowCounter{c} },
					func(c *shallowCounter) *counter { return &c.counter }))
			},
			want: []proptest.Law{proptest.LawClone},
		},
		{
			name: "Merge mutating its argument",
			check: func(t proptest.TB) {
				proptest.Check(t, counterWith("greedyCounter",
					func(c counter) *greedyCounter { return &greedyCounter{c} },
					func(c *greedyCounter) *counter { return &c.counter }))
			},
			want: []proptest.Law{proptest.LawMergeArgument},
		},
		{
			name: "Merge adopting its argument's map",
			check: func(t proptest.TB) {
				proptest.Check(t, counterWith("adoptingCounter",
					func(c counter) *adoptingCounter { return &adoptingCounter{c} },
					func(c *adoptingCounter) *counter { return &c.counter }))
			},
			want: []proptest.Law{proptest.LawMergeArgument},
		},
		{
			name: "MergeChanged never reporting a change",
			check: func(t proptest.TB) {
				proptest.Check(t, counterWith("silentCounter",
					func(c counter) *silentCounter { return &silentCounter{c} },
					func(c *silentCounter) *counter { return &c.counter }))
			},
			want: []proptest.Law{proptest.LawReportsChange},
		},
		{
			name: "MergeChanged reporting a change it did not make",
			check: func(t proptest.TB) {
				proptest.Check(t, counterWith("noisyCounter",
					func(c counter) *noisyCounter { return &noisyCounter{c} },
					func(c *noisyCounter) *counter { return &c.counter }))
			},
			want: []proptest.Law{proptest.LawReportsChange},
		},
		{
			name:  "encoder iterating a Go map",
			check: func(t proptest.TB) { proptest.Check(t, mapOrderSetSpec()) },
			want:  []proptest.Law{proptest.LawEncodingDeterministic},
		},
		{
			name:  "delta carrying the increment instead of the entry",
			check: func(t proptest.TB) { proptest.Check(t, maxDeltaCounterSpec()) },
			want:  []proptest.Law{proptest.LawDelta},
		},
		{
			name:  "reset that deflates",
			check: func(t proptest.TB) { proptest.Check(t, resetCounterSpec()) },
			want:  []proptest.Law{proptest.LawInflation},
		},
		{
			name:  "delta sharing the replica's map",
			check: func(t proptest.TB) { proptest.Check(t, leakyDeltaCounterSpec()) },
			want:  []proptest.Law{proptest.LawDeltaIndependent},
		},
		{
			name:  "rejected operation that changed the state",
			check: func(t proptest.TB) { proptest.Check(t, boundedCounterSpec()) },
			want:  []proptest.Law{proptest.LawInflation},
		},
		{
			name:  "operation reading randomness",
			check: func(t proptest.TB) { proptest.Check(t, randomCounterSpec()) },
			want:  []proptest.Law{proptest.LawReplay},
		},
		{
			name:  "Equal comparing only the visible value",
			check: func(t proptest.TB) { proptest.Check(t, valueEqualORSetSpec()) },
			want:  []proptest.Law{proptest.LawEqual},
		},
		{
			name:  "observed value disagreeing with the model",
			check: func(t proptest.TB) { proptest.Check(t, dupeSetSpec()) },
			want:  []proptest.Law{proptest.LawModel},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{name: t.Name()}
			tc.check(rec)
			for _, law := range tc.want {
				if !rec.violated(law) {
					t.Errorf("the kit did not report %s; it reported %v:\n%s", law, rec.laws(), strings.Join(rec.errors, "\n"))
				}
			}
			t.Logf("reported %v", rec.laws())
			if len(rec.errors) > 0 {
				t.Logf("first report:\n%s", rec.errors[0])
			}
		})
	}
}
