package agent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
	"github.com/converge-crdt/converge/node"
)

// BenchmarkContendedClaims races 8 agents for each task (each claims at a
// random moment within 20 ms) on an in-memory network in real time, and
// reports the extra winners per 1,000 claims (a task two agents both
// believed they won counts 1), the claims that failed (a level not met)
// and the latency of a claim call. One iteration is one task. The
// partition splits the fleet 4|4 for the whole run: with majority levels
// each side first times out (its view still counts 8, so it needs 5) and,
// once failure detection has shrunk its view to 4, completes "majority"
// claims of its own side, so double claims return. Run it with a fixed count, for example:
//
//	go test ./node/agent -run '^$' -bench ContendedClaims -benchtime 125x
func BenchmarkContendedClaims(b *testing.B) {
	for _, sc := range claimScenarios {
		b.Run(sc.name, func(b *testing.B) { benchClaims(b, sc) })
	}
}

type claimScenario struct {
	name      string
	loss      float64
	partition bool
	cfg       func(*Config)
}

func majority(c *Config) {
	c.Write = node.WriteMajority(time.Second)
	c.Read = node.ReadMajority(time.Second)
}

var claimScenarios = []claimScenario{
	{name: "local/loss=0"},
	{name: "local/loss=0.2", loss: 0.2},
	{name: "local/partition", partition: true},
	{name: "majority/loss=0", cfg: majority},
	{name: "majority/loss=0.2", loss: 0.2, cfg: majority},
	{name: "majority/partition", partition: true, cfg: majority},
}

func benchClaims(b *testing.B, sc claimScenario) {
	const agents = 8
	net := gossiptest.NewNetwork(11)
	var fleet []*Agent
	for i := range agents {
		name := fmt.Sprintf("b%d", i)
		g := gossip.DefaultConfig(name)
		g.Memberlist = gossiptest.FastMemberlist()
		g.Transport = net.NewTransport(name)
		n, err := node.Open(node.Config{Name: name, Gossip: &g, Logger: discard()})
		if err != nil {
			b.Fatal(err)
		}
		defer n.Close()
		cfg := Config{}
		if sc.cfg != nil {
			sc.cfg(&cfg)
		}
		a, err := New(context.Background(), n, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if i > 0 {
			if _, err := n.Join(context.Background(), fleet[0].n.Name()+"/"+fleet[0].n.Addr()); err != nil {
				b.Fatal(err)
			}
		}
		fleet = append(fleet, a)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range fleet {
		for len(a.Live()) != agents {
			if time.Now().After(deadline) {
				b.Fatal("fleet did not form")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	net.SetLoss(sc.loss)
	if sc.partition {
		var l, r []string
		for i := range agents {
			if i < agents/2 {
				l = append(l, fmt.Sprintf("b%d", i))
			} else {
				r = append(r, fmt.Sprintf("b%d", i))
			}
		}
		net.Partition(l, r)
		defer net.Heal()
	}
	boards := make([]*Claims, agents)
	for i, a := range fleet {
		boards[i], _ = a.Claims("bench")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var lat []time.Duration
	extra, claims, failed := 0, 0, 0
	var mu sync.Mutex
	b.ResetTimer()
	for it := range b.N {
		task := fmt.Sprintf("task-%d", it)
		var wg sync.WaitGroup
		won := 0
		for i := range agents {
			delay := time.Duration(rng.Int64N(int64(20 * time.Millisecond)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(delay)
				start := time.Now()
				c, err := boards[i].Claim(context.Background(), task)
				d := time.Since(start)
				mu.Lock()
				defer mu.Unlock()
				claims++
				lat = append(lat, d)
				if err != nil {
					failed++
				}
				if err == nil && c.Won {
					won++
				}
			}()
		}
		wg.Wait()
		extra += max(0, won-1)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(1000*float64(extra)/float64(claims), "double-claims/1000")
	b.ReportMetric(1000*float64(failed)/float64(claims), "failed/1000")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
