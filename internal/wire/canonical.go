package wire

import (
	"bytes"
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// msgpack v5.4.1 honours SetSortMapKeys only for map[string]string,
// map[string]bool and map[string]interface{}; every other map type
// (map[string]int, map[int]T, a struct's map field, …) is written in Go's
// random iteration order. So a Writer whose value may hold a map rewrites
// msgpack's output into canonical form: the entries of every map sorted by
// key, string keys first and by content (which is msgpack's own order for
// the maps it does sort), other keys by their encoded bytes, and equal keys
// by their encoded values. Values that cannot hold a map are written as
// msgpack writes them, unchanged.

// Canonical returns b, one or more complete msgpack values, with the
// entries of every map sorted as described on Writer. It fails if b is not
// well-formed.
func Canonical(b []byte) ([]byte, error) {
	r := NewReader(b)
	out := make([]byte, 0, len(b))
	for r.Remaining() > 0 {
		var err error
		if out, err = r.canon(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type mapEntry struct{ key, value []byte }

// canon appends the canonical form of the next value to out.
func (r *Reader) canon(out []byte) ([]byte, error) {
	const what = "value"
	start := r.off
	c, err := r.code(what)
	if err != nil {
		return nil, err
	}
	elems, isMap, container, err := r.containerLen(c, what)
	switch {
	case container: // read its elements after the switch
	case c >= 0xd4 && c <= 0xd8: // fixext: type byte and 1, 2, 4, 8 or 16 bytes
		_, err = r.next(1+1<<(c-0xd4), what)
		if err != nil {
			return nil, err
		}
		return append(out, r.b[start:r.off]...), nil
	case c >= 0xc7 && c <= 0xc9: // ext 8, 16, 32: length, type byte, data
		var n uint64
		if n, err = r.lenPrefix(1<<(c-0xc7), what); err != nil {
			return nil, err
		}
		if n+1 > uint64(r.Remaining()) {
			return nil, fmt.Errorf("%w: ext claims %d bytes at offset %d, only %d left", ErrTooLarge, n, start, r.Remaining())
		}
		_, _ = r.next(int(n)+1, what)
		return append(out, r.b[start:r.off]...), nil
	default:
		r.off = start
		if err := r.skip(what, 0); err != nil {
			return nil, err
		}
		return append(out, r.b[start:r.off]...), nil
	}
	if err != nil {
		return nil, err
	}
	if elems > uint64(r.Remaining()) {
		return nil, fmt.Errorf("%w: %s claims %d elements at offset %d, only %d bytes left", ErrTooLarge, what, elems, start, r.Remaining())
	}
	out = append(out, r.b[start:r.off]...) // the header, unchanged
	if !isMap {
		for range elems {
			if out, err = r.canon(out); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	entries := make([]mapEntry, 0, elems)
	for range elems {
		k, err := r.canon(nil)
		if err != nil {
			return nil, err
		}
		v, err := r.canon(nil)
		if err != nil {
			return nil, err
		}
		entries = append(entries, mapEntry{key: k, value: v})
	}
	slices.SortFunc(entries, func(a, b mapEntry) int {
		if c := compareKeys(a.key, b.key); c != 0 {
			return c
		}
		return bytes.Compare(a.value, b.value)
	})
	for _, e := range entries {
		out = append(out, e.key...)
		out = append(out, e.value...)
	}
	return out, nil
}

// compareKeys orders encoded map keys: strings first, by content, then
// every other key by its encoding.
func compareKeys(a, b []byte) int {
	as, aStr := strPayload(a)
	bs, bStr := strPayload(b)
	switch {
	case aStr && bStr:
		return bytes.Compare(as, bs)
	case aStr:
		return -1
	case bStr:
		return 1
	}
	return bytes.Compare(a, b)
}

// strPayload returns the content of an encoded str, and false for any
// other value.
func strPayload(b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	switch c := b[0]; {
	case c >= 0xa0 && c <= 0xbf:
		return b[1:], true
	case c == 0xd9 && len(b) >= 2:
		return b[2:], true
	case c == 0xda && len(b) >= 3:
		return b[3:], true
	case c == 0xdb && len(b) >= 5:
		return b[5:], true
	}
	return nil, false
}

var (
	customEncoderType   = reflect.TypeFor[msgpack.CustomEncoder]()
	marshalerType       = reflect.TypeFor[msgpack.Marshaler]()
	binaryMarshalerType = reflect.TypeFor[encoding.BinaryMarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()

	mayHoldMapCache sync.Map // reflect.Type → bool
)

// mayHoldMap reports whether msgpack's encoding of a value of type t can
// contain a map written in iteration order: t has a map, an interface (whose
// dynamic value might be a map) or a custom msgpack encoder somewhere in the
// fields msgpack encodes.
func mayHoldMap(t reflect.Type) bool {
	if t == nil {
		return false
	}
	if v, ok := mayHoldMapCache.Load(t); ok {
		return v.(bool)
	}
	v := mayHoldMapWalk(t, map[reflect.Type]bool{})
	mayHoldMapCache.Store(t, v)
	return v
}

func mayHoldMapWalk(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false // a recursive type: its other parts decide
	}
	seen[t] = true
	pt := reflect.PointerTo(t)
	switch {
	case t.Implements(customEncoderType), t.Implements(marshalerType),
		pt.Implements(customEncoderType), pt.Implements(marshalerType):
		return true
	case t.Implements(binaryMarshalerType), t.Implements(textMarshalerType),
		pt.Implements(binaryMarshalerType), pt.Implements(textMarshalerType):
		return false // written as bin or str
	}
	switch t.Kind() {
	case reflect.Map, reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return mayHoldMapWalk(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if (f.IsExported() || f.Anonymous) && mayHoldMapWalk(f.Type, seen) {
				return true
			}
		}
	}
	return false
}
