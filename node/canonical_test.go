package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/internal/wire"
)

// A peer's element in a non-canonical encoding (int8 1 as d0 01, next to a
// local int 1 as 01) would make one value two elements: the blob is refused.
func TestNonCanonicalElementRejected(t *testing.T) {
	peer := crdt.NewORSet[rawValue]()
	peer.Add("peer~1", rawValue("\xd0\x01")) // int8 1, not fixint 1
	blob, err := peer.MarshalBinary()
	must(t, err)
	n := openLocal(t, Config{Name: "b"})
	if _, err := (*replica)(n).Merge("s", blob); !errors.Is(err, ErrDecode) {
		t.Fatalf("Merge of a non-canonical element: %v, want ErrDecode", err)
	}
	if got := n.Counters().DecodeErrors; got != 1 {
		t.Errorf("DecodeErrors = %d, want 1", got)
	}
	ctx := context.Background()
	s, err := ORSet[int](n, "s")
	must(t, err)
	must(t, s.Add(ctx, 1))
	els, err := s.Elements()
	must(t, err)
	if len(els) != 1 || els[0] != 1 {
		t.Errorf("Elements() = %v, want [1]", els)
	}

	// The same for a map key.
	pm := crdt.NewLWWMap[rawValue, rawValue]()
	pm.Set("peer~1", crdt.HLC{Wall: 1}, rawValue("\xd9\x01a"), rawValue("\x01")) // str8 "a"
	mb, err := pm.MarshalBinary()
	must(t, err)
	if _, err := (*replica)(n).Merge("m", mb); !errors.Is(err, ErrDecode) {
		t.Errorf("Merge of a non-canonical map key: %v, want ErrDecode", err)
	}
}

// Integers of every Go width give the same element, so nodes using int8
// and int for one key agree.
func TestSizedIntegersShareOneEncoding(t *testing.T) {
	ctx := ctxT(t)
	a := openLocal(t, Config{Name: "a"})
	b := openLocal(t, Config{Name: "b"})
	sa, err := ORSet[int8](a, "s")
	must(t, err)
	must(t, sa.Add(ctx, 1))
	must(t, sa.Add(ctx, -100))
	must(t, ship(t, a, b, "s"))
	sb, err := ORSet[int](b, "s")
	must(t, err)
	must(t, sb.Add(ctx, 1))
	must(t, sb.Remove(ctx, -100))
	els, err := sb.Elements()
	must(t, err)
	if len(els) != 1 || els[0] != 1 {
		t.Errorf("Elements() = %v, want [1]", els)
	}
}

func TestCanonicalRaw(t *testing.T) {
	tests := []struct {
		name     string
		in, want []byte
	}{
		{name: "fixint", in: []byte{0x01}, want: []byte{0x01}},
		{name: "int8 positive", in: []byte{0xd0, 0x01}, want: []byte{0x01}},
		{name: "uint16 small", in: []byte{0xcd, 0x00, 0xff}, want: []byte{0xcc, 0xff}},
		{name: "int64 -300", in: []byte{0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xd4}, want: []byte{0xd1, 0xfe, 0xd4}},
		{name: "int8 -1", in: []byte{0xd0, 0xff}, want: []byte{0xff}},
		{name: "str8 short", in: []byte{0xd9, 0x01, 'a'}, want: []byte{0xa1, 'a'}},
		{name: "bin16 short", in: []byte{0xc5, 0x00, 0x01, 'a'}, want: []byte{0xc4, 0x01, 'a'}},
		{name: "array16 small", in: []byte{0xdc, 0x00, 0x01, 0xd0, 0x02}, want: []byte{0x91, 0x02}},
		{name: "map unsorted", in: []byte{0x82, 0xa1, 'b', 0x01, 0xa1, 'a', 0x02}, want: []byte{0x82, 0xa1, 'a', 0x02, 0xa1, 'b', 0x01}},
		{name: "float64 kept", in: []byte{0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}, want: []byte{0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := canonicalRaw(tc.in)
			must(t, err)
			if !bytes.Equal(got, tc.want) {
				t.Errorf("canonicalRaw(%x) = %x, want %x", tc.in, got, tc.want)
			}
			if err := isCanonical(tc.want); err != nil {
				t.Errorf("canonical form refused: %v", err)
			}
		})
	}
	for _, bad := range [][]byte{nil, {0xd0}, {0xd9, 0x05, 'a'}, {0x01, 0x02}, {0xd4, 0x01, 0x02}} {
		if _, err := canonicalRaw(bad); err == nil {
			t.Errorf("canonicalRaw(%x) accepted", bad)
		}
	}
	// Values toRaw writes are canonical and decode back.
	for _, v := range []any{0, -1, math.MinInt64, uint64(math.MaxUint64), int8(-128), int32(70000),
		"", "a string over thirty-one bytes long ....", []byte("b"), 1.5, float32(2.5), true, nil,
		map[int]string{3: "c", 1: "a"}, []int64{1, -2, 1 << 40}, struct{ A int16 }{-5}} {
		r, err := toRaw(v)
		must(t, err)
		if err := isCanonical([]byte(r)); err != nil {
			t.Errorf("toRaw(%#v) = %x: %v", v, []byte(r), err)
		}
		orig, _ := wire.Marshal(v)
		var a, b any
		if wire.Unmarshal(orig, &a) != nil {
			continue // msgpack decodes maps into an any only with string keys
		}
		must(t, wire.Unmarshal([]byte(r), &b))
		if fmtAny(a) != fmtAny(b) {
			t.Errorf("toRaw(%#v) decodes as %v, want %v", v, b, a)
		}
	}
}

func fmtAny(v any) string { return fmt.Sprint(v) }
