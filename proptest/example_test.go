package proptest_test

import (
	"fmt"
	"math"

	"github.com/leanovate/gopter/gen"

	"github.com/converge-crdt/converge/proptest"
)

// MaxRegister holds the largest value written at any replica.
type MaxRegister struct{ v int64 }

func NewMaxRegister() *MaxRegister { return &MaxRegister{v: math.MinInt64} }

// Set raises the register to v and returns the delta.
func (x *MaxRegister) Set(v int64) *MaxRegister {
	x.v = max(x.v, v)
	return &MaxRegister{v: v}
}

func (x *MaxRegister) Value() int64                  { return x.v }
func (x *MaxRegister) Merge(other *MaxRegister)      { x.v = max(x.v, other.v) }
func (x *MaxRegister) Clone() *MaxRegister           { return &MaxRegister{v: x.v} }
func (x *MaxRegister) Equal(other *MaxRegister) bool { return x.v == other.v }
func (x *MaxRegister) String() string {
	if x.v == math.MinInt64 {
		return "empty"
	}
	return fmt.Sprint(x.v)
}

// LastRegister has a bug: its Merge takes the other value, whatever it is,
// so the value depends on the order messages arrive in.
type LastRegister struct{ MaxRegister }

func (x *LastRegister) Merge(other *LastRegister)      { x.v = other.v }
func (x *LastRegister) Clone() *LastRegister           { return &LastRegister{x.MaxRegister} }
func (x *LastRegister) Equal(other *LastRegister) bool { return x.v == other.v }

func ExampleRun() {
	good := proptest.Spec[*MaxRegister]{
		New: NewMaxRegister,
		Ops: []proptest.Op[*MaxRegister]{
			proptest.OpOf("set", gen.Int64(), func(x *MaxRegister, _ proptest.Site, v int64) (*MaxRegister, error) {
				return x.Set(v), nil
			}),
		},
		Observe: func(x *MaxRegister) any { return x.Value() },
		Model: func(seen []proptest.Event) any {
			m := int64(math.MinInt64)
			for _, e := range seen {
				m = max(m, e.Arg.(int64))
			}
			return m
		},
	}
	failures, err := proptest.Run(good, proptest.Options{Seed: 1})
	fmt.Println("MaxRegister:", len(failures), "laws violated", err)

	bad := proptest.Spec[*LastRegister]{
		New: func() *LastRegister { return &LastRegister{*NewMaxRegister()} },
		Ops: []proptest.Op[*LastRegister]{
			proptest.OpOf("set", gen.Int64Range(0, 9), func(x *LastRegister, _ proptest.Site, v int64) (*LastRegister, error) {
				return &LastRegister{*x.Set(v)}, nil
			}),
		},
	}
	failures, _ = proptest.Run(bad, proptest.Options{Seed: 1})
	for _, f := range failures {
		fmt.Println("LastRegister violates", f.Law)
	}
	for _, f := range failures {
		if f.Law == proptest.LawCommutative {
			fmt.Println(f.Reason)
			fmt.Println(f.History)
		}
	}
	// Output:
	// MaxRegister: 0 laws violated <nil>
	// LastRegister violates merge-idempotent
	// LastRegister violates merge-commutative
	// LastRegister violates mutation-inflates
	// LastRegister violates delta-matches-mutation
	// LastRegister violates convergence
	// x ⊔ y ≠ y ⊔ x for x = r0 (empty), y = r2 (0): x ⊔ y = 0, y ⊔ x = empty
	//   shrunk from 2 to 1 steps; replicas r0..r2 start empty, and each operation's delta goes in flight to the others:
	//     1. r2  set(0)  -> e1
	//   final states:
	//     r0 = empty  (deltas still in flight to it: e1)
	//     r1 = empty  (deltas still in flight to it: e1)
	//     r2 = 0
}
