package crdt

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/converge-crdt/converge/internal/wire"
)

// # Pruning replicas that are gone for good
//
// Every replica that ever wrote leaves an entry in a counter (its count)
// and in a causal context (its event counter). Agents restart often and
// every restart is a new ReplicaID, so without pruning a state grows with
// the fleet's history, not with the live fleet.
//
// Prune(r, at) folds replica r out of a state and leaves a prune record
// for r: (r, n, at), where n is r's count (counters) or the highest of r's
// events that the pruner has seen and none of which is live (ORSet), and at
// is the pruner's HLC time. The record is part of the lattice: records
// merge by union, n by maximum, at by minimum, and merging any state into
// one that holds a record for r strips r's entries from it, folding them
// into the record (a counter entry raises n; an ORSet dot at or below n is
// treated as seen and removed). So:
//
//   - No pruner is chosen and none is needed. Every replica prunes on its
//     own, whenever it decides that r is gone. The fold is keyed by r
//     itself, not by the pruner, so two replicas pruning r at once produce
//     two records for r that join into one: r's count is counted once,
//     never twice (Akka's pruning spec: the value stays 9, never 10),
//     however many replicas prune it and in whatever order their states
//     meet.
//   - A stale copy that still holds r's entries (a replica partitioned
//     while r was pruned, an old delta arriving late) is stripped of them
//     when it merges: it cannot bring r back or count it twice. Its entries
//     of r that the pruner had not seen (r's last increments, an add the
//     pruner never received) are not lost: a larger count raises n, and an
//     ORSet dot above n stays live.
//   - The observable value never changes: a pruned counter reads the same,
//     and a pruned set has the same elements.
//
// What makes this safe is that a pruned identity never writes again: the
// node package's replica IDs carry an epoch that is new every time a
// process starts without its state, so a restarted agent writes under a
// new ID and the old one is dead for good. If a replica is pruned while it
// is still alive (a partition made it look gone), nothing breaks either:
// its next increment goes into its record, and its next ORSet add uses a
// counter above n.
//
// # Collecting the records
//
// A record is smaller than what it replaces in an ORSet (one entry instead
// of dots and a context entry) but as large as a counter entry, so records
// are collected too: Collect(before) drops the records stamped before
// before and raises the state's floor to before. A counter adds the
// collected counts to its base, so its value is unchanged. Merging a state
// with a lower floor drops its records stamped before the higher floor
// (they are already in the base). The node collects at its HLC time minus
// a horizon (node.Config.PruneHorizon, 24 hours by default).
//
// The horizon is the one assumption: a state that was cut off for longer
// than the horizon (a replica partitioned, or a backup restored, from
// before a record was collected) and that still holds entries of a pruned
// replica brings them back when it returns: a counter then counts them
// again, a set may show elements that were removed. The horizon must be
// longer than any partition the cluster tolerates, and longer than the
// clock skew between nodes (a node whose clock is ahead collects early by
// that much).

// Pruner is an optional extension of CRDT for types whose state keeps
// entries per replica: counters and causal contexts. The node package
// prunes every object whose type implements it; custom types take part
// the same way. The laws (checked by proptest's prune laws): Prune never
// changes the observable value; prune(x) ⊔ x = prune(x) (a stale copy
// brings nothing back); prune(x) ⊔ y shows the same value as x ⊔ y; and
// the delta law of every mutator, x ⊔ d = prune(x).
type Pruner[T any] interface {
	// Replicas returns, sorted, the replicas that have entries in the
	// state and could be pruned.
	Replicas() []ReplicaID
	// Prune folds replica r's entries out of the state, recording the
	// fold with timestamp at, and returns the delta (an empty state if
	// there was nothing to prune).
	Prune(r ReplicaID, at HLC) T
}

// Collector is an optional extension for types that keep records of
// removed information: prune records and LWW-Map tombstones. Collect drops
// those stamped before before and reports whether the state changed.
// Collection is local to each replica (it is not a mutation with a delta:
// every replica collects with its own clock) and is safe under the horizon
// assumption described in the package documentation.
type Collector interface {
	Collect(before HLC) (changed bool)
}

// pruneRec is the record of one pruned replica.
type pruneRec struct {
	n  uint64 // the replica's folded count, or the last of its events folded
	at HLC    // when it was first pruned
}

// pruneSet holds the prune records of one state and its collection floor.
// The zero value holds nothing.
//
// Invariants: no record is stamped before floor; base is zero unless the
// owner folds counts (GCounter).
type pruneSet struct {
	recs  map[ReplicaID]pruneRec
	floor HLC    // records stamped before floor were collected
	base  uint64 // counters: the sum of the collected records' counts
}

func (p *pruneSet) empty() bool { return len(p.recs) == 0 && p.floor.IsZero() && p.base == 0 }

func (p *pruneSet) get(r ReplicaID) (pruneRec, bool) {
	x, ok := p.recs[r]
	return x, ok
}

func (p *pruneSet) clone() pruneSet {
	return pruneSet{recs: maps.Clone(p.recs), floor: p.floor, base: p.base}
}

func (p *pruneSet) equal(o *pruneSet) bool {
	return p.floor == o.floor && p.base == o.base && maps.Equal(p.recs, o.recs)
}

// put joins the record (r, n, at) in and reports whether it changed p. A
// record stamped before the floor was collected and is ignored.
func (p *pruneSet) put(r ReplicaID, n uint64, at HLC) bool {
	if at.Compare(p.floor) < 0 {
		return false
	}
	old, ok := p.recs[r]
	x := pruneRec{n: n, at: at}
	if ok {
		x.n = max(x.n, old.n)
		if old.at.Compare(at) < 0 {
			x.at = old.at
		}
		if x == old {
			return false
		}
	}
	if p.recs == nil {
		p.recs = make(map[ReplicaID]pruneRec)
	}
	p.recs[r] = x
	return true
}

// merge joins o's floor and records into p and reports whether p changed.
// The floor with its base is the larger (floor, base) pair: a replica that
// collected further has folded, under the horizon assumption, every record
// the other collected. fold receives each record collected from p by a
// rising floor (counters add its count to the base, which the new base
// already includes, so they only need to forget it).
func (p *pruneSet) merge(o *pruneSet) (changed bool) {
	if c := o.floor.Compare(p.floor); c > 0 || c == 0 && o.base > p.base {
		p.floor, p.base = o.floor, o.base
		changed = true
		for r, x := range p.recs {
			if x.at.Compare(p.floor) < 0 {
				delete(p.recs, r)
			}
		}
	}
	for r, x := range o.recs {
		if p.put(r, x.n, x.at) {
			changed = true
		}
	}
	return changed
}

// collect drops the records stamped before before and raises the floor to
// before, if any was dropped (a state without old records stays as it is).
// It returns the dropped records; the caller folds them (a counter adds
// their counts to base).
func (p *pruneSet) collect(before HLC) (dropped []pruneRec, changed bool) {
	if before.Compare(p.floor) <= 0 {
		return nil, false
	}
	for r, x := range p.recs {
		if x.at.Compare(before) < 0 {
			dropped = append(dropped, x)
			delete(p.recs, r)
		}
	}
	if len(dropped) == 0 {
		return nil, false
	}
	p.floor = before
	if len(p.recs) == 0 {
		p.recs = nil
	}
	return dropped, true
}

// sorted returns the pruned replicas in order.
func (p *pruneSet) sorted() []ReplicaID { return slices.Sorted(maps.Keys(p.recs)) }

func (p *pruneSet) String() string {
	if p.empty() {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, " pruned{floor:%v base:%d", p.floor, p.base)
	for _, r := range p.sorted() {
		x := p.recs[r]
		fmt.Fprintf(&b, " %s:%d@%v", r, x.n, x.at)
	}
	b.WriteString("}")
	return b.String()
}

// encode writes [floor, base, records], records being the flat array
// r1, n1, at1, r2, … in replica order.
func (p *pruneSet) encode(w *wire.Writer) {
	w.Array(3)
	p.floor.encode(w)
	w.Uint(p.base)
	w.Array(3 * len(p.recs))
	for _, r := range p.sorted() {
		x := p.recs[r]
		w.String(string(r))
		w.Uint(x.n)
		x.at.encode(w)
	}
}

// decodePruneSet reads what encode wrote and checks what encode would
// guarantee: replicas strictly increasing, no record before the floor, no
// zero count, a base only where counts allows one, and, unless allowEmpty,
// a set that is not empty (a state without records is written as format
// version 1).
func decodePruneSet(r *wire.Reader, counts, allowEmpty bool) (pruneSet, error) {
	var p pruneSet
	if err := r.ExpectArray("prune records", 3); err != nil {
		return p, err
	}
	floor, err := decodeHLC(r)
	if err != nil {
		return p, fmt.Errorf("prune floor: %w", err)
	}
	p.floor = floor
	if p.base, err = r.Uint("prune base"); err != nil {
		return p, err
	}
	if p.base != 0 && !counts {
		return p, fmt.Errorf("%w: prune base %d in a type without counts", ErrInvalid, p.base)
	}
	n, err := r.ArrayLen("prune records", 1)
	if err != nil {
		return p, err
	}
	if n%3 != 0 {
		return p, fmt.Errorf("%w: prune records array has length %d, not a multiple of 3", ErrMalformed, n)
	}
	var prev ReplicaID
	for i := range n / 3 {
		id, err := readReplicaID(r)
		if err != nil {
			return p, fmt.Errorf("prune record: %w", err)
		}
		if i > 0 && id <= prev {
			if id == prev {
				return p, fmt.Errorf("%w: prune records list %q twice", ErrDuplicate, id)
			}
			return p, fmt.Errorf("%w: prune records out of order (%q after %q)", ErrMalformed, id, prev)
		}
		prev = id
		c, err := r.Uint("prune count")
		if err != nil {
			return p, err
		}
		if c == 0 {
			return p, fmt.Errorf("%w: prune record %q has count 0", ErrInvalid, id)
		}
		if !counts && c > MaxCounter {
			return p, checkCounter(fmt.Sprintf("prune record %q", id), c)
		}
		at, err := decodeHLC(r)
		if err != nil {
			return p, fmt.Errorf("prune record %q: %w", id, err)
		}
		if at.Compare(p.floor) < 0 {
			return p, fmt.Errorf("%w: prune record %q stamped %v, before the floor %v", ErrInvalid, id, at, p.floor)
		}
		if p.recs == nil {
			// A record takes at least 6 bytes: size the map by what the
			// bytes left could hold.
			p.recs = make(map[ReplicaID]pruneRec, min(n/3, r.Remaining()/6+1))
		}
		p.recs[id] = pruneRec{n: c, at: at}
	}
	if p.empty() && !allowEmpty {
		return p, fmt.Errorf("%w: empty prune records in format version 2 (version 1 has none)", ErrMalformed)
	}
	return p, nil
}

// formatV2 is the layout of a state that holds prune records: the version 1
// fields followed by the prune set. A state without records is still
// written as version 1, byte for byte as before pruning existed.
const formatV2 = 2

// writeHeaderPruned starts an encoding whose layout depends on whether the
// state holds prune records: version 1 with fields fields, or version 2
// with extraV2 more (the prune sets), which the caller writes last.
func writeHeaderPruned(w *wire.Writer, tag TypeTag, fields, extraV2 int, pruned bool) {
	if !pruned {
		writeHeader(w, tag, fields)
		return
	}
	w.Array(fields + 2 + extraV2)
	w.Uint(uint64(tag))
	w.Uint(formatV2)
}

// readHeaderPruned is readHeader for types that may hold prune records: it
// accepts version 1 with fields fields and version 2 with extraV2 more, and
// reports whether it read version 2.
func readHeaderPruned(r *wire.Reader, want TypeTag, fields, extraV2 int) (pruned bool, err error) {
	n, err := r.ArrayLen(want.String(), 1)
	if err != nil {
		return false, err
	}
	if n < 2 {
		return false, fmt.Errorf("%w: %s encoding has %d fields, want %d", ErrMalformed, want, n, fields+2)
	}
	tag, err := r.Uint("type tag")
	if err != nil {
		return false, err
	}
	if tag != uint64(want) {
		return false, fmt.Errorf("%w: got %s, want %s", ErrWrongType, TypeTag(min(tag, 0xffff)), want)
	}
	v, err := r.Uint("format version")
	if err != nil {
		return false, err
	}
	extra := 0
	switch v {
	case formatV1:
	case formatV2:
		extra = extraV2
	default:
		return false, fmt.Errorf("%w: %s version %d", ErrVersion, want, v)
	}
	if n != fields+2+extra {
		return false, fmt.Errorf("%w: %s version %d encoding has %d fields, want %d", ErrMalformed, want, v, n, fields+2+extra)
	}
	return v == formatV2, nil
}

// GonePruner is an optional extension of Pruner for types that can fold
// more of a replica once it is known to be gone for good and its updates
// have reached every replica: ORSet folds an add that another add of the
// same element shadows (see ORSet.PruneGone). The node package calls
// PruneGone instead of Prune when a type has it.
type GonePruner[T any] interface {
	PruneGone(r ReplicaID, at HLC) T
}
