// Package promcollector exports a node's metrics as a prometheus.Collector
// (github.com/prometheus/client_golang), for users who register collectors
// in their own registry. Users without a registry can serve
// node.Node.MetricsHandler instead; both read node.Node.Metrics, so names
// and help texts agree.
//
// Besides the node's counters, gauges and merge latency histogram, the
// collector measures convergence lag the way grafana/dskit's memberlist
// propagation tracker does: every node writes a beacon (its wall-clock time)
// into a replicated LWW-Map now and then, and every node that receives a
// peer's new beacon observes now minus the beacon's time in the
// converge_propagation_delay_seconds histogram. The figure includes the
// clock offset between the two hosts; on one host it is the true delay.
package promcollector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/converge-crdt/converge/node"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultBeaconInterval is the beacon period when Options.BeaconInterval
// is zero.
const DefaultBeaconInterval = 10 * time.Second

// DefaultBeaconKey is the LWW-Map that holds the beacons when
// Options.BeaconKey is empty.
const DefaultBeaconKey = "converge/propagation-beacons"

// ErrClosed reports a Collector started on a closed node.
var ErrClosed = errors.New("promcollector: node closed")

// Options configure a Collector. The zero value is usable.
type Options struct {
	// BeaconInterval is how often this node writes its beacon. Zero means
	// DefaultBeaconInterval; negative turns beacons off (the node still
	// observes the beacons of others).
	BeaconInterval time.Duration
	// BeaconKey is the LWW-Map[string, int64] of beacons: node name to
	// Unix nanoseconds. Empty means DefaultBeaconKey. It is an ordinary
	// replicated object: it shows in Keys and Status.
	BeaconKey string
	// LagBuckets are the buckets of the propagation delay histogram, in
	// seconds. Nil means 1 ms to about 33 s, doubling.
	LagBuckets []float64
}

// Collector is a prometheus.Collector for one node. Create it with New,
// register it, and Close it before closing the node.
type Collector struct {
	n    *node.Node
	lag  prometheus.Histogram
	key  string
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu    sync.Mutex
	descs map[string]*prometheus.Desc // guarded by mu; by metric name
}

var _ prometheus.Collector = (*Collector)(nil)

// New starts the beacon writer and observer for n and returns its
// Collector.
func New(n *node.Node, opts Options) (*Collector, error) {
	if opts.BeaconKey == "" {
		opts.BeaconKey = DefaultBeaconKey
	}
	if opts.BeaconInterval == 0 {
		opts.BeaconInterval = DefaultBeaconInterval
	}
	if opts.LagBuckets == nil {
		opts.LagBuckets = prometheus.ExponentialBuckets(0.001, 2, 16)
	}
	beacons, err := node.LWWMap[string, int64](n, opts.BeaconKey)
	if err != nil {
		if errors.Is(err, node.ErrClosed) {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("promcollector: beacon key: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	events, err := n.Subscribe(ctx, node.Exact(opts.BeaconKey))
	if err != nil {
		stop()
		return nil, ErrClosed
	}
	c := &Collector{
		n: n, key: opts.BeaconKey, stop: stop, descs: make(map[string]*prometheus.Desc),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "converge_propagation_delay_seconds",
			Help:    "Time from a peer writing its propagation beacon to this node holding it (includes the hosts' clock offset).",
			Buckets: opts.LagBuckets,
		}),
	}
	c.wg.Add(1)
	go c.observe(beacons, events)
	if opts.BeaconInterval > 0 {
		c.wg.Add(1)
		go c.beacon(ctx, beacons, opts.BeaconInterval)
	}
	return c, nil
}

// Close stops the beacon goroutines and waits for them.
func (c *Collector) Close() {
	c.stop()
	c.wg.Wait()
}

// beacon writes this node's beacon every interval, the first at once.
func (c *Collector) beacon(ctx context.Context, beacons *node.LWWMapHandle[string, int64], every time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		_ = beacons.Set(ctx, c.n.Name(), time.Now().UnixNano()) // fails only when closing
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// observe records the delay of every new beacon from a peer. The first
// beacon seen from a peer only sets a baseline: it may be old state that
// anti-entropy delivered on join, not a fresh write.
func (c *Collector) observe(beacons *node.LWWMapHandle[string, int64], events <-chan node.Event) {
	defer c.wg.Done()
	last := map[string]int64{}
	for range events {
		all, err := beacons.Entries()
		if err != nil {
			continue // a peer wrote another type of value: nothing to measure
		}
		now := time.Now().UnixNano()
		for name, ts := range all {
			prev, seen := last[name]
			if name == c.n.Name() || ts <= prev {
				continue
			}
			last[name] = ts
			if seen {
				c.lag.Observe(max(0, float64(now-ts)/1e9))
			}
		}
	}
}

// Describe sends the descriptions of every metric Collect sends.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.n.Metrics() {
		ch <- c.desc(m)
	}
	c.lag.Describe(ch)
}

// Collect sends the node's current metrics and the propagation delay
// histogram.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.n.Metrics() {
		d := c.desc(m)
		var labels []string
		if m.Label != "" {
			labels = []string{m.Value}
		}
		switch m.Kind {
		case node.KindCounter:
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, m.Number, labels...)
		case node.KindGauge:
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, m.Number, labels...)
		case node.KindHistogram:
			buckets := make(map[float64]uint64, len(m.Hist.Bounds))
			for i, b := range m.Hist.Bounds {
				buckets[b] = m.Hist.Counts[i]
			}
			ch <- prometheus.MustNewConstHistogram(d, m.Hist.Count, m.Hist.Sum, buckets, labels...)
		}
	}
	c.lag.Collect(ch)
}

// desc returns the Desc of m's family, made once per name.
func (c *Collector) desc(m node.Metric) *prometheus.Desc {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.descs[m.Name]
	if d == nil {
		var labels []string
		if m.Label != "" {
			labels = []string{m.Label}
		}
		d = prometheus.NewDesc(m.Name, m.Help, labels, nil)
		c.descs[m.Name] = d
	}
	return d
}
