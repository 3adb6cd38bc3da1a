package proptest_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/leanovate/gopter/gen"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/proptest"
)

// Correct reference types. The kit must pass them; the broken types in
// broken_test.go are each one bug away from one of them.

// counter is a grow-only counter: one entry per replica, merged by maximum.
type counter struct{ m map[crdt.ReplicaID]uint64 }

func newCounter() *counter { return &counter{m: map[crdt.ReplicaID]uint64{}} }

func (c *counter) inc(r crdt.ReplicaID, n uint64) *counter {
	c.m[r] += n
	return &counter{m: map[crdt.ReplicaID]uint64{r: c.m[r]}}
}

func (c *counter) value() (v uint64) {
	for _, n := range c.m {
		v += n
	}
	return v
}

func (c *counter) Merge(o *counter) { c.MergeChanged(o) }

// MergeChanged makes counter a crdt.ChangeReporter, so that the reference
// types exercise the change-report law too.
func (c *counter) MergeChanged(o *counter) (changed bool) {
	for r, n := range o.m {
		if n > c.m[r] {
			c.m[r] = n
			changed = true
		}
	}
	return changed
}

func (c *counter) Clone() *counter { return &counter{m: maps.Clone(c.m)} }

func (c *counter) Equal(o *counter) bool {
	return maps.EqualFunc(c.m, o.m, func(a, b uint64) bool { return a == b }) // absent and 0 differ; never stored
}

func (c *counter) String() string { return fmt.Sprint(c.m) }

func (c *counter) MarshalBinary() ([]byte, error) { return json.Marshal(c.m) } // sorts keys

func (c *counter) UnmarshalBinary(b []byte) error {
	c.m = map[crdt.ReplicaID]uint64{}
	return json.Unmarshal(b, &c.m)
}

func counterSpec() proptest.Spec[*counter] {
	return proptest.Spec[*counter]{
		Name: "counter",
		New:  newCounter,
		Ops: []proptest.Op[*counter]{
			proptest.OpOf("inc", gen.UInt64Range(1, 100), func(c *counter, at proptest.Site, n uint64) (*counter, error) {
				return c.inc(at.Replica, n), nil
			}),
		},
		Observe: func(c *counter) any { return c.value() },
		Model: func(seen []proptest.Event) any {
			var sum uint64
			for _, e := range seen {
				sum += e.Arg.(uint64)
			}
			return sum
		},
	}
}

// register is a last-writer-wins register: the write with the greatest
// (clock, replica) wins, so ties between replicas are broken the same way
// everywhere.
type register struct {
	ts  uint64
	rep crdt.ReplicaID
	val int
}

func (g *register) newer(o *register) bool {
	return o.ts > g.ts || o.ts == g.ts && o.rep > g.rep
}

func (g *register) set(at proptest.Site, v int) *register {
	*g = register{ts: at.Clock, rep: at.Replica, val: v}
	return g.Clone()
}

func (g *register) Merge(o *register) {
	if g.newer(o) {
		*g = *o
	}
}

func (g *register) Clone() *register       { c := *g; return &c }
func (g *register) Equal(o *register) bool { return *g == *o }
func (g *register) String() string         { return fmt.Sprintf("%d@%d/%s", g.val, g.ts, g.rep) }

func registerSpec(name string, newReg func() *register) proptest.Spec[*register] {
	return proptest.Spec[*register]{
		Name: name,
		New:  newReg,
		Ops: []proptest.Op[*register]{
			proptest.OpOf("set", gen.IntRange(0, 9), func(g *register, at proptest.Site, v int) (*register, error) {
				return g.set(at, v), nil
			}),
		},
	}
}

// dot names one add: the replica and its operation sequence number.
type dot struct {
	R crdt.ReplicaID
	N uint64
}

// orset is an add-wins observed-remove set with tombstones: an element is
// present while one of its add dots is not removed, and a remove removes
// exactly the dots its replica has seen. (crdt.ORSet needs no tombstones;
// this one is simpler to get right by reading.)
type orset struct {
	adds    map[string]map[dot]bool
	removed map[dot]bool
}

func newORSet() *orset { return &orset{adds: map[string]map[dot]bool{}, removed: map[dot]bool{}} }

func (s *orset) add(at proptest.Site, e string) *orset {
	d := dot{at.Replica, at.Seq}
	if s.adds[e] == nil {
		s.adds[e] = map[dot]bool{}
	}
	s.adds[e][d] = true
	delta := newORSet()
	delta.adds[e] = map[dot]bool{d: true}
	return delta
}

func (s *orset) remove(e string) *orset {
	delta := newORSet()
	for d := range s.adds[e] {
		s.removed[d] = true
		delta.removed[d] = true
	}
	return delta
}

func (s *orset) elements() []string {
	out := []string{}
	for e, ds := range s.adds {
		for d := range ds {
			if !s.removed[d] {
				out = append(out, e)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

func (s *orset) Merge(o *orset) {
	for e, ds := range o.adds {
		if s.adds[e] == nil {
			s.adds[e] = map[dot]bool{}
		}
		maps.Copy(s.adds[e], ds)
	}
	maps.Copy(s.removed, o.removed)
}

func (s *orset) Clone() *orset {
	c := newORSet()
	for e, ds := range s.adds {
		c.adds[e] = maps.Clone(ds)
	}
	c.removed = maps.Clone(s.removed)
	return c
}

func (s *orset) Equal(o *orset) bool {
	return maps.EqualFunc(s.adds, o.adds, func(a, b map[dot]bool) bool { return maps.Equal(a, b) }) &&
		maps.Equal(s.removed, o.removed)
}

func (s *orset) String() string { return fmt.Sprintf("adds %v removed %v", s.adds, s.removed) }

// addWins is the sequential model of an add-wins set: an element is present
// if some add of it was seen by no remove of it.
func addWins(seen []proptest.Event) any {
	out := []string{}
	for _, a := range seen {
		if a.Op != "add" || slices.Contains(out, a.Arg.(string)) {
			continue
		}
		removed := slices.ContainsFunc(seen, func(r proptest.Event) bool {
			return r.Op == "remove" && r.Arg == a.Arg && r.Saw(a)
		})
		if !removed {
			out = append(out, a.Arg.(string))
		}
	}
	slices.Sort(out)
	return out
}

func orsetSpec(name string, newSet func() *orset) proptest.Spec[*orset] {
	elem := gen.OneConstOf("a", "b", "c")
	return proptest.Spec[*orset]{
		Name: name,
		New:  newSet,
		Ops: []proptest.Op[*orset]{
			proptest.OpOf("add", elem, func(s *orset, at proptest.Site, e string) (*orset, error) { return s.add(at, e), nil }),
			proptest.OpOf("remove", elem, func(s *orset, _ proptest.Site, e string) (*orset, error) { return s.remove(e), nil }),
		},
		Observe: func(s *orset) any { return s.elements() },
		Model:   addWins,
	}
}
