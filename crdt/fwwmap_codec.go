package crdt

import (
	"bytes"
	"fmt"

	"github.com/converge-crdt/converge/internal/wire"
)

// Wire form of FWWMap, format version 1:
//
//	[tag=5, version=1, horizon, entries]
//	horizon: hlc [wall, logical]
//	entries: array of [key, records], strictly increasing by key bytes
//	records: array of 1..MaxFWWRecords [round, hlc, replica, value],
//	         strictly increasing in compareRecords order, none stamped
//	         before the horizon
//
// key and replica are str, value is bin. Sorting makes the encoding of a
// state unique.

// fwwMinEntryBytes and fwwMinRecordBytes are the smallest encodings of an
// entry (array header, empty str, records header) and of one record (array
// header, round, hlc of 3 bytes, empty str, empty bin of 2 bytes). They
// bound counts by the input length before anything is allocated.
const (
	fwwMinRecordBytes = 1 + 1 + 3 + 1 + 2
	fwwMinEntryBytes  = 1 + 1 + 1
)

// MarshalBinary encodes the map deterministically. It never fails.
func (m *FWWMap) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter()
	writeHeader(w, TagFWWMap, 2)
	m.horizon.encode(w)
	keys := m.Keys()
	w.Array(len(keys))
	for _, k := range keys {
		recs := m.entries[k]
		w.Array(2)
		w.String(k)
		w.Array(len(recs))
		for _, r := range recs {
			w.Array(4)
			w.Uint(r.Round)
			r.Stamp.encode(w)
			w.String(string(r.Replica))
			writeBin(w, r.Value)
		}
	}
	return w.Bytes(), nil
}

// UnmarshalBinary replaces m's state with the one encoded in b, keeping no
// reference to b. It fails, leaving m unchanged, on truncated input,
// trailing bytes, a wrong tag or version, keys or records out of order or
// repeated (ErrMalformed, ErrDuplicate), an empty key list for a key, more
// than MaxFWWRecords records for one key, a key over MaxFWWKeyLen, an empty
// replica ID or a record stamped before the horizon (ErrInvalid). It never
// allocates more than a small multiple of len(b).
func (m *FWWMap) UnmarshalBinary(b []byte) error {
	r := wire.NewReader(b)
	if err := readHeader(r, TagFWWMap, 2); err != nil {
		return err
	}
	horizon, err := decodeHLC(r)
	if err != nil {
		return fmt.Errorf("FWWMap horizon: %w", err)
	}
	n, err := r.ArrayLen("FWWMap entries", fwwMinEntryBytes)
	if err != nil {
		return err
	}
	replicas := make(map[string]ReplicaID)
	entries, err := decodeKeyed(r, n, "FWWMap", func() (string, []FWWRecord, error) {
		return decodeFWWEntry(r, horizon, replicas)
	})
	if err != nil {
		return err
	}
	if err := r.Done(); err != nil {
		return err
	}
	m.horizon, m.entries = horizon, entries
	return nil
}

func decodeFWWEntry(r *wire.Reader, horizon HLC, replicas map[string]ReplicaID) (string, []FWWRecord, error) {
	if err := r.ExpectArray("FWWMap entry", 2); err != nil {
		return "", nil, err
	}
	k, err := r.String("FWWMap key", MaxFWWKeyLen)
	if err != nil {
		return "", nil, err
	}
	n, err := r.ArrayLen("FWWMap records", fwwMinRecordBytes)
	if err != nil {
		return "", nil, err
	}
	switch {
	case n == 0:
		return "", nil, fmt.Errorf("%w: key %q has no records", ErrMalformed, k)
	case n > MaxFWWRecords:
		return "", nil, fmt.Errorf("%w: key %q has %d records, limit %d", ErrInvalid, k, n, MaxFWWRecords)
	}
	recs := make([]FWWRecord, 0, n)
	for j := range n {
		start := r.Offset()
		rec, err := decodeFWWRecord(r, replicas)
		if err != nil {
			return "", nil, fmt.Errorf("key %q record %d: %w", k, j, err)
		}
		if rec.Stamp.Compare(horizon) < 0 {
			return "", nil, fmt.Errorf("%w: key %q record %d stamped %v, before the horizon %v (offset %d)",
				ErrInvalid, k, j, rec.Stamp, horizon, start)
		}
		if j > 0 {
			switch c := compareRecords(recs[j-1], rec); {
			case c == 0:
				return "", nil, fmt.Errorf("%w: key %q record %d repeats the one before (offset %d)", ErrDuplicate, k, j, start)
			case c > 0:
				return "", nil, fmt.Errorf("%w: key %q records not sorted at %d (offset %d)", ErrMalformed, k, j, start)
			}
		}
		recs = append(recs, rec)
	}
	return k, recs, nil
}

func decodeFWWRecord(r *wire.Reader, replicas map[string]ReplicaID) (FWWRecord, error) {
	var rec FWWRecord
	if err := r.ExpectArray("FWWMap record", 4); err != nil {
		return rec, err
	}
	var err error
	if rec.Round, err = r.Uint("FWWMap round"); err != nil {
		return rec, err
	}
	if rec.Stamp, err = decodeHLC(r); err != nil {
		return rec, err
	}
	if rec.Replica, err = readReplicaIDShared(r, replicas); err != nil {
		return rec, err
	}
	v, err := r.Bytes("FWWMap value")
	if err != nil {
		return rec, err
	}
	rec.Value = bytes.Clone(v)
	return rec, nil
}

// writeBin writes b as a msgpack bin, also when it is nil (the encoder
// would write nil, which the decoders refuse).
func writeBin(w *wire.Writer, b []byte) {
	if b == nil {
		b = []byte{}
	}
	w.BytesValue(b)
}

// decodeKeyed reads the n entries of a map keyed by strings, with decode,
// and requires the keys to be strictly increasing (what names the type in
// errors).
func decodeKeyed[V any](r *wire.Reader, n int, what string, decode func() (string, V, error)) (map[string]V, error) {
	var entries map[string]V
	if n > 0 {
		entries = make(map[string]V, n)
	}
	prev := ""
	for i := range n {
		start := r.Offset()
		k, v, err := decode()
		if err != nil {
			return nil, fmt.Errorf("%s entry %d at offset %d: %w", what, i, start, err)
		}
		if i > 0 && k <= prev {
			if k == prev {
				return nil, fmt.Errorf("%w: %s key %q appears twice (offset %d)", ErrDuplicate, what, k, start)
			}
			return nil, fmt.Errorf("%w: %s keys not sorted: %q after %q (offset %d)", ErrMalformed, what, k, prev, start)
		}
		entries[k] = v
		prev = k
	}
	return entries, nil
}
