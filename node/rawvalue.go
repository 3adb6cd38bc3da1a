package node

import (
	"fmt"

	"github.com/converge-crdt/converge/internal/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// rawValue holds exactly one msgpack-encoded value: an element of a stored
// ORSet, or a key or value of a stored LWWMap. It encodes as those bytes
// unchanged and decodes by capturing the next value's bytes, so a set of
// rawValue has the same wire form as the typed set the bytes came from:
// crdt encodes an element e with the same msgpack encoder that produced the
// bytes (wire.Marshal), and sorts elements by those bytes. The exception is
// a value holding sized integers (int8…int64, uint8…uint64), which msgpack
// writes at full width and a rawValue holds in its shortest form (see
// canonicalRaw).
//
// It is a string so that it is comparable and immutable. Never empty.
type rawValue string

var (
	_ msgpack.CustomEncoder = rawValue("")
	_ msgpack.CustomDecoder = (*rawValue)(nil)
)

// EncodeMsgpack writes the held bytes as they are.
func (r rawValue) EncodeMsgpack(enc *msgpack.Encoder) error {
	if r == "" {
		return fmt.Errorf("%w: empty raw value", ErrDecode)
	}
	return enc.Encode(msgpack.RawMessage(r))
}

// DecodeMsgpack captures the bytes of the next value, which must be in
// canonical form (see canonicalRaw): a value a peer encoded another way
// would be a second copy of an element or key.
func (r *rawValue) DecodeMsgpack(dec *msgpack.Decoder) error {
	b, err := dec.DecodeRaw()
	if err != nil {
		return err
	}
	if err := isCanonical(b); err != nil {
		return fmt.Errorf("%w: %w", ErrDecode, err)
	}
	*r = rawValue(b)
	return nil
}

// toRaw encodes a user value the way the crdt package encodes elements,
// then puts it in canonical form (see canonicalRaw; for most types the
// bytes are the same).
func toRaw(v any) (rawValue, error) {
	b, err := wire.Marshal(v)
	if err == nil {
		b, err = canonicalRaw(b)
	}
	if err != nil {
		return "", fmt.Errorf("node: encode %T: %w", v, err)
	}
	return rawValue(b), nil
}

// fromRaw decodes a stored value into a T. It fails (rather than panics) when
// the bytes were written by a node that used another Go type for this key.
func fromRaw[T any](r rawValue) (T, error) {
	var v T
	if err := wire.Unmarshal([]byte(r), &v); err != nil {
		return v, fmt.Errorf("%w: value %x as %T: %w", ErrDecode, []byte(r), v, err)
	}
	return v, nil
}
