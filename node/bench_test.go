package node

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkUpdate measures a local update on each built-in type (no
// networking): mutate, encode the delta, notify.
func BenchmarkUpdate(b *testing.B) {
	ctx := context.Background()
	n := openLocal(b, Config{Name: "bench"})
	g, _ := GCounter(n, "g")
	s, _ := ORSet[string](n, "s")
	m, _ := LWWMap[string, string](n, "m")
	b.Run("GCounter", func(b *testing.B) {
		for b.Loop() {
			_ = g.Inc(ctx, 1)
		}
	})
	b.Run("ORSet", func(b *testing.B) {
		i := 0
		for b.Loop() {
			_ = s.Add(ctx, fmt.Sprintf("item-%02d", i%64))
			i++
		}
	})
	b.Run("LWWMap", func(b *testing.B) {
		i := 0
		for b.Loop() {
			_ = m.Set(ctx, fmt.Sprintf("k%02d", i%32), "value")
			i++
		}
	})
}

// BenchmarkMergeDelta measures merging a received one-element delta into a
// set of 64 elements written by 32 replicas (decode, novelty check,
// merge), the cost the gossip worker pays per received delta.
func BenchmarkMergeDelta(b *testing.B) {
	ctx := context.Background()
	dst := openLocal(b, Config{Name: "dst"})
	var deltas [][]byte
	for r := range 32 {
		src := openLocal(b, Config{Name: fmt.Sprintf("r%d", r)})
		s, _ := ORSet[string](src, "s")
		for i := range 64 {
			if i%32 == r {
				_ = s.Add(ctx, fmt.Sprintf("item-%02d", i))
			}
		}
		_, _ = (*replica)(dst).Merge("s", encodeOf(b, src, "s"))
		// A fresh delta: one more add on src.
		d := openLocal(b, Config{Name: fmt.Sprintf("d%d", r)})
		ds, _ := ORSet[string](d, "s")
		_ = ds.Add(ctx, fmt.Sprintf("new-%d", r))
		deltas = append(deltas, encodeOf(b, d, "s"))
	}
	r := (*replica)(dst)
	for _, d := range deltas {
		_, _ = r.Merge("s", d)
	}
	size := dst.Status().Objects[0].Size
	// Every delta is now known: these merges change nothing, the common
	// case under gossip. "decoded" forgets the seen set first, so it pays
	// decode + clone + merge + compare; "seen" drops the blob by hash.
	b.Run("decoded", func(b *testing.B) {
		b.ReportMetric(float64(size), "state-bytes")
		i := 0
		for b.Loop() {
			dst.mu.Lock()
			dst.seen = seenSet{}
			dst.mu.Unlock()
			if _, err := r.Merge("s", deltas[i%len(deltas)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("seen", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := r.Merge("s", deltas[i%len(deltas)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
