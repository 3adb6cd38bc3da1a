package wire

import (
	"bytes"
	"errors"
	"testing"
)

// nested returns depth arrays of one element each around leaf.
func nested(depth int, leaf ...byte) []byte {
	return append(bytes.Repeat([]byte{0x91}, depth), leaf...)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		maxDepth int
		wantErr  error
	}{
		{name: "nil", in: []byte{0xc0}},
		{name: "bools", in: []byte{0x92, 0xc2, 0xc3}},
		{name: "ints of every width", in: []byte{0x9a, 0x01, 0xff, 0xcc, 1, 0xcd, 1, 2, 0xce, 1, 2, 3, 4, 0xcf, 1, 2, 3, 4, 5, 6, 7, 8, 0xd0, 1, 0xd1, 1, 2, 0xd2, 1, 2, 3, 4, 0xd3, 1, 2, 3, 4, 5, 6, 7, 8}},
		{name: "floats", in: []byte{0x92, 0xca, 0, 0, 0, 0, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0}},
		{name: "strings", in: []byte{0x94, 0xa1, 'a', 0xd9, 0x01, 'b', 0xda, 0x00, 0x01, 'c', 0xdb, 0, 0, 0, 0x01, 'd'}},
		{name: "binaries", in: []byte{0x93, 0xc4, 0x01, 'a', 0xc5, 0x00, 0x00, 0xc6, 0, 0, 0, 0x01, 'c'}},
		{name: "maps", in: []byte{0x83, 0xa1, 'k', 0x01, 0x02, 0x90, 0xde, 0x00, 0x00, 0xdf, 0, 0, 0, 0x01, 0xc0, 0xc0}},
		{name: "array16 and array32", in: []byte{0x92, 0xdc, 0x00, 0x01, 0x01, 0xdd, 0, 0, 0, 0x01, 0x02}},
		{name: "nesting at the limit", in: nested(DefaultMaxDepth, 0x01)},
		{name: "nesting one past the limit", in: nested(DefaultMaxDepth+1, 0x01), wantErr: ErrTooDeep},
		{name: "deep nesting", in: nested(100000, 0x01), wantErr: ErrTooDeep},
		{name: "deep map nesting", in: append(bytes.Repeat([]byte{0x81, 0x01}, 100), 0x01), wantErr: ErrTooDeep},
		{name: "custom depth", in: nested(2, 0x01), maxDepth: 1, wantErr: ErrTooDeep},
		{name: "empty input", in: nil, wantErr: ErrTruncated},
		{name: "truncated array", in: []byte{0x92, 0x01}, wantErr: ErrTooLarge},
		{name: "truncated str", in: []byte{0xa5, 'a', 'b'}, wantErr: ErrTruncated},
		{name: "truncated uint64", in: []byte{0xcf, 0x01}, wantErr: ErrTruncated},
		{name: "truncated length prefix", in: []byte{0xdb, 0x00}, wantErr: ErrTruncated},
		{name: "trailing bytes", in: []byte{0x01, 0x02}, wantErr: ErrTrailing},
		{name: "huge array", in: []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, wantErr: ErrTooLarge},
		{name: "huge map", in: []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, wantErr: ErrTooLarge},
		{name: "map with a key and no value", in: []byte{0x81, 0x01}, wantErr: ErrTooLarge},
		{name: "huge str", in: []byte{0xdb, 0xff, 0xff, 0xff, 0xff}, wantErr: ErrTruncated},
		{name: "fixext refused", in: []byte{0xd4, 0x01, 0x00}, wantErr: ErrMalformed},
		{name: "ext8 refused", in: []byte{0xc7, 0x01, 0x01, 0x00}, wantErr: ErrMalformed},
		{name: "timestamp ext refused", in: []byte{0xd6, 0xff, 0, 0, 0, 0}, wantErr: ErrMalformed},
		{name: "reserved code 0xc1", in: []byte{0xc1}, wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			depth := tc.maxDepth
			if depth == 0 {
				depth = DefaultMaxDepth
			}
			if err := Validate(tc.in, depth); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate(% x) = %v, want %v", tc.in[:min(len(tc.in), 32)], err, tc.wantErr)
			}
		})
	}
}

func TestUnmarshal(t *testing.T) {
	type item struct {
		Name string
		N    int
		Tags []string
	}
	in := item{Name: "x", N: -4, Tags: []string{"a", "b"}}
	b, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out item
	if err := Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Name != in.Name || out.N != in.N || len(out.Tags) != 2 || out.Tags[1] != "b" {
		t.Fatalf("round trip gave %+v, want %+v", out, in)
	}
	var s string
	if err := Unmarshal([]byte{0x01}, &s); !errors.Is(err, ErrMalformed) {
		t.Fatalf("int into string: %v, want ErrMalformed", err)
	}
	if err := Unmarshal(append(b, 0x00), &out); !errors.Is(err, ErrTrailing) {
		t.Fatalf("trailing byte: %v, want ErrTrailing", err)
	}
	if err := Unmarshal(nested(DefaultMaxDepth+1, 0x01), new(any)); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("deep value: %v, want ErrTooDeep", err)
	}
}

// An empty container is a level of nesting too: maxDepth levels pass, one
// more fails, whatever the innermost value is.
func TestValidateDepthBoundary(t *testing.T) {
	for _, leaf := range [][]byte{{0x01}, {0x90}, {0x80}} {
		ok := nested(DefaultMaxDepth-1, leaf...)
		if leaf[0] == 0x01 {
			ok = nested(DefaultMaxDepth, leaf...)
		}
		if err := Validate(ok, DefaultMaxDepth); err != nil {
			t.Errorf("leaf % x at the limit: %v", leaf, err)
		}
		deep := append([]byte{0x91}, ok...)
		if err := Validate(deep, DefaultMaxDepth); !errors.Is(err, ErrTooDeep) {
			t.Errorf("leaf % x past the limit: %v, want ErrTooDeep", leaf, err)
		}
	}
}
