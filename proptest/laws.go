package proptest

// Law names one property the kit checks. Its value is the name printed in
// failures and the name of the subtest Check runs it in, so that
// `go test -run 'TestX/merge-commutative'` runs one law alone.
type Law string

// The laws, in the order they are checked. Each holds for every state
// reachable by a generated history; "=" means the type's Equal.
const (
	// LawReplay: replaying the same history twice gives Equal states and
	// deltas. Every other law builds independent copies of a state this
	// way, so a type that fails here (it reads the clock, randomness or Go
	// map order, or Equal is not reflexive) fails the rest for no reason of
	// their own.
	LawReplay Law = "replay-deterministic"
	// LawEqual: Equal is lattice equality: it is symmetric, states it
	// calls equal stay equal after the same merges and operations, and,
	// where Spec.Observe is given, states it calls equal show the same
	// value. Equal that compares less (the visible value, say, or nothing
	// at all) would let every other law pass a broken Merge.
	LawEqual Law = "equal-congruent"
	// LawIdempotent: x ⊔ x = x for every replica state and every delta, and
	// the empty state changes nothing: x ⊔ ⊥ = ⊥ ⊔ x = x, for deltas too. A
	// retried message must be harmless, and a delta merged into an empty
	// value must stay itself.
	LawIdempotent Law = "merge-idempotent"
	// LawCommutative: x ⊔ y = y ⊔ x for every pair of replicas. Arrival
	// order must not matter.
	LawCommutative Law = "merge-commutative"
	// LawAssociative: (x ⊔ y) ⊔ z = x ⊔ (y ⊔ z). Batching must not matter.
	LawAssociative Law = "merge-associative"
	// LawReportsChange: where T implements crdt.ChangeReporter[T],
	// x.MergeChanged(y) is x.Merge(y) and reports whether it changed x:
	// true exactly when x before the merge is not Equal to x ⊔ y. Checked
	// for every pair of states of a history (replicas, deltas, the empty
	// state), a state with itself, and a pair merged a second time, which
	// must report false. A replica forwards a delta only if merging it
	// reported a change.
	LawReportsChange Law = "merge-reports-change"
	// LawInflation: every accepted operation inflates its replica,
	// x ⊑ m(x), that is m(x) ⊔ x = m(x); and a rejected operation (Apply
	// returned an error) leaves it unchanged.
	LawInflation Law = "mutation-inflates"
	// LawDelta: the delta d an operation returns carries exactly the
	// mutation: x ⊔ d = m(x), and for every other replica y,
	// y ⊔ d ⊔ x = y ⊔ m(x), so shipping d is as good as shipping m(x) to
	// anyone who also gets x.
	LawDelta Law = "delta-matches-mutation"
	// LawConvergence: after a history whose deltas were dropped, duplicated
	// and reordered, (a) delivering every delta still in flight, reordered
	// and twice, and (b) instead dropping them and running one full-state
	// anti-entropy round, each leave every replica Equal to a fresh replica
	// that merged each operation's delta once, in order.
	LawConvergence Law = "convergence"
	// LawMergeArgument: x.Merge(y) neither mutates y nor keeps anything
	// mutable that y owns: y is unchanged afterwards, mutating x afterwards
	// leaves y unchanged, and mutating y afterwards leaves x unchanged.
	// Checked with the empty state as x too, where adopting y's maps is a
	// tempting shortcut.
	LawMergeArgument Law = "merge-leaves-argument"
	// LawClone: x.Clone() is Equal to x, and mutating either afterwards
	// leaves the other unchanged.
	LawClone Law = "clone-independent"
	// LawDeltaIndependent: a delta shares nothing mutable with the replica
	// that returned it: mutating the replica later leaves the delta
	// unchanged (a delta may wait in a queue), and merging into the delta
	// (joining deltas into a group) leaves the replica unchanged.
	LawDeltaIndependent Law = "delta-independent"
	// LawEncodingRoundTrip: where T implements encoding.BinaryMarshaler
	// and New() implements encoding.BinaryUnmarshaler, decoding the
	// encoding of any state or delta into a New() value gives an Equal
	// value.
	LawEncodingRoundTrip Law = "encoding-roundtrip"
	// LawEncodingDeterministic: where T implements
	// encoding.BinaryMarshaler, Equal states encode to equal bytes: the
	// same state encoded several times, Equal states from independent
	// replays, states joined in different orders, and a decoded value
	// re-encoded. Replicas compare digests of these bytes.
	LawEncodingDeterministic Law = "encoding-deterministic"
	// LawModel: where Spec.Model is given, each replica shows
	// (Spec.Observe) what the model computes from the events it has seen,
	// after every step and once every delta has arrived. Deltas are
	// delivered causally for this law, so that what a replica has seen is
	// well defined.
	LawModel Law = "model"
)

// Laws returns every law in the order Check runs them.
func Laws() []Law {
	return []Law{
		LawReplay, LawEqual, LawIdempotent, LawCommutative, LawAssociative,
		LawReportsChange, LawInflation, LawDelta, LawConvergence,
		LawMergeArgument, LawClone, LawDeltaIndependent,
		LawEncodingRoundTrip, LawEncodingDeterministic, LawModel,
		LawPruneValue, LawPruneStale, LawPruneMerge, LawCollectValue,
	}
}
