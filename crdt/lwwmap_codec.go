package crdt

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/converge-crdt/converge/internal/wire"
)

// Wire form of LWWMap, format version 1:
//
//	[tag=4, version=1, entries]
//	entries:   array of entry, strictly increasing by the key's bytes
//	tombstone: [key, hlc, replica, true]
//	live:      [key, hlc, replica, false, value]
//
// key and value are the msgpack encodings of K and V (maps with sorted
// keys); hlc is [wall, logical]; replica is a non-empty str. Sorting by the
// key's encoding makes the encoding of a state unique, so equal states give
// equal bytes. A tombstone has no value field rather than a nil one, because
// nil is a legitimate encoding of a live V (a nil slice, map or pointer).

// lwwMinEntryBytes is the smallest encoding of one entry: array header (1),
// key (1), hlc (3: header and two fixints), replica (2: header and one
// byte) and deleted flag (1). The decoder uses it to bound the entry count
// by the input length before allocating.
const lwwMinEntryBytes = 8

// lwwItem is one entry with its key's encoding, which orders the wire form.
type lwwItem[K, V any] struct {
	key   K
	enc   []byte
	entry lwwEntry[V]
}

// sorted returns every entry with its key's encoding, and the order of the
// encodings as indexes into the items (sorting small indexes is cheaper
// than moving the items). It fails if a key cannot be encoded or two keys
// encode to the same bytes; on failure it still returns a deterministic
// order (unencodable keys first) for String.
func (m *LWWMap[K, V]) sorted() ([]lwwItem[K, V], []int32, error) {
	items := make([]lwwItem[K, V], 0, len(m.entries))
	for k, e := range m.entries {
		items = append(items, lwwItem[K, V]{key: k, entry: e})
	}
	err := encodeKeysTogether(items)
	if err != nil {
		// A key failed to encode, or is nested too deeply to split the
		// joint encoding; encode one at a time to find out which.
		var firstErr error
		for i := range items {
			b, err := wire.Marshal(items[i].key)
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("crdt: LWWMap key %v cannot be encoded: %w", items[i].key, err)
			}
			items[i].enc = b
		}
		if firstErr != nil {
			err = firstErr
		}
	}
	order := make([]int32, len(items))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return bytes.Compare(items[a].enc, items[b].enc) })
	if err != nil {
		return items, order, err
	}
	for i := 1; i < len(order); i++ {
		if a, b := &items[order[i-1]], &items[order[i]]; bytes.Equal(a.enc, b.enc) {
			return items, order, fmt.Errorf("%w: LWWMap keys %v and %v encode to the same bytes % x",
				ErrDuplicate, a.key, b.key, b.enc)
		}
	}
	return items, order, nil
}

// encodeKeysTogether sets the enc field of every item, encoding all keys
// into one buffer (one encoder, few allocations) and splitting it with a
// Reader. A key nested deeper than the decoders accept fails here too.
func encodeKeysTogether[K, V any](items []lwwItem[K, V]) error {
	w := wire.NewWriter()
	for i := range items {
		if err := w.Value(items[i].key); err != nil {
			return err
		}
	}
	r := wire.NewReader(w.Bytes())
	for i := range items {
		b, err := r.Raw("LWWMap key", wire.DefaultMaxDepth)
		if err != nil {
			return fmt.Errorf("crdt: LWWMap key %v would not decode: %w", items[i].key, err)
		}
		items[i].enc = b
	}
	return r.Done()
}

// MarshalBinary encodes the map, tombstones included, deterministically:
// equal states give equal bytes. It fails only if a key or value cannot be
// encoded by msgpack, or two distinct keys encode to the same bytes.
func (m *LWWMap[K, V]) MarshalBinary() ([]byte, error) {
	items, order, err := m.sorted()
	if err != nil {
		return nil, err
	}
	w := wire.NewWriter()
	writeHeader(w, TagLWWMap, 1)
	w.Array(len(items))
	for _, i := range order {
		k, e := &items[i], &items[i].entry
		if e.deleted {
			w.Array(4)
		} else {
			w.Array(5)
		}
		w.Raw(k.enc)
		e.ts.encode(w)
		w.String(string(e.replica))
		w.Bool(e.deleted)
		if !e.deleted {
			if err := w.Value(e.value); err != nil {
				return nil, fmt.Errorf("crdt: LWWMap value of key %v cannot be encoded: %w", k.key, err)
			}
		}
	}
	return w.Bytes(), nil
}

// UnmarshalBinary replaces m's state with the one encoded in b; the state
// keeps no reference to b. It fails, leaving m unchanged, on
// truncated input, trailing bytes, a wrong type tag or unknown version,
// keys out of order or repeated (ErrMalformed, ErrDuplicate), an empty
// replica ID or a negative wall time (ErrInvalid), a tombstone with a
// value or a live entry without one (ErrMalformed), and keys or values
// nested too deeply or claiming more bytes than remain. It never allocates
// more than a small multiple of len(b).
func (m *LWWMap[K, V]) UnmarshalBinary(b []byte) error {
	r := wire.NewReader(b)
	if err := readHeader(r, TagLWWMap, 1); err != nil {
		return err
	}
	n, err := r.ArrayLen("LWWMap entries", lwwMinEntryBytes)
	if err != nil {
		return err
	}
	var entries map[K]lwwEntry[V]
	if n > 0 {
		entries = make(map[K]lwwEntry[V], n)
	}
	live := 0
	// Replica IDs repeat across entries: decode each distinct one once and
	// share its string, keyed by its encoding.
	replicas := make(map[string]ReplicaID)
	var prev []byte
	for i := range n {
		start := r.Offset()
		k, e, raw, err := decodeLWWEntry[K, V](r, prev, replicas)
		if err != nil {
			return fmt.Errorf("LWWMap entry %d at offset %d: %w", i, start, err)
		}
		if _, dup := entries[k]; dup {
			return fmt.Errorf("%w: LWWMap entry %d at offset %d: key %v decodes equal to an earlier key",
				ErrDuplicate, i, start, k)
		}
		if !e.deleted {
			live++
		}
		entries[k] = e
		prev = raw
	}
	if err := r.Done(); err != nil {
		return err
	}
	m.entries, m.live = entries, live
	return nil
}

// decodeLWWEntry reads one entry whose key must sort after prev (nil for the
// first entry). It returns the key's raw encoding for the next comparison.
func decodeLWWEntry[K comparable, V any](r *wire.Reader, prev []byte, replicas map[string]ReplicaID) (K, lwwEntry[V], []byte, error) {
	var k K
	var e lwwEntry[V]
	fields, err := r.ArrayLen("LWWMap entry", 1)
	if err != nil {
		return k, e, nil, err
	}
	if fields != 4 && fields != 5 {
		return k, e, nil, fmt.Errorf("%w: entry has %d fields, want 4 (tombstone) or 5 (live)", ErrMalformed, fields)
	}
	raw, err := r.Raw("LWWMap key", wire.DefaultMaxDepth)
	if err != nil {
		return k, e, nil, err
	}
	if prev != nil {
		switch c := bytes.Compare(prev, raw); {
		case c == 0:
			return k, e, nil, fmt.Errorf("%w: key % x appears twice", ErrDuplicate, raw)
		case c > 0:
			return k, e, nil, fmt.Errorf("%w: keys not sorted: % x after % x", ErrMalformed, raw, prev)
		}
	}
	if err := decodeUser(raw, &k); err != nil {
		return k, e, nil, fmt.Errorf("key: %w", err)
	}
	if k != k {
		return k, e, nil, fmt.Errorf("%w: key %v is not equal to itself", ErrInvalid, k)
	}
	if e.ts, err = decodeHLC(r); err != nil {
		return k, e, nil, err
	}
	if e.replica, err = readReplicaIDShared(r, replicas); err != nil {
		return k, e, nil, err
	}
	if e.deleted, err = r.Bool("LWWMap deleted flag"); err != nil {
		return k, e, nil, err
	}
	switch {
	case e.deleted && fields == 5:
		return k, e, nil, fmt.Errorf("%w: tombstone of key %v carries a value", ErrMalformed, k)
	case !e.deleted && fields == 4:
		return k, e, nil, fmt.Errorf("%w: live entry of key %v has no value", ErrMalformed, k)
	case !e.deleted:
		v, err := r.Raw("LWWMap value", wire.DefaultMaxDepth)
		if err != nil {
			return k, e, nil, err
		}
		if err := decodeUser(v, &e.value); err != nil {
			return k, e, nil, fmt.Errorf("value of key %v: %w", k, err)
		}
	}
	return k, e, raw, nil
}

// readReplicaIDShared reads a replica ID like readReplicaID, returning the
// string already decoded for the same encoding if there is one.
func readReplicaIDShared(r *wire.Reader, seen map[string]ReplicaID) (ReplicaID, error) {
	raw, err := r.Raw("replica id", wire.DefaultMaxDepth)
	if err != nil {
		return "", err
	}
	if id, ok := seen[string(raw)]; ok {
		return id, nil
	}
	id, err := readReplicaID(wire.NewReader(raw))
	if err != nil {
		return "", err
	}
	seen[string(raw)] = id
	return id, nil
}

// decodeUser decodes one key or value, already checked by Reader.Raw, into
// *dst with wire.Unmarshal. A msgpack str decoded into a string takes a
// short path with the same result and one allocation instead of four.
func decodeUser[T any](raw []byte, dst *T) error {
	if p, ok := any(dst).(*string); ok && isStr(raw[0]) {
		s, err := wire.NewReader(raw).String("string", len(raw))
		if err != nil {
			return err
		}
		*p = s
		return nil
	}
	return wire.Unmarshal(raw, dst)
}

// isStr reports whether c starts a msgpack str.
func isStr(c byte) bool { return c >= 0xa0 && c <= 0xbf || c >= 0xd9 && c <= 0xdb }
