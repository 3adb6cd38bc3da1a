package gossip_test

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// slowReplica takes slow (fake) time to merge any blob of key slowKey, as
// decoding and merging a state of many megabytes does, and records the
// order in which each key's blobs were merged.
type slowReplica struct {
	*gossiptest.Replica
	slowKey string
	slow    time.Duration

	mu     sync.Mutex
	order  map[string][]string // guarded by mu; first element of each merged blob, by key
	active map[string]int      // guarded by mu; merges in progress, by key
	overlp bool                // guarded by mu; two merges of one key ran at once
}

func (r *slowReplica) Merge(key string, blob []byte) (bool, error) {
	r.mu.Lock()
	r.active[key]++
	if r.active[key] > 1 {
		r.overlp = true
	}
	if elems, err := gossiptest.Decode(blob); err == nil && len(elems) > 0 {
		r.order[key] = append(r.order[key], elems[0])
	}
	r.mu.Unlock()
	if key == r.slowKey {
		time.Sleep(r.slow)
	} else {
		time.Sleep(time.Millisecond) // every merge takes some time
	}
	defer func() {
		r.mu.Lock()
		r.active[key]--
		r.mu.Unlock()
	}()
	return r.Replica.Merge(key, blob)
}

// TestSlowKeyDoesNotStallOthers: while one key's 10 s merge runs, updates
// of other keys are merged at once (on dbc6c32, a single worker made them
// wait the whole 10 s).
func TestSlowKeyDoesNotStallOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 2, true, nil)
		n0, n1 := c.nodes[0], c.nodes[1]
		slow := &slowReplica{Replica: gossiptest.NewReplica(), slowKey: "big", slow: 10 * time.Second,
			order: map[string][]string{}, active: map[string]int{}}
		v := startWith(t, c, "v", slow, nil)
		c.join(v, n0)
		c.waitMembers(3)
		n0.publish(t, "big", "b1")
		time.Sleep(50 * time.Millisecond) // the big merge has started
		start := time.Now()
		n1.publish(t, "small", "s1")
		waitFor(t, 20*time.Second, func() bool { return slow.Has("small", "s1") }, c.describe)
		stall := time.Since(start)
		t.Logf("small update merged %v after publish, while big merges for %v", stall, slow.slow)
		if stall >= time.Second {
			t.Errorf("small update waited %v behind a slow merge of another key", stall)
		}
	})
}

// startWith starts a node named name around replica r on c's network;
// configure may adjust its config.
func startWith(t *testing.T, c *cluster, name string, r gossip.Replica, configure func(*gossip.Config)) *tnode {
	t.Helper()
	nd := &tnode{name: name, r: gossiptest.NewReplica(), tr: c.net.NewTransport(name)}
	cfg := gossip.DefaultConfig(name)
	cfg.Origin.Epoch = 1
	cfg.Memberlist = gossiptest.FastMemberlist()
	cfg.Logger = testLogger()
	cfg.Transport = nd.tr
	if configure != nil {
		configure(&cfg)
	}
	g, err := gossip.New(cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	nd.g = g
	t.Cleanup(func() { g.Close() })
	return nd
}
