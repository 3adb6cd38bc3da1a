package agent

import (
	"context"
	"hash/fnv"
	"slices"
	"strings"
)

// Owner returns the live agent that owns key by rendezvous (highest random
// weight) hashing over Live(), and false when no agent is live. Every
// replica that sees the same live set picks the same owner, without any
// message; when an agent joins or leaves, only the keys it gains or owned
// move.
func (a *Agent) Owner(key string) (Info, bool) { return ownerOf(key, a.Live()) }

// Owns reports whether this agent owns key in its current view.
func (a *Agent) Owns(key string) bool {
	o, ok := a.Owner(key)
	return ok && o.Replica == string(a.n.ReplicaID())
}

// ownerOf picks the agent with the highest score for key.
func ownerOf(key string, live []Info) (Info, bool) {
	var best Info
	var bestScore uint64
	found := false
	for _, i := range live {
		s := score(key, i.Replica)
		if !found || s > bestScore || s == bestScore && i.Replica > best.Replica {
			best, bestScore, found = i, s, true
		}
	}
	return best, found
}

// score is the rendezvous weight of (key, replica): FNV-1a over both,
// separated by a zero byte, then a 64-bit finalizer so that close inputs
// give unrelated weights.
func score(key, replica string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(replica))
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// Ownership follows which of a set of keys this agent owns as the live set
// changes. Get one with Agent.Ownership; it is not safe for concurrent use.
type Ownership struct {
	a     *Agent
	keys  func() []string
	view  string          // the live set of the last Next, as a signature
	owned map[string]bool // keys owned at the last Next
}

// Change is what one view change moved: keys this agent gained and lost,
// sorted, and the live agents of the new view.
type Change struct {
	Gained, Lost []string
	Live         []Info
}

// Ownership returns a tracker over the keys that keys returns (it is called
// on every view change, so it may return a growing task list). Its first
// Next reports every key owned at that moment as gained.
func (a *Agent) Ownership(keys func() []string) *Ownership {
	return &Ownership{a: a, keys: keys, view: "\x00unset", owned: map[string]bool{}}
}

// Next waits until the live set differs from the one of the previous call
// (the first call returns at once) and returns the keys that moved. It
// returns ctx.Err() or the node's error if it ends first.
func (o *Ownership) Next(ctx context.Context) (Change, error) {
	var live []Info
	var sig string
	err := o.a.n.WaitFor(ctx, func() bool {
		live = o.a.Live()
		sig = signature(live)
		return sig != o.view
	})
	if err != nil {
		return Change{}, err
	}
	o.view = sig
	ch := Change{Live: live}
	now := map[string]bool{}
	self := string(o.a.n.ReplicaID())
	for _, k := range o.keys() {
		if w, ok := ownerOf(k, live); ok && w.Replica == self {
			now[k] = true
			if !o.owned[k] {
				ch.Gained = append(ch.Gained, k)
			}
		}
	}
	for k := range o.owned {
		if !now[k] {
			ch.Lost = append(ch.Lost, k)
		}
	}
	slices.Sort(ch.Gained)
	slices.Sort(ch.Lost)
	o.owned = now
	return ch, nil
}

func signature(live []Info) string {
	ids := make([]string, len(live))
	for i, l := range live {
		ids[i] = l.Replica
	}
	return strings.Join(ids, "\x00")
}
