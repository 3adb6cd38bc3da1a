package gossip_test

import (
	"encoding/binary"
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/converge-crdt/converge/gossip"
)

// stalledHeader is the start of a memberlist stream carrying a user message
// of size bytes (type userMsg, then its msgpack header), without the body.
func stalledHeader(size uint32) []byte {
	b := []byte{8, 0x81, 0xaa}
	b = append(b, "UserMsgLen"...)
	b = append(b, 0xce)
	return binary.BigEndian.AppendUint32(b, size)
}

func heapNow() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestStalledStreamsAreCapped: an outsider opens 12 streams to n0, each
// declaring a 5 MiB message and sending nothing more. memberlist allocates
// the declared size at once. On dbc6c32 all 12 were held (60 MiB) until
// TCPTimeout; now n0 admits MaxInboundStreamsPerHost (4 here) from one
// host and cuts a stream that sends nothing for half of TCPTimeout, and
// honest traffic flows again after.
func TestStalledStreamsAreCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 2, true, func(cfg *gossip.Config) { gossip.LimitInboundPerHost(cfg, 4) })
		n0, n1 := c.nodes[0], c.nodes[1]
		raw := c.net.NewTransport("outsider")
		to := memberlist.Address{Addr: n0.tr.Addr(), Name: n0.name}
		const streams, size = 12, 5 << 20
		base := heapNow()
		for range streams {
			conn, err := raw.DialAddressTimeout(to, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				_, _ = conn.Write(stalledHeader(size)) // then nothing: the stall
			}()
			t.Cleanup(func() { conn.Close() })
		}
		time.Sleep(50 * time.Millisecond)
		peak := heapNow() - base
		time.Sleep(650 * time.Millisecond) // past half of TCPTimeout (1 s), before TCPTimeout
		later := heapNow() - base
		t.Logf("%d stalled streams of %d bytes declaring %d MiB: heap +%d MiB at once, +%d MiB after 0.7 s (TCPTimeout 1 s); refused %d",
			streams, len(stalledHeader(size)), size>>20, peak>>20, later>>20, gossip.RefusedStreams(n0.g))
		if peak > 5*size {
			t.Errorf("stalled streams hold %d MiB at once, want at most 4 x 5 MiB", peak>>20)
		}
		if later > size {
			t.Errorf("stalled streams still hold %d MiB after half of TCPTimeout", later>>20)
		}
		n1.publish(t, "after", "x")
		c.waitConverged(10 * time.Second)
	})
}
