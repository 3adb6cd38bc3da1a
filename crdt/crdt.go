package crdt

// CRDT is the contract every replicated type in converge satisfies, built-in
// or user-defined. T is the implementing type itself (usually a pointer), so
// that Merge and Equal take a value of the same type:
//
//	type GCounter struct{ ... }
//	var _ crdt.CRDT[*GCounter] = (*GCounter)(nil)
//
// The state space of a CRDT is a join-semilattice and Merge is its join.
// For all reachable states a, b, c, with = meaning Equal:
//
//	a ⊔ a       = a              (idempotent: a retried message changes nothing)
//	a ⊔ b       = b ⊔ a          (commutative: arrival order does not matter)
//	(a ⊔ b) ⊔ c = a ⊔ (b ⊔ c)    (associative: grouping and batching do not matter)
//
// Mutators inflate the state (a ⊑ m(a)) and return a delta d of the same type
// such that a ⊔ d = m(a); deltas join into delta groups with Merge like any
// other state (Almeida, Shoker, Baquero 2018).
//
// Merge(other) is an in-place join into the receiver. It never mutates other
// and never retains anything mutable that other owns, so the caller may keep
// using other afterwards.
//
// Clone returns a deep copy that shares nothing mutable with the receiver.
//
// Equal is lattice equality: true when both hold the same state (the same
// causal information), not merely the same observable value. Two counters
// that both read 3 are not Equal if they got there through different
// replicas.
type CRDT[T any] interface {
	Merge(other T)
	Clone() T
	Equal(other T) bool
}

// ChangeReporter is an optional extension of CRDT for types whose merge can
// tell, at no extra cost, whether it changed the receiver. A replica merges
// every delta it receives and forwards only those that taught it something
// (novelty is the stop signal for re-gossip); without MergeChanged it would
// have to clone its state, merge into the clone and compare, on every
// delta.
//
// MergeChanged(other) is exactly Merge(other) (same effect, same contract:
// other is neither mutated nor retained) and reports whether the receiver's
// state changed. The law, for every reachable x and y, with x₀ a copy of x
// taken before the merge:
//
//	x.MergeChanged(y) == !x₀.Equal(x ⊔ y)
//
// So it reports false when y ⊑ x: merging x into itself, merging an empty
// state, merging a delta again. Every built-in type implements it, as do
// VersionVector and CausalContext.
type ChangeReporter[T any] interface {
	MergeChanged(other T) (changed bool)
}
