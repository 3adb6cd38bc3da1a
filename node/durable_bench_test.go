package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/node/store"
)

// BenchmarkDurableUpdate measures GCounter increments from 1, 8 and 64
// concurrent writers (one key each) in memory, with a data directory and
// one commit (fsync) per update, with group commit (the default), and with
// group commit but no fsync (what bbolt and encoding cost without the disk).
// It reports updates/s, latency percentiles, and for the durable modes the
// updates per commit and the share of wall time spent in commits (bbolt and
// fsync).
//
//	go test ./node -run '^$' -bench BenchmarkDurableUpdate -benchtime 2s
func BenchmarkDurableUpdate(b *testing.B) {
	modes := []struct {
		name string
		cfg  func(dir string) Config
	}{
		{"memory", func(string) Config { return Config{Name: "bench", Logger: quietLogger()} }},
		{"per-update-commit", func(dir string) Config {
			return Config{Name: "bench", Logger: quietLogger(), DataDir: dir, disk: diskKnobs{maxBatch: 1}}
		}},
		{"group-commit", func(dir string) Config { return Config{Name: "bench", Logger: quietLogger(), DataDir: dir} }},
		{"group-commit-nosync", func(dir string) Config {
			return Config{Name: "bench", Logger: quietLogger(), DataDir: dir, disk: diskKnobs{noSync: true}}
		}},
	}
	for _, m := range modes {
		for _, writers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", m.name, writers), func(b *testing.B) {
				n := openLocal(b, m.cfg(b.TempDir()))
				benchWriters(b, n, writers)
			})
		}
	}
}

func benchWriters(b *testing.B, n *Node, writers int) {
	ctx := context.Background()
	handles := make([]*GCounterHandle, writers)
	for w := range handles {
		var err error
		if handles[w], err = GCounter(n, fmt.Sprint("c", w)); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([][]time.Duration, writers)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		each := b.N / writers
		if w < b.N%writers {
			each++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := make([]time.Duration, 0, each)
			for range each {
				t0 := time.Now()
				if err := handles[w].Inc(ctx, 1); err != nil {
					b.Error(err)
					return
				}
				l = append(l, time.Since(t0))
			}
			lat[w] = l
		}()
	}
	wg.Wait()
	took := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) }
	b.ReportMetric(float64(len(all))/took.Seconds(), "updates/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	if n.disk != nil {
		st := n.disk.g.Stats()
		if st.Commits > 0 {
			b.ReportMetric(float64(len(all))/float64(st.Commits), "updates/commit")
			b.ReportMetric(100*st.CommitTime.Seconds()/took.Seconds(), "%commit")
		}
	}
	b.ReportMetric(0, "ns/op")
}

// writeStates puts one snapshot per (key, state) directly into dir's store,
// in large transactions: setup for the open benchmarks.
func writeStates(b *testing.B, dir string, keys int, state func(i int) (crdt.TypeTag, []byte)) {
	st, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var ops []store.Op
	for i := range keys {
		tag, data := state(i)
		ops = append(ops, store.Op{Kind: store.OpPut, Key: fmt.Sprintf("key-%07d", i), Tag: uint16(tag), Data: data})
		if len(ops) == 10_000 || i == keys-1 {
			if err := st.Apply(ops); err != nil {
				b.Fatal(err)
			}
			ops = ops[:0]
		}
	}
}

// BenchmarkDurableOpen measures Open (load and decode every key, record
// the new epoch) and Close of a store of 100,000 counters and of a store
// with one OR-Set of 1,000,000 elements.
//
//	go test ./node -run '^$' -bench BenchmarkDurableOpen -benchtime 3x
func BenchmarkDurableOpen(b *testing.B) {
	b.Run("keys=100000", func(b *testing.B) {
		dir := b.TempDir()
		writeStates(b, dir, 100_000, func(i int) (crdt.TypeTag, []byte) {
			g := crdt.NewGCounter()
			_, _ = g.Inc(crdt.ReplicaID(fmt.Sprintf("w~%d", i%7+1)), uint64(i+1))
			enc, _ := g.MarshalBinary()
			return crdt.TagGCounter, enc
		})
		benchOpen(b, dir, 100_000)
	})
	b.Run("orset-elements=1000000", func(b *testing.B) {
		dir := b.TempDir()
		writeStates(b, dir, 1, func(int) (crdt.TypeTag, []byte) {
			s := crdt.NewORSet[rawValue]()
			for i := range 1_000_000 {
				raw, _ := toRaw(fmt.Sprintf("element-%07d", i))
				s.Add(crdt.ReplicaID(fmt.Sprintf("w~%d", i%5+1)), raw)
			}
			enc, _ := s.MarshalBinary()
			return crdt.TagORSet, enc
		})
		benchOpen(b, dir, 1)
	})
}

func benchOpen(b *testing.B, dir string, keys int) {
	size, _ := fileSize(filepath.Join(dir, "converge.db"))
	b.ReportMetric(float64(size)/(1<<20), "store-MiB")
	for b.Loop() {
		n, err := Open(Config{Name: "bench", Logger: quietLogger(), DataDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if got := len(n.Keys()); got != keys {
			b.Fatalf("%d keys loaded, want %d", got, keys)
		}
		if err := n.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// BenchmarkDurableStoreSize makes 1,000,000 updates to 1,000 keys (64
// writers, group commit, fsync off: the layout is the same) and reports the
// store's size divided by the encoded size of the state: the file and the
// bbolt pages in use while open (snapshots plus logs not yet folded; bbolt
// grows the file ahead in steps), and the file after Close (everything
// folded, free pages compacted away when they are many),
// for counters (a tiny state per key) and for sets (each update adds an
// element: 1,000 per key).
//
//	go test ./node -run '^$' -bench BenchmarkDurableStoreSize -benchtime 1x
func BenchmarkDurableStoreSize(b *testing.B) {
	const updates, keys, writers = 1_000_000, 1_000, 64
	for _, kind := range []string{"gcounter", "orset"} {
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				dir := b.TempDir()
				n, err := Open(Config{Name: "bench", Logger: quietLogger(), DataDir: dir, MaxObjects: keys, disk: diskKnobs{noSync: true}})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				var wg sync.WaitGroup
				for w := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := w; i < updates; i += writers {
							key := fmt.Sprint("k", i%keys)
							var err error
							if kind == "gcounter" {
								h, _ := GCounter(n, key)
								err = h.Inc(ctx, 1)
							} else {
								h, _ := ORSet[int](n, key)
								err = h.Add(ctx, i)
							}
							if err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				state := 0
				for _, k := range n.Keys() {
					blob, _, err := (*replica)(n).Encode(k)
					if err != nil {
						b.Fatal(err)
					}
					state += len(blob)
				}
				must(b, n.Sync(ctx))
				used, _, file := n.disk.st.Usage()
				must(b, n.Close())
				closed, _ := fileSize(filepath.Join(dir, "converge.db"))
				b.ReportMetric(float64(state)/(1<<20), "state-MiB")
				b.ReportMetric(float64(file)/float64(state), "file/state-open")
				b.ReportMetric(float64(used)/float64(state), "pages/state-open")
				b.ReportMetric(float64(closed)/float64(state), "file/state-closed")
			}
		})
	}
}
