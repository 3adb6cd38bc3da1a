package gossip

import (
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestReassemblyChargesMemoryHeld: a peer sends 200,000 chunks of 1 byte or
// of the smallest size allowed, starting a new transfer whenever one is
// dropped. The memory the reassembler holds stays within its budget (4
// MiB) times a small factor. On dbc6c32 the budget counted data bytes only,
// and 1-byte chunks held about 20 MB against it.
func TestReassemblyChargesMemoryHeld(t *testing.T) {
	for _, size := range []int{1, 256} {
		t.Run("chunks of "+strconv.Itoa(size), func(t *testing.T) {
			const budget = 4 << 20
			ra := newReassembler(1<<30, budget, time.Hour)
			from := Origin{Name: "attacker", Epoch: 1}
			now := time.Now()
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			before := ms.HeapAlloc
			id, seq, sent := uint64(1), uint32(0), 0
			for range 200_000 {
				msg := appendChunk(nil, from, chunkMsg{ID: id, Seq: seq, Total: maxChunks, Size: 1 << 30, Data: make([]byte, size)})
				sent += len(msg)
				_, r, err := decodeHeader(msg)
				if err != nil {
					t.Fatal(err)
				}
				c, err := decodeChunk(r)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := ra.add(from, c, now); err != nil {
					id, seq = id+1, 0 // dropped: start another
					continue
				}
				seq++
			}
			runtime.GC()
			runtime.ReadMemStats(&ms)
			held := int64(ms.HeapAlloc) - int64(before)
			runtime.KeepAlive(ra)
			t.Logf("%d-byte chunks: attacker sent %d bytes, reassembler holds %d bytes of heap (budget %d): %.2fx the budget, %.3fx what was sent",
				size, sent, held, budget, float64(held)/budget, float64(held)/float64(sent))
			if held > 3*budget/2 {
				t.Errorf("holds %d bytes of heap, budget %d", held, budget)
			}
		})
	}
}
