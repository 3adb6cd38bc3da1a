package main

import (
	"slices"
	"testing"

	"github.com/leanovate/gopter/gen"

	"github.com/converge-crdt/converge/proptest"
)

// TestMVRegisterLaws checks the merge laws, deltas, convergence, encoding
// and the multi-value semantics of MVRegister.
func TestMVRegisterLaws(t *testing.T) {
	proptest.Check(t, proptest.Spec[*MVRegister]{
		New: NewMVRegister,
		Ops: []proptest.Op[*MVRegister]{
			proptest.OpOf("set", gen.OneConstOf("x", "y", "z"), func(m *MVRegister, at proptest.Site, v string) (*MVRegister, error) {
				return m.Set(at.Replica, v), nil
			}),
		},
		Observe: func(m *MVRegister) any { return m.Values() },
		// The values of the writes that no other write has seen.
		Model: func(seen []proptest.Event) any {
			var vs []string
			for _, w := range seen {
				if !slices.ContainsFunc(seen, func(e proptest.Event) bool { return e.Saw(w) }) {
					vs = append(vs, w.Arg.(string))
				}
			}
			slices.Sort(vs)
			return slices.Compact(vs)
		},
	})
}
