package node

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// BenchmarkLevels measures, on a loopback cluster (real UDP and TCP through
// a lossy wrapper; loss applies to packets once the cluster has formed),
// the latency of one update (an ORSet add) or read (of a counter with one
// entry per node) at each level, from a random node, one at a time, and
// the bytes all nodes send per operation:
//
//	go test ./node -run '^$' -bench Levels -benchtime 200x
//
// Sizes: NODE_BENCH_NODES (default "5,32"). Reported: p50-ms, p99-ms,
// max-ms, and per operation, summed over all nodes from before the first
// operation until every node holds the last update and a quiet second
// passed: bytes/op (every message gossip sends, anti-entropy included),
// req-bytes/op (write requests, which carry the delta in place of the
// usual dissemination) and ack-bytes/op (their acknowledgements: the
// extra bytes of a write level).
func BenchmarkLevels(b *testing.B) {
	sizes := os.Getenv("NODE_BENCH_NODES")
	if sizes == "" {
		sizes = "5,32"
	}
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			continue
		}
		for _, loss := range []float64{0, 0.2} {
			c := openBenchCluster(b, n)
			c.setLoss(loss)
			for _, op := range []string{"write-local", "write-majority", "read-majority"} {
				b.Run(fmt.Sprintf("nodes=%d/loss=%.0f%%/%s", n, loss*100, op), func(b *testing.B) {
					c.run(b, op)
				})
			}
			c.close()
		}
	}
}

type benchCluster struct {
	nodes []*Node
	trs   []*gossiptest.LossyTransport
}

func openBenchCluster(b *testing.B, n int) *benchCluster {
	b.Helper()
	c := &benchCluster{}
	for i := range n {
		tr, err := gossiptest.NewLoopbackTransport(0, uint64(i+1))
		if err != nil {
			b.Fatal(err)
		}
		quiet := slog.New(slog.DiscardHandler)
		g := DefaultGossipConfig()
		g.Transport = tr
		g.Logger = quiet
		cfg := Config{Name: fmt.Sprintf("n%d", i), Gossip: &g, Logger: quiet}
		if i > 0 {
			cfg.Join = []string{c.nodes[0].Addr()}
		}
		nd, err := Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		c.nodes = append(c.nodes, nd)
		c.trs = append(c.trs, tr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, nd := range c.nodes {
		if err := nd.WaitMembers(ctx, n); err != nil {
			b.Fatalf("%s: %v", nd.Name(), err)
		}
		// The object read-majority reads: one counter entry per node.
		g, _ := GCounter(nd, "read")
		if err := g.Inc(ctx, 1); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

func (c *benchCluster) setLoss(rate float64) {
	for _, tr := range c.trs {
		tr.SetRate(rate)
	}
}

func (c *benchCluster) close() {
	for _, nd := range c.nodes {
		_ = nd.Close()
	}
}

// sent returns the bytes all nodes sent: every message, write requests,
// and their acknowledgements.
func (c *benchCluster) sent() (all, reqs, acks uint64) {
	for _, nd := range c.nodes {
		st := nd.GossipStats()
		all += st.SentBytes()
		reqs += st.Sent[gossip.MsgWriteReq].Bytes
		acks += st.Sent[gossip.MsgReqAck].Bytes
	}
	return all, reqs, acks
}

// settle waits until every node holds e in "bench" (if e is not ""), then
// for a quiet second, so the bytes counted include the update's whole
// dissemination and little else.
func (c *benchCluster) settle(b *testing.B, e string) {
	deadline := time.Now().Add(time.Minute)
	for _, nd := range c.nodes {
		s, _ := ORSet[string](nd, "bench")
		for e != "" {
			if ok, _ := s.Contains(e); ok {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s never got %s", nd.Name(), e)
			}
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(time.Second)
}

func (c *benchCluster) run(b *testing.B, op string) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(uint64(len(c.nodes)), 1))
	lat := make([]time.Duration, 0, b.N)
	failed := 0
	c.settle(b, "")
	all0, reqs0, acks0 := c.sent()
	last := ""
	b.ResetTimer()
	for i := range b.N {
		nd := c.nodes[rng.IntN(len(c.nodes))]
		s, _ := ORSet[string](nd, "bench")
		start := time.Now()
		var err error
		switch op {
		case "write-local":
			last = fmt.Sprintf("%s-%d", op, i)
			err = s.Add(ctx, last)
		case "write-majority":
			last = fmt.Sprintf("%s-%d", op, i)
			err = s.Add(ctx, last, WriteMajority(5*time.Second))
		case "read-majority":
			g, _ := GCounter(nd, "read")
			_, err = g.Read(ctx, ReadMajority(5*time.Second))
		}
		lat = append(lat, time.Since(start))
		if err != nil {
			failed++
		}
	}
	b.StopTimer()
	c.settle(b, last)
	all1, reqs1, acks1 := c.sent()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(all1-all0)/float64(b.N), "bytes/op")
	b.ReportMetric(float64(reqs1-reqs0)/float64(b.N), "req-bytes/op")
	b.ReportMetric(float64(acks1-acks0)/float64(b.N), "ack-bytes/op")
	b.ReportMetric(float64(failed), "failed")
	b.ReportMetric(0, "ns/op")
}
