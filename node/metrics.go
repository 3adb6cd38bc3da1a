package node

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/converge-crdt/converge/gossip"
)

// MetricKind is the Prometheus type of a Metric.
type MetricKind uint8

// Metric kinds.
const (
	KindCounter   MetricKind = 1
	KindGauge     MetricKind = 2
	KindHistogram MetricKind = 3
)

// String returns the Prometheus type name: "counter", "gauge", "histogram".
func (k MetricKind) String() string {
	switch k {
	case KindCounter:
		return "counter"
	case KindGauge:
		return "gauge"
	case KindHistogram:
		return "histogram"
	}
	return "untyped"
}

// Metric is one sample of the node's metrics, the common source of
// WriteMetrics and of the Prometheus collector (package node/promcollector).
type Metric struct {
	Name  string // converge_…, with _total for counters
	Help  string
	Kind  MetricKind
	Label string // one label name ("type"), or ""
	Value string // the label's value
	// Number is the value of a counter or gauge.
	Number float64
	// Hist is the value of a histogram.
	Hist *HistogramSnapshot
}

// Metrics returns every metric of the node: its counters (Counters) and the
// gossip layer's (gossip.Stats) as converge_node_<name>_total and
// converge_gossip_<name>_total, named after their JSON or snake_case field
// names; traffic by message type; gauges for members, objects, queue
// depths and readiness; and the merge latency histogram.
func (n *Node) Metrics() []Metric {
	var out []Metric
	out = appendCounters(out, "converge_node_", n.Counters(), nodeHelp)
	st := n.GossipStats()
	out = appendCounters(out, "converge_gossip_", st, gossipHelp)
	out = appendTraffic(out, "sent", st.Sent)
	out = appendTraffic(out, "received", st.Received)
	gauge := func(name, help string, v int) {
		out = append(out, Metric{Name: name, Help: help, Kind: KindGauge, Number: float64(v)})
	}
	gauge("converge_members", "Live members of the cluster this node sees, itself included.", n.NumMembers())
	gauge("converge_objects", "Named objects (keys) this replica holds.", len(n.Keys()))
	gauge("converge_broadcast_queue", "Deltas waiting in the gossip broadcast queue.", n.QueueLen())
	gauge("converge_inbound_queue", "Received messages waiting for the gossip worker.", n.inboundLen())
	ready := 0
	if n.Readiness().Ready {
		ready = 1
	}
	gauge("converge_ready", "1 if the node sees Config.ReadyMembers members (see Node.Readiness), else 0.", ready)
	h := n.metrics.mergeLatency.snapshot()
	out = append(out, Metric{Name: "converge_merge_seconds",
		Help: "Time to decode and merge one received blob that was not a duplicate.", Kind: KindHistogram, Hist: &h})
	return out
}

// WriteMetrics writes Metrics in the Prometheus text exposition format
// (version 0.0.4), for a scrape without a metrics library; see package
// node/promcollector for a prometheus.Collector.
func (n *Node) WriteMetrics(w io.Writer) error {
	bw := bufio.NewWriter(w)
	last := ""
	for _, m := range n.Metrics() {
		if m.Name != last {
			fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", m.Name, m.Help, m.Name, m.Kind)
			last = m.Name
		}
		labels := ""
		if m.Label != "" {
			labels = fmt.Sprintf("{%s=%q}", m.Label, m.Value)
		}
		if m.Hist == nil {
			fmt.Fprintf(bw, "%s%s %s\n", m.Name, labels, strconv.FormatFloat(m.Number, 'g', -1, 64))
			continue
		}
		for i, b := range m.Hist.Bounds {
			fmt.Fprintf(bw, "%s_bucket{le=%q} %d\n", m.Name, strconv.FormatFloat(b, 'g', -1, 64), m.Hist.Counts[i])
		}
		fmt.Fprintf(bw, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", m.Name, m.Hist.Count,
			m.Name, strconv.FormatFloat(m.Hist.Sum, 'g', -1, 64), m.Name, m.Hist.Count)
	}
	return bw.Flush()
}

// MetricsHandler serves WriteMetrics over HTTP, for a Prometheus scrape.
func (n *Node) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = n.WriteMetrics(w)
	})
}

// appendCounters appends every uint64 field of the struct v as a counter.
// The name is the field's JSON tag if it has one, else the field name in
// snake case, so new fields appear without touching this file; the help
// comes from help, or names the field for one added since.
func appendCounters(out []Metric, prefix string, v any, help map[string]string) []Metric {
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
		h := help[f.Name]
		if h == "" {
			h = fmt.Sprintf("%s.%s.", rt, f.Name)
		}
		out = append(out, Metric{Name: prefix + name + "_total", Help: h, Kind: KindCounter, Number: float64(rv.Field(i).Uint())})
	}
	return out
}

// appendTraffic appends per-message-type message and byte counters.
func appendTraffic(out []Metric, dir string, m map[gossip.MsgType]gossip.Traffic) []Metric {
	types := slices.Sorted(maps.Keys(m))
	for _, unit := range []string{"messages", "bytes"} {
		name := "converge_gossip_" + dir + "_" + unit + "_total"
		help := fmt.Sprintf("Gossip %s %s, by message type (payload bytes, without memberlist's framing).", unit, dir)
		if len(types) == 0 {
			out = append(out, Metric{Name: name, Help: help, Kind: KindCounter, Label: "type", Value: "delta"})
		}
		for _, t := range types {
			v := m[t].Msgs
			if unit == "bytes" {
				v = m[t].Bytes
			}
			out = append(out, Metric{Name: name, Help: help, Kind: KindCounter, Label: "type", Value: t.String(), Number: float64(v)})
		}
	}
	return out
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
