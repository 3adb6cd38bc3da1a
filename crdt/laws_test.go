package crdt_test

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/proptest"
)

// Law tests of the built-in types through the exported kit, with models.
// Run them long (10,000 cases per law) with:
//
//	go test ./crdt -run Laws -args -proptest.long

func TestLawsGCounter(t *testing.T) {
	proptest.Check(t, proptest.Spec[*crdt.GCounter]{
		Name: "GCounter",
		New:  crdt.NewGCounter,
		Ops: []proptest.Op[*crdt.GCounter]{
			proptest.OpOf("inc", amount(), func(g *crdt.GCounter, at proptest.Site, n uint64) (*crdt.GCounter, error) {
				return g.Inc(at.Replica, n)
			}),
			proptest.PruneOp[*crdt.GCounter](0),
		},
		Observe: func(g *crdt.GCounter) any { return g.Value() },
		Model: func(seen []proptest.Event) any {
			var sum uint64
			for _, e := range seen {
				sum += e.Arg.(uint64)
			}
			return sum
		},
	})
}

// amount generates counter increments: mostly small, some large enough to
// take several bytes on the wire, and never so large that a history's
// increments add up past math.MaxInt64 (GCounter documents a merged sum past
// math.MaxUint64 as unencodable; crdt's own tests cover overflow).
func amount() gopter.Gen {
	return gen.OneGenOf(gen.UInt64Range(0, 5), gen.UInt64Range(0, 1<<50))
}

func TestLawsPNCounter(t *testing.T) {
	proptest.Check(t, proptest.Spec[*crdt.PNCounter]{
		Name: "PNCounter",
		New:  crdt.NewPNCounter,
		Ops: []proptest.Op[*crdt.PNCounter]{
			proptest.OpOf("inc", amount(), func(c *crdt.PNCounter, at proptest.Site, n uint64) (*crdt.PNCounter, error) {
				return c.Inc(at.Replica, n)
			}),
			proptest.OpOf("dec", amount(), func(c *crdt.PNCounter, at proptest.Site, n uint64) (*crdt.PNCounter, error) {
				return c.Dec(at.Replica, n)
			}),
			proptest.PruneOp[*crdt.PNCounter](0),
		},
		Observe: func(c *crdt.PNCounter) any { return c.Value() },
		Model: func(seen []proptest.Event) any {
			var v int64
			for _, e := range seen {
				if e.Op == "inc" {
					v += int64(e.Arg.(uint64))
				} else {
					v -= int64(e.Arg.(uint64))
				}
			}
			return v
		},
	})
}

func TestLawsORSet(t *testing.T) {
	elem := gen.OneConstOf("a", "b", "c", "d")
	proptest.Check(t, proptest.Spec[*crdt.ORSet[string]]{
		Name: "ORSet",
		New:  crdt.NewORSet[string],
		Ops: []proptest.Op[*crdt.ORSet[string]]{
			proptest.OpOf("add", elem, func(s *crdt.ORSet[string], at proptest.Site, e string) (*crdt.ORSet[string], error) {
				return s.Add(at.Replica, e), nil
			}),
			proptest.OpOf("remove", elem, func(s *crdt.ORSet[string], _ proptest.Site, e string) (*crdt.ORSet[string], error) {
				return s.Remove(e), nil
			}),
			proptest.PruneOp[*crdt.ORSet[string]](0),
		},
		Observe: func(s *crdt.ORSet[string]) any {
			out := slices.Sorted(s.All())
			if out == nil {
				out = []string{}
			}
			return out
		},
		Model: addWinsModel,
	})
}

// addWinsModel is the sequential specification of an add-wins set: an
// element is present if some add of it was seen by no remove of it.
func addWinsModel(seen []proptest.Event) any {
	out := []string{}
	for _, a := range seen {
		e := a.Arg.(string)
		if a.Op != "add" || slices.Contains(out, e) {
			continue
		}
		if !slices.ContainsFunc(seen, func(r proptest.Event) bool { return r.Op == "remove" && r.Arg == a.Arg && r.Saw(a) }) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

// kv is the argument of an LWWMap set.
type kv struct {
	K string
	V int
}

func (a kv) String() string { return fmt.Sprintf("%s=%d", a.K, a.V) }

// hlc maps the kit's Lamport clock to an HLC, order-preservingly, so that
// both Wall and Logical take part in comparisons.
func hlc(at proptest.Site) crdt.HLC {
	return crdt.HLC{Wall: int64(at.Clock / 3), Logical: uint32(at.Clock % 3)}
}

func TestLawsLWWMap(t *testing.T) {
	key := gen.OneConstOf("a", "b", "c")
	type lww = crdt.LWWMap[string, int]
	proptest.Check(t, proptest.Spec[*lww]{
		Name: "LWWMap",
		New:  crdt.NewLWWMap[string, int],
		Ops: []proptest.Op[*lww]{
			proptest.OpOf("set", gen.Struct(reflect.TypeFor[kv](), map[string]gopter.Gen{"K": key, "V": gen.IntRange(0, 9)}),
				func(m *lww, at proptest.Site, a kv) (*lww, error) { return m.Set(at.Replica, hlc(at), a.K, a.V), nil }),
			proptest.OpOf("delete", key, func(m *lww, at proptest.Site, k string) (*lww, error) {
				return m.Delete(at.Replica, hlc(at), k), nil
			}),
		},
		Observe: func(m *lww) any {
			out := map[string]int{}
			for k, v := range m.All() {
				out[k] = v
			}
			return out
		},
		// The last write to a key wins, by (clock, replica); a delete is a
		// write.
		Model: func(seen []proptest.Event) any {
			last := map[string]proptest.Event{}
			for _, e := range seen {
				k, _ := e.Arg.(string)
				if a, ok := e.Arg.(kv); ok {
					k = a.K
				}
				if w, ok := last[k]; !ok || e.Clock > w.Clock || e.Clock == w.Clock && e.Replica > w.Replica {
					last[k] = e
				}
			}
			out := map[string]int{}
			for k, e := range last {
				if a, ok := e.Arg.(kv); ok {
					out[k] = a.V
				}
			}
			return out
		},
	})
}
