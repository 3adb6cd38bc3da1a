package crdt

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
)

// cloudBlob encodes an empty ORSet whose context holds n gapped cloud dots
// of replica "x" (counters 3, 5, 7, …): the planted dot cloud of issue 9,
// finding 5.
func cloudBlob(n int) []byte {
	cloud := make([]any, 0, 2*n)
	for i := range n {
		cloud = append(cloud, "x", uint64(3+2*i))
	}
	return newORSetEnc(3, 1, 4).ctx(nil, cloud).entries(0).bytes()
}

// The decoder bounds the cloud: 400,000 gapped dots (3 MB in the issue)
// are refused, MaxCloudDots are accepted.
func TestCausalContextDecoderBoundsCloud(t *testing.T) {
	big := cloudBlob(400_000)
	if err := NewORSet[string]().UnmarshalBinary(big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("cloud of 400,000 dots (%d bytes): %v, want ErrTooLarge", len(big), err)
	}
	s := NewORSet[string]()
	if err := s.UnmarshalBinary(cloudBlob(MaxCloudDots)); err != nil {
		t.Fatalf("cloud of MaxCloudDots: %v", err)
	}
	if got := s.ctx.CloudLen(); got != MaxCloudDots {
		t.Fatalf("CloudLen = %d, want %d", got, MaxCloudDots)
	}
}

// Add and a small Merge on a key with a planted cloud touch only the
// replicas they change: the planted replica's cloud stays as it is, and
// filling its first gap absorbs exactly the run it joins.
func TestCausalContextCompactionIsLocal(t *testing.T) {
	s := NewORSet[string]()
	if err := s.UnmarshalBinary(cloudBlob(1000)); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		s.Add("me", fmt.Sprint(i))
	}
	if got := s.ctx.Vector().Get("me"); got != 100 {
		t.Fatalf("own counter %d, want 100", got)
	}
	if got := s.ctx.CloudLen(); got != 1000 {
		t.Fatalf("CloudLen = %d, want 1000", got)
	}
	// x:1 and x:2 fill the gap below x:3; x:4 then joins x:5, and so on:
	// adding x:1, x:2 and x:4 absorbs x:3 and x:5.
	d := NewORSet[string]()
	for _, c := range []uint64{1, 2, 4} {
		d.ctx.Add(Dot{Replica: "x", Counter: c})
	}
	if !s.MergeChanged(d) {
		t.Fatal("merge of new events reported no change")
	}
	if got := s.ctx.Vector().Get("x"); got != 5 {
		t.Fatalf("x's vector entry %d after filling two gaps, want 5 (%v)", got, s.ctx.Vector())
	}
	if got := s.ctx.CloudLen(); got != 998 {
		t.Fatalf("CloudLen = %d, want 998", got)
	}
	checkCompact(t, &s.ctx)
}

// BenchmarkORSetAddPlantedCloud measures a local Add on a set whose
// context holds a planted cloud of n gapped dots of another replica
// (issue 9, finding 5: 0.55 s per Add at 400,000 dots before the fix, which
// sorted the whole cloud on every Add).
func BenchmarkORSetAddPlantedCloud(b *testing.B) {
	for _, n := range []int{1_000, 100_000, MaxCloudDots} {
		b.Run(fmt.Sprintf("cloud=%d", n), func(b *testing.B) {
			s := NewORSet[string]()
			if err := s.UnmarshalBinary(cloudBlob(n)); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				s.Add("me", fmt.Sprint(i))
				i++
			}
		})
	}
}

// BenchmarkDecodePlantedCloud decodes a set whose context holds 262,144
// gapped cloud dots and reports the heap the decoded state holds per input
// byte (the victim memory / attacker bytes ratio of issue 9, finding 5).
func BenchmarkDecodePlantedCloud(b *testing.B) {
	in := cloudBlob(1 << 18)
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := NewORSet[string]()
		if err := s.UnmarshalBinary(in); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/float64(len(in)), "heap/input-byte")
		runtime.KeepAlive(s)
	}
}
