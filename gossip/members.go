package gossip

import (
	"encoding/binary"
	"net"
	"slices"
	"strconv"
	"sync"

	"github.com/hashicorp/memberlist"
)

// memberTable is our own copy of the live members. memberlist.Members
// returns pointers into memberlist's state, which it rewrites under its own
// lock (an address or metadata update), so reading them later races. The
// event delegate runs under that lock; it copies each node here.
type memberTable struct {
	mu    sync.Mutex
	nodes map[string]*memberlist.Node // guarded by mu; deep copies, never mutated
}

func (mt *memberTable) put(n *memberlist.Node) {
	c := *n
	c.Addr = slices.Clone(n.Addr)
	c.Meta = slices.Clone(n.Meta)
	mt.mu.Lock()
	defer mt.mu.Unlock()
	if mt.nodes == nil {
		mt.nodes = make(map[string]*memberlist.Node)
	}
	mt.nodes[c.Name] = &c
}

func (mt *memberTable) remove(name string) {
	mt.mu.Lock()
	defer mt.mu.Unlock()
	delete(mt.nodes, name)
}

func (mt *memberTable) get(name string) *memberlist.Node {
	mt.mu.Lock()
	defer mt.mu.Unlock()
	return mt.nodes[name]
}

// len returns the number of members.
func (mt *memberTable) len() int {
	mt.mu.Lock()
	defer mt.mu.Unlock()
	return len(mt.nodes)
}

// all returns the members, sorted by name.
func (mt *memberTable) all() []*memberlist.Node {
	mt.mu.Lock()
	out := make([]*memberlist.Node, 0, len(mt.nodes))
	for _, n := range mt.nodes {
		out = append(out, n)
	}
	mt.mu.Unlock()
	slices.SortFunc(out, func(a, b *memberlist.Node) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

func toMember(n *memberlist.Node) Member {
	epoch, _ := binary.Uvarint(n.Meta)
	return Member{
		Name:  n.Name,
		Addr:  net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port))),
		Epoch: epoch,
	}
}
