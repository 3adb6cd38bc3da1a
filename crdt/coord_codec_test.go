package crdt

import (
	"bytes"
	"errors"
	"testing"

	"github.com/converge-crdt/converge/internal/wire"
)

func fwwSample() *FWWMap {
	m := NewFWWMap()
	m.Write("task-1", 0, HLC{Wall: 5}, "r1", []byte("a"))
	m.Write("task-1", 0, HLC{Wall: 6}, "r2", []byte("b"))
	m.Write("task-2", 1, HLC{Wall: 7, Logical: 2}, "r1", nil)
	m.Expire(HLC{Wall: 3})
	return m
}

func leaseSample() *LeaseMap {
	m := NewLeaseMap()
	m.Acquire("leader", "r1", []byte("agent-1"), HLC{Wall: 1}, HLC{Wall: 10}, 0)
	l, _, _ := m.Acquire("job", "r2", nil, HLC{Wall: 1}, HLC{Wall: 5}, 0)
	m.Release("job", l.Token)
	return m
}

func TestFWWMapWinnerAndFlags(t *testing.T) {
	m := fwwSample()
	w, ok := m.Winner("task-1")
	if !ok || w.Replica != "r1" || string(w.Value) != "a" || !m.Contested("task-1") || !m.Conflict("task-1") {
		t.Fatalf("task-1: %v %v contested %v conflict %v", w, ok, m.Contested("task-1"), m.Conflict("task-1"))
	}
	// A higher round takes over, whatever its stamp.
	m.Write("task-1", 1, HLC{Wall: 9}, "r3", []byte("c"))
	if w, _ := m.Winner("task-1"); w.Replica != "r3" || m.Contested("task-1") {
		t.Fatalf("round 1: %v contested %v", w, m.Contested("task-1"))
	}
	// Expiry drops the old rounds' records and refuses late writes.
	m.Expire(HLC{Wall: 8})
	if got := len(m.Records("task-1")); got != 1 {
		t.Fatalf("%d records after expiry, want 1", got)
	}
	if d := m.Write("task-1", 0, HLC{Wall: 5}, "r9", nil); d.Len() != 0 {
		t.Fatal("a write before the horizon was accepted")
	}
	if _, ok := m.Winner("task-2"); ok {
		t.Fatal("task-2 survived its horizon")
	}
}

func TestCoordRoundTrip(t *testing.T) {
	for _, m := range []*FWWMap{NewFWWMap(), fwwSample()} {
		b, _ := m.MarshalBinary()
		got := NewFWWMap()
		if err := got.UnmarshalBinary(b); err != nil || !got.Equal(m) {
			t.Fatalf("FWWMap round trip: %v\n%v\n%v", err, m, got)
		}
	}
	for _, m := range []*LeaseMap{NewLeaseMap(), leaseSample()} {
		b, _ := m.MarshalBinary()
		got := NewLeaseMap()
		if err := got.UnmarshalBinary(b); err != nil || !got.Equal(m) {
			t.Fatalf("LeaseMap round trip: %v\n%v\n%v", err, m, got)
		}
	}
}

func fwwBadInputs() []badInput {
	hdr := func(w *wire.Writer, entries int) {
		writeHeader(w, TagFWWMap, 2)
		HLC{Wall: 3}.encode(w)
		w.Array(entries)
	}
	rec := func(w *wire.Writer, round uint64, wall int64, replica string) {
		w.Array(4)
		w.Uint(round)
		HLC{Wall: wall}.encode(w)
		w.String(replica)
		w.BytesValue([]byte{})
	}
	entry := func(w *wire.Writer, key string, recs int) {
		w.Array(2)
		w.String(key)
		w.Array(recs)
	}
	return []badInput{
		{name: "empty", in: nil, want: ErrTruncated},
		{name: "wrong tag", in: wireBytes(func(w *wire.Writer) { writeHeader(w, TagLWWMap, 2); HLC{}.encode(w); w.Array(0) }), want: ErrWrongType},
		{name: "missing fields", in: wireBytes(func(w *wire.Writer) { writeHeader(w, TagFWWMap, 1); w.Array(0) }), want: ErrMalformed},
		{name: "negative horizon", in: wireBytes(func(w *wire.Writer) {
			writeHeader(w, TagFWWMap, 2)
			w.Array(2)
			w.Int(-1)
			w.Uint(0)
			w.Array(0)
		}), want: ErrInvalid, msg: "horizon"},
		{name: "huge entry count", in: wireBytes(func(w *wire.Writer) { hdr(w, 1<<30) }), want: ErrTooLarge},
		{name: "key without records", in: wireBytes(func(w *wire.Writer) { hdr(w, 1); entry(w, "k", 0) }), want: ErrMalformed, msg: "no records"},
		{name: "record before horizon", in: wireBytes(func(w *wire.Writer) { hdr(w, 1); entry(w, "k", 1); rec(w, 0, 2, "r") }), want: ErrInvalid, msg: "before the horizon"},
		{name: "empty replica", in: wireBytes(func(w *wire.Writer) { hdr(w, 1); entry(w, "k", 1); rec(w, 0, 4, "") }), want: ErrInvalid},
		{name: "records out of order", in: wireBytes(func(w *wire.Writer) {
			hdr(w, 1)
			entry(w, "k", 2)
			rec(w, 1, 4, "r")
			rec(w, 0, 4, "r")
		}), want: ErrMalformed, msg: "not sorted"},
		{name: "record repeated", in: wireBytes(func(w *wire.Writer) {
			hdr(w, 1)
			entry(w, "k", 2)
			rec(w, 0, 4, "r")
			rec(w, 0, 4, "r")
		}), want: ErrDuplicate},
		{name: "keys out of order", in: wireBytes(func(w *wire.Writer) {
			hdr(w, 2)
			entry(w, "b", 1)
			rec(w, 0, 4, "r")
			entry(w, "a", 1)
			rec(w, 0, 4, "r")
		}), want: ErrMalformed, msg: "not sorted"},
		{name: "key repeated", in: wireBytes(func(w *wire.Writer) {
			hdr(w, 2)
			entry(w, "a", 1)
			rec(w, 0, 4, "r")
			entry(w, "a", 1)
			rec(w, 0, 4, "r")
		}), want: ErrDuplicate},
		{name: "too many records", in: wireBytes(func(w *wire.Writer) {
			hdr(w, 1)
			entry(w, "k", MaxFWWRecords+1)
			for i := range MaxFWWRecords + 1 {
				rec(w, uint64(i), 4, "r")
			}
		}), want: ErrInvalid, msg: "limit"},
		{name: "trailing", in: append(must(fwwSample().MarshalBinary()), 0), want: ErrTrailing},
	}
}

func leaseBadInputs() []badInput {
	entry := func(w *wire.Writer, name string, seq uint64, replica string) {
		w.Array(6)
		w.String(name)
		w.Uint(seq)
		w.String(replica)
		w.BytesValue([]byte{})
		HLC{Wall: 1}.encode(w)
		w.Bool(false)
	}
	hdr := func(w *wire.Writer, n int) { writeHeader(w, TagLeaseMap, 1); w.Array(n) }
	return []badInput{
		{name: "empty", in: nil, want: ErrTruncated},
		{name: "wrong tag", in: wireBytes(func(w *wire.Writer) { writeHeader(w, TagFWWMap, 1); w.Array(0) }), want: ErrWrongType},
		{name: "huge count", in: wireBytes(func(w *wire.Writer) { hdr(w, 1<<30) }), want: ErrTooLarge},
		{name: "zero sequence", in: wireBytes(func(w *wire.Writer) { hdr(w, 1); entry(w, "a", 0, "r") }), want: ErrInvalid, msg: "sequence"},
		{name: "sequence past MaxCounter", in: wireBytes(func(w *wire.Writer) { hdr(w, 1); entry(w, "a", MaxCounter+1, "r") }), want: ErrInvalid, msg: "sequence"},
		{name: "empty replica", in: wireBytes(func(w *wire.Writer) { hdr(w, 1); entry(w, "a", 1, "") }), want: ErrInvalid},
		{name: "names out of order", in: wireBytes(func(w *wire.Writer) { hdr(w, 2); entry(w, "b", 1, "r"); entry(w, "a", 1, "r") }), want: ErrMalformed},
		{name: "name repeated", in: wireBytes(func(w *wire.Writer) { hdr(w, 2); entry(w, "a", 1, "r"); entry(w, "a", 2, "r") }), want: ErrDuplicate},
		{name: "trailing", in: append(must(leaseSample().MarshalBinary()), 0), want: ErrTrailing},
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestFWWMapBadInputs(t *testing.T) {
	checkBadInputs(t, fwwBadInputs(), func(t *testing.T, in []byte) (any, error) {
		m := fwwSample()
		before := m.Clone()
		err := m.UnmarshalBinary(in)
		if err != nil && !m.Equal(before) {
			t.Fatal("a failed decode changed the receiver")
		}
		return m, err
	})
}

func TestLeaseMapBadInputs(t *testing.T) {
	checkBadInputs(t, leaseBadInputs(), func(t *testing.T, in []byte) (any, error) {
		m := leaseSample()
		before := m.Clone()
		err := m.UnmarshalBinary(in)
		if err != nil && !m.Equal(before) {
			t.Fatal("a failed decode changed the receiver")
		}
		return m, err
	})
}

var coordSentinels = []error{ErrTruncated, ErrTrailing, ErrMalformed, ErrTooLarge, ErrTooDeep,
	ErrWrongType, ErrVersion, ErrDuplicate, ErrInvalid}

type coordState[T any] interface {
	changeReporting[T]
	MarshalBinary() ([]byte, error)
	UnmarshalBinary([]byte) error
}

// fuzzCoordDecode: no panic, every error wraps a sentinel, and what decodes
// round-trips deterministically and merges with a truthful MergeChanged.
func fuzzCoordDecode[T coordState[T]](t *testing.T, b []byte, fresh func() T) {
	x := fresh()
	if err := x.UnmarshalBinary(b); err != nil {
		for _, s := range coordSentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error wraps no sentinel: %v", err)
	}
	b2, _ := x.MarshalBinary()
	y := fresh()
	if err := y.UnmarshalBinary(b2); err != nil || !y.Equal(x) {
		t.Fatalf("round trip: %v\n%v\n%v", err, x, y)
	}
	if b3, _ := y.MarshalBinary(); !bytes.Equal(b2, b3) {
		t.Fatalf("encoding not deterministic:\n% x\n% x", b2, b3)
	}
	z := fresh()
	mergeChecked(t, z, x)
	mergeChecked(t, z, y)
}

func FuzzFWWMapUnmarshal(f *testing.F) {
	for _, m := range []*FWWMap{NewFWWMap(), fwwSample()} {
		f.Add(must(m.MarshalBinary()))
	}
	for _, tc := range fwwBadInputs() {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzCoordDecode(t, b, NewFWWMap) })
}

func FuzzLeaseMapUnmarshal(f *testing.F) {
	for _, m := range []*LeaseMap{NewLeaseMap(), leaseSample()} {
		f.Add(must(m.MarshalBinary()))
	}
	for _, tc := range leaseBadInputs() {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) { fuzzCoordDecode(t, b, NewLeaseMap) })
}
