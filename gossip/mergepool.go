package gossip

import (
	"sync"
	"sync/atomic"
)

// The receive path has two stages:
//
//	memberlist callback -> inbound queue -> worker (one goroutine)
//	    decodes, validates, runs anti-entropy bookkeeping and reassembly;
//	    every blob to merge becomes a mergeJob for its key
//	-> mergePool (Config.MergeWorkers goroutines)
//	    Replica.Merge, and forwarding of deltas that were new
//
// Jobs of one key run one at a time, in the order the worker submitted them
// (a key is never merged by two goroutines at once), while jobs of other
// keys run on the other workers: a large state that takes seconds to decode
// and merge holds up later blobs for its own key only, not small updates
// for every other key. Extensions (batches of keys per message, new
// message types) submit one job per key and keep both properties.

// mergeJob is one blob to merge into its key.
type mergeJob struct {
	from    Origin
	e       entry
	forward bool      // a MsgDelta: spread it on if it was new
	ref     *inflight // released when the job is done
	do      func()    // if set, run instead of merging e (requests, replies)
}

// keyJobs are the queued jobs of one key. A keyJobs is in mergePool.keys
// while it has queued or running jobs, and in the ready channel at most
// once, when it has queued jobs and no worker is running it.
type keyJobs struct {
	key  string
	jobs []mergeJob // guarded by mergePool.mu
}

// Limits on queued merges: the inbound byte budget (InboundQueueBytes)
// also covers them, these bound the bookkeeping.
const (
	maxMergeJobs       = 4096 // queued jobs, all keys
	maxMergeJobsPerKey = 256  // queued jobs of one key
)

// mergePool runs merge jobs on a fixed set of goroutines. The blobs being
// merged at once total at most budget bytes (a blob over it runs alone):
// decoding takes memory in proportion to a blob's size (up to about ten
// times for large sets), so the budget bounds what merges hold beside the
// replica's state, however many workers there are.
type mergePool struct {
	mu      sync.Mutex
	keys    map[string]*keyJobs // guarded by mu
	pending int                 // guarded by mu; queued jobs, all keys
	ready   chan *keyJobs       // keys to run; capacity maxMergeJobs+workers, never full

	budget  int64      // bytes of blobs in merge at once
	bmu     sync.Mutex // guards inUse and closed; bcond waits on it
	bcond   *sync.Cond
	inUse   int64 // guarded by bmu
	bclosed bool  // guarded by bmu
}

func newMergePool(workers int, budget int64) *mergePool {
	p := &mergePool{
		keys:   make(map[string]*keyJobs),
		ready:  make(chan *keyJobs, maxMergeJobs+workers),
		budget: budget,
	}
	p.bcond = sync.NewCond(&p.bmu)
	return p
}

// acquire waits until n bytes (at most the whole budget) fit the merge
// budget and takes them. It returns the bytes taken, or -1 after close.
func (p *mergePool) acquire(n int64) int64 {
	n = min(n, p.budget)
	p.bmu.Lock()
	defer p.bmu.Unlock()
	for !p.bclosed && p.inUse > 0 && p.inUse+n > p.budget {
		p.bcond.Wait()
	}
	if p.bclosed {
		return -1
	}
	p.inUse += n
	return n
}

func (p *mergePool) releaseBudget(n int64) {
	p.bmu.Lock()
	p.inUse -= n
	p.bmu.Unlock()
	p.bcond.Broadcast()
}

// close wakes the workers waiting for budget, for Close.
func (p *mergePool) close() {
	p.bmu.Lock()
	p.bclosed = true
	p.bmu.Unlock()
	p.bcond.Broadcast()
}

// submit queues j behind the other jobs of its key. It never blocks; it
// returns false (the caller counts a drop; anti-entropy repairs it) when the
// pool or the key's queue is full.
func (p *mergePool) submit(j mergeJob) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending >= maxMergeJobs {
		return false
	}
	kj := p.keys[j.e.Key]
	if kj == nil {
		kj = &keyJobs{key: j.e.Key}
		p.keys[j.e.Key] = kj
		// A key enters ready once per stay in keys, and keys holds at
		// most maxMergeJobs queued plus one running per worker: the send
		// cannot block.
		p.ready <- kj
	} else if len(kj.jobs) >= maxMergeJobsPerKey {
		return false
	}
	kj.jobs = append(kj.jobs, j)
	p.pending++
	j.ref.hold()
	return true
}

// take removes and returns kj's queued jobs, for the worker that runs it.
func (p *mergePool) take(kj *keyJobs) []mergeJob {
	p.mu.Lock()
	defer p.mu.Unlock()
	jobs := kj.jobs
	kj.jobs = nil
	p.pending -= len(jobs)
	return jobs
}

// finish is called by the worker that ran kj: jobs queued meanwhile go to
// the back of the ready queue (other keys first), else the key leaves.
func (p *mergePool) finish(kj *keyJobs) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(kj.jobs) > 0 {
		p.ready <- kj
		return
	}
	delete(p.keys, kj.key)
}

// mergeWorker runs keys from the pool until Close.
func (g *Gossip) mergeWorker() {
	defer g.wg.Done()
	for {
		select {
		case <-g.done:
			return
		case kj := <-g.pool.ready:
			for _, j := range g.pool.take(kj) {
				if n := g.pool.acquire(int64(len(j.e.Blob))); n >= 0 {
					if !g.isClosed() {
						g.runJob(j)
					}
					g.pool.releaseBudget(n)
				}
				j.ref.release()
			}
			g.pool.finish(kj)
		}
	}
}

// runJob merges one blob and forwards a delta that was new.
func (g *Gossip) runJob(j mergeJob) {
	if j.do != nil {
		j.do()
		return
	}
	if g.merge(j.from, j.e) && j.forward {
		g.stats.forwarded.Add(1)
		_ = g.spread(j.e.Key, j.e.Blob, j.from.Name) // over MaxBlob only by a longer header: AE has it
	}
}

// inflight charges a received message's bytes to the inbound budget until
// the worker is done with it and every merge job holding one of its blobs
// has run.
type inflight struct {
	g    *Gossip
	size int64
	refs atomic.Int32
}

// newInflight returns the charge for a message of size bytes already
// counted in inboundBytes, held by the caller once.
func (g *Gossip) newInflight(size int) *inflight {
	f := &inflight{g: g, size: int64(size)}
	f.refs.Store(1)
	return f
}

func (f *inflight) hold() { f.refs.Add(1) }

func (f *inflight) release() {
	if f.refs.Add(-1) == 0 {
		f.g.inboundBytes.Add(-f.size)
	}
}
