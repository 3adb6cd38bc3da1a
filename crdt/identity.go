package crdt

import "fmt"

// IdentityChecker is implemented by types whose states count the events of
// each replica. A replica's own state holds every event it issued, so a
// remote state that claims more events of the replica's ID than that was
// forged by a peer, or made by another live replica using the same ID (a
// copied data directory, a restored backup: the Riak kv679 case). Merging
// it would make the replica's next event reuse a counter the cluster has
// already seen, so its writes would be lost (a context claiming
// {self: 2^61}) or refused by every peer (one claiming {self: MaxCounter}).
//
// CheckClaims is called on the replica's own state, with remote the state
// received, before merging. It returns nil if remote claims no event of
// self beyond the receiver's, and otherwise an error wrapping ErrIdentity
// that names the claim. It reads both states and changes neither; it costs
// O(replicas), not O(state). GCounter, PNCounter and ORSet implement it;
// LWWMap stamps writes with a clock rather than counting them (see
// LWWMap.MaxStampBy).
type IdentityChecker[T any] interface {
	CheckClaims(remote T, self ReplicaID) error
}

var (
	_ IdentityChecker[*GCounter]      = (*GCounter)(nil)
	_ IdentityChecker[*PNCounter]     = (*PNCounter)(nil)
	_ IdentityChecker[*ORSet[string]] = (*ORSet[string])(nil)
	_ IdentityChecker[*CausalContext] = (*CausalContext)(nil)
	_ IdentityChecker[*VersionVector] = (*VersionVector)(nil)
)

func claimError(what string, self ReplicaID, claimed, have uint64) error {
	return fmt.Errorf("%w: %s claims %d for replica %q, which has issued %d", ErrIdentity, what, claimed, self, have)
}

// CheckClaims implements IdentityChecker: remote's entry for self must not
// exceed v's.
func (v *VersionVector) CheckClaims(remote *VersionVector, self ReplicaID) error {
	if c, have := remote.Get(self), v.Get(self); c > have {
		return claimError("version vector", self, c, have)
	}
	return nil
}

// Max returns the highest counter of r that c has seen, in the vector or
// the cloud; 0 if none.
func (c *CausalContext) Max(r ReplicaID) uint64 {
	if s := c.cloud[r]; len(s) > 0 {
		return s[len(s)-1] // above the vector entry by the invariant
	}
	return c.vv.Get(r)
}

// CheckClaims implements IdentityChecker: remote must not have seen an
// event of self past the last one c has.
func (c *CausalContext) CheckClaims(remote *CausalContext, self ReplicaID) error {
	if got, have := remote.Max(self), c.Max(self); got > have {
		return claimError("causal context", self, got, have)
	}
	return nil
}

// CheckClaims implements IdentityChecker: remote's count for self must not
// exceed g's.
func (g *GCounter) CheckClaims(remote *GCounter, self ReplicaID) error {
	// A count of self may sit in a prune record (self was pruned while
	// alive, see Prune): it counts the same.
	own, _ := g.pr.get(self)
	theirs, _ := remote.pr.get(self)
	if c, have := max(remote.counts.Get(self), theirs.n), max(g.counts.Get(self), own.n); c > have {
		return claimError("GCounter", self, c, have)
	}
	return nil
}

// CheckClaims implements IdentityChecker for both halves of the counter.
func (c *PNCounter) CheckClaims(remote *PNCounter, self ReplicaID) error {
	if err := c.p.CheckClaims(&remote.p, self); err != nil {
		return fmt.Errorf("PNCounter increments: %w", err)
	}
	if err := c.n.CheckClaims(&remote.n, self); err != nil {
		return fmt.Errorf("PNCounter decrements: %w", err)
	}
	return nil
}

// CheckClaims implements IdentityChecker: remote's causal context must not
// have seen an add of self that s has not issued.
func (s *ORSet[E]) CheckClaims(remote *ORSet[E], self ReplicaID) error {
	own, _ := s.pr.get(self) // events of self folded into a prune record
	theirs, _ := remote.pr.get(self)
	if own.n == 0 && theirs.n == 0 {
		if err := s.ctx.CheckClaims(&remote.ctx, self); err != nil {
			return fmt.Errorf("ORSet: %w", err)
		}
		return nil
	}
	if got, have := max(remote.ctx.Max(self), theirs.n), max(s.ctx.Max(self), own.n); got > have {
		return fmt.Errorf("ORSet: %w", claimError("causal context", self, got, have))
	}
	return nil
}

// MaxStampBy returns the latest timestamp of the writes by replica r that m
// holds, deletes included, and false if it holds none. A replica compares
// it with the latest timestamp it issued to detect a state that claims
// writes in its name that it never made (see IdentityChecker). O(len(m)).
func (m *LWWMap[K, V]) MaxStampBy(r ReplicaID) (HLC, bool) {
	var max HLC
	found := false
	for _, e := range m.entries {
		if e.replica == r && (!found || e.ts.Compare(max) > 0) {
			max, found = e.ts, true
		}
	}
	return max, found
}

// TryAdd is Add, with an error where Add would record nothing: ErrInvalid
// for an empty or too long replica ID or an element not equal to itself,
// ErrOverflow when r has issued MaxCounter events (the next dot would be
// one that every decoder refuses, so no peer would ever accept r's writes
// again).
func (s *ORSet[E]) TryAdd(r ReplicaID, e E) (*ORSet[E], error) {
	if err := checkMutatorReplica(r); err != nil {
		return nil, err
	}
	if e != e {
		return nil, fmt.Errorf("%w: ORSet element %s is not equal to itself", ErrInvalid, clip(e))
	}
	if c := s.ctx.vv.Get(r); c >= MaxCounter {
		return nil, fmt.Errorf("%w: replica %q has issued %d events, limit %d (MaxCounter)", ErrOverflow, r, c, uint64(MaxCounter))
	}
	return s.Add(r, e), nil
}
