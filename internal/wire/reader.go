package wire

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Reader is a strict, bounds-checked cursor over one encoded value. It never
// panics and never allocates more than the bytes it returns. The zero value
// reads nothing; use NewReader.
type Reader struct {
	b   []byte
	off int
}

// NewReader returns a Reader over b. It does not copy b; strings returned are
// copies, byte slices returned by Raw alias b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Remaining reports how many bytes are left unread.
func (r *Reader) Remaining() int { return len(r.b) - r.off }

// Offset reports how many bytes have been read, for error messages.
func (r *Reader) Offset() int { return r.off }

// Done returns ErrTrailing if bytes remain.
func (r *Reader) Done() error {
	if n := r.Remaining(); n > 0 {
		return fmt.Errorf("%w: %d bytes at offset %d", ErrTrailing, n, r.off)
	}
	return nil
}

func (r *Reader) next(n int, what string) ([]byte, error) {
	if n < 0 || n > r.Remaining() {
		return nil, fmt.Errorf("%w: %s needs %d bytes at offset %d, %d left", ErrTruncated, what, n, r.off, r.Remaining())
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p, nil
}

func (r *Reader) code(what string) (byte, error) {
	p, err := r.next(1, what)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// lenPrefix reads a big-endian length of size bytes.
func (r *Reader) lenPrefix(size int, what string) (uint64, error) {
	p, err := r.next(size, what)
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	default:
		return binary.BigEndian.Uint64(p), nil
	}
}

// Uint reads a non-negative integer (any msgpack integer form whose value
// is not negative).
func (r *Reader) Uint(what string) (uint64, error) {
	start := r.off
	if start < len(r.b) && r.b[start] <= 0x7f {
		// A positive fixint, the form of most counts, tags and versions:
		// read without the call.
		r.off++
		return uint64(r.b[start]), nil
	}
	v, neg, err := r.integer(what, "unsigned integer")
	if err != nil {
		return 0, err
	}
	if neg {
		// msgpack may encode a non-negative value in a signed form, which
		// is accepted; a negative one is not.
		return 0, fmt.Errorf("%w: %s is negative (%d) at offset %d", ErrMalformed, what, int64(v), start)
	}
	return v, nil
}

// Int reads a signed integer (any msgpack integer form that fits int64).
func (r *Reader) Int(what string) (int64, error) {
	start := r.off
	v, neg, err := r.integer(what, "integer")
	if err != nil {
		return 0, err
	}
	if !neg && v > math.MaxInt64 {
		return 0, fmt.Errorf("%w: %s overflows int64 at offset %d", ErrMalformed, what, start)
	}
	return int64(v), nil
}

// integer reads an integer in any msgpack form: fixint, uint8…uint64 or
// int8…int64. It returns the value's 64 bits and whether it is negative
// (then v is its two's complement). want names the kind the caller expects,
// for the error when the next value is not an integer.
func (r *Reader) integer(what, want string) (v uint64, neg bool, err error) {
	start := r.off
	c, err := r.code(what)
	if err != nil {
		return 0, false, err
	}
	switch {
	case c <= 0x7f:
		return uint64(c), false, nil
	case c >= 0xe0:
		return uint64(int64(int8(c))), true, nil
	case c >= 0xcc && c <= 0xcf: // uint8, uint16, uint32, uint64
		v, err := r.lenPrefix(1<<(c-0xcc), what)
		return v, false, err
	case c >= 0xd0 && c <= 0xd3: // int8, int16, int32, int64
		size := 1 << (c - 0xd0)
		v, err := r.lenPrefix(size, what)
		if err != nil {
			return 0, false, err
		}
		shift := 64 - 8*size
		s := int64(v<<shift) >> shift // sign-extend
		return uint64(s), s < 0, nil
	}
	return 0, false, fmt.Errorf("%w: %s: want %s, got code 0x%02x at offset %d", ErrMalformed, what, want, c, start)
}

// Bool reads a boolean.
func (r *Reader) Bool(what string) (bool, error) {
	start := r.off
	c, err := r.code(what)
	if err != nil {
		return false, err
	}
	switch c {
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	}
	return false, fmt.Errorf("%w: %s: want bool, got code 0x%02x at offset %d", ErrMalformed, what, c, start)
}

// ArrayLen reads an array header. The length is checked against the bytes
// that remain, assuming each element takes at least minElem bytes, so a
// caller may allocate n elements up front.
func (r *Reader) ArrayLen(what string, minElem int) (int, error) {
	start := r.off
	c, err := r.code(what)
	if err != nil {
		return 0, err
	}
	n, isMap, ok, err := r.containerLen(c, what)
	if !ok || isMap {
		return 0, fmt.Errorf("%w: %s: want array, got code 0x%02x at offset %d", ErrMalformed, what, c, start)
	}
	if err != nil {
		return 0, err
	}
	if minElem < 1 {
		minElem = 1
	}
	if n > uint64(r.Remaining()/minElem) {
		return 0, fmt.Errorf("%w: %s claims %d elements at offset %d, only %d bytes left", ErrTooLarge, what, n, start, r.Remaining())
	}
	return int(n), nil
}

// containerLen decodes the header of an array or map whose code c has
// been read: the number of elements (of entries, for a map), reading the
// length that follows a 16- or 32-bit header. ok is false, and nothing is
// read, when c starts neither.
func (r *Reader) containerLen(c byte, what string) (n uint64, isMap, ok bool, err error) {
	switch {
	case c >= 0x80 && c <= 0x8f:
		return uint64(c & 0x0f), true, true, nil
	case c >= 0x90 && c <= 0x9f:
		return uint64(c & 0x0f), false, true, nil
	case c == 0xdc, c == 0xde: // array16, map16
		n, err = r.lenPrefix(2, what)
		return n, c == 0xde, true, err
	case c == 0xdd, c == 0xdf: // array32, map32
		n, err = r.lenPrefix(4, what)
		return n, c == 0xdf, true, err
	}
	return 0, false, false, nil
}

// ExpectArray reads an array header and fails unless it has exactly n
// elements.
func (r *Reader) ExpectArray(what string, n int) error {
	start := r.off
	got, err := r.ArrayLen(what, 1)
	if err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("%w: %s has %d fields at offset %d, want %d", ErrMalformed, what, got, start, n)
	}
	return nil
}

// strLen reads a str or bin header and returns its payload.
func (r *Reader) payload(what string, wantStr bool) ([]byte, error) {
	start := r.off
	c, err := r.code(what)
	if err != nil {
		return nil, err
	}
	var n uint64
	switch {
	case wantStr && c >= 0xa0 && c <= 0xbf:
		n = uint64(c & 0x1f)
	case wantStr && c == 0xd9, !wantStr && c == 0xc4:
		n, err = r.lenPrefix(1, what)
	case wantStr && c == 0xda, !wantStr && c == 0xc5:
		n, err = r.lenPrefix(2, what)
	case wantStr && c == 0xdb, !wantStr && c == 0xc6:
		n, err = r.lenPrefix(4, what)
	default:
		kind := "bin"
		if wantStr {
			kind = "str"
		}
		return nil, fmt.Errorf("%w: %s: want %s, got code 0x%02x at offset %d", ErrMalformed, what, kind, c, start)
	}
	if err != nil {
		return nil, err
	}
	if n > uint64(r.Remaining()) {
		return nil, fmt.Errorf("%w: %s claims %d bytes at offset %d, only %d left", ErrTooLarge, what, n, start, r.Remaining())
	}
	return r.next(int(n), what)
}

// String reads a str of at most max bytes.
func (r *Reader) String(what string, max int) (string, error) {
	start := r.off
	p, err := r.payload(what, true)
	if err != nil {
		return "", err
	}
	if len(p) > max {
		return "", fmt.Errorf("%w: %s is %d bytes at offset %d, limit %d", ErrTooLarge, what, len(p), start, max)
	}
	return string(p), nil
}

// Bytes reads a bin value. The result aliases the input.
func (r *Reader) Bytes(what string) ([]byte, error) {
	return r.payload(what, false)
}

// Raw returns the bytes of the next complete value after checking its
// structure with Validate's rules. The result aliases the input.
func (r *Reader) Raw(what string, maxDepth int) ([]byte, error) {
	start := r.off
	if err := r.skip(what, maxDepth); err != nil {
		return nil, err
	}
	return r.b[start:r.off], nil
}
