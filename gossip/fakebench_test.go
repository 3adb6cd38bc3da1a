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
		line, ok := strings.CutPrefix(sc.Text(), "FAKEBENCH ")
		if !ok {
			continue
		}
		var r fakeResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			b.Fatal(err)
		}
		return convergence{nodes: spec.Nodes, lat: r.Lat, drain: r.Drain, drained: r.Drained,
			msgs: r.Msgs, bytes: r.Bytes, floorMsgs: r.FloorMsgs, floorBytes: r.FloorBytes}
	}
	b.Fatalf("child printed no result:\n%s\n%s", out, stderr.Bytes())
	return convergence{}
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
		r := runUpdates(t, c, spec.Updates, time.Millisecond, rand.New(rand.NewPCG(uint64(spec.Nodes), 7)))
		c.net.SetLoss(0)
		out, _ := json.Marshal(fakeResult{Lat: r.lat, Drain: r.drain, Drained: r.drained,
			Msgs: r.msgs, Bytes: r.bytes, FloorMsgs: r.floorMsgs, FloorBytes: r.floorBytes})
		fmt.Printf("FAKEBENCH %s\n", out)
	})
}
