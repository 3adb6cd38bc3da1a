package node

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/converge-crdt/converge/internal/wire"
)

// The canonical form of a stored element, key or value (a rawValue) is its
// msgpack encoding with
//
//   - every integer in its shortest form (what msgpack's EncodeInt and
//     EncodeUint write), whatever Go integer type wrote it;
//   - every str, bin, array and map header in its shortest form;
//   - every map's entries in wire.Canonical's order;
//   - floats, nil and booleans as written; no extension types.
//
// Sets compare elements and maps compare keys by their bytes, so two
// encodings of one value would be two elements: a peer's int8 1 (d0 01)
// next to a local int 1 (01). toRaw writes this form and rawValue's decoder
// refuses any other, which fails the whole blob (counted as a decode
// error), so a stored value has one encoding and digests compare states.
// Integers of every width therefore interoperate: int and int64 are the
// same encoding here.

// canonicalRaw returns the canonical form of b, which must hold exactly one
// msgpack value.
func canonicalRaw(b []byte) ([]byte, error) {
	if err := wire.Validate(b, wire.DefaultMaxDepth); err != nil {
		return nil, err
	}
	out, rest, err := appendCompact(make([]byte, 0, len(b)), b)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d trailing bytes", len(rest))
	}
	return wire.Canonical(out)
}

// isCanonical reports whether b is in canonical form.
func isCanonical(b []byte) error {
	c, err := canonicalRaw(b)
	if err != nil {
		return err
	}
	if !bytes.Equal(c, b) {
		return fmt.Errorf("value %x is not in canonical form (%x)", clipRaw(b), clipRaw(c))
	}
	return nil
}

func clipRaw(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}

// appendCompact appends the first value of b with integers and headers in
// their shortest form, and returns the bytes after it. b has passed
// wire.Validate, so lengths are in bounds; they are checked again anyway.
func appendCompact(out, b []byte) ([]byte, []byte, error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("truncated value")
	}
	c := b[0]
	need := func(n int) error {
		if n > len(b) {
			return fmt.Errorf("truncated value at code 0x%02x", c)
		}
		return nil
	}
	be := func(p []byte) uint64 {
		var v uint64
		for _, x := range p {
			v = v<<8 | uint64(x)
		}
		return v
	}
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return append(out, c), b[1:], nil
	case c >= 0xcc && c <= 0xcf: // uint 8, 16, 32, 64
		n := 1 << (c - 0xcc)
		if err := need(1 + n); err != nil {
			return nil, nil, err
		}
		return appendUint(out, be(b[1:1+n])), b[1+n:], nil
	case c >= 0xd0 && c <= 0xd3: // int 8, 16, 32, 64
		n := 1 << (c - 0xd0)
		if err := need(1 + n); err != nil {
			return nil, nil, err
		}
		shift := 64 - 8*n
		v := int64(be(b[1:1+n])<<shift) >> shift // sign-extend
		if v >= 0 {
			return appendUint(out, uint64(v)), b[1+n:], nil
		}
		return appendNegInt(out, v), b[1+n:], nil
	case c == 0xca, c == 0xcb: // float 32, 64
		n := 5
		if c == 0xcb {
			n = 9
		}
		if err := need(n); err != nil {
			return nil, nil, err
		}
		return append(out, b[:n]...), b[n:], nil
	case c >= 0xa0 && c <= 0xbf, c >= 0xd9 && c <= 0xdb: // str
		var n, h int
		if c <= 0xbf {
			n, h = int(c&0x1f), 1
		} else {
			h = 1 + 1<<(c-0xd9)
			if err := need(h); err != nil {
				return nil, nil, err
			}
			n = int(be(b[1:h]))
		}
		if err := need(h + n); err != nil {
			return nil, nil, err
		}
		out = appendHeader(out, n, 0xa0, 32, 0xd9)
		return append(out, b[h:h+n]...), b[h+n:], nil
	case c >= 0xc4 && c <= 0xc6: // bin
		h := 1 + 1<<(c-0xc4)
		if err := need(h); err != nil {
			return nil, nil, err
		}
		n := int(be(b[1:h]))
		if err := need(h + n); err != nil {
			return nil, nil, err
		}
		out = appendHeader(out, n, 0, 0, 0xc4)
		return append(out, b[h:h+n]...), b[h+n:], nil
	case c >= 0x80 && c <= 0x9f, c >= 0xdc && c <= 0xdf: // array, map
		var n, h int
		isMap := c <= 0x8f || c >= 0xde
		switch {
		case c <= 0x9f:
			n, h = int(c&0x0f), 1
		case c == 0xdc || c == 0xde:
			h = 3
		default:
			h = 5
		}
		if h > 1 {
			if err := need(h); err != nil {
				return nil, nil, err
			}
			n = int(be(b[1:h]))
		}
		elems := n
		if isMap {
			out = appendContainerHeader(out, n, 0x80, 0xde)
			elems = 2 * n
		} else {
			out = appendContainerHeader(out, n, 0x90, 0xdc)
		}
		rest := b[h:]
		for range elems {
			var err error
			if out, rest, err = appendCompact(out, rest); err != nil {
				return nil, nil, err
			}
		}
		return out, rest, nil
	}
	return nil, nil, fmt.Errorf("unsupported msgpack code 0x%02x", c)
}

func appendUint(out []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(out, byte(v))
	case v <= math.MaxUint8:
		return append(out, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(out, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(out, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(out, 0xcf), v)
}

func appendNegInt(out []byte, v int64) []byte {
	switch {
	case v >= -32:
		return append(out, byte(v))
	case v >= math.MinInt8:
		return append(out, 0xd0, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(out, 0xd1), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(out, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(out, 0xd3), uint64(v))
}

// appendHeader writes a str or bin header for n bytes: a fix form (code
// fix|n) when n < fixMax, else code8, code8+1 or code8+2 with a 1, 2 or
// 4 byte length.
func appendHeader(out []byte, n int, fix byte, fixMax int, code8 byte) []byte {
	switch {
	case n < fixMax:
		return append(out, fix|byte(n))
	case n <= math.MaxUint8:
		return append(out, code8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(out, code8+1), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(out, code8+2), uint32(n))
}

// appendContainerHeader writes an array or map header for n elements
// (entries): fix|n when n < 16, else code16 or code16+1 with a 2 or 4 byte
// length.
func appendContainerHeader(out []byte, n int, fix, code16 byte) []byte {
	switch {
	case n < 16:
		return append(out, fix|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(out, code16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(out, code16+1), uint32(n))
}
