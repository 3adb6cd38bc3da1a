package gossip_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

func TestPartitionHeals(t *testing.T) {
	tests := []struct {
		name   string
		length time.Duration // fastMemberlist's GossipToTheDeadTime is 2 s
		rejoin time.Duration
		heals  bool
	}{
		{name: "short", length: time.Second, rejoin: time.Second, heals: true},
		{name: "longer than GossipToTheDeadTime", length: 20 * time.Second, rejoin: time.Second, heals: true},
		// The control: without the rejoin loop (an interval longer than
		// the test), memberlist alone never merges the two sides again.
		{name: "long, no rejoin loop", length: 20 * time.Second, rejoin: time.Hour, heals: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCluster(t, 5, true, func(cfg *gossip.Config) { cfg.RejoinInterval = tc.rejoin })
				left, right := c.nodes[:2], c.nodes[2:]
				c.net.Partition(names(left), names(right))
				for i, nd := range c.nodes {
					nd.publish(t, "k", fmt.Sprintf("during-%d", i))
				}
				time.Sleep(tc.length)
				if left[0].r.Has("k", "during-4") || right[0].r.Has("k", "during-0") {
					t.Fatal("an update crossed the partition")
				}
				c.net.Heal()
				if !tc.heals {
					time.Sleep(30 * time.Second)
					if c.converged() {
						t.Fatal("converged without the rejoin loop: the control does not control")
					}
					return
				}
				c.waitConverged(30 * time.Second)
				c.waitMembers(5)
				var rejoined uint64
				for _, nd := range c.nodes {
					rejoined += nd.g.Stats().Rejoined
				}
				if tc.length > 10*time.Second && rejoined == 0 {
					t.Error("healed without the rejoin loop reaching anyone")
				}
				if got := left[0].r.Len("k"); got != 5 {
					t.Errorf("n0 holds %d elements, want 5", got)
				}
				// Writes after healing still spread normally.
				c.nodes[4].publish(t, "k", "after")
				c.waitConverged(5 * time.Second)
			})
		})
	}
}

func names(nodes []*tnode) []string {
	var out []string
	for _, nd := range nodes {
		out = append(out, nd.name)
	}
	return out
}

// TestWrongKeyOrLabelIsShutOut checks that a node with the wrong key or label
// can neither join nor inject a delta, even sent straight to a member's
// address; the control (a right node sending the same way) gets through.
func TestWrongKeyOrLabelIsShutOut(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	otherKey := bytes.Repeat([]byte{2}, 32)
	tests := []struct {
		name  string
		key   []byte
		label string
		in    bool
	}{
		{name: "right key and label (control)", key: key, label: "prod", in: true},
		{name: "no key", label: "prod"},
		{name: "wrong key", key: otherKey, label: "prod"},
		{name: "wrong label", key: key, label: "test"},
		{name: "no label", key: key},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCluster(t, 2, true, func(cfg *gossip.Config) {
					cfg.SecretKey, cfg.Label = key, "prod"
				})
				x := c.add("x", func(cfg *gossip.Config) { cfg.SecretKey, cfg.Label = tc.key, tc.label })
				target := c.nodes[0]
				_, err := x.g.Join(context.Background(), target.name+"/"+target.tr.Addr())
				if joined := err == nil; joined != tc.in {
					t.Fatalf("join: err %v, want joined=%v", err, tc.in)
				}
				// Inject straight at n0's address, by packet and by stream,
				// bypassing membership.
				host, port, _ := net.SplitHostPort(target.tr.Addr())
				p, _ := strconv.Atoi(port)
				to := &memberlist.Node{Name: target.name, Addr: net.ParseIP(host), Port: uint16(p)}
				ml := gossip.MemberlistOf(x.g)
				x.r.Add("evil", "e1", "e2")
				_ = ml.SendBestEffort(to, gossip.EncodeDelta(x.g.Origin(), "evil", x.r.Add("evil", "e1")))
				blob, _, _ := x.r.Encode("evil")
				_ = ml.SendReliable(to, gossip.EncodeDelta(x.g.Origin(), "evil", blob))
				time.Sleep(5 * time.Second)
				for _, nd := range c.nodes[:2] {
					if got := nd.r.Len("evil"); (got > 0) != tc.in {
						t.Errorf("%s holds %d injected elements, want injected=%v", nd.name, got, tc.in)
					}
					if members := nd.g.NumMembers(); (members == 3) != tc.in {
						t.Errorf("%s sees %d members", nd.name, members)
					}
				}
			})
		})
	}
}

func TestBadBlobsAreCountedAndServiceContinues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, true, nil)
		n0, n1 := c.nodes[0], c.nodes[1]
		// A blob the replicas cannot decode: a length past the end.
		if err := n0.g.Publish("bad", []byte{0x09, 'x'}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, func() bool { return n1.g.Stats().MergeErrors > 0 }, c.describe)
		// Bytes that are not a gossip message at all.
		host, port, _ := net.SplitHostPort(n1.tr.Addr())
		p, _ := strconv.Atoi(port)
		to := &memberlist.Node{Name: n1.name, Addr: net.ParseIP(host), Port: uint16(p)}
		ml := gossip.MemberlistOf(n0.g)
		for _, junk := range [][]byte{{9, 9, 9}, {gossip.ProtocolVersion, byte(gossip.MsgState), 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}} {
			if err := ml.SendBestEffort(to, junk); err != nil {
				t.Fatal(err)
			}
			if err := ml.SendReliable(to, junk); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 5*time.Second, func() bool { return n1.g.Stats().DecodeErrors >= 4 }, func() string {
			return fmt.Sprintf("decode errors %d", n1.g.Stats().DecodeErrors)
		})
		for _, nd := range c.nodes {
			if nd.r.Len("bad") != 0 {
				t.Errorf("%s merged the bad blob", nd.name)
			}
		}
		// The node keeps serving.
		n0.publish(t, "good", "g1")
		c.nodes[2].publish(t, "good", "g2")
		c.waitConverged(5 * time.Second)
		if n1.r.Len("good") != 2 {
			t.Errorf("n1 holds %d good elements, want 2", n1.r.Len("good"))
		}
	})
}

func TestNewValidates(t *testing.T) {
	ok := gossip.DefaultConfig("n")
	tests := []struct {
		name   string
		mutate func(*gossip.Config)
	}{
		{"no name", func(c *gossip.Config) { c.Origin.Name = "" }},
		{"short key", func(c *gossip.Config) { c.SecretKey = []byte("short") }},
		{"negative fanout", func(c *gossip.Config) { c.PushFanout = -1 }},
		{"negative interval", func(c *gossip.Config) { c.AntiEntropyInterval = -time.Second }},
		{"tiny chunk", func(c *gossip.Config) { c.ChunkSize = 10 }},
		{"chunk over stream limit", func(c *gossip.Config) { c.ChunkSize = 32 << 20 }},
		{"bad port", func(c *gossip.Config) { c.BindPort = 70000 }},
		{"long label", func(c *gossip.Config) { c.Label = string(make([]byte, 300)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mutate(&cfg)
			if _, err := gossip.New(cfg, nil); err == nil {
				t.Fatal("nil replica accepted")
			}
			g, err := gossip.New(cfg, gossiptest.NewReplica())
			if err == nil {
				g.Close()
				t.Fatal("accepted")
			}
		})
	}
}

func TestNewDoesNotMutateConfig(t *testing.T) {
	cfg := gossip.DefaultConfig("solo")
	cfg.SecretKey = bytes.Repeat([]byte{3}, 16)
	base := *cfg.Memberlist
	g, err := gossip.New(cfg, gossiptest.NewReplica())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if cfg.Memberlist.Name != base.Name || cfg.Memberlist.BindPort != base.BindPort ||
		cfg.Memberlist.Delegate != nil || cfg.Memberlist.Keyring != nil || cfg.Memberlist.Logger != nil {
		t.Fatalf("base memberlist config was changed: %+v", cfg.Memberlist)
	}
	if len(g.Members()) != 1 || g.Members()[0].Name != "solo" {
		t.Fatalf("members %+v", g.Members())
	}
	if host, _, err := net.SplitHostPort(g.LocalAddr()); err != nil || host != "127.0.0.1" {
		t.Fatalf("local addr %q", g.LocalAddr())
	}
}

// TestRestartUnderSameName kills a node without leaving and starts it again
// under the same name with a new epoch and no state, on the same or a new
// address: it rejoins, gets the old epoch's updates back, and its new
// updates spread.
func TestRestartUnderSameName(t *testing.T) {
	for _, sameAddr := range []bool{true, false} {
		t.Run(fmt.Sprintf("same address %v", sameAddr), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCluster(t, 3, true, nil)
				old := c.nodes[2]
				old.publish(t, "k", "from-epoch-1")
				c.waitConverged(5 * time.Second)

				// Crash: cut it off so its leave message is lost, then stop it.
				c.net.Partition([]string{"n0", "n1"}, []string{"n2"})
				old.g.Close()
				c.net.Heal()

				addr := old.tr.Addr()
				var tr *gossiptest.Transport
				if sameAddr {
					tr = c.net.NewTransportAt("n2", addr)
				} else {
					tr = c.net.NewTransport("n2")
				}
				restarted := c.add("n2", func(cfg *gossip.Config) {
					cfg.Origin.Epoch = 2
					cfg.Transport = tr
					cfg.Join = []string{"n0/" + c.nodes[0].tr.Addr()}
				})
				// The old node is closed (twice is fine): keep it out of the
				// convergence checks.
				c.nodes = []*tnode{c.nodes[0], c.nodes[1], restarted}
				t.Cleanup(func() { old.g.Close() })
				waitFor(t, 60*time.Second, func() bool {
					for _, m := range c.nodes[0].g.Members() {
						if m.Name == "n2" && m.Epoch == 2 && m.Addr == tr.Addr() {
							return true
						}
					}
					return false
				}, func() string { return fmt.Sprintf("n0 sees %+v", c.nodes[0].g.Members()) })
				restarted.publish(t, "k", "from-epoch-2")
				c.waitConverged(30 * time.Second)
				for _, nd := range c.nodes {
					if !nd.r.Has("k", "from-epoch-1") || !nd.r.Has("k", "from-epoch-2") {
						t.Errorf("%s lost an epoch's update: %v", nd.name, lens(nd.r))
					}
				}
			})
		})
	}
}

// TestLeaveStopsRejoins checks that the rejoin loop keeps trying a member
// that vanished, and stops trying one that left with Close.
func TestLeaveStopsRejoins(t *testing.T) {
	for _, graceful := range []bool{true, false} {
		t.Run(fmt.Sprintf("graceful %v", graceful), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCluster(t, 3, true, nil)
				gone := c.nodes[2]
				if !graceful {
					c.net.Partition([]string{"n0", "n1"}, []string{"n2"})
				}
				gone.g.Close()
				c.nodes = c.nodes[:2]
				t.Cleanup(func() { gone.g.Close() })
				waitFor(t, 30*time.Second, func() bool {
					return c.nodes[0].g.NumMembers() == 2 && c.nodes[1].g.NumMembers() == 2
				}, c.describeMembers)
				before := c.nodes[0].g.Stats().RejoinAttempts + c.nodes[1].g.Stats().RejoinAttempts
				time.Sleep(10 * time.Second)
				tries := c.nodes[0].g.Stats().RejoinAttempts + c.nodes[1].g.Stats().RejoinAttempts - before
				if graceful && tries != 0 {
					t.Errorf("%d rejoin tries for a node that left", tries)
				}
				// Two nodes dialling every 1, 2, 4 s (backing off, jittered).
				if !graceful && tries < 4 {
					t.Errorf("%d rejoin tries in 10 s for a node that vanished", tries)
				}
			})
		})
	}
}
