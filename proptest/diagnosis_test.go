package proptest_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/leanovate/gopter/gen"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/proptest"
)

// zeroDeltaCounter is the reference counter whose increment's delta also
// carries an explicit zero entry, which a max-merge drops: ⊥ ⊔ d ≠ d,
// although nothing is shared. Every other law holds.
func zeroDeltaCounterSpec() proptest.Spec[*counter] {
	s := counterSpec()
	s.Name = "zeroDeltaCounter"
	s.Ops = []proptest.Op[*counter]{
		proptest.OpOf("inc", gen.UInt64Range(1, 100), func(c *counter, at proptest.Site, n uint64) (*counter, error) {
			d := c.inc(at.Replica, n)
			d.m["zero"] = 0
			return d, nil
		}),
	}
	return s
}

// alwaysEqualCounter is a grow-only counter without an encoding whose
// Equal always answers true.
type alwaysEqualCounter struct{ m map[crdt.ReplicaID]uint64 }

func newAlwaysEqualCounter() *alwaysEqualCounter {
	return &alwaysEqualCounter{m: map[crdt.ReplicaID]uint64{}}
}

func (c *alwaysEqualCounter) Merge(o *alwaysEqualCounter) {
	for r, n := range o.m {
		c.m[r] = max(c.m[r], n)
	}
}
func (c *alwaysEqualCounter) Clone() *alwaysEqualCounter     { return &alwaysEqualCounter{maps.Clone(c.m)} }
func (c *alwaysEqualCounter) Equal(*alwaysEqualCounter) bool { return true }

func alwaysEqualCounterSpec() proptest.Spec[*alwaysEqualCounter] {
	ref := counterSpec()
	return proptest.Spec[*alwaysEqualCounter]{
		Name: "alwaysEqualCounter",
		New:  newAlwaysEqualCounter,
		Ops: []proptest.Op[*alwaysEqualCounter]{
			proptest.OpOf("inc", gen.UInt64Range(1, 100), func(c *alwaysEqualCounter, at proptest.Site, n uint64) (*alwaysEqualCounter, error) {
				c.m[at.Replica] += n
				return &alwaysEqualCounter{m: map[crdt.ReplicaID]uint64{at.Replica: c.m[at.Replica]}}, nil
			}),
		},
		Observe: func(c *alwaysEqualCounter) any {
			var v uint64
			for _, n := range c.m {
				v += n
			}
			return v
		},
		Model: ref.Model,
	}
}

// TestKitBlamesTheLawThatBreaks: each failure is reported under the law it
// breaks, and not under one it does not. A type whose ⊥ ⊔ d ≠ d for a delta
// d breaks the identity half of merge-idempotent; merge-leaves-argument
// used to report it as "⊥.Merge(d) kept part of the delta". An Equal that
// always answers true, on a type without an encoding, used to pass every
// law; with Observe given, equal-congruent sees Equal states that show
// different values.
func TestKitBlamesTheLawThatBreaks(t *testing.T) {
	tests := []struct {
		name    string
		check   func(proptest.TB)
		want    []proptest.Law
		notWant []proptest.Law
		text    string // in the first report of the wanted law
	}{
		{
			name:    "delta with an entry its merge drops",
			check:   func(t proptest.TB) { proptest.Check(t, zeroDeltaCounterSpec()) },
			want:    []proptest.Law{proptest.LawIdempotent},
			notWant: []proptest.Law{proptest.LawMergeArgument},
			text:    "⊥ ⊔ d ≠ d",
		},
		{
			name:  "Equal always true, no encoding",
			check: func(t proptest.TB) { proptest.Check(t, alwaysEqualCounterSpec()) },
			want:  []proptest.Law{proptest.LawEqual},
			text:  "show different values",
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
			for _, law := range tc.notWant {
				if rec.violated(law) {
					t.Errorf("the kit blamed %s, which the type keeps:\n%s", law, strings.Join(rec.errors, "\n"))
				}
			}
			if !slices.ContainsFunc(rec.errors, func(e string) bool { return strings.Contains(e, tc.text) }) {
				t.Errorf("no report says %q:\n%s", tc.text, strings.Join(rec.errors, "\n"))
			}
		})
	}
}
