package crdt

import (
	"bytes"
	"fmt"

	"github.com/converge-crdt/converge/internal/wire"
)

// Wire form of LeaseMap, format version 1:
//
//	[tag=6, version=1, entries]
//	entries: array of [name, seq, replica, holder, expiry, released],
//	         strictly increasing by name
//
// name and replica are str, seq a uint in 1..MaxCounter, holder bin, expiry
// an hlc [wall, logical], released a bool.

// leaseMinEntryBytes is the smallest encoding of one entry: array header,
// empty name, seq, empty replica, empty bin, hlc, bool.
const leaseMinEntryBytes = 1 + 1 + 1 + 1 + 2 + 3 + 1

// MarshalBinary encodes the map deterministically. It never fails.
func (m *LeaseMap) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter()
	writeHeader(w, TagLeaseMap, 1)
	names := m.Names()
	w.Array(len(names))
	for _, name := range names {
		l := m.entries[name]
		w.Array(6)
		w.String(name)
		w.Uint(l.Token.Seq)
		w.String(string(l.Token.Replica))
		writeBin(w, l.Holder)
		l.Expiry.encode(w)
		w.Bool(l.Released)
	}
	return w.Bytes(), nil
}

// UnmarshalBinary replaces m's state with the one encoded in b, keeping no
// reference to b. It fails, leaving m unchanged, on truncated input,
// trailing bytes, a wrong tag or version, names out of order or repeated, a
// name over MaxFWWKeyLen, a sequence of 0 or past MaxCounter or an empty
// replica ID (ErrInvalid). It never allocates more than a small multiple of
// len(b).
func (m *LeaseMap) UnmarshalBinary(b []byte) error {
	r := wire.NewReader(b)
	if err := readHeader(r, TagLeaseMap, 1); err != nil {
		return err
	}
	n, err := r.ArrayLen("LeaseMap entries", leaseMinEntryBytes)
	if err != nil {
		return err
	}
	replicas := make(map[string]ReplicaID)
	entries, err := decodeKeyed(r, n, "LeaseMap", func() (string, Lease, error) { return decodeLease(r, replicas) })
	if err != nil {
		return err
	}
	if err := r.Done(); err != nil {
		return err
	}
	m.entries = entries
	return nil
}

func decodeLease(r *wire.Reader, replicas map[string]ReplicaID) (string, Lease, error) {
	var l Lease
	if err := r.ExpectArray("LeaseMap entry", 6); err != nil {
		return "", l, err
	}
	name, err := r.String("lease name", MaxFWWKeyLen)
	if err != nil {
		return "", l, err
	}
	if l.Token.Seq, err = r.Uint("lease token sequence"); err != nil {
		return "", l, err
	}
	if l.Token.Seq == 0 || l.Token.Seq > MaxCounter {
		return "", l, fmt.Errorf("%w: lease %q token sequence %d outside 1..%d", ErrInvalid, name, l.Token.Seq, uint64(MaxCounter))
	}
	if l.Token.Replica, err = readReplicaIDShared(r, replicas); err != nil {
		return "", l, err
	}
	h, err := r.Bytes("lease holder")
	if err != nil {
		return "", l, err
	}
	l.Holder = bytes.Clone(h)
	if l.Expiry, err = decodeHLC(r); err != nil {
		return "", l, err
	}
	if l.Released, err = r.Bool("lease released flag"); err != nil {
		return "", l, err
	}
	return name, l, nil
}
