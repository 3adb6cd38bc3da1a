package gossip_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// BenchmarkConvergence measures, on real loopback sockets with memberlist's
// LAN timings (200 ms gossip interval), the time from one Publish until every
// node holds the update (GOSSIP_BENCH_FANOUT overrides PushFanout), for clusters of 5 and 32 nodes with 0 % and 20 %
// outgoing packet loss. One iteration is one update; run it with
// -benchtime=20x or more to get a p99. Reported:
//
//	p50-ms, p99-ms, max-ms   convergence time after a publish
//	bytes/update             gossip bytes sent by all nodes per update
//	ae-bytes/round           bytes per anti-entropy round while idle and equal
func BenchmarkConvergence(b *testing.B) {
	for _, n := range []int{5, 32} {
		for _, loss := range []float64{0, 0.2} {
			b.Run(fmt.Sprintf("nodes=%d/loss=%.0f%%", n, loss*100), func(b *testing.B) {
				benchConvergence(b, n, loss)
			})
		}
	}
}

func benchConvergence(b *testing.B, n int, loss float64) {
	fanout := 0 // the default
	if s := os.Getenv("GOSSIP_BENCH_FANOUT"); s != "" {
		fanout, _ = strconv.Atoi(s)
	}
	c := &cluster{t: b}
	var transports []*gossiptest.LossyTransport
	for i := range n {
		tr, err := gossiptest.NewLoopbackTransport(0, uint64(i+1))
		if err != nil {
			b.Fatal(err)
		}
		transports = append(transports, tr)
		c.nodes = append(c.nodes, loopbackNode(b, fmt.Sprintf("n%d", i), func(cfg *gossip.Config) {
			cfg.Transport = tr
			cfg.PushFanout = fanout
		}))
	}
	for _, nd := range c.nodes[1:] {
		joinLoopback(b, nd, c.nodes[0])
	}
	waitFor(b, 30*time.Second, func() bool {
		for _, nd := range c.nodes {
			if nd.g.NumMembers() != n {
				return false
			}
		}
		return true
	}, c.describeMembers)
	c.nodes[0].publish(b, "warmup", "w")
	c.waitConverged(30 * time.Second)
	// Loss starts once the cluster has formed: this measures updates under
	// loss, not joins under loss (memberlist may still flap members).
	for _, tr := range transports {
		tr.SetRate(loss)
	}

	sent := func() uint64 {
		var s uint64
		for _, nd := range c.nodes {
			s += nd.g.Stats().SentBytes()
		}
		return s
	}
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	var lat []time.Duration
	before := sent()
	b.ResetTimer()
	for i := range b.N {
		elem := fmt.Sprintf("u%d", i)
		pub := c.nodes[rng.IntN(n)]
		start := time.Now()
		pub.publish(b, fmt.Sprintf("key%d", i%10), elem)
		for !holdsAll(c, fmt.Sprintf("key%d", i%10), elem) {
			if time.Since(start) > 60*time.Second {
				b.Fatalf("update %d not everywhere after 60 s:%s", i, c.describe())
			}
			time.Sleep(500 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	bytesPerUpdate := float64(sent()-before) / float64(b.N)

	// Idle with equal state: what does anti-entropy cost per round?
	c.waitConverged(30 * time.Second)
	aeBytes := func() (bytes, rounds uint64) {
		for _, nd := range c.nodes {
			st := nd.g.Stats()
			for _, t := range []gossip.MsgType{gossip.MsgRoot, gossip.MsgDigests, gossip.MsgWant, gossip.MsgState, gossip.MsgChunk} {
				bytes += st.Sent[t].Bytes
			}
			rounds += st.AERounds
		}
		return bytes, rounds
	}
	time.Sleep(time.Second)
	b0, r0 := aeBytes()
	time.Sleep(3 * time.Second)
	b1, r1 := aeBytes()

	slices.Sort(lat)
	pct := func(p float64) float64 { // nearest rank
		i := max(0, int(math.Ceil(p*float64(len(lat))))-1)
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(bytesPerUpdate, "bytes/update")
	if r1 > r0 {
		b.ReportMetric(float64(b1-b0)/float64(r1-r0), "ae-bytes/round")
	}
	b.ReportMetric(0, "ns/op")
	var lost uint64
	for _, tr := range transports {
		lost += tr.Dropped()
	}
	if loss > 0 && lost == 0 {
		b.Fatal("no packet was dropped: the loss wrapper is not in the path")
	}
}

func holdsAll(c *cluster, key, elem string) bool {
	for _, nd := range c.nodes {
		if !nd.r.Has(key, elem) {
			return false
		}
	}
	return true
}
