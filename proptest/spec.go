package proptest

import (
	"fmt"
	"strings"

	"github.com/leanovate/gopter"

	"github.com/converge-crdt/converge/crdt"
)

// Defaults used when the corresponding Spec or Options field is zero.
const (
	// DefaultCases is the number of generated histories per law. It is small
	// so that `go test -race ./...` stays fast; -proptest.long or
	// CONVERGE_PROPTEST_LONG=1 raises it to LongCases.
	DefaultCases = 100
	// LongCases is the number of histories per law in a long run.
	LongCases = 10000
	// DefaultReplicas is the number of replicas in a history. Three is the
	// fewest that can disagree about the order of two others' updates.
	DefaultReplicas = 3
	// DefaultMaxSteps bounds the length of a history (operations, full-state
	// merges and delta deliveries together).
	DefaultMaxSteps = 24
)

// Spec describes a CRDT to the kit: how to make an empty replica and which
// operations mutate it. T is the CRDT type itself, usually a pointer.
type Spec[T crdt.CRDT[T]] struct {
	// Name names the type in failure messages; empty means its Go type.
	Name string
	// New returns an empty replica (the bottom of the lattice). It must
	// return a fresh value that shares nothing with earlier results.
	New func() T
	// Ops are the mutators the generated histories call. At least one.
	Ops []Op[T]

	// Observe and Model are optional and go together. Observe reads the
	// user-visible value of a replica (a number, a sorted slice, a map).
	// Model computes the value a replica must show after it has seen
	// exactly the given events, in the order they ran. The two results are
	// compared with reflect.DeepEqual at the replica each step changed and,
	// at the end, at every replica (LawModel).
	Observe func(x T) any
	Model   func(seen []Event) any

	// Replicas is the number of replicas in each history; zero means
	// DefaultReplicas, and fewer than three is raised to three.
	Replicas int
	// MaxSteps bounds the length of each history; zero means
	// DefaultMaxSteps.
	MaxSteps int
	// Cases is the number of histories per law in a normal run; zero
	// means DefaultCases. A long run and an explicit case count (flag or
	// environment) override it.
	Cases int
}

// Op is one mutator of T, as the generated histories call it.
type Op[T any] struct {
	// Name names the operation in printed histories ("inc", "add").
	Name string
	// Arg generates the operation's argument; nil means no argument (the
	// argument passed to Apply is then nil). Its shrinker is used to shrink
	// arguments of a failing history.
	Arg gopter.Gen
	// Apply performs the operation on replica x at site at: it mutates x
	// and returns the delta, a value of T that carries the mutation (the
	// full state is a valid, if large, delta). A non-nil error means the
	// operation was rejected (an overflow, for instance); a rejected
	// operation must leave x unchanged, and the history goes on without it.
	// Every replay of a history passes the same arg value, so Apply must
	// not mutate it, nor store a mutable arg (a slice) that the type later
	// changes in place.
	Apply func(x T, at Site, arg any) (delta T, err error)
	// Silent marks an operation that must not change what a replica shows
	// (a prune, a collection): the model never sees its events, so the
	// model law checks that the value is unchanged. PruneOp sets it.
	Silent bool
}

// OpOf builds an Op whose Apply takes a typed argument, so that Apply need
// not assert the type itself. arg must generate values of type A; nil means
// no argument, and apply then receives A's zero value.
func OpOf[T, A any](name string, arg gopter.Gen, apply func(x T, at Site, a A) (T, error)) Op[T] {
	return Op[T]{
		Name: name,
		Arg:  arg,
		Apply: func(x T, at Site, v any) (T, error) {
			var a A
			if v != nil {
				var ok bool
				if a, ok = v.(A); !ok {
					panic(fmt.Sprintf("proptest: op %q: generator made a %T, Apply takes a %T", name, v, a))
				}
			}
			return apply(x, at, a)
		},
	}
}

// Site tells an operation where and when it runs.
type Site struct {
	// Replica is the ID of the replica performing the operation.
	Replica crdt.ReplicaID
	// Seq counts this replica's accepted operations from 1, so (Replica,
	// Seq) is unique within a history, as the (replica, counter) pairs of a
	// node are.
	Seq uint64
	// Clock is a logical (Lamport) time, for types that take a timestamp:
	// it is greater than the Clock of every operation this replica has seen,
	// through its own operations, full-state merges or deltas, just as a
	// hybrid logical clock is. Concurrent operations may share a Clock, so
	// timestamp ties happen and tie-breaking is exercised. Use it as, for
	// example, crdt.HLC{Wall: int64(at.Clock)}.
	Clock uint64
}

// Event is one accepted operation of a history, as the Model sees it.
type Event struct {
	// Op is the operation's name.
	Op string
	// Replica, Seq and Clock are the Site the operation ran at.
	Replica crdt.ReplicaID
	Seq     uint64
	Clock   uint64
	// Arg is the generated argument.
	Arg any

	index int    // position among the history's accepted operations
	past  bitset // events the replica had seen when it ran this one
}

// Saw reports whether other happened before e: whether the replica that
// performed e had already seen other (directly, through a merge or through a
// delta). An add-wins set, for instance, keeps an element added by event a
// unless some remove of it saw a.
func (e Event) Saw(other Event) bool { return e.past.has(other.index) }

// String formats the event as printed histories show it.
func (e Event) String() string {
	return fmt.Sprintf("%s:%s%s@%d", e.Replica, e.Op, formatArg(e.Arg), e.Clock)
}

func (s *Spec[T]) validate() error {
	switch {
	case s.New == nil:
		return fmt.Errorf("%w: New is nil", ErrSpec)
	case len(s.Ops) == 0:
		return fmt.Errorf("%w: no Ops", ErrSpec)
	case (s.Model == nil) != (s.Observe == nil):
		return fmt.Errorf("%w: Model and Observe must be given together", ErrSpec)
	case s.Replicas < 0 || s.MaxSteps < 0 || s.Cases < 0:
		return fmt.Errorf("%w: negative Replicas, MaxSteps or Cases", ErrSpec)
	}
	for i, op := range s.Ops {
		if op.Apply == nil {
			return fmt.Errorf("%w: op %d (%q) has no Apply", ErrSpec, i, op.Name)
		}
		if op.Name == "" {
			return fmt.Errorf("%w: op %d has no Name", ErrSpec, i)
		}
	}
	return nil
}

func (s *Spec[T]) name() string {
	if s.Name != "" {
		return s.Name
	}
	// "*crdt.ORSet[string]" reads as "ORSet[string]".
	n := strings.TrimLeft(fmt.Sprintf("%T", s.New()), "*")
	if dot := strings.Index(n, "."); dot >= 0 && dot < strings.IndexByte(n+"[", '[') {
		n = n[dot+1:]
	}
	return n
}

func (s *Spec[T]) replicas() int {
	return max(s.Replicas, DefaultReplicas)
}

func (s *Spec[T]) maxSteps() int {
	if s.MaxSteps == 0 {
		return DefaultMaxSteps
	}
	return s.MaxSteps
}
