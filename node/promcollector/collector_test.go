package promcollector_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/converge-crdt/converge/node"
	"github.com/converge-crdt/converge/node/promcollector"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func open(t *testing.T, join ...string) *node.Node {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.Join = join
	cfg.Logger = slog.New(slog.DiscardHandler)
	n, err := node.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// gather returns the families of reg by name, failing on an inconsistent
// collector (the pedantic registry checks descriptions against samples).
func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

func TestCollectorExportsAndMeasuresPropagation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a := open(t)
	b := open(t, a.Addr())
	if err := b.WaitMembers(ctx, 2); err != nil {
		t.Fatal(err)
	}
	ca, err := promcollector.New(a, promcollector.Options{BeaconInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	cb, err := promcollector.New(b, promcollector.Options{BeaconInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(cb)

	c, _ := node.GCounter(a, "c")
	if err := c.Inc(ctx, 3); err != nil {
		t.Fatal(err)
	}
	// b observes a's beacons: the second one it sees gives a sample.
	for {
		f := gather(t, reg)
		h := f["converge_propagation_delay_seconds"].GetMetric()[0].GetHistogram()
		merges := f["converge_merge_seconds"].GetMetric()[0].GetHistogram().GetSampleCount()
		if h.GetSampleCount() >= 2 && merges > 0 {
			if h.GetSampleSum() <= 0 || h.GetSampleSum() > 60*float64(h.GetSampleCount()) {
				t.Errorf("propagation delays sum to %gs over %d samples", h.GetSampleSum(), h.GetSampleCount())
			}
			if got := f["converge_members"].GetMetric()[0].GetGauge().GetValue(); got != 2 {
				t.Errorf("converge_members %g, want 2", got)
			}
			if got := f["converge_ready"].GetMetric()[0].GetGauge().GetValue(); got != 1 {
				t.Errorf("converge_ready %g, want 1", got)
			}
			if got := f["converge_node_merged_total"].GetMetric()[0].GetCounter().GetValue(); got == 0 {
				t.Error("converge_node_merged_total is 0 on the receiver")
			}
			if f["converge_gossip_delta_join_errors_total"] == nil || f["converge_gossip_join_failures_total"] == nil {
				t.Error("formation or delta-join counters missing")
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no propagation samples: %d", h.GetSampleCount())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestCollectorOnClosedNode(t *testing.T) {
	n, err := node.Open(node.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_ = n.Close()
	if _, err := promcollector.New(n, promcollector.Options{}); err != promcollector.ErrClosed {
		t.Errorf("New on a closed node: %v, want ErrClosed", err)
	}
}
