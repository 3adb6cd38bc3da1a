package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/converge-crdt/converge/node"
)

// A node without seeds is ready at once: alone by design.
func ExampleNode_Readiness() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	r := n.Readiness()
	fmt.Println(r.Ready, r.Reason)
	// Output: true alone by design: no seeds configured
}

// WaitReady waits until the node sees Config.ReadyMembers members.
func ExampleNode_WaitReady() {
	a, _ := node.Open(node.DefaultConfig())
	defer a.Close()
	cfg := node.DefaultConfig()
	cfg.Join = []string{a.Addr()}
	b, _ := node.Open(cfg)
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fmt.Println(b.WaitReady(ctx), b.Readiness().Reason)
	// Output: <nil> 2 of 2 members
}

// Metrics is what WriteMetrics and the Prometheus collector export.
func ExampleNode_Metrics() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	c, _ := node.GCounter(n, "c")
	_ = c.Inc(context.Background(), 1)
	for _, m := range n.Metrics() {
		if m.Name == "converge_node_updates_total" || m.Name == "converge_ready" {
			fmt.Println(m.Name, m.Kind, m.Number, m.Help)
		}
	}
	// Output:
	// converge_node_updates_total counter 1 Local updates applied (each changed state and shipped a delta).
	// converge_ready gauge 1 1 if the node sees Config.ReadyMembers members (see Node.Readiness), else 0.
}

// MetricKind names the Prometheus type.
func ExampleMetricKind_String() {
	fmt.Println(node.KindCounter, node.KindGauge, node.KindHistogram)
	// Output: counter gauge histogram
}

// HistogramSnapshot holds cumulative buckets, as Prometheus does.
func ExampleHistogramSnapshot() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	for _, m := range n.Metrics() {
		if m.Kind == node.KindHistogram {
			fmt.Println(m.Name, m.Hist.Count, len(m.Hist.Bounds) == len(m.Hist.Counts))
		}
	}
	// Output: converge_merge_seconds 0 true
}

// Status marshals to snake_case JSON with 64-bit numbers as strings;
// GossipStatus gives the gossip counters snake_case names.
func ExampleGossipStatus() {
	n, _ := node.Open(node.DefaultConfig())
	defer n.Close()
	b, _ := json.Marshal(n.Status())
	s := string(b)
	fmt.Println(strings.Contains(s, fmt.Sprintf(`"epoch":"%d"`, n.Epoch())),
		strings.Contains(s, `"delta_join_errors":0`), strings.Contains(s, `"readiness":{"ready":true`))
	// Output: true true true
}

// Readiness is also in Status and its JSON.
func ExampleReadiness() {
	n, _ := node.Open(node.Config{ReadyMembers: 1})
	defer n.Close()
	b, _ := json.Marshal(n.Status().Ready)
	fmt.Println(string(b))
	// Output: {"ready":true,"reason":"alone by design: no seeds configured","members":1,"want":1}
}

// A Metric carries its Prometheus name, help, kind and value.
func ExampleMetric() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	for _, m := range n.Metrics() {
		if m.Name == "converge_objects" {
			fmt.Printf("%s %s %g\n", m.Name, m.Kind, m.Number)
		}
	}
	// Output: converge_objects gauge 0
}
