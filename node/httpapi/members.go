package httpapi

import (
	"context"
	"sync"
	"time"

	"github.com/converge-crdt/converge/node"
)

// maxDeparted bounds the departed members the status page remembers.
const maxDeparted = 64

// memberRow is one row of the status page's member table.
type memberRow struct {
	node.Member
	State string // "alive", "left" or "failed"
	Since time.Time
}

// departures remembers members that left or failed, from node.MemberEvents,
// so the status page can show them with their state; a member that comes
// back is forgotten. Its goroutine ends when the node closes.
type departures struct {
	mu   sync.Mutex
	gone map[string]memberRow // guarded by mu; by name
}

func watchDepartures(n *node.Node) *departures {
	d := &departures{gone: make(map[string]memberRow)}
	_, events, err := n.MemberEvents(context.Background())
	if err != nil {
		return d
	}
	go func() {
		for ev := range events {
			d.record(ev)
		}
	}()
	return d
}

func (d *departures) record(ev node.MemberEvent) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch ev.Kind {
	case node.MemberJoin, node.MemberUpdate:
		delete(d.gone, ev.Member.Name)
	case node.MemberLeave, node.MemberFail:
		state := "failed"
		if ev.Kind == node.MemberLeave {
			state = "left"
		}
		if len(d.gone) >= maxDeparted {
			var oldest string
			for k, r := range d.gone {
				if oldest == "" || r.Since.Before(d.gone[oldest].Since) {
					oldest = k
				}
			}
			delete(d.gone, oldest)
		}
		d.gone[ev.Member.Name] = memberRow{Member: ev.Member, State: state, Since: time.Now()}
	}
}

// rows returns the live members, then the departed ones not live again.
func (d *departures) rows(live []node.Member) []memberRow {
	out := make([]memberRow, 0, len(live))
	alive := make(map[string]bool, len(live))
	for _, m := range live {
		out = append(out, memberRow{Member: m, State: "alive"})
		alive[m.Name] = true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, r := range d.gone {
		if !alive[name] {
			out = append(out, r)
		}
	}
	return out
}
