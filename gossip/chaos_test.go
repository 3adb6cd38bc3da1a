package gossip_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"
)

// TestChaos writes on every node while the network loses packets and splits
// into random partitions that come and go; once the network heals, every
// replica converges to the union of all writes.
func TestChaos(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 99))
				c := newCluster(t, 6, true, nil)
				c.net.SetLoss(0.2)
				written := 0
				for step := range 40 {
					if step%8 == 0 {
						perm := rng.Perm(len(c.nodes))
						cut := 1 + rng.IntN(len(c.nodes)-1)
						var a, b []string
						for i, p := range perm {
							if i < cut {
								a = append(a, c.nodes[p].name)
							} else {
								b = append(b, c.nodes[p].name)
							}
						}
						c.net.Partition(a, b)
					}
					if step%8 == 5 {
						c.net.Heal()
					}
					for _, nd := range c.nodes {
						if rng.IntN(2) == 0 {
							nd.publish(t, fmt.Sprintf("k%d", rng.IntN(5)), fmt.Sprintf("%s-%d", nd.name, step))
							written++
						}
					}
					time.Sleep(time.Duration(rng.IntN(800)) * time.Millisecond)
				}
				c.net.Heal()
				c.net.SetLoss(0)
				c.waitConverged(60 * time.Second)
				for _, nd := range c.nodes {
					if got := countAll(nd); got != written {
						t.Errorf("%s holds %d elements, %d were written", nd.name, got, written)
					}
				}
			})
		})
	}
}
