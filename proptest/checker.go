package proptest

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/converge-crdt/converge/crdt"
)

// checker holds what every law needs: the spec and ways to get fresh,
// independent copies of the states a history reaches.
type checker[T crdt.CRDT[T]] struct {
	spec *Spec[T]
}

// lawFunc checks one law against one history and returns why it fails, or
// nil.
type lawFunc[T crdt.CRDT[T]] func(c *checker[T], h history) error

func lawFor[T crdt.CRDT[T]](law Law) lawFunc[T] {
	switch law {
	case LawReplay:
		return (*checker[T]).replayDeterministic
	case LawEqual:
		return (*checker[T]).equalCongruent
	case LawIdempotent:
		return (*checker[T]).idempotent
	case LawCommutative:
		return (*checker[T]).commutative
	case LawAssociative:
		return (*checker[T]).associative
	case LawReportsChange:
		return (*checker[T]).reportsChange
	case LawInflation:
		return (*checker[T]).inflation
	case LawDelta:
		return (*checker[T]).delta
	case LawConvergence:
		return (*checker[T]).convergence
	case LawMergeArgument:
		return (*checker[T]).mergeArgument
	case LawClone:
		return (*checker[T]).clone
	case LawDeltaIndependent:
		return (*checker[T]).deltaIndependent
	case LawEncodingRoundTrip:
		return (*checker[T]).encodingRoundTrip
	case LawEncodingDeterministic:
		return (*checker[T]).encodingDeterministic
	case LawModel:
		return (*checker[T]).model
	case LawPruneValue:
		return (*checker[T]).pruneValue
	case LawPruneStale:
		return (*checker[T]).pruneStale
	case LawPruneMerge:
		return (*checker[T]).pruneMerge
	case LawCollectValue:
		return (*checker[T]).collectValue
	}
	return nil
}

// contractError aborts a law from inside a replay: the history could not
// even be replayed because the type broke the Op contract.
type contractError struct{ err error }

// replay returns the replicas after the first n steps of h (all if n < 0),
// freshly built: nothing is shared with any earlier replay.
func (c *checker[T]) replay(h history, n int) *sim[T] {
	s, err := replay(c.spec, h, n)
	if err != nil {
		panic(contractError{err})
	}
	return s
}

func (c *checker[T]) fresh(h history) *sim[T] { return c.replay(h, -1) }

// run applies a law to a history, turning panics in the type's code into
// failures so that they are shrunk and reported like any other.
func (c *checker[T]) run(fn lawFunc[T], h history) (err error) {
	defer func() {
		switch r := recover().(type) {
		case nil:
		case contractError:
			err = r.err
		default:
			err = fmt.Errorf("panic: %v\n%s", r, shortStack())
		}
	}()
	return fn(c, h)
}

// probe mutates x with every operation of h, at sites no replay uses, so
// that a value sharing maps or slices with another shows it.
func (c *checker[T]) probe(x T, h history) {
	n := uint64(0)
	for _, st := range h {
		if st.kind != stepOp {
			continue
		}
		n++
		at := Site{Replica: replicaID(st.replica), Seq: 1<<32 + n, Clock: 1<<32 + n}
		_, _ = c.spec.Ops[st.op].Apply(x, at, st.arg) // a rejection is fine here
	}
}

// show formats a state for a failure message.
func show(x any) string {
	s := fmt.Sprintf("%v", x)
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// shortStack returns the frames of a panic's stack that are worth reading:
// the runtime and gopter frames are dropped.
func shortStack() string {
	lines := strings.Split(string(debug.Stack()), "\n")
	var out []string
	for i := 1; i+1 < len(lines) && len(out) < 16; i += 2 {
		fn, loc := lines[i], lines[i+1]
		if strings.HasPrefix(fn, "runtime") || strings.Contains(fn, "panic(") ||
			strings.Contains(fn, "leanovate/gopter") || strings.Contains(fn, "shortStack") ||
			strings.HasPrefix(fn, "reflect.") {
			continue
		}
		out = append(out, "        "+fn, "    "+loc)
	}
	return strings.Join(out, "\n")
}
