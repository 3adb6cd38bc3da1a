package main

import (
	"errors"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/converge-crdt/converge/crdt"
)

// Bytes from peers that MarshalBinary would never write are errors, and
// leave the register unchanged.
func TestUnmarshalRejectsBadInput(t *testing.T) {
	r := NewMVRegister()
	r.Set("a", "x")
	good, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	enc := func(w wireMVRegister) []byte {
		b, err := msgpack.Marshal(&w)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dot := func(r string, n uint64) wireDot { return wireDot{Replica: crdt.ReplicaID(r), Counter: n} }
	tests := []struct {
		name string
		in   []byte
	}{
		{name: "empty", in: nil},
		{name: "truncated", in: good[:len(good)-1]},
		{name: "trailing byte", in: append(append([]byte{}, good...), 0)},
		{name: "wrong tag", in: enc(wireMVRegister{Tag: 5, Version: mvRegisterVersion})},
		{name: "wrong version", in: enc(wireMVRegister{Tag: MVRegisterTag, Version: 9})},
		{name: "zero counter", in: enc(wireMVRegister{Tag: MVRegisterTag, Version: 1, Live: []wireDot{dot("r", 0)}})},
		{name: "empty replica", in: enc(wireMVRegister{Tag: MVRegisterTag, Version: 1, Live: []wireDot{{Counter: 1}}})},
		{name: "dot live and replaced", in: enc(wireMVRegister{Tag: MVRegisterTag, Version: 1,
			Live: []wireDot{dot("r", 1)}, Replaced: []wireDot{dot("r", 1)}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := NewMVRegister()
			got.Set("b", "keep")
			want := got.Clone()
			if err := got.UnmarshalBinary(tc.in); !errors.Is(err, errBadRegister) {
				t.Errorf("UnmarshalBinary(%x) = %v, want errBadRegister", tc.in, err)
			}
			if !got.Equal(want) {
				t.Errorf("a failed decode changed the register to %v", got)
			}
		})
	}
}

// A hostile length header is refused before msgpack allocates from it.
func TestUnmarshalHostileLengthIsCheap(t *testing.T) {
	// A 4-field array whose third field (Live) claims 2^32-1 dots.
	hostile := []byte{0x94, 0xcd, 0x04, 0x00, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff}
	allocs := testing.AllocsPerRun(10, func() {
		if err := NewMVRegister().UnmarshalBinary(hostile); !errors.Is(err, errBadRegister) || !errors.Is(err, crdt.ErrTooLarge) {
			t.Fatalf("UnmarshalBinary(% x) = %v, want errBadRegister and crdt.ErrTooLarge", hostile, err)
		}
	})
	if allocs > 20 {
		t.Fatalf("%v allocations to refuse a 10-byte input", allocs)
	}
}

func FuzzMVRegisterUnmarshal(f *testing.F) {
	r := NewMVRegister()
	r.Set("a", "x")
	r.Set("b", "y")
	good, _ := r.MarshalBinary()
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte{0x94, 0xcd, 0x04, 0x00, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m := NewMVRegister()
		if err := m.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, errBadRegister) {
				t.Fatalf("error without errBadRegister: %v", err)
			}
			return
		}
		enc, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %v but cannot encode it: %v", m, err)
		}
		back := NewMVRegister()
		if err := back.UnmarshalBinary(enc); err != nil || !back.Equal(m) {
			t.Fatalf("re-encoding does not round-trip: %v", err)
		}
	})
}
