package node

import (
	"math"
	"sync/atomic"
	"time"
)

// HistogramSnapshot is a histogram's state: Counts[i] observations at most
// Bounds[i] (cumulative, as Prometheus buckets), Count in all, Sum of the
// observed values.
type HistogramSnapshot struct {
	Bounds []float64 // upper bounds, increasing; +Inf is implied
	Counts []uint64  // cumulative, len(Bounds)
	Count  uint64
	Sum    float64
}

// latencyBounds are the merge latency buckets in seconds: 10 µs to about
// 2.6 s, doubling.
var latencyBounds = func() []float64 {
	b := make([]float64, 19)
	for i := range b {
		b[i] = 10e-6 * math.Pow(2, float64(i))
	}
	return b
}()

// histogram is a lock-free duration histogram over latencyBounds.
type histogram struct {
	buckets [20]atomic.Uint64 // per bucket (not cumulative); the last is +Inf
	count   atomic.Uint64
	sumNano atomic.Uint64
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(latencyBounds) && s > latencyBounds[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sumNano.Add(uint64(max(d, 0)))
	h.count.Add(1)
}

func (h *histogram) snapshot() HistogramSnapshot {
	s := HistogramSnapshot{Bounds: latencyBounds, Counts: make([]uint64, len(latencyBounds))}
	var cum uint64
	for i := range latencyBounds {
		cum += h.buckets[i].Load()
		s.Counts[i] = cum
	}
	s.Count = cum + h.buckets[len(latencyBounds)].Load()
	s.Sum = float64(h.sumNano.Load()) / 1e9
	return s
}
