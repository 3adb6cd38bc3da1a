package agent

import (
	"slices"
	"strings"

	"github.com/converge-crdt/converge/node"
)

// Info describes a live agent: its node's name, epoch and address, and the
// metadata it published (Config.Meta).
type Info struct {
	Name    string            `msgpack:"name"`
	Epoch   uint64            `msgpack:"epoch"`
	Replica string            `msgpack:"replica"`
	Addr    string            `msgpack:"addr"`
	Meta    map[string]string `msgpack:"meta"`
}

// Self returns this agent's Info.
func (a *Agent) Self() Info {
	return Info{Name: a.n.Name(), Epoch: a.n.Epoch(), Replica: string(a.n.ReplicaID()), Addr: a.n.Addr(), Meta: a.cfg.Meta}
}

// Live returns the agents that published a presence entry and are live
// members of the cluster with the same epoch, sorted by name. An agent that
// crashed drops out once failure detection removes its node; one that
// closed gracefully at once; one that restarted appears with its new epoch
// once its new entry has arrived.
func (a *Agent) Live() []Info {
	return a.liveIn(a.n.Members())
}

func (a *Agent) liveIn(members []node.Member) []Info {
	entries, err := a.presence.Entries()
	if err != nil {
		a.log.Warn("agent: presence entries", "err", err)
	}
	out := make([]Info, 0, len(members))
	for _, m := range members {
		if e, ok := entries[m.Name]; ok && e.Epoch == m.Epoch {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(x, y Info) int { return strings.Compare(x.Name, y.Name) })
	return out
}

// IsLive reports whether the agent with replica ID replica is live.
func (a *Agent) IsLive(replica string) bool {
	return slices.ContainsFunc(a.Live(), func(i Info) bool { return i.Replica == replica })
}
