package wire

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// DefaultMaxDepth bounds the nesting of user values (set elements, map keys
// and values). Real keys and values are shallow; the bound keeps a hostile
// input from recursing deeply in msgpack's decoder.
const DefaultMaxDepth = 32

// Validate checks that b holds exactly one well-formed msgpack value whose
// every length fits in the bytes that remain and whose nesting is at most
// maxDepth. Extension types are refused: converge never writes them.
func Validate(b []byte, maxDepth int) error {
	r := NewReader(b)
	if err := r.skip("value", maxDepth); err != nil {
		return err
	}
	return r.Done()
}

// Unmarshal validates b and then decodes it into v with msgpack. Because
// every length was checked against len(b), msgpack's allocations are bounded
// by the input size times the size of the destination's element type.
func Unmarshal(b []byte, v any) error {
	if err := Validate(b, DefaultMaxDepth); err != nil {
		return err
	}
	if err := msgpack.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// skip consumes one value, checking lengths and depth, without allocating.
func (r *Reader) skip(what string, depth int) error {
	start := r.off
	c, err := r.code(what)
	if err != nil {
		return err
	}
	var n uint64 // payload bytes to skip
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return nil
	case c >= 0xa0 && c <= 0xbf:
		n = uint64(c & 0x1f)
	case c == 0xc4, c == 0xd9:
		n, err = r.lenPrefix(1, what)
	case c == 0xc5, c == 0xda:
		n, err = r.lenPrefix(2, what)
	case c == 0xc6, c == 0xdb:
		n, err = r.lenPrefix(4, what)
	case c == 0xcc, c == 0xd0:
		n = 1
	case c == 0xcd, c == 0xd1:
		n = 2
	case c == 0xce, c == 0xd2, c == 0xca:
		n = 4
	case c == 0xcf, c == 0xd3, c == 0xcb:
		n = 8
	default:
		return r.skipContainer(c, what, depth, start)
	}
	if err != nil {
		return err
	}
	// Fixed-size payloads and strings past the end both read as truncated
	// input here.
	if n > uint64(r.Remaining()) {
		return fmt.Errorf("%w: %s needs %d bytes at offset %d, %d left", ErrTruncated, what, n, start, r.Remaining())
	}
	r.off += int(n)
	return nil
}

// skipContainer consumes the rest of an array or map whose code c, at
// offset start, has been read; any other code is refused.
func (r *Reader) skipContainer(c byte, what string, depth, start int) error {
	elems, isMap, ok, err := r.containerLen(c, what)
	if !ok {
		return fmt.Errorf("%w: %s: unsupported msgpack code 0x%02x at offset %d", ErrMalformed, what, c, start)
	}
	if err != nil {
		return err
	}
	if isMap {
		elems *= 2 // keys and values
	}
	// A container, even an empty one, is one level of nesting.
	if depth < 1 {
		return fmt.Errorf("%w: %s at offset %d nests deeper than the limit", ErrTooDeep, what, start)
	}
	if elems > uint64(r.Remaining()) {
		return fmt.Errorf("%w: %s claims %d elements at offset %d, only %d bytes left", ErrTooLarge, what, elems, start, r.Remaining())
	}
	for range elems {
		if err := r.skip(what, depth-1); err != nil {
			return err
		}
	}
	return nil
}
