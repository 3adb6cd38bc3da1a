//go:build unix

package gossip_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/converge-crdt/converge/gossip"
)

// BenchmarkAntiEntropyRepair measures anti-entropy between two nodes on
// loopback that hold the same keys (10 k or 100 k) and then differ in d of
// them (changed behind gossip's back, so only anti-entropy carries them),
// with the digest tree (replicas that are DigestSources) and without it
// (plain: the bucket protocol, Replica.Digests every round). One iteration
// is one repair. Reported:
//
//	repair-bytes     anti-entropy bytes sent by both nodes per repair
//	repair-ms        from the change until the other node holds it (rounds
//	                 every 100 ms: about 50 ms of it is waiting for one)
//	idle-cpu-us/round  process CPU per anti-entropy round while the nodes
//	                 agree (memberlist's own probes included)
func BenchmarkAntiEntropyRepair(b *testing.B) {
	for _, keys := range []int{10_000, 100_000} {
		for _, d := range []int{1, 100} {
			for _, plain := range []bool{false, true} {
				name := "tree"
				if plain {
					name = "plain"
				}
				b.Run(fmt.Sprintf("keys=%dk/differ=%d/%s", keys/1000, d, name), func(b *testing.B) {
					benchRepair(b, keys, d, plain)
				})
			}
		}
	}
}

func benchRepair(b *testing.B, keys, d int, plain bool) {
	c := &cluster{t: b, plain: plain}
	for i := range 2 {
		nd := loopbackNode(b, fmt.Sprintf("n%d", i), func(cfg *gossip.Config) {
			cfg.AntiEntropyInterval = 100 * time.Millisecond
		}, plain)
		for k := range keys {
			nd.r.Add(fmt.Sprintf("key-%06d", k), "v")
		}
		c.nodes = append(c.nodes, nd)
	}
	joinLoopback(b, c.nodes[1], c.nodes[0])
	c.waitConverged(30 * time.Second)
	time.Sleep(500 * time.Millisecond)

	var bytes uint64
	var took time.Duration
	b.ResetTimer()
	for i := range b.N {
		b0, _ := c.aeTraffic()
		elem := fmt.Sprintf("changed-%d", i)
		start := time.Now()
		for k := range d {
			c.nodes[1].r.Add(fmt.Sprintf("key-%06d", (k*7919+i)%keys), elem)
		}
		waitFor(b, 30*time.Second, func() bool {
			for k := range d {
				if !c.nodes[0].r.Has(fmt.Sprintf("key-%06d", (k*7919+i)%keys), elem) {
					return false
				}
			}
			return true
		}, c.describe)
		took += time.Since(start)
		time.Sleep(300 * time.Millisecond) // let the round finish both ways
		b1, _ := c.aeTraffic()
		bytes += b1 - b0
	}
	b.StopTimer()

	// Idle rounds: both nodes agree; CPU per round started.
	time.Sleep(300 * time.Millisecond)
	rounds := func() (n uint64) {
		for _, nd := range c.nodes {
			n += nd.g.Stats().AERounds
		}
		return n
	}
	r0, cpu0 := rounds(), processCPU()
	time.Sleep(2 * time.Second)
	r1, cpu1 := rounds(), processCPU()

	b.ReportMetric(float64(bytes)/float64(b.N), "repair-bytes")
	b.ReportMetric(float64(took.Microseconds())/1000/float64(b.N), "repair-ms")
	if r1 > r0 {
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(r1-r0), "idle-cpu-us/round")
	}
	b.ReportMetric(0, "ns/op")
}

// processCPU returns the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
