package crdt

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// LeaseMap is a map from lease names to leases with fencing tokens. Each
// name holds one Lease, and Merge keeps the larger by (token, released,
// expiry, holder): a total order, so the merge is a join.
//
// A new holder takes a token one above the largest it has seen for the name,
// tagged with its replica ID: tokens strictly increase along every chain of
// holders that saw each other's lease, and two holders that acquired
// concurrently (in a partition) hold different tokens, one larger. A
// resource that remembers the largest token it has accepted and refuses
// smaller ones (see node/agent.Fence) therefore refuses every holder older
// than the newest it has heard from. That is what a lease can promise
// without a coordinator: it never gives mutual exclusion, because two sides
// of a partition can both see the lease expire and both acquire it; fencing
// makes the stale one harmless at the resource.
//
// Expiry is a hybrid logical clock timestamp set by the holder (its clock
// plus the lease duration). Another replica treats the lease as expired only
// once its own clock is past the expiry by a margin that covers the clock
// skew the cluster tolerates (see Acquire), and a holder should stop acting
// before its own expiry by the same margin.
//
// The zero value is an empty map, ready to use. A LeaseMap is not safe for
// concurrent use. Laws and the delta contract are those of CRDT.
type LeaseMap struct {
	entries map[string]Lease
}

// Token is a fencing token: a sequence number and the replica that took it.
// Tokens are totally ordered by Seq, then Replica (Compare).
type Token struct {
	Seq     uint64
	Replica ReplicaID
}

// Compare returns -1, 0 or +1 as t is older than, equal to or newer than o.
func (t Token) Compare(o Token) int {
	if c := cmp.Compare(t.Seq, o.Seq); c != 0 {
		return c
	}
	return strings.Compare(string(t.Replica), string(o.Replica))
}

// IsZero reports whether t is the zero token, below every issued one.
func (t Token) IsZero() bool { return t == Token{} }

// String formats t as "seq@replica".
func (t Token) String() string { return fmt.Sprintf("%d@%s", t.Seq, t.Replica) }

// Lease is the state of one lease name. Holder is the caller's encoding of
// who holds it (an agent name, an address); the map never interprets it and
// never copies it.
type Lease struct {
	Token    Token
	Holder   []byte
	Expiry   HLC
	Released bool
}

// compareLeases is the total order Merge keeps the maximum of.
func compareLeases(a, b Lease) int {
	if c := a.Token.Compare(b.Token); c != 0 {
		return c
	}
	if a.Released != b.Released {
		if a.Released {
			return 1
		}
		return -1
	}
	if c := a.Expiry.Compare(b.Expiry); c != 0 {
		return c
	}
	return bytes.Compare(a.Holder, b.Holder)
}

// Free reports whether a new holder may take the lease at time now: it was
// released, or now is past its expiry by more than margin.
func (l Lease) Free(now HLC, margin time.Duration) bool {
	if l.Released || l.Token.IsZero() {
		return true
	}
	return now.Wall-l.Expiry.Wall > int64(margin)
}

var (
	_ CRDT[*LeaseMap]           = (*LeaseMap)(nil)
	_ ChangeReporter[*LeaseMap] = (*LeaseMap)(nil)
)

// NewLeaseMap returns an empty map.
func NewLeaseMap() *LeaseMap { return &LeaseMap{} }

// Get returns the lease under name and whether there is one.
func (m *LeaseMap) Get(name string) (Lease, bool) {
	l, ok := m.entries[name]
	return l, ok
}

// Len returns the number of lease names.
func (m *LeaseMap) Len() int { return len(m.entries) }

// Names returns the lease names, sorted.
func (m *LeaseMap) Names() []string { return slices.Sorted(maps.Keys(m.entries)) }

// Acquire takes the lease under name for replica at time now, until
// expiry, and returns the lease with its token and the delta. If replica
// already holds it (same replica, not released, not past expiry by margin)
// Acquire renews it with the same token. It fails with ErrLeaseHeld while
// another holder's lease is not Free(now, margin), with ErrOverflow when the
// sequence would pass MaxCounter, and with ErrInvalid for an empty or
// over-long replica ID, a name over MaxFWWKeyLen or an expiry not after now.
func (m *LeaseMap) Acquire(name string, replica ReplicaID, holder []byte, now, expiry HLC, margin time.Duration) (Lease, *LeaseMap, error) {
	if replica == "" || len(replica) > maxReplicaIDLen || len(name) > MaxFWWKeyLen || expiry.Compare(now) <= 0 {
		return Lease{}, nil, fmt.Errorf("%w: lease %q: bad replica %q, name length %d or expiry %v not after %v",
			ErrInvalid, name, replica, len(name), expiry, now)
	}
	cur := m.entries[name]
	var next Lease
	switch {
	case !cur.Token.IsZero() && !cur.Released && cur.Token.Replica == replica && !cur.Free(now, margin):
		next = Lease{Token: cur.Token, Holder: holder, Expiry: maxHLC(cur.Expiry, expiry)}
		if bytes.Compare(holder, cur.Holder) < 0 && next.Expiry == cur.Expiry {
			next.Holder = cur.Holder // a renewal never moves the lease down the order
		}
	case !cur.Free(now, margin):
		return cur, nil, fmt.Errorf("%w: lease %q held by token %v until %v", ErrLeaseHeld, name, cur.Token, cur.Expiry)
	case cur.Token.Seq >= MaxCounter:
		return cur, nil, fmt.Errorf("%w: lease %q token sequence at %d", ErrOverflow, name, cur.Token.Seq)
	default:
		next = Lease{Token: Token{Seq: cur.Token.Seq + 1, Replica: replica}, Holder: holder, Expiry: expiry}
	}
	return next, m.put(name, next), nil
}

// Renew extends the lease under name held with token to expiry and returns
// the delta. It fails with ErrNotHolder if token no longer holds the lease
// (a newer token took it, or it was released). Renew does not check the
// clock: a holder renews before its lease expires.
func (m *LeaseMap) Renew(name string, token Token, expiry HLC) (*LeaseMap, error) {
	cur, ok := m.entries[name]
	if !ok || cur.Token != token || cur.Released {
		return nil, fmt.Errorf("%w: lease %q is at token %v (released %t), not %v", ErrNotHolder, name, cur.Token, cur.Released, token)
	}
	if expiry.Compare(cur.Expiry) <= 0 {
		return NewLeaseMap(), nil
	}
	cur.Expiry = expiry
	return m.put(name, cur), nil
}

// Release gives up the lease under name held with token and returns the
// delta; a new holder may take it at once. It fails with ErrNotHolder like
// Renew; releasing twice returns an empty delta.
func (m *LeaseMap) Release(name string, token Token) (*LeaseMap, error) {
	cur, ok := m.entries[name]
	if !ok || cur.Token != token {
		return nil, fmt.Errorf("%w: lease %q is at token %v, not %v", ErrNotHolder, name, cur.Token, token)
	}
	if cur.Released {
		return NewLeaseMap(), nil
	}
	cur.Released = true
	return m.put(name, cur), nil
}

func (m *LeaseMap) put(name string, l Lease) *LeaseMap {
	if m.entries == nil {
		m.entries = make(map[string]Lease)
	}
	m.entries[name] = l
	return &LeaseMap{entries: map[string]Lease{name: l}}
}

func maxHLC(a, b HLC) HLC {
	if a.Compare(b) >= 0 {
		return a
	}
	return b
}

// Merge joins other into m: per name, the larger lease.
func (m *LeaseMap) Merge(other *LeaseMap) { m.MergeChanged(other) }

// MergeChanged is Merge, reporting whether m changed.
func (m *LeaseMap) MergeChanged(other *LeaseMap) bool {
	changed := false
	for name, theirs := range other.entries {
		if mine, ok := m.entries[name]; ok && compareLeases(mine, theirs) >= 0 {
			continue
		}
		if m.entries == nil {
			m.entries = make(map[string]Lease, len(other.entries))
		}
		m.entries[name] = theirs
		changed = true
	}
	return changed
}

// Clone returns a copy (holders are shared: they are immutable).
func (m *LeaseMap) Clone() *LeaseMap {
	return &LeaseMap{entries: maps.Clone(m.entries)}
}

// Equal reports whether both maps hold the same leases.
func (m *LeaseMap) Equal(other *LeaseMap) bool {
	return maps.EqualFunc(m.entries, other.entries, func(a, b Lease) bool { return compareLeases(a, b) == 0 })
}

// String formats the map for tests and logs.
func (m *LeaseMap) String() string {
	var b strings.Builder
	b.WriteString("LeaseMap{")
	for i, name := range m.Names() {
		l := m.entries[name]
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%q: %v until %v released=%t holder=%x", name, l.Token, l.Expiry, l.Released, l.Holder)
	}
	b.WriteString("}")
	return b.String()
}
