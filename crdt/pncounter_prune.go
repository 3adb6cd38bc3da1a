package crdt

import (
	"fmt"
	"slices"

	"github.com/converge-crdt/converge/internal/wire"
)

var (
	_ Pruner[*PNCounter] = (*PNCounter)(nil)
	_ Collector          = (*PNCounter)(nil)
)

// Replicas returns the replicas that have an increment or a decrement
// count, sorted.
func (c *PNCounter) Replicas() []ReplicaID {
	out := append(c.p.Replicas(), c.n.Replicas()...)
	slices.Sort(out)
	return slices.Compact(out)
}

// Prune folds replica r's increments and decrements into prune records
// stamped at (see GCounter.Prune) and returns the delta. The value does
// not change.
func (c *PNCounter) Prune(r ReplicaID, at HLC) *PNCounter {
	return &PNCounter{p: *c.p.Prune(r, at), n: *c.n.Prune(r, at)}
}

// Collect collects the prune records of both halves stamped before before
// (see GCounter.Collect).
func (c *PNCounter) Collect(before HLC) bool {
	p := c.p.Collect(before)
	n := c.n.Collect(before)
	return p || n
}

func (c *PNCounter) pruned() bool { return !c.p.pr.empty() || !c.n.pr.empty() }

// decodePNPruned reads the two prune sets of a version 2 PNCounter.
func decodePNPruned(r *wire.Reader, p, n *GCounter) error {
	if err := p.decodePruned(r, "PNCounter increments", true); err != nil {
		return err
	}
	if err := n.decodePruned(r, "PNCounter decrements", true); err != nil {
		return err
	}
	if p.pr.empty() && n.pr.empty() {
		return fmt.Errorf("%w: PNCounter format version 2 without prune records (version 1 has none)", ErrMalformed)
	}
	return nil
}
