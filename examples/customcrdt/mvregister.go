package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/converge-crdt/converge/crdt"
)

// MVRegisterTag is the type tag of MVRegister on the wire. It is part of the
// wire format: never change it.
const MVRegisterTag crdt.TypeTag = 1024 // crdt.FirstUserTag

// mvRegisterVersion is the version of MVRegister's encoding.
const mvRegisterVersion = 1

// MVRegister is a multi-value register (Shapiro et al. 2011, §3.2.2): a
// write replaces every value its replica has seen, and writes that did not
// see each other (concurrent writes) are all kept, until a write that has
// seen them replaces them. Readers see every concurrent value and decide.
//
// Each write is named by a dot (replica, counter). The state holds the live
// writes and the set of every write it knows of, live or replaced: a write
// this state knows of but does not hold was replaced, and a merge drops it
// from the other side too. (A production type would compact that set into a
// version vector plus a dot cloud, as crdt.CausalContext does.)
type MVRegister struct {
	live map[crdt.Dot]string // the writes no known write has replaced
	seen map[crdt.Dot]bool   // every write this state knows of; covers live
}

var _ crdt.CRDT[*MVRegister] = (*MVRegister)(nil)

// NewMVRegister returns an empty register.
func NewMVRegister() *MVRegister {
	return &MVRegister{live: map[crdt.Dot]string{}, seen: map[crdt.Dot]bool{}}
}

// Set writes v at replica r, replacing every value the register holds, and
// returns the delta: the new write and the writes it replaces.
func (m *MVRegister) Set(r crdt.ReplicaID, v string) *MVRegister {
	d := crdt.Dot{Replica: r, Counter: 1}
	for s := range m.seen {
		if s.Replica == r {
			d.Counter = max(d.Counter, s.Counter+1)
		}
	}
	delta := NewMVRegister()
	for old := range m.live {
		delta.seen[old] = true
	}
	clear(m.live)
	m.live[d], m.seen[d] = v, true
	delta.live[d], delta.seen[d] = v, true
	return delta
}

// Values returns the concurrent values, sorted, without repeats; nil if
// nothing was written.
func (m *MVRegister) Values() []string {
	var out []string
	for _, v := range m.live {
		out = append(out, v)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Merge joins other into m: a write survives unless the other side knows
// it and no longer holds it.
func (m *MVRegister) Merge(other *MVRegister) {
	for d := range m.live {
		if _, ok := other.live[d]; !ok && other.seen[d] {
			delete(m.live, d)
		}
	}
	for d, v := range other.live {
		if !m.seen[d] {
			m.live[d] = v
		}
	}
	for d := range other.seen {
		m.seen[d] = true
	}
}

// Clone returns a copy sharing nothing with m.
func (m *MVRegister) Clone() *MVRegister {
	return &MVRegister{live: maps.Clone(m.live), seen: maps.Clone(m.seen)}
}

// Equal reports whether both registers hold the same writes and know of the
// same writes.
func (m *MVRegister) Equal(other *MVRegister) bool {
	return maps.Equal(m.live, other.live) && maps.Equal(m.seen, other.seen)
}

func (m *MVRegister) String() string { return fmt.Sprintf("MVRegister%v", m.Values()) }

// wireDot is a dot and, for live writes, its value, as encoded.
type wireDot struct {
	_msgpack struct{} `msgpack:",as_array"`
	Replica  crdt.ReplicaID
	Counter  uint64
	Value    string
}

// wireMVRegister is the encoding: [tag, version, live, replaced], each list
// sorted by dot so that equal states give equal bytes.
type wireMVRegister struct {
	_msgpack struct{} `msgpack:",as_array"`
	Tag      crdt.TypeTag
	Version  uint8
	Live     []wireDot
	Replaced []wireDot
}

func sortedDots(ds []wireDot) []wireDot {
	slices.SortFunc(ds, func(a, b wireDot) int {
		return cmp.Or(cmp.Compare(a.Replica, b.Replica), cmp.Compare(a.Counter, b.Counter))
	})
	return ds
}

// MarshalBinary encodes the register deterministically.
func (m *MVRegister) MarshalBinary() ([]byte, error) {
	w := wireMVRegister{Tag: MVRegisterTag, Version: mvRegisterVersion}
	for d := range m.seen {
		if v, ok := m.live[d]; ok {
			w.Live = append(w.Live, wireDot{Replica: d.Replica, Counter: d.Counter, Value: v})
		} else {
			w.Replaced = append(w.Replaced, wireDot{Replica: d.Replica, Counter: d.Counter})
		}
	}
	sortedDots(w.Live)
	sortedDots(w.Replaced)
	return msgpack.Marshal(&w)
}

// errBadRegister is wrapped by UnmarshalBinary's errors.
var errBadRegister = errors.New("mvregister: bad encoding")

// UnmarshalBinary replaces m with the decoded register. Bytes come from
// peers: anything MarshalBinary would not write is an error.
func (m *MVRegister) UnmarshalBinary(b []byte) error {
	// Bound every length before msgpack allocates from it: a peer's
	// 5-byte array header would otherwise cost gigabytes.
	if err := crdt.ValidateMsgpack(b); err != nil {
		return fmt.Errorf("%w: %w", errBadRegister, err)
	}
	var w wireMVRegister
	r := bytes.NewReader(b)
	if err := msgpack.NewDecoder(r).Decode(&w); err != nil {
		return fmt.Errorf("%w: %v", errBadRegister, err)
	}
	if r.Len() > 0 {
		return fmt.Errorf("%w: trailing bytes", errBadRegister)
	}
	if w.Tag != MVRegisterTag || w.Version != mvRegisterVersion {
		return fmt.Errorf("%w: tag %d version %d", errBadRegister, w.Tag, w.Version)
	}
	out := NewMVRegister()
	for i, list := range [][]wireDot{w.Live, w.Replaced} {
		for _, wd := range list {
			d := crdt.Dot{Replica: wd.Replica, Counter: wd.Counter}
			if d.Replica == "" || d.Counter == 0 || out.seen[d] {
				return fmt.Errorf("%w: invalid or repeated dot %v", errBadRegister, d)
			}
			out.seen[d] = true
			if i == 0 {
				out.live[d] = wd.Value
			}
		}
	}
	*m = *out
	return nil
}
