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
// bytes (wire.Marshal), and sorts elements by those bytes.
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

// DecodeMsgpack captures the bytes of the next value.
func (r *rawValue) DecodeMsgpack(dec *msgpack.Decoder) error {
	b, err := dec.DecodeRaw()
	if err != nil {
		return err
	}
	*r = rawValue(b)
	return nil
}

// toRaw encodes a user value the way the crdt package encodes elements.
func toRaw(v any) (rawValue, error) {
	b, err := wire.Marshal(v)
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
