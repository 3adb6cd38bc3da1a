package crdt

import (
	"fmt"
	"testing"
)

const lwwBenchKeys = 100_000

// lwwBenchPair returns two 100 k-key maps written by different replicas.
// They share half their keys, and each side wins half of the shared keys;
// one key in ten of b is a tombstone.
func lwwBenchPair() (a, b *LWWMap[string, string]) {
	a, b = NewLWWMap[string, string](), NewLWWMap[string, string]()
	const base = 1_795_000_000_000_000_000
	for j := range lwwBenchKeys * 3 / 2 {
		k := fmt.Sprintf("key/%07d", j)
		if j < lwwBenchKeys {
			a.Set("node-a", HLC{Wall: base + int64(j)}, k, "value of "+k)
		}
		if j < lwwBenchKeys/2 {
			continue
		}
		ts := HLC{Wall: base + int64(j) + 1}
		if j%2 == 1 {
			ts.Wall -= 2
		}
		if j%10 == 0 {
			b.Delete("node-b", ts, k)
		} else {
			b.Set("node-b", ts, k, "value of "+k)
		}
	}
	return a, b
}

// BenchmarkLWWMapMerge merges one 100 k-key map into a copy of another.
// The copy is made outside the timer.
func BenchmarkLWWMapMerge(b *testing.B) {
	x, y := lwwBenchPair()
	benchMerge(b, x, y, len(y.entries), "keys")
}

// BenchmarkLWWMapMarshal encodes a 100 k-key map; MB/s counts encoded bytes.
func BenchmarkLWWMapMarshal(b *testing.B) {
	x, _ := lwwBenchPair()
	enc, err := x.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	lwwBenchCodec(b, len(enc), len(x.entries), func() {
		if _, err := x.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkLWWMapUnmarshal decodes a 100 k-key map; MB/s counts input bytes.
func BenchmarkLWWMapUnmarshal(b *testing.B) {
	_, y := lwwBenchPair()
	enc, err := y.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	lwwBenchCodec(b, len(enc), len(y.entries), func() {
		if err := NewLWWMap[string, string]().UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	})
}

// lwwBenchCodec runs op, which handles n bytes holding keys entries, and
// reports what benchCodec does and keys/s.
func lwwBenchCodec(b *testing.B, n, keys int, op func()) {
	benchCodec(b, n, op)
	b.ReportMetric(float64(keys)*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
}

// BenchmarkLWWMapMergeIntoEmpty merges a 100 k-key map into an empty one,
// as a fresh replica taking a full state does.
func BenchmarkLWWMapMergeIntoEmpty(b *testing.B) {
	_, y := lwwBenchPair()
	for b.Loop() {
		NewLWWMap[string, string]().Merge(y)
	}
	b.ReportMetric(float64(len(y.entries))*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
}
