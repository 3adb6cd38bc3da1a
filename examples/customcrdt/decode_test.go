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
