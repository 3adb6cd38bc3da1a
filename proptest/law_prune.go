package proptest

import (
	"fmt"
	"reflect"

	"github.com/leanovate/gopter/gen"

	"github.com/converge-crdt/converge/crdt"
)

// The prune laws, for types that implement crdt.Pruner[T] (and, for the
// collection law, crdt.Collector). Each prunes every replica's final state
// of every replica of the history in turn, at a time later than any
// operation's.
const (
	// LawPruneValue: pruning never changes what a replica shows:
	// Observe(prune(x, r)) = Observe(x). Needs Spec.Observe.
	LawPruneValue Law = "prune-preserves-value"
	// LawPruneStale: a stale copy merged after pruning brings nothing
	// back: prune(x, r) ⊔ x = prune(x, r), and the prune delta d of x
	// satisfies x ⊔ d = prune(x, r).
	LawPruneStale Law = "prune-absorbs-stale"
	// LawPruneMerge: pruning commutes with merge in what replicas show:
	// prune(x, r) ⊔ y, y ⊔ prune(x, r), prune(x, r) ⊔ prune(y, r) and
	// prune(x ⊔ y, r) all show what x ⊔ y shows, so two replicas pruning
	// the same replica at once never count it twice. Needs Spec.Observe.
	LawPruneMerge Law = "prune-commutes-with-merge"
	// LawCollectValue: collecting every prune record (crdt.Collector)
	// after pruning never changes what a replica shows. Needs
	// Spec.Observe.
	LawCollectValue Law = "collect-preserves-value"
)

// PruneOp returns an operation that prunes one of the history's replicas
// (the argument is its index) from the acting replica's state, stamped
// with the site's clock. Adding it to Spec.Ops makes every law hold for
// states with prune records too, with replicas pruned while they are
// still writing: the harshest case, since a node only prunes replicas that
// are gone. It is Silent: the model never sees it, so the model law checks
// that pruning changes no value.
func PruneOp[T interface {
	crdt.CRDT[T]
	crdt.Pruner[T]
}](replicas int) Op[T] {
	if replicas <= 0 {
		replicas = DefaultReplicas
	}
	return Op[T]{
		Name:   "prune",
		Arg:    gen.IntRange(0, replicas-1),
		Silent: true,
		Apply: func(x T, at Site, arg any) (T, error) {
			return x.Prune(replicaID(arg.(int)), crdt.HLC{Wall: int64(at.Clock)}), nil
		},
	}
}

func (c *checker[T]) silent(op string) bool {
	for _, o := range c.spec.Ops {
		if o.Name == op {
			return o.Silent
		}
	}
	return false
}

func pruneSkipReason[T crdt.CRDT[T]](spec *Spec[T], law Law) string {
	if _, ok := any(spec.New()).(crdt.Pruner[T]); !ok {
		return "T does not implement crdt.Pruner[T]"
	}
	if law == LawCollectValue {
		if _, ok := any(spec.New()).(crdt.Collector); !ok {
			return "T does not implement crdt.Collector"
		}
	}
	if law != LawPruneStale && spec.Observe == nil {
		return "no Observe in the Spec"
	}
	return ""
}

// pruneAt is later than every clock a history of maxSteps steps reaches.
func (c *checker[T]) pruneAt() crdt.HLC {
	return crdt.HLC{Wall: int64(c.spec.maxSteps()) + 1}
}

func prune[T crdt.CRDT[T]](x T, r crdt.ReplicaID, at crdt.HLC) T {
	return any(x).(crdt.Pruner[T]).Prune(r, at)
}

func (c *checker[T]) sameValue(a, b T) bool {
	return reflect.DeepEqual(c.spec.Observe(a), c.spec.Observe(b))
}

func (c *checker[T]) pruneValue(h history) error {
	n := c.spec.replicas()
	for i := range n {
		for r := range n {
			s, w := c.fresh(h), c.fresh(h)
			prune(s.reps[i], s.ids[r], c.pruneAt())
			if !c.sameValue(s.reps[i], w.reps[i]) {
				return fmt.Errorf("pruning %s from %s changed its value: %s shows %v, pruned %s shows %v",
					s.ids[r], s.ids[i], show(w.reps[i]), c.spec.Observe(w.reps[i]), show(s.reps[i]), c.spec.Observe(s.reps[i]))
			}
		}
	}
	return nil
}

func (c *checker[T]) pruneStale(h history) error {
	n := c.spec.replicas()
	for i := range n {
		for r := range n {
			s, stale, w := c.fresh(h), c.fresh(h), c.fresh(h)
			d := prune(s.reps[i], s.ids[r], c.pruneAt())
			want := s.reps[i].Clone()
			s.reps[i].Merge(stale.reps[i])
			if !s.reps[i].Equal(want) {
				return fmt.Errorf("prune(x, %s) ⊔ x ≠ prune(x, %s) at %s: a stale copy brought something back: prune(x) = %s, prune(x) ⊔ x = %s",
					s.ids[r], s.ids[r], s.ids[i], show(want), show(s.reps[i]))
			}
			w.reps[i].Merge(d)
			if !w.reps[i].Equal(want) {
				return fmt.Errorf("x ⊔ d ≠ prune(x, %s) at %s for the prune delta d = %s: x ⊔ d = %s, prune(x) = %s",
					s.ids[r], s.ids[i], show(d), show(w.reps[i]), show(want))
			}
		}
	}
	return nil
}

func (c *checker[T]) pruneMerge(h history) error {
	n := c.spec.replicas()
	at := c.pruneAt()
	for i := range n {
		j := (i + 1) % n
		for r := range n {
			plain := c.fresh(h)
			want := plain.reps[i]
			want.Merge(plain.reps[j])
			id := plain.ids[r]
			cases := []struct {
				what string
				got  func(s *sim[T]) T
			}{
				{"prune(x) ⊔ y", func(s *sim[T]) T { prune(s.reps[i], id, at); s.reps[i].Merge(s.reps[j]); return s.reps[i] }},
				{"y ⊔ prune(x)", func(s *sim[T]) T { prune(s.reps[i], id, at); s.reps[j].Merge(s.reps[i]); return s.reps[j] }},
				{"prune(x) ⊔ prune(y)", func(s *sim[T]) T {
					prune(s.reps[i], id, at)
					prune(s.reps[j], id, crdt.HLC{Wall: at.Wall + 1})
					s.reps[i].Merge(s.reps[j])
					return s.reps[i]
				}},
				{"prune(x ⊔ y)", func(s *sim[T]) T { s.reps[i].Merge(s.reps[j]); prune(s.reps[i], id, at); return s.reps[i] }},
			}
			for _, tc := range cases {
				got := tc.got(c.fresh(h))
				if !c.sameValue(got, want) {
					return fmt.Errorf("%s ≠ x ⊔ y in value, x = %s, y = %s, pruning %s: x ⊔ y = %s shows %v, %s = %s shows %v",
						tc.what, plain.ids[i], plain.ids[j], id, show(want), c.spec.Observe(want), tc.what, show(got), c.spec.Observe(got))
				}
			}
		}
	}
	return nil
}

func (c *checker[T]) collectValue(h history) error {
	n := c.spec.replicas()
	for i := range n {
		s, w := c.fresh(h), c.fresh(h)
		for r := range n {
			prune(s.reps[i], s.ids[r], c.pruneAt())
		}
		any(s.reps[i]).(crdt.Collector).Collect(crdt.HLC{Wall: c.pruneAt().Wall + 1})
		if !c.sameValue(s.reps[i], w.reps[i]) {
			return fmt.Errorf("pruning every replica from %s and collecting the records changed its value: %s shows %v, collected %s shows %v",
				s.ids[i], show(w.reps[i]), c.spec.Observe(w.reps[i]), show(s.reps[i]), c.spec.Observe(s.reps[i]))
		}
		// Two replicas that pruned, exchanged their records and then
		// collected them still show the value of their merge.
		a, want := c.fresh(h), c.fresh(h)
		x, y := a.reps[i], a.reps[(i+1)%n]
		for r := range n {
			prune(x, a.ids[r], c.pruneAt())
			prune(y, a.ids[r], c.pruneAt())
		}
		x.Merge(y)
		y.Merge(x)
		any(x).(crdt.Collector).Collect(crdt.HLC{Wall: c.pruneAt().Wall + 1})
		any(y).(crdt.Collector).Collect(crdt.HLC{Wall: c.pruneAt().Wall + 2})
		x.Merge(y)
		want.reps[i].Merge(want.reps[(i+1)%n])
		if !c.sameValue(x, want.reps[i]) {
			return fmt.Errorf("replicas %s and %s that pruned, exchanged records and collected show %v, but their merge shows %v: %s",
				a.ids[i], a.ids[(i+1)%n], c.spec.Observe(x), c.spec.Observe(want.reps[i]), show(x))
		}
	}
	return nil
}
