package gossip_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
)

// TestChunkSlotsStarvation: a member x keeps sending first chunks under 32
// made-up origin names (8 each: every one of n0's 256 reassembly slots)
// while n1 holds a 1.2 MB key that n0 lacks. On dbc6c32 the honest
// transfer found no slot for as long as the attack lasted; now chunks are
// taken only from current members, each with slots of its own.
func TestChunkSlotsStarvation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, true, func(cfg *gossip.Config) { cfg.ChunkSize = 64 << 10 })
		n0, n1, x := c.nodes[0], c.nodes[1], c.nodes[2]
		stop := make(chan struct{})
		attacked := make(chan struct{})
		go func() {
			defer close(attacked)
			ml := gossip.MemberlistOf(x.g)
			data := make([]byte, 300)
			var id uint64
			for {
				for g := range 32 {
					ghost := gossip.Origin{Name: fmt.Sprintf("ghost-%d", g), Epoch: 1}
					for range 8 {
						id++
						_ = ml.SendReliable(nodeOf(n0), gossip.EncodeChunk(ghost, id, 0, 2, 600, data))
					}
				}
				select {
				case <-stop:
					return
				case <-time.After(500 * time.Millisecond):
				}
			}
		}()
		time.Sleep(2 * time.Second) // the slots are taken
		start := time.Now()
		var elems []string
		for e := range 12000 {
			elems = append(elems, fmt.Sprintf("%096d", e))
		}
		n1.r.Add("big", elems...) // no publish: anti-entropy moves it, chunked
		var took time.Duration
		for deadline := start.Add(40 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if n0.r.Len("big") == len(elems) {
				took = time.Since(start)
				break
			}
		}
		close(stop)
		<-attacked
		t.Logf("1.2 MB transfer under the slot attack: done after %v (0 = not within 40 s); transfers done %d, lost %d",
			took, n0.g.Stats().TransfersDone, n0.g.Stats().TransfersLost)
		if took == 0 || took > 10*time.Second {
			t.Errorf("honest transfer starved: %v", took)
		}
	})
}
