package gossip_test

import (
	"fmt"
	"math"
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

// BenchmarkConvergence measures, on real loopback sockets with memberlist's
// LAN timings (200 ms gossip interval), single writes one after another:
// the time from one Publish until every node holds the update, and what the
// update cost in messages and bytes against the direct-send floor (N-1
// messages of one delta each). Each dissemination mode runs side by side
// in the same process. One iteration is one update; run it with
// -benchtime=20x or more to get a p99. GOSSIP_BENCH_NODES (default "8,32")
// lists the cluster sizes, GOSSIP_BENCH_MODES (default all) the modes,
// GOSSIP_BENCH_FANOUT overrides PushFanout. Reported (see reportConvergence):
//
//	p50-ms, p99-ms, max-ms   convergence time after a publish
//	msgs/update              dissemination messages sent by all nodes
//	msgs/floor               msgs/update / (N-1)
//	bytes/floor              dissemination bytes / ((N-1) x one delta message)
//	ae-bytes/round           bytes per anti-entropy round while idle and equal
//
// BenchmarkConvergenceFakeTime measures the same in fake time on the
// in-memory network, deterministically, up to 128 nodes.
func BenchmarkConvergence(b *testing.B) {
	forEachSetup(b, "8,32", benchConvergence)
}

// forEachSetup runs f as a sub-benchmark for every mode (benchModes),
// cluster size (benchNodes, default def) and loss rate (0 and 20 %).
func forEachSetup(b *testing.B, def string, f func(b *testing.B, mode gossip.Dissemination, n int, loss float64)) {
	for _, mode := range benchModes() {
		for _, n := range benchNodes(def) {
			for _, loss := range []float64{0, 0.2} {
				b.Run(fmt.Sprintf("mode=%v/nodes=%d/loss=%.0f%%", mode, n, loss*100), func(b *testing.B) {
					f(b, mode, n, loss)
				})
			}
		}
	}
}

// benchModes returns the modes named in GOSSIP_BENCH_MODES, or all.
func benchModes() []gossip.Dissemination {
	all := []gossip.Dissemination{gossip.DisseminateEpidemic, gossip.DisseminateDirect}
	s := os.Getenv("GOSSIP_BENCH_MODES")
	if s == "" {
		return all
	}
	var out []gossip.Dissemination
	for _, m := range all {
		if strings.Contains(s, m.String()) {
			out = append(out, m)
		}
	}
	return out
}

// benchNodes returns the cluster sizes in GOSSIP_BENCH_NODES, or def.
func benchNodes(def string) []int {
	s := os.Getenv("GOSSIP_BENCH_NODES")
	if s == "" {
		s = def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 1 {
			out = append(out, n)
		}
	}
	return out
}

func benchConvergence(b *testing.B, mode gossip.Dissemination, n int, loss float64) {
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
			cfg.Dissemination = mode
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
	c.waitDrained(30 * time.Second)
	// Loss starts once the cluster has formed: this measures updates under
	// loss, not joins under loss (memberlist may still flap members).
	for _, tr := range transports {
		tr.SetRate(loss)
	}

	b.ResetTimer()
	res := runUpdates(b, c, b.N, 500*time.Microsecond, rand.New(rand.NewPCG(uint64(n), 7)))
	b.StopTimer()

	// Idle with equal state: what does anti-entropy cost per round?
	c.waitConverged(30 * time.Second)
	aeBytes := func() (bytes, rounds uint64) {
		for _, nd := range c.nodes {
			st := nd.g.Stats()
			for _, t := range aeTypes {
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

	reportConvergence(b, res)
	if r1 > r0 {
		b.ReportMetric(float64(b1-b0)/float64(r1-r0), "ae-bytes/round")
	}
	var lost uint64
	for _, tr := range transports {
		lost += tr.Dropped()
	}
	if loss > 0 && lost == 0 {
		b.Fatal("no packet was dropped: the loss wrapper is not in the path")
	}
}

// disseminationTypes are the message types that spread published deltas
// (everything but anti-entropy and membership).
var disseminationTypes = []gossip.MsgType{gossip.MsgDelta, gossip.MsgDeltaDirect, gossip.MsgBatch, gossip.MsgAck}

// convergence is what runUpdates measured.
type convergence struct {
	nodes   int
	lat     []time.Duration // per update, until every node held it
	drain   time.Duration   // from the last update's convergence to empty queues
	drained bool
	// Summed over nodes, from the first publish until the queues drained.
	msgs, bytes uint64
	// The floor: every other node receives each delta once, in one
	// message of its own.
	floorMsgs, floorBytes uint64
}

// runUpdates publishes updates single writes from random nodes, one after
// another, each once the previous one is everywhere, polling every poll;
// then it waits for the broadcast queues to drain, so the cost counted is
// the whole cost of the updates.
func runUpdates(tb testing.TB, c *cluster, updates int, poll time.Duration, rng *rand.Rand) convergence {
	tb.Helper()
	n := len(c.nodes)
	res := convergence{nodes: n}
	sent := func() (msgs, bytes uint64) {
		for _, nd := range c.nodes {
			st := nd.g.Stats()
			for _, t := range disseminationTypes {
				msgs += st.Sent[t].Msgs
				bytes += st.Sent[t].Bytes
			}
		}
		return msgs, bytes
	}
	m0, b0 := sent()
	for i := range updates {
		key, elem := fmt.Sprintf("key%d", i%10), fmt.Sprintf("u%d", i)
		pub := c.nodes[rng.IntN(n)]
		start := time.Now()
		delta := pub.r.Add(key, elem)
		if err := pub.g.Publish(key, delta); err != nil {
			tb.Fatalf("%s: publish: %v", pub.name, err)
		}
		res.floorMsgs += uint64(n - 1)
		res.floorBytes += uint64(n-1) * uint64(len(gossip.EncodeDelta(pub.g.Origin(), key, delta)))
		for !holdsAll(c, key, elem) {
			if time.Since(start) > 60*time.Second {
				tb.Fatalf("update %d not everywhere after 60 s:%s", i, c.describe())
			}
			time.Sleep(poll)
		}
		res.lat = append(res.lat, time.Since(start))
	}
	start := time.Now()
	res.drained = c.queuesDrained(60 * time.Second)
	res.drain = time.Since(start)
	m1, b1 := sent()
	res.msgs, res.bytes = m1-m0, b1-b0
	return res
}

// reportConvergence reports what runUpdates measured as benchmark metrics.
func reportConvergence(b *testing.B, r convergence) {
	lat := slices.Clone(r.lat)
	slices.Sort(lat)
	pct := func(p float64) float64 { // nearest rank
		i := max(0, int(math.Ceil(p*float64(len(lat))))-1)
		return float64(lat[i].Microseconds()) / 1000
	}
	u := float64(len(lat))
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(r.msgs)/u, "msgs/update")
	b.ReportMetric(float64(r.msgs)/u/float64(r.nodes), "msgs/node/update")
	b.ReportMetric(float64(r.msgs)/float64(r.floorMsgs), "msgs/floor")
	b.ReportMetric(float64(r.bytes)/u, "bytes/update")
	b.ReportMetric(float64(r.bytes)/float64(r.floorBytes), "bytes/floor")
	b.ReportMetric(float64(r.drain.Microseconds())/1000, "drain-ms")
	b.ReportMetric(0, "ns/op")
	if !r.drained {
		b.Errorf("queues did not drain within 60 s of the last update")
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

// queuesDrained waits up to timeout for every node's queue to be empty.
func (c *cluster) queuesDrained(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		empty := true
		for _, nd := range c.nodes {
			if nd.g.QueueLen() > 0 {
				empty = false
				break
			}
		}
		if empty {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

func (c *cluster) waitDrained(timeout time.Duration) {
	c.t.Helper()
	if !c.queuesDrained(timeout) {
		c.t.Fatalf("queues not empty after %v:%s", timeout, c.describe())
	}
}
