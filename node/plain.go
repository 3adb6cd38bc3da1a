package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/internal/wire"
	"github.com/vmihailenco/msgpack/v5"
)

// plainValue turns a stored state into plain data for Snapshot.Value.
// v is a copy the caller owns.
func plainValue(v any) (any, error) {
	switch v := v.(type) {
	case *crdt.GCounter:
		return v.Value(), nil
	case *crdt.PNCounter:
		return v.Value(), nil
	case *rawSet:
		raws := slices.Sorted(v.All())
		out := make([]any, 0, len(raws))
		for _, r := range raws {
			e, err := decodeAny(r)
			if err != nil {
				return nil, err
			}
			out = append(out, plain(e))
		}
		return out, nil
	case *rawMap:
		out := make(map[string]any, v.Len())
		for rk, rv := range v.All() {
			k, err := decodeAny(rk)
			if err != nil {
				return nil, err
			}
			val, err := decodeAny(rv)
			if err != nil {
				return nil, err
			}
			out[plainKey(k)] = plain(val)
		}
		return out, nil
	}
	return v, nil
}

// plain replaces the map[any]any msgpack decodes non-string-keyed maps
// into by map[string]any, recursively, so the value marshals to JSON. The
// depth is bounded by the wire decoder's.
func plain(v any) any {
	switch v := v.(type) {
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[plainKey(k)] = plain(x)
		}
		return out
	case map[string]any:
		for k, x := range v {
			v[k] = plain(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = plain(x)
		}
		return v
	}
	return v
}

// plainKey is a map key as a string: strings as they are, anything else as
// its JSON (or %v if it has none).
func plainKey(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	if b, err := json.Marshal(plain(k)); err == nil {
		return string(b)
	}
	return fmt.Sprint(k)
}

// decodeAny decodes a stored value without knowing its Go type. Maps decode
// as map[any]any (msgpack's default assumes string keys), made plain later.
// The bytes are validated first, so allocation is bounded by their length.
func decodeAny(r rawValue) (any, error) {
	if err := wire.Validate([]byte(r), wire.DefaultMaxDepth); err != nil {
		return nil, fmt.Errorf("%w: value %x: %w", ErrDecode, []byte(r), err)
	}
	dec := msgpack.NewDecoder(bytes.NewReader([]byte(r)))
	dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
	v, err := dec.DecodeInterface()
	if err != nil {
		return nil, fmt.Errorf("%w: value %x: %w", ErrDecode, []byte(r), err)
	}
	return v, nil
}
