package node

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkFloodNewKeys sends 64 MiB of valid ORSet states (4 KiB elements)
// for new keys to a node with MaxBytes 16 MiB and reports the heap they
// pin per byte sent (issue 9, finding 4: 57 MiB of valid states grew the
// heap by 499 MiB on dbc6c32, which had no byte budget).
func BenchmarkFloodNewKeys(b *testing.B) {
	const total, size = 64 << 20, 4 << 10
	blobs := make([][]byte, 0, total/size)
	for i := range total / size {
		blobs = append(blobs, setBlob(b, "evil~1", size-len(fmt.Sprint(i))))
	}
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		n, err := Open(Config{Name: "victim", MaxBytes: 16 << 20})
		if err != nil {
			b.Fatal(err)
		}
		sent, accepted := 0, 0
		for i, blob := range blobs {
			sent += len(blob)
			if _, err := (*replica)(n).Merge(fmt.Sprint("k", i), blob); err == nil {
				accepted += len(blob)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		b.ReportMetric(heap/float64(sent), "heap/sent-byte")
		b.ReportMetric(float64(accepted)/(1<<20), "accepted-MiB")
		b.ReportMetric(heap/(1<<20), "heap-MiB")
		runtime.KeepAlive(n)
		_ = n.Close()
	}
}
