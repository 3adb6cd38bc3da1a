package crdt

import (
	"encoding"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// Scaffolding shared by the GCounter and PNCounter tests: scenarios of
// steps on per-replica copies, and random histories checked against a
// model that adds.

// counterStep is one step of a counter scenario: replica at increments
// (op "inc"), decrements (op "dec") or merges from's copy into its own
// (op "merge"). Each replica holds its own copy of the counter.
type counterStep struct {
	op      string
	at      ReplicaID
	n       uint64
	from    ReplicaID
	wantErr error // for inc and dec
}

// counterOps maps an operation name ("inc", "dec") to the counter's
// mutator, given as a method expression such as (*GCounter).Inc.
type counterOps[T any] map[string]func(c T, r ReplicaID, n uint64) (T, error)

// runCounterSteps plays steps on per-replica copies (each starting as
// fresh()) and checks every mutation: its error, that a failed one returned
// no delta and changed nothing, that a successful one's delta matches it,
// and that a zero amount gives an empty delta. At the end each replica
// named in want must show (value) the given value. Merges check
// MergeChanged's report.
func runCounterSteps[T changeReporting[T], V comparable](t *testing.T, steps []counterStep, fresh func() T, ops counterOps[T], value func(T) V, want map[ReplicaID]V) {
	t.Helper()
	copies := map[ReplicaID]T{}
	get := func(r ReplicaID) T {
		if _, ok := copies[r]; !ok {
			copies[r] = fresh()
		}
		return copies[r]
	}
	var none T // a nil delta
	for i, s := range steps {
		c := get(s.at)
		if s.op == "merge" {
			mergeChecked(t, c, get(s.from))
			continue
		}
		mutate, ok := ops[s.op]
		if !ok {
			t.Fatalf("step %d: unknown op %q", i, s.op)
		}
		before := c.Clone()
		d, err := mutate(c, s.at, s.n)
		if !errors.Is(err, s.wantErr) {
			t.Fatalf("step %d: %s(%q, %d) error %v, want %v", i, s.op, s.at, s.n, err, s.wantErr)
		}
		if err != nil {
			if any(d) != any(none) {
				t.Fatalf("step %d: failed %s returned a delta %v", i, s.op, d)
			}
			if !c.Equal(before) || value(c) != value(before) {
				t.Fatalf("step %d: failed %s changed the state from %v to %v", i, s.op, before, c)
			}
			continue
		}
		checkDelta(t, before, c, d)
		if s.n == 0 && !d.Equal(fresh()) {
			t.Errorf("step %d: %s by 0 returned non-empty delta %v", i, s.op, d)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(want)) {
		if got := value(get(r)); got != want[r] {
			t.Errorf("replica %q: Value() = %v, want %v (state %v)", r, got, want[r], get(r))
		}
	}
}

// checkCounterLaws runs lawRounds random histories on the given replicas,
// each mutating with a random op of ops by a random amount (now and then
// one below big) or merging another replica's state, and checks every
// delta and every merge's report, the merge laws, the encoding, the value
// of all states merged against a model that adds ("dec" subtracts), the
// delivery of the deltas in any order with duplicates and in groups, and
// MergeChanged on random pairs of states and deltas.
func checkCounterLaws[T interface {
	changeReporting[T]
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}](t *testing.T, replicas []ReplicaID, fresh func() T, ops counterOps[T], big uint64, value func(T) int64) {
	t.Helper()
	rng := newRand(t)
	names := slices.Sorted(maps.Keys(ops))
	for round := range lawRounds {
		states := make([]T, len(replicas))
		for i := range states {
			states[i] = fresh()
		}
		var deltas []T
		var model int64
		for range rng.IntN(30) {
			i := rng.IntN(len(replicas))
			if rng.IntN(4) == 0 {
				mergeChecked(t, states[i], states[rng.IntN(len(replicas))])
				continue
			}
			n := uint64(rng.IntN(5))
			if rng.IntN(10) == 0 {
				n = rng.Uint64N(big)
			}
			op := names[rng.IntN(len(names))]
			before := states[i].Clone()
			d, err := ops[op](states[i], replicas[i], n)
			if err != nil {
				t.Fatalf("round %d: %s: %v", round, op, err)
			}
			checkDelta(t, before, states[i], d)
			deltas = append(deltas, d)
			if op == "dec" {
				model -= int64(n)
			} else {
				model += int64(n)
			}
		}
		for i := 0; i < len(states); i += 3 {
			checkMergeLaws(t, states[i], states[(i+1)%len(states)], states[(i+2)%len(states)])
		}
		all := fresh()
		for _, s := range states {
			checkRoundTrip(t, s, fresh)
			all.Merge(s)
		}
		if value(all) != model {
			t.Fatalf("round %d: merged value %d, model %d (%v)", round, value(all), model, all)
		}
		checkDeltaDelivery(t, rng, deltas, all, fresh)
		checkMergeChanged(t, rng, append(states, deltas...), fresh)
	}
}

// checkDeltaDelivery merges the deltas into a fresh replica in a random
// order, with random duplicates and a random grouping of deltas into delta
// groups, and checks that it ends Equal to want.
func checkDeltaDelivery[T CRDT[T]](t testing.TB, rng *rand.Rand, deltas []T, want T, fresh func() T) {
	t.Helper()
	var sent []T
	for _, d := range deltas {
		sent = append(sent, d)
		for rng.IntN(3) == 0 {
			sent = append(sent, d)
		}
	}
	rng.Shuffle(len(sent), func(i, j int) { sent[i], sent[j] = sent[j], sent[i] })
	got := fresh()
	for i := 0; i < len(sent); {
		// Join a few deltas into a group first, as a sender's queue does.
		group := fresh()
		k := 1 + rng.IntN(3)
		for ; k > 0 && i < len(sent); k-- {
			group.Merge(sent[i])
			i++
		}
		got.Merge(group)
	}
	if !got.Equal(want) {
		t.Fatalf("deltas delivered out of order and duplicated give %v, want %v", got, want)
	}
}
