package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

type withMap struct {
	Name  string
	Count map[int]string
}

type withAny struct {
	B any
	A int
}

type scalarsOnly struct {
	Z string
	A int
}

type recursive struct {
	Next *recursive
	M    map[string]int
}

// TestMarshalDeterministicForEveryMapType encodes values holding maps of
// types msgpack does not sort, many times: each must give one encoding.
func TestMarshalDeterministicForEveryMapType(t *testing.T) {
	big := map[int]string{}
	for i := range 50 {
		big[i*7919%1000] = string(rune('a' + i%26))
	}
	tests := []struct {
		name string
		v    any
		// loose: decoding into the value's type gives integers of other
		// widths (any-typed fields), which re-encode differently.
		loose bool
	}{
		{name: "map[string]int", v: map[string]int{"q": 1, "w": 2, "e": 3, "r": 4, "t": 5, "y": 6}},
		{name: "map[int]string", v: big},
		{name: "map in a struct", v: withMap{Name: "n", Count: big}},
		{name: "map behind an interface field", v: withAny{B: map[string]uint8{"p": 1, "q": 2, "r": 3, "s": 4}}},
		{name: "maps in a slice", v: []map[string]float64{{"a": 1, "b": 2, "c": 3}, {"x": 4, "y": 5, "z": 6}}},
		{name: "nested maps", v: map[string]any{"k": map[string]int{"d": 1, "c": 2, "b": 3, "a": 4}, "j": []any{map[string]int{"a": 1, "b": 2}}}, loose: true},
		{name: "recursive type", v: &recursive{M: map[string]int{"a": 1, "b": 2, "c": 3}, Next: &recursive{M: map[string]int{"d": 1, "e": 2}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first, err := Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			for range 50 {
				got, err := Marshal(tc.v)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, first) {
					t.Fatalf("two encodings of one value:\n% x\n% x", first, got)
				}
			}
			if err := Validate(first, DefaultMaxDepth); err != nil {
				t.Fatalf("canonical encoding fails Validate: %v", err)
			}
			// It still decodes.
			out := reflect.New(reflect.TypeOf(tc.v))
			if err := Unmarshal(first, out.Interface()); err != nil {
				t.Fatal(err)
			}
			if tc.loose {
				return
			}
			again, err := Marshal(out.Elem().Interface())
			if err != nil || !bytes.Equal(again, first) {
				t.Fatalf("decode and re-encode gives % x, %v; want % x", again, err, first)
			}
		})
	}
}

// TestMarshalKeepsMsgpackOutputWhereItWasDeterministic checks that values
// msgpack already wrote deterministically keep their bytes: map-free values
// (struct fields in declaration order) and the three map types msgpack
// sorts itself.
func TestMarshalKeepsMsgpackOutputWhereItWasDeterministic(t *testing.T) {
	values := []any{
		"s", 1, -5, 1.5, true, nil, []byte{1, 2}, [2]int{3, 4}, []string{"b", "a"},
		scalarsOnly{Z: "z", A: 1},
		&scalarsOnly{Z: "y"},
		map[string]string{"b": "1", "a": "2", "aa": "3", "B": "4"},
		map[string]bool{"y": true, "x": false},
		map[string]any{"zz": 1, "a": "x", "m": []int{1}},
	}
	for _, v := range values {
		enc := func() []byte {
			var buf bytes.Buffer
			e := msgpack.NewEncoder(&buf)
			e.SetSortMapKeys(true)
			if err := e.Encode(v); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes()
		}
		got, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if want := enc(); !bytes.Equal(got, want) {
			t.Errorf("Marshal(%#v) = % x, msgpack wrote % x", v, got, want)
		}
	}
}

func TestCanonicalOrder(t *testing.T) {
	// {2: "x", "b": 1, "a": 2, 1: nil} → strings first by content, then
	// other keys by encoding.
	in := []byte{0x84, 0x02, 0xa1, 'x', 0xa1, 'b', 0x01, 0xa1, 'a', 0x02, 0x01, 0xc0}
	want := []byte{0x84, 0xa1, 'a', 0x02, 0xa1, 'b', 0x01, 0x01, 0xc0, 0x02, 0xa1, 'x'}
	got, err := Canonical(in)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Canonical = % x, %v; want % x", got, err, want)
	}
	// A str8 key sorts by content, not by its longer header.
	in = append([]byte{0x82, 0xd9, 0x01, 'a', 0x01}, 0xa1, 'b', 0x02)
	if got, err := Canonical(in); err != nil || !bytes.Equal(got, in) {
		t.Fatalf("Canonical = % x, %v; want % x", got, err, in)
	}
	// Equal keys order by value; ext values pass through.
	in = []byte{0x92, 0x82, 0xc0, 0x02, 0xc0, 0x01, 0xd4, 0x01, 0x07}
	want = []byte{0x92, 0x82, 0xc0, 0x01, 0xc0, 0x02, 0xd4, 0x01, 0x07}
	if got, err := Canonical(in); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Canonical = % x, %v; want % x", got, err, want)
	}
}

func TestCanonicalRejectsMalformed(t *testing.T) {
	for _, in := range [][]byte{
		{0x81, 0x01},
		{0xdf, 0xff, 0xff, 0xff, 0xff},
		{0x92, 0x01},
		{0xc7, 0xff, 0x01},
		{0xd8, 0x01},
		{0xc1},
		{0xa3, 'a'},
	} {
		if _, err := Canonical(in); err == nil {
			t.Errorf("Canonical(% x) accepted malformed input", in)
		} else if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrMalformed) {
			t.Errorf("Canonical(% x) error %v wraps no sentinel", in, err)
		}
	}
}
