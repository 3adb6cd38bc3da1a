package crdt

import (
	"bytes"
	"cmp"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
)

// FWWMap is a first-writer-wins map from string keys to records, with rounds
// and a retention horizon. It is the lattice behind claims ("the earliest
// claim wins") and idempotency registries ("the first completion's outcome
// wins") in package node/agent.
//
// Each key holds a small set of records. A record is a round, a hybrid
// logical clock stamp, the replica that wrote it and an opaque value (the
// caller's encoding). The winner of a key is the record of the highest
// round and, within it, the earliest (stamp, replica), then the smallest
// value bytewise; so every replica that holds the same records picks the
// same winner, whatever order they arrived in. A later round lets a new
// writer take over a key (a claim whose holder died); within one round the
// first writer wins.
//
// The records of the winning round say more: Contested reports that more
// than one (stamp, replica) wrote in that round (a double claim, or an
// operation executed twice), and Conflict that they wrote different values
// (two executions that disagreed on the outcome). Both are computed from the
// records, so they too are the same on every replica that has seen the same
// writes.
//
// # Retention
//
// Records stamped before the horizon are dropped, and a record stamped
// before the horizon is never accepted again; Expire raises the horizon,
// and the horizon merges by maximum. The state is the horizon plus every
// record at or after it, and Merge is the union of records filtered by the
// larger horizon: a set union under a monotone filter, so it is a join
// (idempotent, commutative, associative) even though it drops records. The
// price of keeping sets rather than one winner per key: when a key's winner
// expires while a later record of the same key does not, the later record
// becomes the winner until it expires too. Callers choose a retention far
// longer than any retry or partition they tolerate (hours), so only records
// nobody asks about any more expire.
//
// Records are few per key: a replica writes a key once per round, so a key
// holds more than one record per round only when writers raced. The decoder
// and Write bound it at MaxFWWRecords.
//
// The zero value is an empty map, ready to use. An FWWMap is not safe for
// concurrent use. Laws and the delta contract are those of CRDT.
type FWWMap struct {
	horizon HLC
	// entries maps each key to its records, sorted by compareRecords and
	// without duplicates; never empty.
	entries map[string][]FWWRecord
}

// MaxFWWRecords bounds the records one key of an FWWMap holds: the number of
// distinct writes to one key that can race (in all its live rounds).
const MaxFWWRecords = 256

// MaxFWWKeyLen bounds a key of an FWWMap.
const MaxFWWKeyLen = 1024

// FWWRecord is one write to a key of an FWWMap. Value is the caller's
// encoding of what was written (a claimant's metadata, an operation's
// outcome); the map never interprets it and never copies it: do not mutate
// a Value after writing it or after reading it.
type FWWRecord struct {
	Round   uint64
	Stamp   HLC
	Replica ReplicaID
	Value   []byte
}

var (
	_ CRDT[*FWWMap]           = (*FWWMap)(nil)
	_ ChangeReporter[*FWWMap] = (*FWWMap)(nil)
)

// NewFWWMap returns an empty map.
func NewFWWMap() *FWWMap { return &FWWMap{} }

// compareRecords is the total order of a key's records: by round, then
// stamp, replica and value. The winner is the first record of the largest
// round (see winner).
func compareRecords(a, b FWWRecord) int {
	if c := cmp.Compare(a.Round, b.Round); c != 0 {
		return c
	}
	if c := a.Stamp.Compare(b.Stamp); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Replica), string(b.Replica)); c != 0 {
		return c
	}
	return bytes.Compare(a.Value, b.Value)
}

// Write records that replica wrote value to key in round at stamp and
// returns the delta. It writes nothing (and returns an empty delta) for an
// empty replica ID or one longer than 256 bytes, a key longer than
// MaxFWWKeyLen, a stamp before the horizon, or a key that already holds
// MaxFWWRecords records; a record already present is returned again as the
// delta. Write does not check whether the record wins: callers read Winner
// after writing.
func (m *FWWMap) Write(key string, round uint64, stamp HLC, replica ReplicaID, value []byte) *FWWMap {
	if replica == "" || len(replica) > maxReplicaIDLen || len(key) > MaxFWWKeyLen || stamp.Compare(m.horizon) < 0 {
		return NewFWWMap()
	}
	rec := FWWRecord{Round: round, Stamp: stamp, Replica: replica, Value: value}
	recs := m.entries[key]
	i, found := slices.BinarySearchFunc(recs, rec, compareRecords)
	if !found {
		if len(recs) >= MaxFWWRecords {
			return NewFWWMap()
		}
		if m.entries == nil {
			m.entries = make(map[string][]FWWRecord)
		}
		m.entries[key] = slices.Insert(slices.Clip(recs), i, rec)
	}
	return &FWWMap{entries: map[string][]FWWRecord{key: {rec}}}
}

// Expire raises the horizon to h, dropping every record stamped before it,
// and returns the delta (the horizon alone). An h at or below the horizon
// changes nothing and returns an empty delta.
func (m *FWWMap) Expire(h HLC) *FWWMap {
	if h.Compare(m.horizon) <= 0 {
		return NewFWWMap()
	}
	m.horizon = h
	m.dropBefore()
	return &FWWMap{horizon: h}
}

// dropBefore removes the records stamped before the horizon.
func (m *FWWMap) dropBefore() {
	for k, recs := range m.entries {
		kept := slices.DeleteFunc(recs, func(r FWWRecord) bool { return r.Stamp.Compare(m.horizon) < 0 })
		if len(kept) == 0 {
			delete(m.entries, k)
		} else {
			m.entries[k] = slices.Clip(kept)
		}
	}
}

// Horizon returns the retention horizon: no record stamped before it is kept.
func (m *FWWMap) Horizon() HLC { return m.horizon }

// Len returns the number of keys holding at least one record.
func (m *FWWMap) Len() int { return len(m.entries) }

// Winner returns the winning record of key (see FWWMap) and whether key has
// one.
func (m *FWWMap) Winner(key string) (FWWRecord, bool) {
	w, _, _, ok := m.resolve(key)
	return w, ok
}

// Contested reports whether more than one (stamp, replica) wrote key in its
// winning round.
func (m *FWWMap) Contested(key string) bool {
	_, contested, _, _ := m.resolve(key)
	return contested
}

// Conflict reports whether the writes of key's winning round disagree on
// the value.
func (m *FWWMap) Conflict(key string) bool {
	_, _, conflict, _ := m.resolve(key)
	return conflict
}

// Records returns a copy of key's records, in the order of their round,
// stamp, replica and value.
func (m *FWWMap) Records(key string) []FWWRecord { return slices.Clone(m.entries[key]) }

// resolve computes key's winner and the flags of its winning round.
func (m *FWWMap) resolve(key string) (w FWWRecord, contested, conflict, ok bool) {
	recs := m.entries[key]
	if len(recs) == 0 {
		return FWWRecord{}, false, false, false
	}
	top := recs[len(recs)-1].Round
	first := len(recs) - 1
	for first > 0 && recs[first-1].Round == top {
		first--
	}
	w = recs[first]
	for _, r := range recs[first+1:] {
		if r.Stamp != w.Stamp || r.Replica != w.Replica {
			contested = true
		}
		if !bytes.Equal(r.Value, w.Value) {
			conflict = true
		}
	}
	return w, contested, conflict, true
}

// Keys returns the keys holding records, sorted.
func (m *FWWMap) Keys() []string { return slices.Sorted(maps.Keys(m.entries)) }

// All yields every key with its winning record, in key order.
func (m *FWWMap) All() iter.Seq2[string, FWWRecord] {
	return func(yield func(string, FWWRecord) bool) {
		for _, k := range m.Keys() {
			w, _ := m.Winner(k)
			if !yield(k, w) {
				return
			}
		}
	}
}

// Merge joins other into m: the larger horizon, and the union of records
// stamped at or after it.
func (m *FWWMap) Merge(other *FWWMap) { m.MergeChanged(other) }

// MergeChanged is Merge, reporting whether m changed.
func (m *FWWMap) MergeChanged(other *FWWMap) bool {
	changed := false
	if other.horizon.Compare(m.horizon) > 0 {
		// A larger horizon is a change even when it drops nothing:
		// Equal compares horizons.
		m.horizon = other.horizon
		m.dropBefore()
		changed = true
	}
	for k, theirs := range other.entries {
		mine := m.entries[k]
		merged, grew := unionRecords(mine, theirs, m.horizon)
		if !grew {
			continue
		}
		if m.entries == nil {
			m.entries = make(map[string][]FWWRecord)
		}
		m.entries[k] = merged
		changed = true
	}
	return changed
}

// unionRecords merges two sorted record lists, keeping theirs only at or
// after horizon, and reports whether the result has records mine lacks. The
// result shares no slice with theirs. It keeps at most MaxFWWRecords: the
// largest ones (the highest rounds, which decide the winner) when more
// raced than that, which only a faulty writer causes.
func unionRecords(mine, theirs []FWWRecord, horizon HLC) ([]FWWRecord, bool) {
	out := make([]FWWRecord, 0, len(mine)+len(theirs))
	i, j := 0, 0
	grew := false
	for i < len(mine) || j < len(theirs) {
		if j < len(theirs) && theirs[j].Stamp.Compare(horizon) < 0 {
			j++
			continue
		}
		switch {
		case j == len(theirs):
			out = append(out, mine[i])
			i++
		case i == len(mine):
			out = append(out, theirs[j])
			j++
			grew = true
		default:
			switch c := compareRecords(mine[i], theirs[j]); {
			case c < 0:
				out = append(out, mine[i])
				i++
			case c > 0:
				out = append(out, theirs[j])
				j++
				grew = true
			default:
				out = append(out, mine[i])
				i++
				j++
			}
		}
	}
	if len(out) > MaxFWWRecords {
		out = slices.Clone(out[len(out)-MaxFWWRecords:])
	}
	return out, grew
}

// Clone returns a deep copy (values are shared: they are immutable).
func (m *FWWMap) Clone() *FWWMap {
	c := &FWWMap{horizon: m.horizon}
	if len(m.entries) > 0 {
		c.entries = make(map[string][]FWWRecord, len(m.entries))
		for k, recs := range m.entries {
			c.entries[k] = slices.Clone(recs)
		}
	}
	return c
}

// Equal reports whether both maps hold the same horizon and records.
func (m *FWWMap) Equal(other *FWWMap) bool {
	if m.horizon != other.horizon || len(m.entries) != len(other.entries) {
		return false
	}
	for k, a := range m.entries {
		b, ok := other.entries[k]
		if !ok || !slices.EqualFunc(a, b, func(x, y FWWRecord) bool { return compareRecords(x, y) == 0 }) {
			return false
		}
	}
	return true
}

// String formats the map for tests and logs.
func (m *FWWMap) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "FWWMap{horizon %v", m.horizon)
	for _, k := range m.Keys() {
		fmt.Fprintf(&b, "; %q:", k)
		for _, r := range m.entries[k] {
			fmt.Fprintf(&b, " (r%d %v %s %x)", r.Round, r.Stamp, r.Replica, r.Value)
		}
	}
	b.WriteString("}")
	return b.String()
}
