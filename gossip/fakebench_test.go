package gossip_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
)

// BenchmarkConvergenceFakeTime is BenchmarkConvergence in fake time
// (testing/synctest) on the in-memory network (gossiptest.Network): message
// and byte counts are deterministic for a given b.N, and latencies show the
// protocol's timers (network and CPU cost nothing in fake time). Cluster
// sizes: GOSSIP_BENCH_NODES (default "8,32,64,128"); modes:
// GOSSIP_BENCH_MODES. Loss applies to every packet, memberlist's included.
//
// synctest.Test needs a *testing.T, so each sub-benchmark runs its cluster
// in a child process of the test binary (TestFakeBenchChild) and reports
// what the child measured. Use -benchtime=Nx: b.N is the number of updates.
func BenchmarkConvergenceFakeTime(b *testing.B) {
	forEachSetup(b, "8,32,64,128", func(b *testing.B, mode gossip.Dissemination, n int, loss float64) {
		reportConvergence(b, runFakeChild(b, fakeSpec{Mode: mode, Nodes: n, Loss: loss, Updates: b.N}))
	})
}

// fakeSpec says what TestFakeBenchChild runs; it travels in an environment
// variable as JSON.
type fakeSpec struct {
	Mode    gossip.Dissemination
	Nodes   int
	Loss    float64
	Updates int
	Bulk    int // if > 0: one node publishes this many keys at once (BenchmarkBulkLoadFakeTime)
}

// fakeResult is a convergence as JSON.
type fakeResult struct {
	Lat                   []time.Duration
	Drain                 time.Duration
	Drained               bool
	Msgs, Bytes           uint64
	FloorMsgs, FloorBytes uint64
}

const fakeEnv = "GOSSIP_FAKEBENCH"

func runFakeChild(b *testing.B, spec fakeSpec) convergence {
	b.Helper()
	js, _ := json.Marshal(spec)
	var r fakeResult
	if err := json.Unmarshal(runChild(b, js), &r); err != nil {
		b.Fatal(err)
	}
	return convergence{nodes: spec.Nodes, lat: r.Lat, drain: r.Drain, drained: r.Drained,
		msgs: r.Msgs, bytes: r.Bytes, floorMsgs: r.FloorMsgs, floorBytes: r.FloorBytes}
}

// runChild runs TestFakeBenchChild with spec (JSON) and returns the JSON
// line it printed.
func runChild(b *testing.B, js []byte) []byte {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFakeBenchChild$", "-test.count=1", "-test.timeout=1h")
	cmd.Env = append(os.Environ(), fakeEnv+"="+string(js))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("child: %v\n%s\n%s", err, out, stderr.Bytes())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "FAKEBENCH "); ok {
			return []byte(line)
		}
	}
	b.Fatalf("child printed no result:\n%s\n%s", out, stderr.Bytes())
	return nil
}

// TestFakeBenchChild runs one BenchmarkConvergenceFakeTime cluster; it
// skips unless that benchmark started it.
func TestFakeBenchChild(t *testing.T) {
	js := os.Getenv(fakeEnv)
	if js == "" {
		t.Skip("run by BenchmarkConvergenceFakeTime only")
	}
	var spec fakeSpec
	if err := json.Unmarshal([]byte(js), &spec); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, spec.Nodes, true, func(cfg *gossip.Config) { cfg.Dissemination = spec.Mode })
		c.nodes[0].publish(t, "warmup", "w")
		c.waitConverged(30 * time.Second)
		c.waitDrained(30 * time.Second)
		c.net.SetLoss(spec.Loss)
		if spec.Bulk > 0 {
			fmt.Printf("FAKEBENCH %s\n", bulkLoad(t, c, spec.Bulk))
			return
		}
		r := runUpdates(t, c, spec.Updates, time.Millisecond, rand.New(rand.NewPCG(uint64(spec.Nodes), 7)))
		c.net.SetLoss(0)
		out, _ := json.Marshal(fakeResult{Lat: r.lat, Drain: r.drain, Drained: r.drained,
			Msgs: r.msgs, Bytes: r.bytes, FloorMsgs: r.floorMsgs, FloorBytes: r.floorBytes})
		fmt.Printf("FAKEBENCH %s\n", out)
	})
}

// BenchmarkBulkLoadFakeTime: one node of 32 publishes 10,000 keys at once
// (in fake time, on the in-memory network); reported are the time until
// every node holds them and until every queue is empty, and the messages
// sent per key. One iteration is one bulk load in a fresh cluster.
func BenchmarkBulkLoadFakeTime(b *testing.B) {
	for _, mode := range benchModes() {
		b.Run(fmt.Sprintf("mode=%v/nodes=32/keys=10000", mode), func(b *testing.B) {
			for range b.N {
				js, _ := json.Marshal(fakeSpec{Mode: mode, Nodes: 32, Bulk: 10_000})
				var r bulkResult
				if err := json.Unmarshal(runChild(b, js), &r); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(r.Converged.Milliseconds()), "converged-ms")
				b.ReportMetric(float64(r.Drained.Milliseconds()), "drained-ms")
				b.ReportMetric(float64(r.Msgs)/10_000, "msgs/key")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// bulkResult is what a bulk load measured.
type bulkResult struct {
	Converged, Drained time.Duration
	Msgs               uint64
}

// bulkLoad publishes n keys from one node and waits for them everywhere
// and for empty queues (at most 10 minutes of fake time).
func bulkLoad(t *testing.T, c *cluster, n int) []byte {
	sent := func() (m uint64) {
		for _, nd := range c.nodes {
			for _, ty := range disseminationTypes {
				m += nd.g.Stats().Sent[ty].Msgs
			}
		}
		return m
	}
	m0 := sent()
	start := time.Now()
	for k := range n {
		c.nodes[0].publish(t, fmt.Sprintf("bulk-%05d", k), "v")
	}
	last := fmt.Sprintf("bulk-%05d", n-1)
	waitFor(t, 10*time.Minute, func() bool {
		for _, nd := range c.nodes {
			if nd.r.Len(last) == 0 || len(nd.r.Keys()) < n {
				return false
			}
		}
		return true
	}, func() string { return "bulk keys not everywhere" })
	r := bulkResult{Converged: time.Since(start)}
	if !c.queuesDrained(10 * time.Minute) {
		t.Errorf("queues not empty 10 minutes after a bulk load")
	}
	r.Drained, r.Msgs = time.Since(start), sent()-m0
	out, _ := json.Marshal(r)
	return out
}
