package wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// FuzzWireValidate checks that Validate never panics, that it accepts
// exactly one value (Raw over the same bytes agrees), that Canonical keeps
// an accepted value's size and validity and is idempotent, and that what
// msgpack decodes from it re-encodes to a valid value.
func FuzzWireValidate(f *testing.F) {
	seeds := [][]byte{
		nil,
		{0xc0},
		{0x92, 0x01, 0xa1, 'x'},
		{0x83, 0xa1, 'k', 0x01, 0x02, 0x90, 0xde, 0x00, 0x00, 0xdf, 0, 0, 0, 0x01, 0xc0, 0xc0},
		{0x93, 0x01, 0x01, 0x92, 0xa1, 'a', 0x01},    // a GCounter
		{0x93, 0x01, 0x01, 0x92, 0xa1, 'a', 0x01, 0}, // trailing
		{0x93, 0x01, 0x01, 0x92, 0xa1},               // truncated
		{0xdd, 0xff, 0xff, 0xff, 0xff},               // length past input
		{0xdf, 0xff, 0xff, 0xff, 0xff},
		{0xdb, 0xff, 0xff, 0xff, 0xff},
		{0xc6, 0x7f, 0xff, 0xff, 0xff, 0x00},
		nested(DefaultMaxDepth, 0x01),
		nested(DefaultMaxDepth+1, 0x01),
		nested(200, 0x90),
		{0xd4, 0x01, 0x00},
		{0xc1},
		{0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}, // NaN
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Validate(b, DefaultMaxDepth)
		raw, rawErr := NewReader(b).Raw("v", DefaultMaxDepth)
		if err == nil {
			if rawErr != nil || !bytes.Equal(raw, b) {
				t.Fatalf("Validate accepts % x but Raw gives % x, %v", b, raw, rawErr)
			}
			c, cerr := Canonical(b)
			if cerr != nil || len(c) != len(b) {
				t.Fatalf("Canonical of a valid value: % x, %v", c, cerr)
			}
			if c2, _ := Canonical(c); !bytes.Equal(c2, c) {
				t.Fatalf("Canonical not idempotent:\n% x\n% x", c, c2)
			}
			if verr := Validate(c, DefaultMaxDepth); verr != nil {
				t.Fatalf("canonical form fails Validate: %v", verr)
			}
			var v any
			if uerr := Unmarshal(b, &v); uerr != nil {
				// msgpack refuses some well-formed values (a map key of a
				// type Go cannot hash); it must do so with an error.
				if !errors.Is(uerr, ErrMalformed) {
					t.Fatalf("Unmarshal error %v is not ErrMalformed", uerr)
				}
				return
			}
			e, merr := msgpack.Marshal(v)
			if merr != nil {
				t.Fatalf("re-encoding %#v: %v", v, merr)
			}
			if verr := Validate(e, DefaultMaxDepth); verr != nil {
				t.Fatalf("re-encoding of a valid value fails Validate: %v\n% x", verr, e)
			}
			return
		}
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTrailing) && !errors.Is(err, ErrMalformed) &&
			!errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrTooDeep) {
			t.Fatalf("Validate error %v wraps no sentinel", err)
		}
		if rawErr == nil && len(raw) == len(b) {
			t.Fatalf("Raw accepts all of % x that Validate refuses: %v", b, err)
		}
	})
}
