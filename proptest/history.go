package proptest

import (
	"fmt"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"
)

// A history is what the kit generates for every case: a sequence of steps
// across a fixed number of replicas, all starting empty. Every state a law
// looks at is reached by replaying a history, so no law ever sees a state
// the type could not reach on its own, and any number of independent copies
// of a state come from replaying the same history again (the laws never
// rely on Clone, which has its own law).
type history []step

type stepKind uint8

const (
	// stepOp: replica runs an operation; its delta goes in flight to every
	// other replica.
	stepOp stepKind = iota + 1
	// stepMerge: replica merges the full state of replica from.
	stepMerge
	// stepDeliver: replica receives one in-flight delta. Deltas never
	// delivered are lost, deltas delivered with keep stay in flight and can
	// arrive again, and pick chooses among those in flight, so deliveries
	// drop, duplicate and reorder.
	stepDeliver
)

type step struct {
	kind    stepKind
	replica int // op: the issuer; merge, deliver: the receiver
	from    int // merge: the source replica
	op      int // op: index into Spec.Ops
	arg     any // op: the generated argument
	pick    int // deliver: index (mod the number in flight) of the delta
	keep    bool

	// The argument's shrinker and sieve, from the generator that made it;
	// they let a failing history shrink its arguments too.
	shrink gopter.Shrinker
	sieve  func(any) bool
}

// String keeps gopter's per-case formatting cheap; failures are printed with
// formatHistory, which knows the operation names and resolves deliveries.
func (h history) String() string { return fmt.Sprintf("history of %d steps", len(h)) }

func (s step) String() string { return fmt.Sprintf("step(%d)", s.kind) }

// genHistory generates histories whose length grows with gopter's size
// parameter, up to maxSteps. It shrinks by dropping runs of steps (gopter's
// slice shrinker) and then by shrinking single steps.
func genHistory[T any](ops []Op[T], replicas int) gopter.Gen {
	return func(p *gopter.GenParameters) *gopter.GenResult {
		n := 0
		if p.MaxSize > 0 {
			n = p.MaxSize/2 + p.Rng.Intn(p.MaxSize-p.MaxSize/2+1)
		}
		h := make(history, 0, n)
		for len(h) < n {
			h = append(h, genStep(p, ops, replicas))
		}
		return gopter.NewGenResult(h, gen.SliceShrinker(shrinkStep))
	}
}

func genStep[T any](p *gopter.GenParameters, ops []Op[T], replicas int) step {
	s := step{replica: p.Rng.Intn(replicas)}
	k := p.Rng.Intn(100)
	if k < 55 {
		s.kind = stepOp
		s.op = p.Rng.Intn(len(ops))
		g := ops[s.op].Arg
		if g == nil {
			return s
		}
		for range 100 {
			res := g(p)
			if v, ok := res.Retrieve(); ok {
				s.arg, s.shrink, s.sieve = v, res.Shrinker, res.Sieve
				return s
			}
		}
		// The generator's sieve rejects nearly everything: make a merge
		// rather than call Apply with an argument the generator never made.
		k = 60
	}
	if k < 75 {
		s.kind = stepMerge
		s.from = (s.replica + 1 + p.Rng.Intn(replicas-1)) % replicas
		return s
	}
	s.kind = stepDeliver
	s.pick = p.Rng.Intn(1 << 16)
	s.keep = p.Rng.Intn(4) == 0
	return s
}

// shrinkStep shrinks one step: an operation's argument through its own
// shrinker; a delivery towards the oldest delta in flight and no duplicate.
func shrinkStep(v any) gopter.Shrink {
	s := v.(step)
	switch s.kind {
	case stepOp:
		if s.shrink == nil || s.arg == nil {
			return gopter.NoShrink
		}
		inner := s.shrink(s.arg).Filter(s.sieve)
		return func() (any, bool) {
			a, ok := inner()
			if !ok {
				return nil, false
			}
			t := s
			t.arg = a
			return t, true
		}
	case stepDeliver:
		var cands []any
		if s.keep {
			t := s
			t.keep = false
			cands = append(cands, t)
		}
		if s.pick != 0 {
			t := s
			t.pick = 0
			cands = append(cands, t)
		}
		return func() (any, bool) {
			if len(cands) == 0 {
				return nil, false
			}
			c := cands[0]
			cands = cands[1:]
			return c, true
		}
	}
	return gopter.NoShrink
}

func formatArg(a any) string {
	switch v := a.(type) {
	case nil:
		return ""
	case string:
		return fmt.Sprintf("(%q)", v)
	default:
		return fmt.Sprintf("(%v)", v)
	}
}
