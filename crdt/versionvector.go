package crdt

import (
	"fmt"
	"iter"
	"maps"
	"slices"

	"github.com/converge-crdt/converge/internal/wire"
)

// VersionVector maps each replica to the number of its events seen, all of
// them: counter c for replica r means events r:1 … r:c. The zero value is an
// empty vector, ready to use. Entries are never zero.
type VersionVector struct {
	m map[ReplicaID]uint64
}

// NewVersionVector returns an empty vector.
func NewVersionVector() *VersionVector { return &VersionVector{} }

// Get returns the counter of r, 0 if none of its events was seen.
func (v *VersionVector) Get(r ReplicaID) uint64 { return v.m[r] }

// Len returns the number of replicas with a non-zero counter.
func (v *VersionVector) Len() int { return len(v.m) }

// Contains reports whether the event d is covered.
func (v *VersionVector) Contains(d Dot) bool { return d.Counter != 0 && d.Counter <= v.m[d.Replica] }

// Advance raises r's counter to c if it is lower. Counter 0 is a no-op.
func (v *VersionVector) Advance(r ReplicaID, c uint64) {
	if c == 0 || c <= v.m[r] {
		return
	}
	if v.m == nil {
		v.m = make(map[ReplicaID]uint64)
	}
	v.m[r] = c
}

// Merge raises every counter to the maximum of both vectors.
func (v *VersionVector) Merge(other *VersionVector) { v.MergeChanged(other) }

// MergeChanged is Merge, and reports whether a counter rose.
func (v *VersionVector) MergeChanged(other *VersionVector) (changed bool) {
	for r, c := range other.m {
		if c > v.m[r] {
			if v.m == nil {
				v.m = make(map[ReplicaID]uint64, len(other.m))
			}
			v.m[r] = c
			changed = true
		}
	}
	return changed
}

// Clone returns a copy sharing nothing with v.
func (v *VersionVector) Clone() *VersionVector { return &VersionVector{m: maps.Clone(v.m)} }

// Equal reports whether both vectors hold the same counters.
func (v *VersionVector) Equal(other *VersionVector) bool { return maps.Equal(v.m, other.m) }

// Descends reports whether v has seen every event other has (other ⊑ v).
func (v *VersionVector) Descends(other *VersionVector) bool {
	for r, c := range other.m {
		if v.m[r] < c {
			return false
		}
	}
	return true
}

// All yields the entries in replica order.
func (v *VersionVector) All() iter.Seq2[ReplicaID, uint64] {
	return func(yield func(ReplicaID, uint64) bool) {
		for _, r := range slices.Sorted(maps.Keys(v.m)) {
			if !yield(r, v.m[r]) {
				return
			}
		}
	}
}

func (v *VersionVector) String() string {
	s := "["
	for r, c := range v.All() {
		if len(s) > 1 {
			s += " "
		}
		s += fmt.Sprintf("%s:%d", r, c)
	}
	return s + "]"
}

// encode writes the vector as a flat array r1, c1, r2, c2, … in replica
// order.
func (v *VersionVector) encode(w *wire.Writer) {
	w.Array(2 * len(v.m))
	for r, c := range v.All() {
		w.String(string(r))
		w.Uint(c)
	}
}

// decodeVersionVector reads what encode wrote: replicas strictly
// increasing, so the encoding of a state is unique, and every counter an
// event counter (1 to MaxCounter).
func decodeVersionVector(r *wire.Reader, what string) (*VersionVector, error) {
	v, err := decodeFlatCounts(r, what, "counter", func(id ReplicaID, c uint64) error {
		if c == 0 || c > MaxCounter {
			return checkCounter(fmt.Sprintf("%s entry %q", what, id), c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// decodeFlatCounts reads the flat array r1, c1, r2, c2, … that encode
// writes, for every type that stores one count per replica (vectors and
// counters). Replicas must be strictly increasing, so the encoding of a
// state is unique; check vets each count (name is its name in errors) and
// may refuse it.
func decodeFlatCounts(r *wire.Reader, what, name string, check func(id ReplicaID, c uint64) error) (VersionVector, error) {
	start := r.Offset()
	n, err := r.ArrayLen(what, 1)
	if err != nil {
		return VersionVector{}, err
	}
	if n%2 != 0 {
		return VersionVector{}, fmt.Errorf("%w: %s has odd length %d at offset %d", ErrMalformed, what, n, start)
	}
	var v VersionVector
	var prev ReplicaID
	for i := 0; i < n/2; i++ {
		id, err := readReplicaID(r)
		if err != nil {
			return VersionVector{}, fmt.Errorf("%s: %w", what, err)
		}
		if i > 0 && id <= prev {
			if id == prev {
				return VersionVector{}, fmt.Errorf("%w: %s lists replica %q twice", ErrDuplicate, what, id)
			}
			return VersionVector{}, fmt.Errorf("%w: %s replicas out of order (%q after %q)", ErrMalformed, what, id, prev)
		}
		c, err := r.Uint(name)
		if err != nil {
			return VersionVector{}, err
		}
		if err := check(id, c); err != nil {
			return VersionVector{}, err
		}
		if v.m == nil {
			// An entry takes at least 3 bytes (fixstr header, one byte of
			// ID, a fixint), so a hostile header cannot size the map past
			// what a valid input of the same length would need.
			v.m = make(map[ReplicaID]uint64, min(n/2, r.Remaining()/3+1))
		}
		v.m[id] = c
		prev = id
	}
	return v, nil
}
