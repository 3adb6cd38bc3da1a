package gossiptest

import (
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/converge-crdt/converge/gossip"
)

// FastMemberlist returns gossip's default memberlist config (LAN gossip
// every 200 ms, dead names reclaimable after a second) with quick failure
// detection and a short GossipToTheDeadTime, so that clusters on a Network
// settle, and partition tests outlast memberlist's memory of dead nodes,
// within seconds of fake time.
func FastMemberlist() *memberlist.Config {
	mc := gossip.DefaultConfig("").Memberlist
	mc.ProbeInterval = 200 * time.Millisecond
	mc.ProbeTimeout = 100 * time.Millisecond
	mc.SuspicionMult = 2
	mc.GossipToTheDeadTime = 2 * time.Second
	mc.PushPullInterval = 5 * time.Second
	mc.TCPTimeout = time.Second
	return mc
}
