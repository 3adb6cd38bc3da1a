package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
	"github.com/converge-crdt/converge/node"
)

// result is the outcome of one local cluster run.
type result struct {
	converged bool
	updates   int
	incs      uint64        // counter increments, summed over nodes
	lag       time.Duration // from the last write to equal state
	rows      []row         // per node, at the end
	diff      string        // per-node difference, if not converged

	// Traffic, summed over nodes: gossip payload bytes (without
	// memberlist's own framing and probes) from the first write to
	// convergence, and while idle after it.
	busyBytes    uint64
	idleAERounds uint64
	idleAEBytes  uint64
	idleDelta    uint64        // delta bytes sent while idle (0: re-gossip stopped)
	idleMerged   uint64        // received blobs that changed state while idle (must be 0)
	idleMeasured bool          // the idle figures were measured
	drained      bool          // the broadcast queues emptied within drainWait
	drain        time.Duration // from convergence to empty broadcast queues

	// Cost of the busy phase (first write to convergence).
	intended int           // updates the workload meant to make: nodes x rate x duration
	cpu      time.Duration // process CPU time (0 where it cannot be read)
	drops    uint64        // messages dropped by gossip or memberlist queues, all nodes
	dropsBy  [3]uint64     // of which: inbound (and merge pool), memberlist handoff, send
	resent   uint64        // batches retransmitted (direct dissemination)
	gaveUp   uint64        // batch copies given up unacknowledged
}

// row is one node's line in the table.
type row struct {
	name    string
	addr    string
	members int
	updates int
	view    view
	sent    uint64
}

// localCluster is nodes in this process, on loopback.
type localCluster struct {
	nodes []*node.Node
	objs  []*objects
	lossy []*gossiptest.LossyTransport
}

// startCluster opens o.nodes nodes on 127.0.0.1 with free ports (through a
// packet-dropping transport if o.loss > 0) and joins them all through the
// first.
func startCluster(ctx context.Context, o *options, logger *slog.Logger, seed uint64) (*localCluster, error) {
	c := &localCluster{}
	for i := range o.nodes {
		cfg := node.DefaultConfig()
		cfg.Name = fmt.Sprintf("node-%02d", i+1)
		cfg.Logger = logger
		if o.epidemic {
			g := *cfg.Gossip
			g.Dissemination = gossip.DisseminateEpidemic
			cfg.Gossip = &g
		}
		if o.loss > 0 {
			tr, err := gossiptest.NewLoopbackTransport(o.loss, seed+uint64(i))
			if err != nil {
				c.close()
				return nil, err
			}
			g := *cfg.Gossip
			g.Transport = tr
			cfg.Gossip = &g
			c.lossy = append(c.lossy, tr)
		}
		n, err := node.Open(cfg)
		if err != nil {
			c.close()
			return nil, err
		}
		c.nodes = append(c.nodes, n)
		objs, err := openObjects(n, o.key)
		if err != nil {
			c.close()
			return nil, err
		}
		c.objs = append(c.objs, objs)
	}
	seedAddr := c.nodes[0].Addr()
	for _, n := range c.nodes[1:] {
		if _, err := n.Join(ctx, seedAddr); err != nil {
			c.close()
			return nil, fmt.Errorf("%s joins %s: %w", n.Name(), seedAddr, err)
		}
	}
	// Wait until every node sees every other. A node that is still short
	// after a few seconds (its join raced with failure detection, under
	// packet loss or CPU starvation) joins again.
	deadline := time.Now().Add(o.timeout)
	for _, n := range c.nodes {
		for {
			wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			err := n.WaitMembers(wctx, o.nodes)
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil || time.Now().After(deadline) {
				var counts []string
				for _, m := range c.nodes {
					counts = append(counts, fmt.Sprintf("%s:%d", m.Name(), m.NumMembers()))
				}
				c.close()
				return nil, fmt.Errorf("%s sees %d of %d members (%s): %w", n.Name(), n.NumMembers(), o.nodes, strings.Join(counts, " "), err)
			}
			_, _ = n.Join(ctx, seedAddr)
		}
	}
	return c, nil
}

// close closes all nodes in parallel (each leaves gracefully).
func (c *localCluster) close() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Go(func() { _ = n.Close() })
	}
	wg.Wait()
}

func (c *localCluster) sentBytes() uint64 {
	var sum uint64
	for _, n := range c.nodes {
		sum += n.GossipStats().SentBytes()
	}
	return sum
}

// drops sums, over every node, the messages dropped by full queues
// (gossip's inbound queue and merge pool, memberlist's handoff queue,
// gossip's send queue), the batches retransmitted and the batch copies
// given up.
func (c *localCluster) drops() (by [3]uint64, resent, gaveUp uint64) {
	for _, n := range c.nodes {
		st := n.GossipStats()
		by[0] += st.DroppedInbound
		by[1] += st.DroppedHandoff
		by[2] += st.DroppedSend
		resent += st.Retransmits
		gaveUp += st.GaveUp
	}
	return by, resent, gaveUp
}

// drained reports whether every node's broadcast queue is empty.
func (c *localCluster) drained() bool {
	for _, n := range c.nodes {
		if n.QueueLen() > 0 {
			return false
		}
	}
	return true
}

// equal reports whether all nodes hold the same state (equal root digests
// over all objects; the encodings are deterministic).
func (c *localCluster) equal() bool {
	root := c.nodes[0].Digest()
	for _, n := range c.nodes[1:] {
		if n.Digest() != root {
			return false
		}
	}
	return true
}

// runCluster runs the workload on a fresh cluster and waits for
// convergence.
func runCluster(ctx context.Context, o *options, logger *slog.Logger, seed uint64) (*result, error) {
	c, err := startCluster(ctx, o, logger, seed)
	if err != nil {
		return nil, err
	}
	defer c.close()
	return runClusterOn(ctx, c, o, seed)
}

// runClusterOn runs the workload on c and waits for convergence.
func runClusterOn(ctx context.Context, c *localCluster, o *options, seed uint64) (*result, error) {
	// Wake the convergence check on every change on any node.
	changed := make(chan struct{}, 1)
	for _, n := range c.nodes {
		cancel, err := n.Watch("", func(string) {
			select {
			case changed <- struct{}{}:
			default:
			}
		})
		if err != nil {
			return nil, err
		}
		defer cancel()
	}

	res := &result{intended: int(float64(len(c.nodes)) * o.rate * o.duration.Seconds())}
	startBytes := c.sentBytes()
	cpu0 := processCPU()
	by0, resent0, gaveUp0 := c.drops()
	lastWrite := make([]time.Time, len(c.nodes))
	var wg sync.WaitGroup
	end := time.Now().Add(o.duration)
	interval := time.Duration(float64(time.Second) / o.rate)
	var errOnce sync.Once
	var werr error
	for i, objs := range c.objs {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			// Stagger the nodes' ticks.
			time.Sleep(time.Duration(rng.Int64N(int64(interval) + 1)))
			t := time.NewTicker(interval)
			defer t.Stop()
			for time.Now().Before(end) {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if err := objs.step(ctx, rng); err != nil {
					errOnce.Do(func() { werr = err })
					return
				}
				lastWrite[i] = time.Now()
			}
		})
	}
	wg.Wait()
	if werr != nil {
		return nil, werr
	}
	var last time.Time
	for i, t := range lastWrite {
		if t.After(last) {
			last = t
		}
		res.updates += c.objs[i].updates
		res.incs += c.objs[i].incs
	}

	// Changes wake the check; a coarse tick is a safety net. After each
	// check the loop pauses for a few times what the check cost (it reads
	// every node's digest, under that node's lock), so the checker stays
	// a small part of the CPU at any cluster size. The convergence time is
	// taken when a check finds all digests equal.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for res.lag == 0 {
		start := time.Now()
		if c.equal() {
			res.converged = true
			res.lag = max(time.Since(last), time.Nanosecond)
			break
		}
		if time.Since(last) > o.timeout {
			break
		}
		pause := time.NewTimer(4 * time.Since(start))
		select {
		case <-pause.C:
		case <-ctx.Done():
			pause.Stop()
			return nil, ctx.Err()
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	res.busyBytes = c.sentBytes() - startBytes
	if cpu1 := processCPU(); cpu0 > 0 {
		res.cpu = cpu1 - cpu0
	}
	by, resent, gaveUp := c.drops()
	for i := range by {
		res.dropsBy[i] = by[i] - by0[i]
		res.drops += res.dropsBy[i]
	}
	res.resent, res.gaveUp = resent-resent0, gaveUp-gaveUp0

	if res.converged && o.idle > 0 {
		measureIdle(ctx, c, o.idle, res)
	}
	for i, n := range c.nodes {
		res.rows = append(res.rows, row{
			name: n.Name(), addr: n.Addr(), members: n.NumMembers(),
			updates: c.objs[i].updates, view: c.objs[i].view(), sent: n.GossipStats().SentBytes(),
		})
	}
	if !res.converged {
		res.diff = describeDiff(c)
	} else if got := c.objs[0].counter.Value(); got != res.incs {
		// Equal but wrong would be a bug in the lattice, not the network.
		res.converged = false
		res.diff = fmt.Sprintf("all nodes agree, but the counter is %d and %d increments were made\n", got, res.incs)
	}
	return res, nil
}

// aeTypes are the anti-entropy message types.
var aeTypes = []gossip.MsgType{gossip.MsgRoot, gossip.MsgRootReply, gossip.MsgDigests, gossip.MsgBuckets,
	gossip.MsgTree, gossip.MsgTreeDigests, gossip.MsgWant, gossip.MsgState, gossip.MsgChunk}

// drainWait bounds the wait for empty broadcast queues after convergence.
const drainWait = 10 * time.Second

// measureIdle records the anti-entropy traffic while the cluster is equal
// and nobody writes. It first waits for the broadcast queues to drain
// (memberlist retransmits each broadcast a few times after everyone has it)
// and reports how long that took.
func measureIdle(ctx context.Context, c *localCluster, d time.Duration, res *result) {
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !c.drained() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		if time.Since(start) > drainWait {
			break // measure anyway: the broadcasts still going out show
		}
	}
	res.drain = time.Since(start)
	res.drained = c.drained()
	before := make([]gossip.Stats, len(c.nodes))
	merged := make([]uint64, len(c.nodes))
	for i, n := range c.nodes {
		before[i] = n.GossipStats()
		merged[i] = n.Counters().Merged
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return
	}
	for i, n := range c.nodes {
		after := n.GossipStats()
		res.idleAERounds += after.AERounds - before[i].AERounds
		for _, t := range aeTypes {
			res.idleAEBytes += after.Sent[t].Bytes - before[i].Sent[t].Bytes
		}
		for _, t := range []gossip.MsgType{gossip.MsgDelta, gossip.MsgBatch} {
			res.idleDelta += after.Sent[t].Bytes - before[i].Sent[t].Bytes
		}
		res.idleMerged += n.Counters().Merged - merged[i]
	}
	res.idleMeasured = true
}

// runLocalOnce runs the default mode: one cluster, a table, the final line.
func runLocalOnce(ctx context.Context, o *options, logger *slog.Logger, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "starting %d nodes on 127.0.0.1", o.nodes)
	if o.loss > 0 {
		fmt.Fprintf(stdout, " (dropping %.0f%% of packets)", 100*o.loss)
	}
	fmt.Fprintf(stdout, "; updating for %v at %.0f updates/s per node\n", o.duration, o.rate)
	res, err := runCluster(ctx, o, logger, o.seed)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "cluster: interrupted")
		} else {
			fmt.Fprintf(stderr, "cluster: %v\n", err)
		}
		return 1
	}
	printTable(stdout, res.rows)
	if !res.converged {
		fmt.Fprintf(stdout, "NOT converged: %d nodes, %d updates, within %v after the last write\n%s",
			o.nodes, res.updates, o.timeout, res.diff)
		return 1
	}
	if res.idleMeasured {
		printIdle(stdout, res)
	}
	fmt.Fprintf(stdout, "converged: %d nodes, %d updates, %d objects equal, %d ms after the last write\n",
		o.nodes, res.updates, numObjects, res.lag.Milliseconds())
	return 0
}
