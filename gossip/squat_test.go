package gossip_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
)

// squatter claims every key of keys with a new wrong digest on every call
// and has the state of none: asked for them, it sends nothing.
type squatter struct {
	keys []string
	mu   sync.Mutex
	rng  *rand.Rand // guarded by mu
}

func (s *squatter) Digests() (uint64, []gossip.KeyDigest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]gossip.KeyDigest, len(s.keys))
	for i, k := range s.keys {
		out[i] = gossip.KeyDigest{Key: k, Digest: s.rng.Uint64()}
	}
	return s.rng.Uint64(), out
}

// treeSquatter is a squatter whose digests gossip keeps in a digest tree
// (a DigestSource), so rounds with it take the tree protocol.
type treeSquatter struct{ *squatter }

func (s treeSquatter) KeyDigest(string) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Uint64(), true
}

func (s treeSquatter) OnChange(f func(key string)) {
	go func() {
		for _, k := range s.keys {
			f(k)
		}
	}()
}

func (s *squatter) Encode(string) ([]byte, bool, error)        { return nil, false, nil }
func (s *squatter) Merge(string, []byte) (bool, error)         { return false, nil }
func (s *squatter) Join(_ string, a, _ []byte) ([]byte, error) { return a, nil }

// TestWantSquatting: a member that claims 300 keys with wrong digests
// every 200 ms and never answers cannot keep a node from repairing them
// from the honest peer that has them (by anti-entropy alone: the honest
// node gets them 100 at a time, without publishing). On dbc6c32 the
// squatter held a batch off for up to 23 s (1.8 s when an honest round came
// first); now a want it leaves unanswered goes to another peer.
func TestWantSquatting(t *testing.T) {
	for _, tree := range []bool{false, true} {
		t.Run(fmt.Sprintf("digest tree %v", tree), func(t *testing.T) { testWantSquatting(t, tree) })
	}
}

func testWantSquatting(t *testing.T, tree bool) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 2, true, nil)
		honest, victim := c.nodes[0], c.nodes[1]
		var keys []string
		for i := range 300 {
			keys = append(keys, fmt.Sprintf("k%03d", i))
		}
		var r gossip.Replica = &squatter{keys: keys, rng: rand.New(rand.NewPCG(1, 2))}
		if tree {
			r = treeSquatter{r.(*squatter)}
		}
		sq := startWith(t, c, "squatter", r, func(cfg *gossip.Config) { cfg.AntiEntropyInterval = 200 * time.Millisecond })
		c.join(sq, honest)
		waitFor(t, 10*time.Second, func() bool { return honest.g.NumMembers() == 3 && victim.g.NumMembers() == 3 }, c.describeMembers)
		time.Sleep(5 * time.Second) // the squatter already holds the victim's wants

		var worst time.Duration
		for batch := range 3 {
			start := time.Now()
			for _, k := range keys[100*batch : 100*(batch+1)] {
				honest.r.Add(k, "v") // no publish: only anti-entropy moves them
			}
			waitFor(t, 120*time.Second, func() bool { return len(victim.r.Keys()) == 100*(batch+1) }, func() string {
				return fmt.Sprintf("victim holds %d keys", len(victim.r.Keys()))
			})
			took := time.Since(start)
			t.Logf("batch %d: victim repaired 100 keys in %v", batch, took)
			worst = max(worst, took)
			time.Sleep(time.Duration(batch+1) * 1100 * time.Millisecond) // vary the phase
		}
		t.Logf("worst %v; wants expired: %d", worst, gossip.WantsExpired(victim.g))
		if worst > 8*time.Second {
			t.Errorf("repair of a batch took %v with a squatter", worst)
		}
	})
}
