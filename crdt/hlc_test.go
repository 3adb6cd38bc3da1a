package crdt

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/converge-crdt/converge/internal/wire"
)

func TestHLCCompare(t *testing.T) {
	tests := []struct {
		name string
		a, b HLC
		want int
	}{
		{name: "equal", a: HLC{Wall: 5, Logical: 1}, b: HLC{Wall: 5, Logical: 1}, want: 0},
		{name: "wall decides", a: HLC{Wall: 4, Logical: 9}, b: HLC{Wall: 5}, want: -1},
		{name: "logical breaks wall ties", a: HLC{Wall: 5, Logical: 2}, b: HLC{Wall: 5, Logical: 1}, want: 1},
		{name: "zero is lowest", a: HLC{}, b: HLC{Logical: 1}, want: -1},
		{name: "extremes", a: HLC{Wall: math.MaxInt64, Logical: math.MaxUint32}, b: HLC{Wall: math.MaxInt64}, want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.Compare(tc.b); got != tc.want {
				t.Errorf("%v.Compare(%v) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			if got := tc.b.Compare(tc.a); got != -tc.want {
				t.Errorf("%v.Compare(%v) = %d, want %d", tc.b, tc.a, got, -tc.want)
			}
		})
	}
}

func TestHLCIsZeroAndString(t *testing.T) {
	if !(HLC{}).IsZero() || (HLC{Logical: 1}).IsZero() || (HLC{Wall: 1}).IsZero() {
		t.Fatal("IsZero wrong")
	}
	tests := []struct {
		name string
		h    HLC
		want string
	}{
		{name: "zero", h: HLC{}, want: "1970-01-01T00:00:00Z+0"},
		{name: "nanoseconds and logical", h: HLC{Wall: 1_700_000_000_500_000_000, Logical: 3}, want: "2023-11-14T22:13:20.5Z+3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.h.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

// clockStep is one call on a Clock: Now(wall) when remote is nil, else
// Observe(*remote, wall).
type clockStep struct {
	wall    int64
	remote  *HLC
	want    HLC
	wantErr error
}

func TestClock(t *testing.T) {
	h := func(wall int64, logical uint32) *HLC { return &HLC{Wall: wall, Logical: logical} }
	minute := int64(time.Minute)
	tests := []struct {
		name    string
		maxSkew time.Duration
		steps   []clockStep
	}{
		{
			name: "Now follows a rising wall clock",
			steps: []clockStep{
				{wall: 100, want: HLC{Wall: 100}},
				{wall: 200, want: HLC{Wall: 200}},
			},
		},
		{
			name: "Now bumps the logical counter when the wall clock stalls",
			steps: []clockStep{
				{wall: 100, want: HLC{Wall: 100}},
				{wall: 100, want: HLC{Wall: 100, Logical: 1}},
				{wall: 100, want: HLC{Wall: 100, Logical: 2}},
				{wall: 101, want: HLC{Wall: 101}},
			},
		},
		{
			name: "Now stays monotonic when the wall clock steps back",
			steps: []clockStep{
				{wall: 500, want: HLC{Wall: 500}},
				{wall: 20, want: HLC{Wall: 500, Logical: 1}},
				{wall: 499, want: HLC{Wall: 500, Logical: 2}},
			},
		},
		{
			name: "negative wall time counts as zero",
			steps: []clockStep{
				{wall: -5, want: HLC{Wall: 0, Logical: 1}},
				{wall: -5, remote: h(0, 7), want: HLC{Wall: 0, Logical: 8}},
			},
		},
		{
			name: "Observe a remote ahead (within skew) adopts its wall and bumps its logical",
			steps: []clockStep{
				{wall: 100, want: HLC{Wall: 100}},
				{wall: 100, remote: h(150, 4), want: HLC{Wall: 150, Logical: 5}},
				{wall: 120, want: HLC{Wall: 150, Logical: 6}},
			},
		},
		{
			name: "Observe a remote behind keeps local time",
			steps: []clockStep{
				{wall: 100, remote: h(50, 9), want: HLC{Wall: 100}},
				{wall: 100, remote: h(50, 9), want: HLC{Wall: 100, Logical: 1}},
			},
		},
		{
			name: "Observe with equal walls takes the larger logical plus one",
			steps: []clockStep{
				{wall: 100, want: HLC{Wall: 100}},
				{wall: 100, want: HLC{Wall: 100, Logical: 1}},
				{wall: 90, remote: h(100, 7), want: HLC{Wall: 100, Logical: 8}},
				{wall: 90, remote: h(100, 2), want: HLC{Wall: 100, Logical: 9}},
			},
		},
		{
			name: "Observe with the wall clock ahead of both resets logical",
			steps: []clockStep{
				{wall: 100, remote: h(100, 3), want: HLC{Wall: 100, Logical: 4}},
				{wall: 300, remote: h(200, 3), want: HLC{Wall: 300}},
			},
		},
		{
			name: "default skew accepts exactly one minute ahead",
			steps: []clockStep{
				{wall: 1000, remote: h(1000+minute, 0), want: HLC{Wall: 1000 + minute, Logical: 1}},
			},
		},
		{
			name: "default skew refuses a remote one nanosecond past a minute and keeps the clock",
			steps: []clockStep{
				{wall: 1000, want: HLC{Wall: 1000}},
				{wall: 1000, remote: h(1001+minute, 0), want: HLC{Wall: 1000}, wantErr: ErrClockSkew},
				{wall: 1000, want: HLC{Wall: 1000, Logical: 1}},
			},
		},
		{
			name:    "configured skew",
			maxSkew: 10 * time.Nanosecond,
			steps: []clockStep{
				{wall: 1000, remote: h(1010, 0), want: HLC{Wall: 1010, Logical: 1}},
				{wall: 1000, remote: h(1011, 0), want: HLC{Wall: 1010, Logical: 1}, wantErr: ErrClockSkew},
			},
		},
		{
			name: "a remote far in the future is refused",
			steps: []clockStep{
				{wall: 0, remote: h(math.MaxInt64, math.MaxUint32), want: HLC{}, wantErr: ErrClockSkew},
			},
		},
		{
			name: "logical exhaustion carries into the wall",
			steps: []clockStep{
				{wall: 100, remote: h(100, math.MaxUint32-1), want: HLC{Wall: 100, Logical: math.MaxUint32}},
				{wall: 100, want: HLC{Wall: 101}},
				{wall: 100, remote: h(101, math.MaxUint32), want: HLC{Wall: 102}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Clock{MaxSkew: tc.maxSkew}
			for i, s := range tc.steps {
				var got HLC
				var err error
				if s.remote == nil {
					got = c.Now(s.wall)
				} else {
					got, err = c.Observe(*s.remote, s.wall)
				}
				if !errors.Is(err, s.wantErr) {
					t.Fatalf("step %d: error %v, want %v", i, err, s.wantErr)
				}
				if got != s.want || c.Last() != s.want {
					t.Fatalf("step %d: got %v (Last %v), want %v", i, got, c.Last(), s.want)
				}
			}
		})
	}
}

// TestClockRandom drives a few clocks with wall times that jump back and
// forth and exchange timestamps, and checks that each clock's timestamps
// strictly increase and that a received timestamp is always passed.
func TestClockRandom(t *testing.T) {
	rng := newRand(t)
	for round := range lawRounds {
		clocks := make([]Clock, 3)
		last := make([]HLC, 3)
		offset := []int64{0, int64(rng.IntN(1000)), -int64(rng.IntN(1000))}
		wall := int64(1_000_000)
		for range 100 {
			wall += int64(rng.IntN(20)) - 5 // the shared clock also steps back
			i := rng.IntN(3)
			local := wall + offset[i]
			var got HLC
			if j := rng.IntN(3); j != i && rng.IntN(2) == 0 {
				remote := last[j]
				var err error
				got, err = clocks[i].Observe(remote, local)
				if err != nil {
					t.Fatalf("round %d: Observe(%v, %d): %v", round, remote, local, err)
				}
				if got.Compare(remote) <= 0 {
					t.Fatalf("round %d: Observe(%v) = %v, not after the remote", round, remote, got)
				}
			} else {
				got = clocks[i].Now(local)
			}
			if got.Compare(last[i]) <= 0 {
				t.Fatalf("round %d: clock %d went from %v to %v", round, i, last[i], got)
			}
			if got.Wall < local {
				t.Fatalf("round %d: timestamp %v behind wall time %d", round, got, local)
			}
			last[i] = got
		}
	}
}

func decodeHLCBytes(b []byte) (HLC, error) {
	r := wire.NewReader(b)
	h, err := decodeHLC(r)
	if err != nil {
		return HLC{}, err
	}
	return h, r.Done()
}

func TestHLCEncodeDecode(t *testing.T) {
	for _, h := range []HLC{{}, {Wall: 1, Logical: 2}, {Wall: 1_700_000_000_000_000_000, Logical: 70000}, {Wall: math.MaxInt64, Logical: math.MaxUint32}} {
		w := wire.NewWriter()
		h.encode(w)
		b := w.Bytes()
		got, err := decodeHLCBytes(b)
		if err != nil || got != h {
			t.Errorf("decode(encode(%v)) = %v, %v (% x)", h, got, err, b)
		}
	}
	// The layout is the 2-array [wall, logical].
	w := wire.NewWriter()
	HLC{Wall: 300, Logical: 2}.encode(w)
	if got, want := w.Bytes(), []byte{0x92, 0xcd, 0x01, 0x2c, 0x02}; string(got) != string(want) {
		t.Errorf("encode = % x, want % x", got, want)
	}
}

func hlcBadInputs() []badInput {
	return []badInput{
		{name: "empty", in: nil, want: ErrTruncated},
		{name: "not an array", in: []byte{0x05}, want: ErrMalformed},
		{name: "one field", in: []byte{0x91, 0x05}, want: ErrMalformed},
		{name: "three fields", in: []byte{0x93, 0x05, 0x01, 0x01}, want: ErrMalformed},
		{name: "truncated wall", in: []byte{0x92, 0xcf, 0x00, 0x00}, want: ErrTruncated},
		{name: "negative wall", in: wireBytes(func(w *wire.Writer) { w.Array(2); w.Int(-1); w.Uint(0) }), want: ErrInvalid},
		{name: "wall past int64", in: wireBytes(func(w *wire.Writer) { w.Array(2); w.Uint(math.MaxUint64); w.Uint(0) }), want: ErrMalformed},
		{name: "logical past uint32", in: wireBytes(func(w *wire.Writer) { w.Array(2); w.Uint(5); w.Uint(math.MaxUint32 + 1) }), want: ErrInvalid},
		{name: "negative logical", in: wireBytes(func(w *wire.Writer) { w.Array(2); w.Uint(5); w.Int(-1) }), want: ErrMalformed},
		{name: "string wall", in: wireBytes(func(w *wire.Writer) { w.Array(2); w.String("x"); w.Uint(0) }), want: ErrMalformed},
		{name: "trailing", in: []byte{0x92, 0x05, 0x01, 0x00}, want: ErrTrailing},
	}
}

func TestDecodeHLCRejects(t *testing.T) {
	checkBadInputs(t, hlcBadInputs(), func(_ *testing.T, in []byte) (any, error) { return decodeHLCBytes(in) })
}
