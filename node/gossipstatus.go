package node

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"

	"github.com/converge-crdt/converge/gossip"
)

// GossipStatus is the gossip layer's counters in Status. It marshals to JSON
// with snake_case names (gossip.Stats has none of its own): every counter
// under the snake_case form of its field name (DeltaJoinErrors as
// delta_join_errors), and traffic as {"sent": {"delta": {"msgs": 3,
// "bytes": 120}}, "received": {...}}.
type GossipStatus struct {
	gossip.Stats
}

// MarshalJSON writes the snake_case form described on GossipStatus.
func (g GossipStatus) MarshalJSON() ([]byte, error) {
	out := map[string]any{
		"sent":     trafficJSON(g.Sent),
		"received": trafficJSON(g.Received),
	}
	rv := reflect.ValueOf(g.Stats)
	for _, f := range reflect.VisibleFields(rv.Type()) {
		if f.Type.Kind() == reflect.Uint64 {
			out[snake(f.Name)] = rv.FieldByIndex(f.Index).Uint()
		}
	}
	return json.Marshal(out)
}

type trafficEntry struct {
	Msgs  uint64 `json:"msgs"`
	Bytes uint64 `json:"bytes"`
}

func trafficJSON(m map[gossip.MsgType]gossip.Traffic) map[string]trafficEntry {
	out := make(map[string]trafficEntry, len(m))
	for _, t := range slices.Sorted(maps.Keys(m)) {
		out[t.String()] = trafficEntry{Msgs: m[t].Msgs, Bytes: m[t].Bytes}
	}
	return out
}
