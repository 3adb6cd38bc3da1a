package crdt_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/gen"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/proptest"
)

// fwwWrite is the argument of an FWWMap write.
type fwwWrite struct {
	K     string
	Round uint64
	V     byte
}

func TestLawsFWWMap(t *testing.T) {
	arg := gen.Struct(reflect.TypeFor[fwwWrite](), map[string]gopter.Gen{
		"K": gen.OneConstOf("a", "b", "c"), "Round": gen.UInt64Range(0, 2), "V": gen.UInt8Range(0, 2),
	})
	proptest.Check(t, proptest.Spec[*crdt.FWWMap]{
		Name: "FWWMap",
		New:  crdt.NewFWWMap,
		Ops: []proptest.Op[*crdt.FWWMap]{
			proptest.OpOf("write", arg, func(m *crdt.FWWMap, at proptest.Site, a fwwWrite) (*crdt.FWWMap, error) {
				return m.Write(a.K, a.Round, hlc(at), at.Replica, []byte{a.V}), nil
			}),
			proptest.OpOf("expire", gen.UInt64Range(0, 3), func(m *crdt.FWWMap, at proptest.Site, back uint64) (*crdt.FWWMap, error) {
				if at.Clock < back {
					return crdt.NewFWWMap(), nil
				}
				c := at.Clock - back
				return m.Expire(crdt.HLC{Wall: int64(c / 3), Logical: uint32(c % 3)}), nil
			}),
		},
		Observe: func(m *crdt.FWWMap) any {
			out := map[string][3]any{}
			for _, k := range m.Keys() {
				w, _ := m.Winner(k)
				out[k] = [3]any{w.Value[0], m.Contested(k), m.Conflict(k)}
			}
			return out
		},
		// The winner of a key is the write of the highest round, then the
		// earliest (clock, replica, value), among the writes stamped at or
		// after the largest horizon seen.
		Model: func(seen []proptest.Event) any {
			var horizon uint64
			for _, e := range seen {
				if back, ok := e.Arg.(uint64); ok && e.Clock >= back {
					horizon = max(horizon, e.Clock-back)
				}
			}
			type rec struct {
				round, clock uint64
				replica      string
				v            byte
			}
			less := func(a, b rec) bool {
				if a.round != b.round {
					return a.round > b.round
				}
				if a.clock != b.clock {
					return a.clock < b.clock
				}
				if a.replica != b.replica {
					return a.replica < b.replica
				}
				return a.v < b.v
			}
			recs := map[string][]rec{}
			for _, e := range seen {
				if a, ok := e.Arg.(fwwWrite); ok && e.Clock >= horizon {
					recs[a.K] = append(recs[a.K], rec{a.Round, e.Clock, string(e.Replica), a.V})
				}
			}
			out := map[string][3]any{}
			for k, rs := range recs {
				w := rs[0]
				for _, r := range rs[1:] {
					if less(r, w) {
						w = r
					}
				}
				contested, conflict := false, false
				for _, r := range rs {
					if r.round != w.round {
						continue
					}
					contested = contested || r.clock != w.clock || r.replica != w.replica
					conflict = conflict || r.v != w.v
				}
				out[k] = [3]any{w.v, contested, conflict}
			}
			return out
		},
	})
}

// leaseOp is the argument of a LeaseMap operation.
type leaseOp struct {
	Name string
	TTL  uint64
}

func TestLawsLeaseMap(t *testing.T) {
	arg := gen.Struct(reflect.TypeFor[leaseOp](), map[string]gopter.Gen{
		"Name": gen.OneConstOf("a", "b"), "TTL": gen.UInt64Range(1, 4),
	})
	name := gen.OneConstOf("a", "b")
	proptest.Check(t, proptest.Spec[*crdt.LeaseMap]{
		Name: "LeaseMap",
		New:  crdt.NewLeaseMap,
		Ops: []proptest.Op[*crdt.LeaseMap]{
			proptest.OpOf("acquire", arg, func(m *crdt.LeaseMap, at proptest.Site, a leaseOp) (*crdt.LeaseMap, error) {
				now := hlc(at)
				_, d, err := m.Acquire(a.Name, at.Replica, []byte(at.Replica), now, crdt.HLC{Wall: now.Wall + int64(a.TTL)}, 0)
				return d, err
			}),
			proptest.OpOf("renew", arg, func(m *crdt.LeaseMap, at proptest.Site, a leaseOp) (*crdt.LeaseMap, error) {
				l, _ := m.Get(a.Name)
				return m.Renew(a.Name, l.Token, crdt.HLC{Wall: int64(at.Clock + a.TTL)})
			}),
			proptest.OpOf("release", name, func(m *crdt.LeaseMap, at proptest.Site, n string) (*crdt.LeaseMap, error) {
				l, _ := m.Get(n)
				if l.Token.Replica != at.Replica {
					return crdt.NewLeaseMap(), nil
				}
				return m.Release(n, l.Token)
			}),
		},
	})
}

// TestLeaseTokensIncrease: every holder that saw the lease before takes a
// larger token, and concurrent holders take different ones.
func TestLeaseTokensIncrease(t *testing.T) {
	a, b := crdt.NewLeaseMap(), crdt.NewLeaseMap()
	at := func(w int64) crdt.HLC { return crdt.HLC{Wall: w} }
	l1, d, err := a.Acquire("job", "a", nil, at(1), at(10), 0)
	if err != nil {
		t.Fatal(err)
	}
	b.Merge(d)
	if _, _, err := b.Acquire("job", "b", nil, at(5), at(15), 0); err == nil {
		t.Fatal("b took a lease a holds")
	}
	l2, d2, err := b.Acquire("job", "b", nil, at(11), at(20), 0)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Token.Compare(l1.Token) <= 0 {
		t.Fatalf("token %v after %v", l2.Token, l1.Token)
	}
	// a, partitioned, does not see b's lease and takes it too: a
	// different token, so a fence can tell them apart.
	l3, _, err := a.Acquire("job", "c", nil, at(12), at(20), 0)
	if err != nil {
		t.Fatal(err)
	}
	if l3.Token == l2.Token {
		t.Fatalf("concurrent holders share token %v", l3.Token)
	}
	a.Merge(d2)
	if _, err := a.Renew("job", minTok(l2.Token, l3.Token), at(30)); err == nil {
		t.Fatal("the smaller of two concurrent tokens renewed")
	}
	// A margin keeps the lease held past its expiry.
	m := crdt.NewLeaseMap()
	m.Acquire("x", "a", nil, at(0), at(int64(time.Second)), 0)
	if _, _, err := m.Acquire("x", "b", nil, at(int64(1500*time.Millisecond)), at(int64(3*time.Second)), time.Second); err == nil {
		t.Fatal("lease taken within the skew margin")
	}
}

func minTok(a, b crdt.Token) crdt.Token {
	if a.Compare(b) < 0 {
		return a
	}
	return b
}
