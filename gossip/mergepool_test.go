package gossip

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// orderReplica records, per key, the blobs merged in order, and whether two
// merges of one key ever overlapped.
type orderReplica struct {
	mu      sync.Mutex
	order   map[string][]string // guarded by mu
	active  map[string]int      // guarded by mu
	overlap bool                // guarded by mu
	running int                 // guarded by mu; merges in progress, all keys
	maxRun  int                 // guarded by mu
}

func (r *orderReplica) Digests() (uint64, []KeyDigest)             { return 0, nil }
func (r *orderReplica) Encode(string) ([]byte, bool, error)        { return nil, false, nil }
func (r *orderReplica) Join(_ string, a, _ []byte) ([]byte, error) { return a, nil }

func (r *orderReplica) Merge(key string, blob []byte) (bool, error) {
	r.mu.Lock()
	r.active[key]++
	r.running++
	r.maxRun = max(r.maxRun, r.running)
	r.overlap = r.overlap || r.active[key] > 1
	r.order[key] = append(r.order[key], string(blob))
	r.mu.Unlock()
	time.Sleep(time.Millisecond)
	r.mu.Lock()
	r.active[key]--
	r.running--
	r.mu.Unlock()
	return false, nil
}

// TestMergesOfOneKeyStayOrdered: the pool merges the jobs of one key one at
// a time in the order they were submitted, and different keys in parallel
// up to MergeWorkers.
func TestMergesOfOneKeyStayOrdered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &orderReplica{order: map[string][]string{}, active: map[string]int{}}
		const workers = 3
		g := &Gossip{r: r, log: slog.New(slog.DiscardHandler), pool: newMergePool(workers, 1<<30), done: make(chan struct{})}
		g.wg.Add(workers)
		for range workers {
			go g.mergeWorker()
		}
		ref := g.newInflight(0)
		const keys, per = 5, 50
		for i := range per {
			for k := range keys {
				if !g.pool.submit(mergeJob{e: entry{Key: fmt.Sprintf("k%d", k), Blob: fmt.Appendf(nil, "%03d", i)}, ref: ref}) {
					t.Fatal("pool refused a job under its limits")
				}
			}
		}
		ref.release()
		synctest.Wait()
		for g.inboundBytes.Load() != 0 || ref.refs.Load() != 0 {
			time.Sleep(time.Millisecond)
		}
		close(g.done)
		g.wg.Wait()
		if r.overlap {
			t.Error("two merges of one key ran at once")
		}
		if r.maxRun != workers {
			t.Errorf("at most %d merges ran at once, want %d", r.maxRun, workers)
		}
		for k, got := range r.order {
			if len(got) != per {
				t.Errorf("key %s: %d merges, want %d", k, len(got), per)
			}
			for i := range got {
				if got[i] != fmt.Sprintf("%03d", i) {
					t.Fatalf("key %s merged out of order: %v", k, got)
				}
			}
		}
	})
}

func TestMergePoolLimits(t *testing.T) {
	g := &Gossip{pool: newMergePool(1, 1<<30)}
	ref := g.newInflight(0)
	for i := range maxMergeJobsPerKey {
		if !g.pool.submit(mergeJob{e: entry{Key: "k"}, ref: ref}) {
			t.Fatalf("job %d refused", i)
		}
	}
	if g.pool.submit(mergeJob{e: entry{Key: "k"}, ref: ref}) {
		t.Error("accepted a job over the per-key limit")
	}
	for i := maxMergeJobsPerKey; i < maxMergeJobs; i++ {
		if !g.pool.submit(mergeJob{e: entry{Key: fmt.Sprint(i)}, ref: ref}) {
			t.Fatalf("job %d refused", i)
		}
	}
	if g.pool.submit(mergeJob{e: entry{Key: "other"}, ref: ref}) {
		t.Error("accepted a job over the pool limit")
	}
}

// TestMergeBudget: blobs that together exceed MergeBytes are not merged at
// once; a blob over the whole budget runs alone.
func TestMergeBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &orderReplica{order: map[string][]string{}, active: map[string]int{}}
		const workers = 4
		g := &Gossip{r: r, log: slog.New(slog.DiscardHandler), pool: newMergePool(workers, 100), done: make(chan struct{})}
		g.wg.Add(workers)
		for range workers {
			go g.mergeWorker()
		}
		ref := g.newInflight(0)
		for k := range 8 {
			blob := make([]byte, 60) // two never fit the budget of 100
			if k%2 == 1 {
				blob = make([]byte, 500) // over the whole budget
			}
			g.pool.submit(mergeJob{e: entry{Key: fmt.Sprintf("k%d", k), Blob: blob}, ref: ref})
		}
		ref.release()
		for ref.refs.Load() != 0 {
			time.Sleep(time.Millisecond)
		}
		close(g.done)
		g.pool.close()
		g.wg.Wait()
		if r.maxRun != 1 {
			t.Errorf("%d merges ran at once over a budget that fits one", r.maxRun)
		}
	})
}
