package crdt

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

const orsetBenchN = 100_000

func orsetBenchElem(i int) string { return fmt.Sprintf("agent-%07d", i) }

// orsetBenchSet returns a set of n elements [from, from+n) added round-robin
// by three replicas.
func orsetBenchSet(prefix string, from, n int) *ORSet[string] {
	s := NewORSet[string]()
	reps := []ReplicaID{ReplicaID(prefix + "-1"), ReplicaID(prefix + "-2"), ReplicaID(prefix + "-3")}
	for i := from; i < from+n; i++ {
		s.Add(reps[i%3], orsetBenchElem(i))
	}
	return s
}

// BenchmarkORSetMerge merges two 100 k-element replicas into a clone of the
// first and reports elements per second, counting the elements of both
// sides (target: at least 4 M/s).
func BenchmarkORSetMerge(b *testing.B) {
	disjoint := func() (*ORSet[string], *ORSet[string]) {
		return orsetBenchSet("a", 0, orsetBenchN), orsetBenchSet("b", orsetBenchN, orsetBenchN)
	}
	identical := func() (*ORSet[string], *ORSet[string]) {
		a := orsetBenchSet("a", 0, orsetBenchN)
		return a, a.Clone()
	}
	// overlapping: both start from the same 100 k elements, then each
	// replica independently adds 10 k new elements, removes 10 k and
	// re-adds 10 k (a concurrent add of an element the other keeps).
	overlapping := func() (*ORSet[string], *ORSet[string]) {
		a := orsetBenchSet("base", 0, orsetBenchN)
		o := a.Clone()
		for i := range 10_000 {
			a.Add("a", orsetBenchElem(orsetBenchN+i))
			a.Remove(orsetBenchElem(i))
			a.Add("a", orsetBenchElem(20_000+i))
			o.Add("o", orsetBenchElem(2*orsetBenchN+i))
			o.Remove(orsetBenchElem(10_000 + i))
			o.Add("o", orsetBenchElem(30_000+i))
		}
		return a, o
	}
	for _, bc := range []struct {
		name string
		make func() (*ORSet[string], *ORSet[string])
	}{
		{"disjoint", disjoint},
		{"overlapping", overlapping},
		{"identical", identical},
	} {
		b.Run(bc.name, func(b *testing.B) {
			a, o := bc.make()
			benchMerge(b, a, o, a.Len()+o.Len(), "elements")
		})
	}
}

// BenchmarkORSetMemory reports the heap held per live element by a set of
// 100 k string elements ("agent-0000042", 13 bytes) added by three
// replicas, and again after removing half of them (target: at most 120
// bytes, and no growth after removes: the total after is at most the total
// before).
func BenchmarkORSetMemory(b *testing.B) {
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var full, half, ratio float64
	for b.Loop() {
		base := heap()
		s := orsetBenchSet("r", 0, orsetBenchN)
		before := heap()
		for i := 0; i < orsetBenchN; i += 2 {
			s.Remove(orsetBenchElem(i))
		}
		after := heap()
		runtime.KeepAlive(s)
		full = float64(before-base) / orsetBenchN
		half = float64(after-base) / float64(s.Len())
		ratio = float64(after-base) / float64(before-base)
	}
	b.ReportMetric(full, "B/elem")
	b.ReportMetric(half, "B/elem-after-removing-half")
	b.ReportMetric(ratio, "heap-after/heap-before")
}

// orsetBenchInts returns n int64 elements added round-robin by three
// replicas: the generic (msgpack) element path, where strings take a fast
// path.
func orsetBenchInts(n int) *ORSet[int64] {
	s := NewORSet[int64]()
	for i := range n {
		s.Add(ReplicaID(fmt.Sprint("r-", i%3)), int64(i)*7919)
	}
	return s
}

func BenchmarkORSetEncode(b *testing.B) {
	b.Run("string", func(b *testing.B) { orsetBenchEncode(b, orsetBenchSet("r", 0, orsetBenchN)) })
	b.Run("int64", func(b *testing.B) { orsetBenchEncode(b, orsetBenchInts(orsetBenchN)) })
}

func BenchmarkORSetDecode(b *testing.B) {
	b.Run("string", func(b *testing.B) { orsetBenchDecode(b, orsetBenchSet("r", 0, orsetBenchN)) })
	b.Run("int64", func(b *testing.B) { orsetBenchDecode(b, orsetBenchInts(orsetBenchN)) })
}

func orsetBenchEncode[E comparable](b *testing.B, s *ORSet[E]) {
	enc, err := s.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	benchCodec(b, len(enc), func() {
		if _, err := s.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	})
}

func orsetBenchDecode[E comparable](b *testing.B, s *ORSet[E]) {
	enc, err := s.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	benchCodec(b, len(enc), func() {
		if err := NewORSet[E]().UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	})
}

// benchCodec runs op, which handles n bytes of encoding, and reports MB/s
// (wall), MB per CPU-second and the size of the encoding.
func benchCodec(b *testing.B, n int, op func()) {
	b.SetBytes(int64(n))
	b.ReportAllocs()
	c0, ok0 := processCPU()
	for b.Loop() {
		op()
	}
	c1, ok1 := processCPU()
	if ok0 && ok1 && c1 > c0 {
		b.ReportMetric(float64(n)*float64(b.N)/1e6/(c1-c0).Seconds(), "MB/cpu-s")
	}
	b.ReportMetric(float64(n), "bytes/encoding")
}

// BenchmarkORSetMergeDelta merges the delta of one Add (of a new element)
// or of one Remove, made by another replica, into a set of 1 k, 10 k and
// 100 k elements: what a replica does for every delta it receives. It
// reports ns per merge (wall) and CPU ns per merge. The receiver keeps its
// size: between batches of deltas, the elements added are removed again
// (untimed).
func BenchmarkORSetMergeDelta(b *testing.B) {
	const batch = 256
	for _, n := range []int{1_000, 10_000, orsetBenchN} {
		for _, kind := range []string{"add", "remove"} {
			b.Run(fmt.Sprintf("%s/%dk", kind, n/1000), func(b *testing.B) {
				s := orsetBenchSet("r", 0, n)
				sender := NewORSet[string]()
				elem := func(j int) string { return fmt.Sprintf("new-%04d", j) }
				// next makes the next batch of deltas and, for removes,
				// merges the adds they remove.
				next := func() []*ORSet[string] {
					ds := make([]*ORSet[string], batch)
					for j := range ds {
						add := sender.Add("x", elem(j))
						rm := sender.Remove(elem(j))
						if kind == "add" {
							s.Remove(elem(j)) // undo the last batch's merge
							ds[j] = add
						} else {
							s.Merge(add)
							ds[j] = rm
						}
					}
					return ds
				}
				ds, i := next(), 0
				b.ReportAllocs()
				var cpu time.Duration
				cpuOK := true
				c0, ok0 := processCPU()
				for b.Loop() {
					if i == len(ds) {
						b.StopTimer()
						c1, ok1 := processCPU()
						cpu += c1 - c0
						cpuOK = cpuOK && ok0 && ok1
						ds, i = next(), 0
						c0, ok0 = processCPU()
						b.StartTimer()
					}
					s.Merge(ds[i])
					i++
				}
				c1, ok1 := processCPU()
				cpu += c1 - c0
				if cpuOK && ok0 && ok1 && cpu > 0 {
					b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}

// benchMerge times merging other into a clone of base, once per iteration;
// the clone and a garbage collection (so that each merge is charged only
// for its own garbage) are outside the timer. It reports items merged per
// second, wall and CPU time.
func benchMerge[T CRDT[T]](b *testing.B, base, other T, items int, unit string) {
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	cpuOK := true
	for b.Loop() {
		b.StopTimer()
		x := base.Clone()
		runtime.GC()
		c0, ok0 := processCPU()
		b.StartTimer()
		x.Merge(other)
		b.StopTimer()
		c1, ok1 := processCPU()
		cpu += c1 - c0
		cpuOK = cpuOK && ok0 && ok1
		b.StartTimer()
	}
	n := float64(items) * float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), unit+"/s")
	if cpuOK && cpu > 0 {
		// Wall time on a loaded machine includes waiting for a CPU; this
		// is the rate per second of CPU actually used.
		b.ReportMetric(n/cpu.Seconds(), unit+"/cpu-s")
	}
}

// BenchmarkORSetRemove removes one element from a set of 1 k and 100 k
// elements (and adds it back, untimed): the cost of Remove and the size of
// its delta must not grow with the set.
func BenchmarkORSetRemove(b *testing.B) {
	for _, n := range []int{1_000, orsetBenchN} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			s := orsetBenchSet("r", 0, n)
			var size int
			i := 0
			for b.Loop() {
				e := orsetBenchElem(i % n)
				d := s.Remove(e)
				b.StopTimer()
				enc, err := d.MarshalBinary()
				if err != nil {
					b.Fatal(err)
				}
				size += len(enc)
				s.Add(ReplicaID("r-1"), e)
				i++
				b.StartTimer()
			}
			b.ReportMetric(float64(size)/float64(b.N), "delta-bytes")
		})
	}
}
