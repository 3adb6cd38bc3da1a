package node

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/converge-crdt/converge/gossip"
)

// WriteMetrics writes the node's counters and gauges in the Prometheus text
// exposition format (version 0.0.4), so a scrape can read them without this
// module depending on a metrics library. Counters come from Counters and
// GossipStats, named after their JSON or field names
// (converge_node_updates_total, converge_gossip_ae_rounds_total, …);
// traffic is labelled by message type; gauges give members, objects and the
// broadcast queue length.
func (n *Node) WriteMetrics(w io.Writer) error {
	bw := bufio.NewWriter(w)
	writeCounters(bw, "converge_node_", n.Counters())
	st := n.GossipStats()
	writeCounters(bw, "converge_gossip_", st)
	writeTraffic(bw, "sent", st.Sent)
	writeTraffic(bw, "received", st.Received)
	gauge(bw, "converge_members", "Members of the cluster this node sees, itself included.", n.NumMembers())
	gauge(bw, "converge_objects", "Named objects this replica holds.", len(n.Keys()))
	gauge(bw, "converge_broadcast_queue", "Deltas waiting in the gossip broadcast queue.", n.QueueLen())
	return bw.Flush()
}

// MetricsHandler serves WriteMetrics over HTTP, for a Prometheus scrape.
func (n *Node) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = n.WriteMetrics(w)
	})
}

// writeCounters writes every uint64 field of the struct v as a counter. The
// name is the field's JSON tag if it has one, else the field name in snake
// case, so new fields appear without touching this file.
func writeCounters(w io.Writer, prefix string, v any) {
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		if f.Type.Kind() != reflect.Uint64 {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = snake(f.Name)
		}
		full := prefix + name + "_total"
		fmt.Fprintf(w, "# HELP %s %s.%s (see its documentation).\n# TYPE %s counter\n%s %d\n",
			full, rt.Name(), f.Name, full, full, rv.Field(i).Uint())
	}
}

// writeTraffic writes per-message-type message and byte counters.
func writeTraffic(w io.Writer, dir string, m map[gossip.MsgType]gossip.Traffic) {
	types := slices.Sorted(maps.Keys(m))
	for _, unit := range []string{"messages", "bytes"} {
		name := "converge_gossip_" + dir + "_" + unit + "_total"
		fmt.Fprintf(w, "# HELP %s Gossip %s %s by message type.\n# TYPE %s counter\n", name, unit, dir, name)
		for _, t := range types {
			v := m[t].Msgs
			if unit == "bytes" {
				v = m[t].Bytes
			}
			fmt.Fprintf(w, "%s{type=%q} %d\n", name, t.String(), v)
		}
	}
}

func gauge(w io.Writer, name, help string, v int) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
}

// snake turns AERootsEqual into ae_roots_equal.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		upper := r >= 'A' && r <= 'Z'
		if upper && i > 0 {
			prevLower := s[i-1] >= 'a' && s[i-1] <= 'z'
			nextLower := i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z'
			if prevLower || nextLower {
				b.WriteByte('_')
			}
		}
		if upper {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
