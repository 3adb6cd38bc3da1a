package crdt

import (
	"fmt"
	"testing"
)

// benchGCounter returns a counter with n replicas "replica-0000"… whose
// counts are base+i.
func benchGCounter(tb testing.TB, n int, base uint64) *GCounter {
	g := NewGCounter()
	for i := range n {
		mustGInc(tb, g, ReplicaID(fmt.Sprintf("replica-%04d", i)), base+uint64(i))
	}
	return g
}

// BenchmarkGCounterMerge merges counters of 1000 replicas: into an empty
// counter, into a concurrent one (half the entries advance, including the
// Clone of the destination), and one already covered (the steady state of
// anti-entropy: nothing changes).
func BenchmarkGCounterMerge(b *testing.B) {
	const n = 1000
	a := benchGCounter(b, n, 1)
	c := benchGCounter(b, n, 1)
	for i := range n / 2 {
		mustGInc(b, c, ReplicaID(fmt.Sprintf("replica-%04d", 2*i)), 10)
	}
	b.Run("1k/into-empty", func(b *testing.B) {
		for b.Loop() {
			d := NewGCounter()
			d.Merge(a)
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "replicas/s")
	})
	b.Run("1k/concurrent", func(b *testing.B) {
		for b.Loop() {
			d := a.Clone()
			d.Merge(c)
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "replicas/s")
	})
	b.Run("1k/covered", func(b *testing.B) {
		d := a.Clone()
		d.Merge(c)
		for b.Loop() {
			d.Merge(a)
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "replicas/s")
	})
}

// BenchmarkGCounterInc increments one replica of a 1000-replica counter:
// the cached total keeps it independent of the replica count.
func BenchmarkGCounterInc(b *testing.B) {
	g := benchGCounter(b, 1000, 1)
	for b.Loop() {
		if _, err := g.Inc("replica-0500", 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGCounterEncode(b *testing.B) {
	g := benchGCounter(b, 1000, 1<<20)
	enc, err := g.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := g.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(enc)), "bytes/state") // after the loop, which resets metrics
}

func BenchmarkGCounterDecode(b *testing.B) {
	enc, err := benchGCounter(b, 1000, 1<<20).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		var g GCounter
		if err := g.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPNCounterEncodeDecode(b *testing.B) {
	c := NewPNCounter()
	for i := range 1000 {
		r := ReplicaID(fmt.Sprintf("replica-%04d", i))
		mustPN(b, c, "inc", r, uint64(1000+i))
		mustPN(b, c, "dec", r, uint64(i+1))
	}
	enc, err := c.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			if _, err := c.MarshalBinary(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			var d PNCounter
			if err := d.UnmarshalBinary(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCausalContextMerge merges two contexts of 1000 replicas whose
// clouds (100 dots each) fill each other's gaps.
func BenchmarkCausalContextMerge(b *testing.B) {
	x, y := NewCausalContext(), NewCausalContext()
	for i := range 1000 {
		r := ReplicaID(fmt.Sprintf("replica-%04d", i))
		x.Add(Dot{r, 1})
		y.Add(Dot{r, 1})
		if i%10 == 0 {
			x.Add(Dot{r, 3})
			y.Add(Dot{r, 2})
		}
	}
	for b.Loop() {
		z := x.Clone()
		z.Merge(y)
	}
}

func BenchmarkClock(b *testing.B) {
	b.Run("Now", func(b *testing.B) {
		var c Clock
		wall := int64(1_700_000_000_000_000_000)
		for b.Loop() {
			wall++
			c.Now(wall)
		}
	})
	b.Run("Observe", func(b *testing.B) {
		var c Clock
		wall := int64(1_700_000_000_000_000_000)
		for b.Loop() {
			wall++
			if _, err := c.Observe(HLC{Wall: wall, Logical: 3}, wall); err != nil {
				b.Fatal(err)
			}
		}
	})
}
