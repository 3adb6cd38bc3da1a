package crdt

import (
	"fmt"

	"github.com/converge-crdt/converge/internal/wire"
)

// TypeTag identifies a CRDT type on the wire and on disk. Every encoding
// starts with [tag, version]. The values are part of the protocol: never
// renumber them, never reuse a retired one. User-defined types registered
// with the node package take tags from FirstUserTag upwards.
type TypeTag uint16

// Tags of the built-in types. Protocol constants: written values, not iota.
const (
	TagGCounter  TypeTag = 1
	TagPNCounter TypeTag = 2
	TagORSet     TypeTag = 3
	TagLWWMap    TypeTag = 4
	TagFWWMap    TypeTag = 5
	TagLeaseMap  TypeTag = 6

	// TagKeyGeneration is not a CRDT: the node package wraps an object's
	// state in [TagKeyGeneration, 1, stamp, replica, state] once its key
	// has been deleted, so that a stale copy from before the delete loses
	// to it (see node.Node.Delete).
	TagKeyGeneration TypeTag = 10

	// FirstUserTag is the lowest tag available to user-defined types.
	FirstUserTag TypeTag = 1024
)

// formatV1 is the only encoding version so far. A decoder refuses versions it
// does not know rather than guess.
const formatV1 = 1

func (t TypeTag) String() string {
	switch t {
	case TagGCounter:
		return "GCounter"
	case TagPNCounter:
		return "PNCounter"
	case TagORSet:
		return "ORSet"
	case TagLWWMap:
		return "LWWMap"
	case TagFWWMap:
		return "FWWMap"
	case TagKeyGeneration:
		return "KeyGeneration"
	case TagLeaseMap:
		return "LeaseMap"
	}
	return fmt.Sprintf("TypeTag(%d)", uint16(t))
}

// PeekTag returns the type tag and format version an encoding starts with,
// without decoding the rest. The node uses it to route a received blob to
// the right type and to reject a blob whose type does not match its key.
func PeekTag(b []byte) (TypeTag, uint64, error) {
	r := wire.NewReader(b)
	if _, err := r.ArrayLen("encoding", 1); err != nil {
		return 0, 0, err
	}
	tag, err := r.Uint("type tag")
	if err != nil {
		return 0, 0, err
	}
	if tag > 0xffff {
		return 0, 0, fmt.Errorf("%w: type tag %d out of range", ErrMalformed, tag)
	}
	v, err := r.Uint("format version")
	if err != nil {
		return 0, 0, err
	}
	return TypeTag(tag), v, nil
}

// writeHeader starts an encoding: an array of fields+2 elements holding the
// tag, the version and then the type's own fields.
func writeHeader(w *wire.Writer, tag TypeTag, fields int) {
	w.Array(fields + 2)
	w.Uint(uint64(tag))
	w.Uint(formatV1)
}

// readHeader checks the tag, the version and the field count of an encoding
// and leaves r at the first field of the type.
func readHeader(r *wire.Reader, want TypeTag, fields int) error {
	n, err := r.ArrayLen(want.String(), 1)
	if err != nil {
		return err
	}
	if n < 2 {
		return fmt.Errorf("%w: %s encoding has %d fields, want %d", ErrMalformed, want, n, fields+2)
	}
	tag, err := r.Uint("type tag")
	if err != nil {
		return err
	}
	if tag != uint64(want) {
		return fmt.Errorf("%w: got %s, want %s", ErrWrongType, TypeTag(min(tag, 0xffff)), want)
	}
	v, err := r.Uint("format version")
	if err != nil {
		return err
	}
	if v != formatV1 {
		return fmt.Errorf("%w: %s version %d", ErrVersion, want, v)
	}
	if n != fields+2 {
		return fmt.Errorf("%w: %s encoding has %d fields, want %d", ErrMalformed, want, n, fields+2)
	}
	return nil
}

// maxReplicaIDLen bounds a replica ID read from a peer. Node names are short;
// the bound keeps one hostile entry from holding a large string.
const maxReplicaIDLen = 256

func readReplicaID(r *wire.Reader) (ReplicaID, error) {
	s, err := r.String("replica id", maxReplicaIDLen)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", fmt.Errorf("%w: empty replica id", ErrInvalid)
	}
	return ReplicaID(s), nil
}
