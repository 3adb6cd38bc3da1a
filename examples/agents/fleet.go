package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
	"github.com/converge-crdt/converge/node"
	"github.com/converge-crdt/converge/node/agent"
)

// worker is one incarnation of an agent process.
type worker struct {
	name   string
	addr   string // its address on the network, kept across restarts
	n      *node.Node
	a      *agent.Agent
	claims *agent.Claims
	reg    *agent.Registry
	dead   atomic.Bool

	mu       sync.Mutex
	inflight map[string]bool // guarded by mu: tasks being handled here
}

// fleet is the agents on one in-memory network.
type fleet struct {
	o    options
	net  *gossiptest.Network
	sink *Sink
	t    *tally

	mu      sync.Mutex
	workers map[string]*worker // guarded by mu; the live incarnation by name
	claimed map[string]string  // guarded by mu; task -> claimant named by a refusal
	closed  []*node.Node       // guarded by mu; every node opened, for Close
	rng     *rand.Rand         // guarded by mu
}

func newFleet(o options, sink *Sink, t *tally) *fleet {
	return &fleet{o: o, net: gossiptest.NewNetwork(o.seed), sink: sink, t: t,
		workers: map[string]*worker{}, claimed: map[string]string{}, rng: rand.New(rand.NewPCG(o.seed, 1))}
}

// start opens an agent called name at addr (a fresh address if empty) and
// joins it to seed (none for the first).
func (f *fleet) start(ctx context.Context, name, addr, seed string) (*worker, error) {
	g := gossip.DefaultConfig(name)
	g.Memberlist = gossiptest.FastMemberlist()
	if addr == "" {
		g.Transport = f.net.NewTransport(name)
	} else {
		g.Transport = f.net.NewTransportAt(name, addr) // a process restarted on its port
	}
	g.RejoinInterval = 500 * time.Millisecond
	var join []string
	if seed != "" {
		join = []string{seed}
	}
	g.Join = join
	log := f.o.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n, err := node.Open(node.Config{Name: name, Gossip: &g, Join: join, Logger: log})
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.closed = append(f.closed, n)
	f.mu.Unlock()
	var cfg agent.Config
	if f.o.majority {
		cfg.Write = node.WriteMajority(time.Second)
		cfg.Read = node.ReadMajority(time.Second)
	}
	a, err := agent.New(ctx, n, cfg)
	if err != nil {
		return nil, err
	}
	w := &worker{name: name, addr: g.Transport.(*gossiptest.Transport).Addr(), n: n, a: a, inflight: map[string]bool{}}
	if w.claims, err = a.Claims("tasks"); err != nil {
		return nil, err
	}
	if w.reg, err = a.Registry("effects"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.workers[name] = w
	f.mu.Unlock()
	return w, nil
}

// seedAddr is how later agents find the first one.
func seedAddr(w *worker) string { return w.n.Name() + "/" + w.n.Addr() }

// live returns the workers that are running, in name order.
func (f *fleet) live() []*worker {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*worker
	for i := range f.o.agents {
		if w := f.workers[agentName(i)]; w != nil && !w.dead.Load() {
			out = append(out, w)
		}
	}
	return out
}

func agentName(i int) string { return fmt.Sprintf("agent-%02d", i) }

// pick returns a random running worker.
func (f *fleet) pick() *worker {
	ws := f.live()
	if len(ws) == 0 {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return ws[f.rng.IntN(len(ws))]
}

func (f *fleet) chance(p float64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rng.Float64() < p
}

// kill crashes the worker: cut off first so nobody hears it leave, then
// closed. What it was doing stops at its next step.
func (f *fleet) kill(w *worker) {
	w.dead.Store(true)
	var rest []string
	for _, o := range f.live() {
		rest = append(rest, o.name)
	}
	f.net.Partition([]string{w.name}, rest)
	_ = w.n.Close()
	f.net.Heal()
}

// close shuts every node down.
func (f *fleet) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.closed {
		_ = n.Close()
	}
}

// converged reports whether every running worker holds the same state.
func (f *fleet) converged() bool {
	ws := f.live()
	for _, w := range ws[1:] {
		if w.n.Digest() != ws[0].n.Digest() {
			return false
		}
	}
	return true
}

// redirect remembers that task is claimed by the agent called name.
func (f *fleet) redirect(task, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.claimed[task] = name
}
