// Package crdt provides conflict-free replicated data types (CRDTs): values
// that replicas update independently, without coordination, and that
// converge when replicas exchange state, whatever the order, duplication or
// batching of the messages.
//
// The package is a pure core. It has no goroutines, locks, clocks,
// randomness or I/O: time is an argument (see Clock), and shipping updates
// between replicas is the business of the caller (the node and gossip
// packages of this module).
//
// # Model
//
// Every type is a state-based CRDT (Shapiro, Preguiça, Baquero, Zawirski,
// "Conflict-free Replicated Data Types", SSS 2011): its states form a
// join-semilattice and Merge is the join. For all states a, b, c, with =
// meaning Equal:
//
//	a ⊔ a       = a              idempotent:  a retried message changes nothing
//	a ⊔ b       = b ⊔ a          commutative: arrival order does not matter
//	(a ⊔ b) ⊔ c = a ⊔ (b ⊔ c)    associative: grouping and batching do not matter
//
// so any two replicas that have merged the same set of updates are Equal.
//
// Every type is also a delta-state CRDT (Almeida, Shoker, Baquero, "Delta
// state replicated data types", JPDC 2018): each mutator changes the
// receiver and returns a delta, a small state of the same type, such that
// merging the delta into any replica has the same effect as the mutation
// had locally (x ⊔ delta = mutation(x)). Deltas merge into delta groups
// like any state. Shipping deltas instead of whole states saves bandwidth;
// dropping deltas is safe as long as whole states are exchanged now and
// then (anti-entropy), since a state covers every delta it has merged.
//
// All types implement CRDT[T] (Merge, Clone, Equal), whose doc comment
// states the contract: Merge never mutates or retains its argument, Clone
// shares nothing, Equal compares states, not observable values. They also
// implement ChangeReporter[T]: MergeChanged merges and reports whether the
// receiver changed, which is how a replica knows that a delta was new.
//
// # Types
//
//   - GCounter: a grow-only counter (per-replica counts, merged by maximum).
//   - PNCounter: a counter that goes up and down (two GCounters).
//   - ORSet: an add-wins observed-remove set on dots, without tombstones.
//   - LWWMap: a last-writer-wins map whose writes are ordered by (HLC
//     timestamp, replica ID); deletes are timestamped tombstones.
//
// Counters never wrap: a mutation that would overflow the replica's own
// count returns an error wrapping ErrOverflow and changes nothing. Totals
// past the range (concurrent increments, or a peer's huge count) saturate
// the value and never block a write; see GCounter and PNCounter.
//
// # Causal vocabulary
//
// A ReplicaID names one replica incarnation; it must never be reused by a
// replica that lost its state. A Dot (replica, counter) names one event. A
// VersionVector maps each replica to the number of its events seen, all of
// them. A CausalContext is a set of events stored as a version vector plus
// a "dot cloud" of events seen past a gap, compacted into the vector when
// gaps fill. "Clock" in this package means time only: HLC is a hybrid
// logical clock timestamp and Clock issues them from wall times the caller
// passes in.
//
// # Pruning and collection
//
// Replicas that are gone for good are pruned (Pruner: GCounter, PNCounter,
// ORSet): their entries fold into prune records that are part of the
// lattice, so any replica may prune without a coordinator and a stale copy
// cannot bring them back; Collect (Collector) drops records, and LWWMap
// tombstones, after a horizon. The argument is in prune.go.
//
// # Wire form
//
// Every type implements encoding.BinaryMarshaler and BinaryUnmarshaler. An
// encoding is one msgpack array [tag, version, fields…]: the TypeTag names
// the type (protocol constants with written values), the version the
// layout (1 for every type so far). Encodings are deterministic: Equal
// states encode to equal bytes (replicas, dots and elements are written in
// sorted order, and map keys inside user values in canonical order), so
// digests of encodings can be compared. PeekTag reads the tag and version
// without decoding the rest. Golden files in testdata pin each layout; a
// change to a layout needs a new version.
//
// Decoding is bounded and strict, because bytes come from peers. A decoder
// never panics, checks every length prefix against the bytes that remain
// before allocating, limits the nesting of user values, and refuses, with
// an error that wraps one of the sentinel errors (ErrTruncated,
// ErrTrailing, ErrMalformed, ErrTooLarge, ErrTooDeep, ErrWrongType,
// ErrVersion, ErrDuplicate, ErrInvalid) and names the problem, anything the
// encoder would not have written: out-of-order or repeated replicas, zero
// or oversized counters, an overflowing sum, a dot its causal context does
// not cover, trailing bytes. UnmarshalBinary leaves the receiver unchanged
// when it fails.
//
// # Hostile states
//
// A state from a peer may be valid yet built to be expensive, or may claim
// events in someone else's name. Within one type's rules (there are no
// signatures) the package bounds what such a state can cost:
//
//   - Merge is O(n log n) in the dots involved, whatever their shape (an
//     element's dots are searched, not scanned), and decoders refuse
//     shapes an add-wins set does not produce: more than MaxDotsPerReplica
//     dots of one replica on one element, a dot cloud over MaxCloudDots.
//   - Causal-context compaction touches only the replicas a call changed,
//     so a planted cloud costs its holder memory, not time per Add.
//   - IdentityChecker lets a replica refuse a state that claims more
//     events of its own ID than it issued (ErrIdentity); ORSet.Add never
//     issues a counter past MaxCounter, which decoders refuse.
//   - A peer's counts never block another replica's increments (values
//     saturate), and Clock.ObserveSkew keeps a peer's timestamps from
//     holding a replica's clock far ahead.
//
// # What is promised, and what is not
//
// Promised: the merge laws above for every reachable state; x ⊔ delta =
// mutation(x); convergence of replicas that saw the same updates; no
// silent overflow; deterministic encodings; decoders that survive any
// input.
//
// Not promised: any order between concurrent updates beyond each type's
// rule (add wins in ORSet; the later (timestamp, replica ID) stamp in
// LWWMap); real-time ordering across replicas, since HLC timestamps are
// only as good as the wall clocks fed to them; safety when two live
// replicas share a ReplicaID; exactness after the prune horizon: prune
// records and LWWMap tombstones are collected after it (see Prune and
// LWWMap.Collect), and a state cut off for longer that still holds what
// they removed brings it back; safety for concurrent use of
// one value from several goroutines (callers serialise access).
package crdt
