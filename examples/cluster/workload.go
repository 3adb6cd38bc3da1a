package main

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/converge-crdt/converge/node"
)

// The objects every node updates. Elements and map keys come from small
// domains so that nodes add, remove and overwrite each other's entries.
const (
	setDomain = 64
	mapDomain = 32
)

// objects are one node's handles on the shared objects.
type objects struct {
	n       *node.Node
	counter *node.GCounterHandle
	set     *node.ORSetHandle[string]
	kv      *node.LWWMapHandle[string, string]

	incs    uint64 // counter increments done by this node
	updates int    // updates done by this node
}

func openObjects(n *node.Node, prefix string) (*objects, error) {
	c, err := node.GCounter(n, prefix+"counter")
	if err != nil {
		return nil, err
	}
	s, err := node.ORSet[string](n, prefix+"set")
	if err != nil {
		return nil, err
	}
	m, err := node.LWWMap[string, string](n, prefix+"map")
	if err != nil {
		return nil, err
	}
	return &objects{n: n, counter: c, set: s, kv: m}, nil
}

// numObjects is how many objects the workload uses.
const numObjects = 3

// step makes one random update.
func (o *objects) step(ctx context.Context, rng *rand.Rand) error {
	var err error
	switch rng.IntN(4) {
	case 0:
		if err = o.counter.Inc(ctx, 1); err == nil {
			o.incs++
		}
	case 1:
		err = o.set.Add(ctx, fmt.Sprintf("item-%02d", rng.IntN(setDomain)))
	case 2:
		err = o.set.Remove(ctx, fmt.Sprintf("item-%02d", rng.IntN(setDomain)))
	case 3:
		err = o.kv.Set(ctx, fmt.Sprintf("k%02d", rng.IntN(mapDomain)), fmt.Sprintf("%s#%d", o.n.Name(), o.updates))
	}
	if err == nil {
		o.updates++
	}
	return err
}

// view is what a node holds, in brief.
type view struct {
	Counter uint64
	Set     int
	Map     int
	Digest  uint64
}

func (o *objects) view() view {
	return view{Counter: o.counter.Value(), Set: o.set.Len(), Map: o.kv.Len(), Digest: o.n.Digest()}
}
