package wire

import (
	"bytes"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
)

func TestReaderUint(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    uint64
		wantErr error
	}{
		{name: "positive fixint", in: []byte{0x7f}, want: 127},
		{name: "uint8", in: []byte{0xcc, 0xff}, want: 255},
		{name: "uint16", in: []byte{0xcd, 0x01, 0x00}, want: 256},
		{name: "uint32", in: []byte{0xce, 0x00, 0x01, 0x00, 0x00}, want: 1 << 16},
		{name: "uint64", in: []byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, want: math.MaxUint64},
		{name: "non-negative int8", in: []byte{0xd0, 0x05}, want: 5},
		{name: "non-negative int64", in: []byte{0xd3, 0, 0, 0, 0, 0, 0, 0x01, 0x00}, want: 256},
		{name: "negative fixint", in: []byte{0xff}, wantErr: ErrMalformed},
		{name: "negative int16", in: []byte{0xd1, 0xff, 0xfe}, wantErr: ErrMalformed},
		{name: "string", in: []byte{0xa1, 'x'}, wantErr: ErrMalformed},
		{name: "nil", in: []byte{0xc0}, wantErr: ErrMalformed},
		{name: "float", in: []byte{0xca, 0, 0, 0, 0}, wantErr: ErrMalformed},
		{name: "empty", in: nil, wantErr: ErrTruncated},
		{name: "truncated uint32", in: []byte{0xce, 0x00, 0x01}, wantErr: ErrTruncated},
		{name: "truncated int8", in: []byte{0xd0}, wantErr: ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewReader(tc.in).Uint("x")
			if !errors.Is(err, tc.wantErr) || (err == nil && got != tc.want) {
				t.Fatalf("Uint(% x) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestReaderInt(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    int64
		wantErr error
	}{
		{name: "positive fixint", in: []byte{0x05}, want: 5},
		{name: "negative fixint", in: []byte{0xe0}, want: -32},
		{name: "int8", in: []byte{0xd0, 0x80}, want: -128},
		{name: "int16", in: []byte{0xd1, 0x80, 0x00}, want: math.MinInt16},
		{name: "int32", in: []byte{0xd2, 0xff, 0xff, 0xff, 0xff}, want: -1},
		{name: "int64", in: []byte{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, want: math.MinInt64},
		{name: "uint64 within int64", in: []byte{0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, want: math.MaxInt64},
		{name: "uint64 past int64", in: []byte{0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0}, wantErr: ErrMalformed},
		{name: "bool", in: []byte{0xc3}, wantErr: ErrMalformed},
		{name: "truncated int64", in: []byte{0xd3, 0x80}, wantErr: ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewReader(tc.in).Int("x")
			if !errors.Is(err, tc.wantErr) || (err == nil && got != tc.want) {
				t.Fatalf("Int(% x) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestReaderBool(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		want    bool
		wantErr error
	}{
		{name: "false", in: []byte{0xc2}, want: false},
		{name: "true", in: []byte{0xc3}, want: true},
		{name: "int", in: []byte{0x01}, wantErr: ErrMalformed},
		{name: "empty", in: nil, wantErr: ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewReader(tc.in).Bool("x")
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Fatalf("Bool(% x) = %v, %v; want %v, %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestReaderArrayLen(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		minElem int
		want    int
		wantErr error
	}{
		{name: "fixarray", in: []byte{0x92, 0x01, 0x02}, minElem: 1, want: 2},
		{name: "empty", in: []byte{0x90}, minElem: 1, want: 0},
		{name: "array16", in: append([]byte{0xdc, 0x00, 0x03}, 1, 2, 3), minElem: 1, want: 3},
		{name: "array32", in: append([]byte{0xdd, 0, 0, 0, 0x02}, 1, 2), minElem: 1, want: 2},
		{name: "minElem 0 counts as 1", in: []byte{0x92, 0x01}, minElem: 0, wantErr: ErrTooLarge},
		{name: "elements past input", in: []byte{0x93, 0x01, 0x02}, minElem: 1, wantErr: ErrTooLarge},
		{name: "minElem scales the check", in: []byte{0x92, 0x01, 0x02, 0x03}, minElem: 2, wantErr: ErrTooLarge},
		{name: "huge array32", in: []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, minElem: 1, wantErr: ErrTooLarge},
		{name: "huge array16", in: []byte{0xdc, 0xff, 0xff}, minElem: 1, wantErr: ErrTooLarge},
		{name: "truncated length", in: []byte{0xdd, 0xff}, minElem: 1, wantErr: ErrTruncated},
		{name: "map is not an array", in: []byte{0x81, 0x01, 0x02}, minElem: 1, wantErr: ErrMalformed},
		{name: "nothing", in: nil, minElem: 1, wantErr: ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewReader(tc.in).ArrayLen("x", tc.minElem)
			if !errors.Is(err, tc.wantErr) || (err == nil && got != tc.want) {
				t.Fatalf("ArrayLen(% x, %d) = %d, %v; want %d, %v", tc.in, tc.minElem, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestReaderExpectArray(t *testing.T) {
	if err := NewReader([]byte{0x92, 1, 2}).ExpectArray("x", 2); err != nil {
		t.Fatal(err)
	}
	if err := NewReader([]byte{0x92, 1, 2}).ExpectArray("x", 3); !errors.Is(err, ErrMalformed) {
		t.Fatalf("wrong count: %v, want ErrMalformed", err)
	}
}

func TestReaderStringAndBytes(t *testing.T) {
	long := strings.Repeat("s", 300)
	tests := []struct {
		name    string
		in      []byte
		bin     bool
		max     int
		want    string
		wantErr error
	}{
		{name: "fixstr", in: []byte{0xa3, 'a', 'b', 'c'}, max: 10, want: "abc"},
		{name: "empty str", in: []byte{0xa0}, max: 10, want: ""},
		{name: "str8", in: append([]byte{0xd9, 0x02}, "hi"...), max: 10, want: "hi"},
		{name: "str16", in: append([]byte{0xda, 0x01, 0x2c}, long...), max: 300, want: long},
		{name: "str32", in: append([]byte{0xdb, 0, 0, 0, 0x01}, 'z'), max: 1, want: "z"},
		{name: "str over the caller's limit", in: []byte{0xa3, 'a', 'b', 'c'}, max: 2, wantErr: ErrTooLarge},
		{name: "str past input", in: []byte{0xa3, 'a'}, max: 10, wantErr: ErrTooLarge},
		{name: "str32 huge", in: []byte{0xdb, 0xff, 0xff, 0xff, 0xff}, max: 10, wantErr: ErrTooLarge},
		{name: "bin where str wanted", in: []byte{0xc4, 0x01, 'x'}, max: 10, wantErr: ErrMalformed},
		{name: "truncated str8 length", in: []byte{0xd9}, max: 10, wantErr: ErrTruncated},
		{name: "bin8", in: []byte{0xc4, 0x02, 'o', 'k'}, bin: true, want: "ok"},
		{name: "bin16", in: []byte{0xc5, 0x00, 0x01, 'k'}, bin: true, want: "k"},
		{name: "bin32 huge", in: []byte{0xc6, 0xff, 0xff, 0xff, 0xff}, bin: true, wantErr: ErrTooLarge},
		{name: "str where bin wanted", in: []byte{0xa1, 'x'}, bin: true, wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.in)
			var got string
			var err error
			if tc.bin {
				var b []byte
				b, err = r.Bytes("x")
				got = string(b)
			} else {
				got, err = r.String("x", tc.max)
			}
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Fatalf("got %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
			if err == nil {
				if err := r.Done(); err != nil {
					t.Fatalf("Done after a full read: %v", err)
				}
			}
		})
	}
}

func TestReaderBytesAliasInputStringCopies(t *testing.T) {
	in := []byte{0xc4, 0x01, 'a', 0xa1, 'b'}
	r := NewReader(in)
	b, err := r.Bytes("x")
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.String("y", 1)
	if err != nil {
		t.Fatal(err)
	}
	in[2], in[4] = 'A', 'B'
	if string(b) != "A" {
		t.Errorf("Bytes does not alias the input: %q", b)
	}
	if s != "b" {
		t.Errorf("String aliases the input: %q", s)
	}
}

func TestReaderDoneAndOffsets(t *testing.T) {
	r := NewReader([]byte{0x01, 0x02})
	if r.Remaining() != 2 || r.Offset() != 0 {
		t.Fatalf("fresh reader: remaining %d offset %d", r.Remaining(), r.Offset())
	}
	if _, err := r.Uint("a"); err != nil {
		t.Fatal(err)
	}
	if err := r.Done(); !errors.Is(err, ErrTrailing) {
		t.Fatalf("Done with a byte left: %v, want ErrTrailing", err)
	}
	if _, err := r.Uint("b"); err != nil {
		t.Fatal(err)
	}
	if err := r.Done(); err != nil || r.Offset() != 2 {
		t.Fatalf("Done at the end: %v (offset %d)", err, r.Offset())
	}
	var zero Reader
	if _, err := zero.Uint("x"); !errors.Is(err, ErrTruncated) {
		t.Fatalf("zero Reader: %v, want ErrTruncated", err)
	}
}

func TestReaderRaw(t *testing.T) {
	in := []byte{0x92, 0x81, 0xa1, 'k', 0x01, 0xc3, 0x07}
	r := NewReader(in)
	raw, err := r.Raw("v", DefaultMaxDepth)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, in[:6]) || r.Remaining() != 1 {
		t.Fatalf("Raw = % x (remaining %d), want % x", raw, r.Remaining(), in[:6])
	}
	if _, err := NewReader(in).Raw("v", 0); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("Raw with depth 0 over a nested value: %v, want ErrTooDeep", err)
	}
	if _, err := NewReader(in[:4]).Raw("v", DefaultMaxDepth); err == nil {
		t.Fatalf("Raw of a truncated value succeeded")
	}
}

// TestRoundTripWriterReader checks that what the Writer writes the Reader
// reads back, for boundary values of each integer width.
func TestRoundTripWriterReader(t *testing.T) {
	uints := []uint64{0, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64}
	ints := []int64{0, -1, -32, -33, -128, -129, math.MinInt16, math.MinInt32, math.MinInt64, math.MaxInt64}
	w := NewWriter()
	w.Array(len(uints) + len(ints) + 3)
	for _, u := range uints {
		w.Uint(u)
	}
	for _, i := range ints {
		w.Int(i)
	}
	w.Bool(true)
	w.String("héllo")
	w.BytesValue([]byte{0, 1})
	r := NewReader(w.Bytes())
	if err := r.ExpectArray("all", len(uints)+len(ints)+3); err != nil {
		t.Fatal(err)
	}
	for _, want := range uints {
		if got, err := r.Uint("u"); err != nil || got != want {
			t.Fatalf("Uint = %d, %v; want %d", got, err, want)
		}
	}
	for _, want := range ints {
		if got, err := r.Int("i"); err != nil || got != want {
			t.Fatalf("Int = %d, %v; want %d", got, err, want)
		}
	}
	if b, err := r.Bool("b"); err != nil || !b {
		t.Fatalf("Bool = %v, %v", b, err)
	}
	if s, err := r.String("s", 100); err != nil || s != "héllo" {
		t.Fatalf("String = %q, %v", s, err)
	}
	if b, err := r.Bytes("bin"); err != nil || !bytes.Equal(b, []byte{0, 1}) {
		t.Fatalf("Bytes = % x, %v", b, err)
	}
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
}

func TestWriterDeterministic(t *testing.T) {
	m := map[string]int{"b": 1, "a": 2, "c": 3}
	want := []byte{0x83, 0xa1, 'a', 0x02, 0xa1, 'b', 0x01, 0xa1, 'c', 0x03}
	for range 20 {
		got, err := Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Marshal = % x, want % x", got, want)
		}
	}
}

// bytesPerOp returns the heap bytes f allocates per call, averaged over
// runs calls.
func bytesPerOp(runs int, f func()) uint64 {
	f() // warm up lazily initialised state
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TestHostileLengthsFailFast feeds length prefixes claiming gigabytes and
// checks that each is refused as too large before anything of that size
// is allocated: a few hundred bytes per call is the error message.
func TestHostileLengthsFailFast(t *testing.T) {
	const limit = 1024 // bytes per call
	tests := []struct {
		name    string
		in      []byte
		decode  func(r *Reader) error
		wantErr error
	}{
		{name: "array32", in: []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, decode: func(r *Reader) error { _, err := r.ArrayLen("a", 1); return err }, wantErr: ErrTooLarge},
		{name: "str32", in: []byte{0xdb, 0xff, 0xff, 0xff, 0xff}, decode: func(r *Reader) error { _, err := r.String("s", math.MaxInt); return err }, wantErr: ErrTooLarge},
		{name: "bin32", in: []byte{0xc6, 0xff, 0xff, 0xff, 0xff}, decode: func(r *Reader) error { _, err := r.Bytes("b"); return err }, wantErr: ErrTooLarge},
		{name: "validate map32", in: []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, decode: func(r *Reader) error { return Validate(r.b, DefaultMaxDepth) }, wantErr: ErrTooLarge},
		{name: "validate nested array32", in: []byte{0x91, 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x00}, decode: func(r *Reader) error { return Validate(r.b, DefaultMaxDepth) }, wantErr: ErrTooLarge},
		{name: "unmarshal slice", in: []byte{0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06}, decode: func(r *Reader) error { var v []int64; return Unmarshal(r.b, &v) }, wantErr: ErrTooLarge},
		{name: "unmarshal map", in: []byte{0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x02}, decode: func(r *Reader) error { var v map[string]string; return Unmarshal(r.b, &v) }, wantErr: ErrTooLarge},
		{name: "unmarshal string", in: []byte{0xdb, 0x7f, 0xff, 0xff, 0xff, 'x'}, decode: func(r *Reader) error { var v string; return Unmarshal(r.b, &v) }, wantErr: ErrTruncated},
		{name: "unmarshal any", in: []byte{0xdd, 0x7f, 0xff, 0xff, 0xff, 0x90}, decode: func(r *Reader) error { var v any; return Unmarshal(r.b, &v) }, wantErr: ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.decode(NewReader(tc.in)); !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if got := bytesPerOp(100, func() { _ = tc.decode(NewReader(tc.in)) }); got > limit {
				t.Fatalf("allocated %d bytes per call on a %d-byte input, limit %d", got, len(tc.in), limit)
			}
		})
	}
}
