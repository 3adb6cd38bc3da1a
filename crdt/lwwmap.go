package crdt

import (
	"bytes"
	"cmp"
	"fmt"
	"iter"
	"maps"
	"strings"

	"github.com/converge-crdt/converge/internal/wire"
)

// LWWMap is a last-writer-wins map: each key holds the value of the write
// with the latest stamp, where a stamp is a hybrid logical clock timestamp
// and the ID of the replica that wrote. Stamps are totally ordered by
// timestamp, then replica ID, so two writes with the same timestamp are
// ordered by who made them, never by the order in which a replica happened
// to receive them.
//
// A Delete is a write too: it leaves a timestamped tombstone, so a Set that
// is older than the delete, arriving late, cannot bring the key back, while
// a newer Set does.
//
// Two writes that carry the same stamp (a buggy or restored replica that
// issued one timestamp twice) are still ordered deterministically: a
// tombstone beats a live entry, and of two live entries the one whose
// msgpack encoding is larger bytewise wins. The encodings are computed only
// for such ties. With this rule the entries of one key form a total order
// and Merge keeps the maximum, which is a join.
//
// # Memory
//
// Tombstones stay until Collect drops them: the node package collects
// those older than its prune horizon (see Collect for why a horizon, and
// what happens to a replica that returns after it). Dropping a tombstone
// is safe once every replica has seen it; before, a replica that has not
// seen the delete would, on the next merge, resurrect the key everywhere.
//
// # Values are shared, not copied
//
// Values are stored and returned as given. If V is or contains a reference
// type (a slice, map or pointer), the caller must not mutate a value after
// passing it to Set, nor a value returned by Get or All: the map, its
// clones and every map it merged into may share it. Clone and Merge copy
// the map's own structure (entries, stamps), so they never share anything
// mutable beyond the values themselves. Use value types or treat values as
// immutable.
//
// # Keys and values on the wire
//
// Keys and values are encoded with msgpack (see MarshalBinary). K must
// encode distinct keys to distinct bytes and decode them back to equal
// keys (strings, integers, and structs of them with exported fields do;
// interface-typed keys do not). V must be encodable; time.Time and other
// msgpack extension types are refused by the bounded decoder. Equal and the
// tie rule compare values by their encodings, so fields that msgpack skips
// (unexported ones) do not count.
//
// The zero value is an empty map, ready to use. An LWWMap is not safe for
// concurrent use.
//
// Laws and the delta contract are those of CRDT, which LWWMap implements.
type LWWMap[K comparable, V any] struct {
	// entries holds one entry per key ever written, tombstones included.
	entries map[K]lwwEntry[V]
	// live counts the entries that are not tombstones.
	live int
}

var (
	_ CRDT[*LWWMap[string, int]]           = (*LWWMap[string, int])(nil)
	_ ChangeReporter[*LWWMap[string, int]] = (*LWWMap[string, int])(nil)
)

// lwwEntry is one key's winning write.
type lwwEntry[V any] struct {
	ts      HLC
	replica ReplicaID // never empty
	deleted bool      // a tombstone: value is the zero V
	value   V
}

// compareLWW orders two entries of one key: by timestamp, then replica ID,
// then a tombstone above a live entry, then by the bytes of the values'
// msgpack encodings. It returns 0 only when both entries are the same state.
func compareLWW[V any](a, b *lwwEntry[V]) int {
	if c := a.ts.Compare(b.ts); c != 0 {
		return c
	}
	if c := cmp.Compare(a.replica, b.replica); c != 0 {
		return c
	}
	switch {
	case a.deleted && b.deleted:
		return 0
	case a.deleted:
		return 1
	case b.deleted:
		return -1
	}
	if fastEqual(a.value, b.value) {
		return 0
	}
	return bytes.Compare(encodeForOrder(a.value), encodeForOrder(b.value))
}

// encodeForOrder returns the bytes that order two values written with the
// same stamp. A value msgpack cannot encode orders as empty; MarshalBinary
// reports the error.
func encodeForOrder[V any](v V) []byte {
	b, err := wire.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// fastEqual reports whether two values are certainly equal without encoding
// them, for the common value types whose == agrees with equality of
// encodings. It returns false when it cannot tell. The assertions on b are
// checked: when V is an interface type, a and b may hold different types.
func fastEqual[V any](a, b V) bool {
	switch x := any(a).(type) {
	case string:
		y, ok := any(b).(string)
		return ok && x == y
	case int64:
		y, ok := any(b).(int64)
		return ok && x == y
	case int:
		y, ok := any(b).(int)
		return ok && x == y
	case uint64:
		y, ok := any(b).(uint64)
		return ok && x == y
	case bool:
		y, ok := any(b).(bool)
		return ok && x == y
	case []byte:
		y, ok := any(b).([]byte)
		return ok && bytes.Equal(x, y) && (x == nil) == (y == nil)
	}
	return false
}

// NewLWWMap returns an empty map.
func NewLWWMap[K comparable, V any]() *LWWMap[K, V] { return &LWWMap[K, V]{} }

// Set writes v under k with stamp (ts, r) and returns the delta: a map
// holding just the new entry. If the key's current entry has a later stamp
// (or wins the tie rule), Set changes nothing and returns an empty delta.
//
// r must be this replica's own ID, non-empty and at most 256 bytes, and
// ts.Wall must not be negative (a Clock never issues one). A write that
// breaks these, or whose key is not equal to itself (a float NaN, which no
// lookup could find), could never be encoded for a peer to accept, so Set
// records nothing and returns an empty delta, like ORSet.Add with an empty
// replica: a long-running agent is not crashed over a programming error
// that the caller's tests reveal (the write never appears).
func (m *LWWMap[K, V]) Set(r ReplicaID, ts HLC, k K, v V) *LWWMap[K, V] {
	return m.write(k, lwwEntry[V]{ts: ts, replica: r, value: v})
}

// Delete removes k with stamp (ts, r), leaving a tombstone, and returns the
// delta holding that tombstone. Deleting an absent key still records the
// tombstone, so that an older concurrent Set does not win. If the current
// entry has a later stamp, Delete changes nothing and returns an empty
// delta. Invalid arguments are ignored as for Set.
func (m *LWWMap[K, V]) Delete(r ReplicaID, ts HLC, k K) *LWWMap[K, V] {
	return m.write(k, lwwEntry[V]{ts: ts, replica: r, deleted: true})
}

func (m *LWWMap[K, V]) write(k K, e lwwEntry[V]) *LWWMap[K, V] {
	delta := &LWWMap[K, V]{}
	if e.replica == "" || len(e.replica) > maxReplicaIDLen || e.ts.Wall < 0 || k != k {
		return delta
	}
	if m.put(k, e) {
		delta.put(k, e)
	}
	return delta
}

// put stores e under k if it beats the current entry and reports whether
// it did.
func (m *LWWMap[K, V]) put(k K, e lwwEntry[V]) bool {
	cur, ok := m.entries[k]
	if ok && compareLWW(&e, &cur) <= 0 {
		return false
	}
	if m.entries == nil {
		m.entries = make(map[K]lwwEntry[V])
	}
	if ok && !cur.deleted {
		m.live--
	}
	if !e.deleted {
		m.live++
	}
	m.entries[k] = e
	return true
}

// Get returns the value of k and true, or the zero V and false if k was
// never written or its latest write is a delete. The value is the one
// stored, not a copy (see the type's documentation).
func (m *LWWMap[K, V]) Get(k K) (V, bool) {
	e, ok := m.entries[k]
	if !ok || e.deleted {
		var zero V
		return zero, false
	}
	return e.value, true
}

// Stamp returns the timestamp and replica of k's latest write, delete
// included, and false if k was never written. A writer whose clock is
// behind the stamp's must stamp its write after it (Clock.NowAfter),
// or its write loses and Set returns an empty delta.
func (m *LWWMap[K, V]) Stamp(k K) (HLC, ReplicaID, bool) {
	e, ok := m.entries[k]
	return e.ts, e.replica, ok
}

// MaxStamp returns the latest timestamp of any write in m, deletes
// included, or the zero HLC if m is empty. A replica observes it on every
// merge so that its clock never falls behind a write it holds.
func (m *LWWMap[K, V]) MaxStamp() HLC {
	var max HLC
	for _, e := range m.entries {
		if e.ts.Compare(max) > 0 {
			max = e.ts
		}
	}
	return max
}

// Len returns the number of live keys (tombstones not counted).
func (m *LWWMap[K, V]) Len() int { return m.live }

// All yields the live keys and their values in unspecified order, like
// maps.All. The map must not be changed during the iteration.
func (m *LWWMap[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for k, e := range m.entries {
			if e.deleted {
				continue
			}
			if !yield(k, e.value) {
				return
			}
		}
	}
}

// Merge joins other into m: for every key, the entry with the later stamp
// wins. It does not change other and keeps none of its structure; values
// are shared as the type's documentation describes. A nil other is empty.
func (m *LWWMap[K, V]) Merge(other *LWWMap[K, V]) { m.MergeChanged(other) }

// MergeChanged is Merge, and reports whether an entry of other won over
// m's (a key m did not have, or a later stamp).
func (m *LWWMap[K, V]) MergeChanged(other *LWWMap[K, V]) (changed bool) {
	if other == nil || other == m {
		return false
	}
	if len(m.entries) < len(other.entries)/2 {
		// Much smaller receiver (a fresh replica taking a full state):
		// copying other's table wholesale and merging m's few entries
		// into the copy is cheaper than growing m entry by entry. The join
		// is symmetric, so the result is the same. It changes m: other
		// has keys m lacks, since it has more.
		mine := m.entries
		m.entries, m.live = maps.Clone(other.entries), other.live
		for k, e := range mine {
			m.put(k, e)
		}
		return true
	}
	for k, e := range other.entries {
		if m.put(k, e) {
			changed = true
		}
	}
	return changed
}

// Clone returns a copy of m that shares no structure with it (values are
// shared as the type's documentation describes).
func (m *LWWMap[K, V]) Clone() *LWWMap[K, V] {
	return &LWWMap[K, V]{entries: maps.Clone(m.entries), live: m.live}
}

// Equal reports whether m and other hold the same state: the same keys,
// tombstones included, with the same stamps and, for live keys, values
// whose encodings are equal. A nil other is empty.
func (m *LWWMap[K, V]) Equal(other *LWWMap[K, V]) bool {
	if other == nil {
		return len(m.entries) == 0
	}
	if len(m.entries) != len(other.entries) || m.live != other.live {
		return false
	}
	for k, a := range m.entries {
		b, ok := other.entries[k]
		if !ok || compareLWW(&a, &b) != 0 {
			return false
		}
	}
	return true
}

// String formats every entry, tombstones included, in the order of the
// keys' encodings, for example
//
//	LWWMap{a=1 @2026-11-27T10:00:00Z+0/r1, b=<deleted> @2026-11-27T10:00:01Z+0/r2}
//
// The output depends only on the state.
func (m *LWWMap[K, V]) String() string {
	var sb strings.Builder
	sb.WriteString("LWWMap{")
	items, order, _ := m.sorted()
	for n, i := range order {
		if n > 0 {
			sb.WriteString(", ")
		}
		k, e := items[i].key, &items[i].entry
		if e.deleted {
			fmt.Fprintf(&sb, "%v=<deleted> @%v/%s", k, e.ts, e.replica)
		} else {
			fmt.Fprintf(&sb, "%v=%v @%v/%s", k, e.value, e.ts, e.replica)
		}
	}
	sb.WriteString("}")
	return sb.String()
}
