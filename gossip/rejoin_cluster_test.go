package gossip_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// TestSplitGroupsMerge starts groups cut off from each other, each formed
// through its own seeds, and heals the network: the rejoin loop must dial
// the seeds and remembered members missing from the view even though no
// node is alone, so the groups merge into one. The control, with the rejoin
// loop off, shows that memberlist alone never merges them.
func TestSplitGroupsMerge(t *testing.T) {
	tests := []struct {
		name   string
		groups [][]string
		seeds  map[string][]string // node -> the nodes it lists as seeds
		joins  map[string]string   // node -> the node it joins by hand
		rejoin time.Duration
		merges bool
	}{
		{
			name:   "one alone, two together",
			groups: [][]string{{"a"}, {"b", "c"}},
			seeds:  map[string][]string{"b": {"a"}},
			joins:  map[string]string{"c": "b"},
			rejoin: time.Second, merges: true,
		},
		{
			// grafana/dskit's partition recovery: two zones start
			// isolated, each with the other zone's first node as a seed.
			name:   "two zones",
			groups: [][]string{{"z1a", "z1b"}, {"z2a", "z2b"}},
			seeds:  map[string][]string{"z1a": {"z2a"}, "z2a": {"z1a"}},
			joins:  map[string]string{"z1b": "z1a", "z2b": "z2a"},
			rejoin: time.Second, merges: true,
		},
		{
			name:   "control: no rejoin loop",
			groups: [][]string{{"a"}, {"b", "c"}},
			seeds:  map[string][]string{"b": {"a"}},
			joins:  map[string]string{"c": "b"},
			rejoin: time.Hour, merges: false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCluster(t, 0, false, nil)
				c.net.Partition(tc.groups...)
				trs := map[string]*gossiptest.Transport{}
				var all []string
				for _, g := range tc.groups {
					for _, name := range g {
						trs[name] = c.net.NewTransport(name)
						all = append(all, name)
					}
				}
				byName := map[string]*tnode{}
				for _, name := range all {
					byName[name] = c.add(name, func(cfg *gossip.Config) {
						cfg.Transport = trs[name]
						cfg.RejoinInterval = tc.rejoin
						for _, s := range tc.seeds[name] {
							cfg.Join = append(cfg.Join, s+"/"+trs[s].Addr())
						}
					})
				}
				for from, to := range tc.joins {
					c.join(byName[from], byName[to])
				}
				for _, g := range tc.groups {
					waitFor(t, 30*time.Second, func() bool {
						for _, name := range g {
							if byName[name].g.NumMembers() != len(g) {
								return false
							}
						}
						return true
					}, c.describeMembers)
				}
				time.Sleep(10 * time.Second) // seeds dialled in vain meanwhile
				c.net.Heal()
				if !tc.merges {
					time.Sleep(60 * time.Second)
					for _, nd := range c.nodes {
						if nd.g.NumMembers() == len(all) {
							t.Fatalf("merged without the rejoin loop: the control does not control (%s)", c.describeMembers())
						}
					}
					return
				}
				c.waitMembers(len(all))
				for i, nd := range c.nodes {
					nd.publish(t, "k", fmt.Sprintf("v%d", i))
				}
				c.waitConverged(10 * time.Second)
			})
		})
	}
}

// TestLeaveOvertakingRestartNews is the quick restart of a member: b leaves,
// restarts at the same address with a new epoch, joins a, and leaves again
// at once, so the others may hear its second leave before the news of its
// new epoch. Whatever the order, nobody may re-dial b afterwards: a third
// start of b that joins no one stays alone, and a and c make no rejoin
// attempts. A fourth start that joins explicitly is taken back.
func TestLeaveOvertakingRestartNews(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 0, false, nil)
		b := c.add("b", nil)
		a := c.add("a", nil)
		cc := c.add("c", nil)
		c.join(a, b)
		c.join(cc, b)
		c.waitMembers(3)
		addr := b.tr.Addr()

		restart := func(epoch uint64, join *tnode) *tnode {
			tr := c.net.NewTransportAt("b", addr)
			return c.add("b", func(cfg *gossip.Config) {
				cfg.Origin.Epoch = epoch
				cfg.Transport = tr
				if join != nil {
					cfg.Join = []string{join.name + "/" + join.tr.Addr()}
				}
			})
		}
		others := func() []*tnode { return []*tnode{a, cc} }
		seeAll := func(n int) func() bool {
			return func() bool { return a.g.NumMembers() == n && cc.g.NumMembers() == n }
		}
		b.g.Close()
		waitFor(t, 30*time.Second, seeAll(2), c.describeMembers)

		b2 := restart(2, a)
		// b2 sees everyone as soon as its join's push-pull with a is done;
		// c hears of it only later, from a's gossip. Close at once.
		waitFor(t, 30*time.Second, func() bool { return b2.g.NumMembers() == 3 }, c.describeMembers)
		b2.g.Close()
		waitFor(t, 30*time.Second, seeAll(2), c.describeMembers)
		time.Sleep(10 * time.Second) // memberlist forgets b; gossip to the dead stops

		before := a.g.Stats().RejoinAttempts + cc.g.Stats().RejoinAttempts
		b3 := restart(3, nil)
		time.Sleep(30 * time.Second)
		if n := b3.g.NumMembers(); n != 1 {
			t.Errorf("b's third start, which joined no one, sees %d members: it was re-dialled", n)
		}
		for _, nd := range others() {
			if n := nd.g.NumMembers(); n != 2 {
				t.Errorf("%s sees %d members, want 2", nd.name, n)
			}
		}
		if tries := a.g.Stats().RejoinAttempts + cc.g.Stats().RejoinAttempts - before; tries != 0 {
			t.Errorf("%d rejoin attempts after b left", tries)
		}
		b3.g.Close()

		time.Sleep(5 * time.Second)
		b4 := restart(4, cc)
		waitFor(t, 30*time.Second, func() bool { return seeAll(3)() && b4.g.NumMembers() == 3 }, c.describeMembers)
		b4.publish(t, "k", "from-b4")
		c.nodes = []*tnode{a, cc, b4}
		c.waitConverged(10 * time.Second)
	})
}
