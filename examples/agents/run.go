package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// result is what a run measured.
type result struct {
	o                         options
	done                      int
	effects, refused          int
	executions, replayed      int64
	doubleClaims, dupRecords  int
	deliveries, redeliveries  int64
	lostAcks, kills, restarts int64
	twice, lost               []string
	wall, settle              time.Duration
}

// runFleet runs the fleet until every task is acknowledged (or the timeout),
// lets it converge, and checks the sink.
func runFleet(ctx context.Context, o options) (*result, error) {
	begin := time.Now()
	t := &tally{}
	sink := newSink(!o.noDedupe)
	f := newFleet(o, sink, t)
	defer f.close()
	first, err := f.start(ctx, agentName(0), "", "")
	if err != nil {
		return nil, err
	}
	seed := seedAddr(first)
	for i := 1; i < o.agents; i++ {
		if _, err := f.start(ctx, agentName(i), "", seed); err != nil {
			return nil, err
		}
	}
	if err := f.waitLive(ctx, o.agents, 30*time.Second); err != nil {
		return nil, err
	}
	f.net.SetLoss(o.loss)

	tasks := make([]string, o.tasks)
	for i := range tasks {
		tasks[i] = fmt.Sprintf("task-%06d", i)
	}
	runCtx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var chaos sync.WaitGroup
	chaos.Add(1)
	go func() { defer chaos.Done(); f.chaos(runCtx, seed) }()
	open := f.dispatch(runCtx, tasks)
	cancel()
	chaos.Wait()

	res := &result{o: o, deliveries: t.deliveries.Load(), redeliveries: t.redeliveries.Load(),
		lostAcks: t.lostAcks.Load(), kills: t.kills.Load(), restarts: t.restarts.Load(),
		executions: t.executions.Load(), replayed: t.replayed.Load(), done: o.tasks - len(open)}
	res.wall = time.Since(begin)
	settle := time.Now()
	if err := f.waitConverged(ctx, time.Minute); err != nil {
		return nil, err
	}
	res.settle = time.Since(settle)
	res.doubleClaims, res.dupRecords = tallyClaims(f.live()[0], tasks)
	res.twice, res.lost = sink.check(tasks)
	sink.mu.Lock()
	res.refused = sink.refused
	for _, n := range sink.applied {
		res.effects += n
	}
	sink.mu.Unlock()
	return res, nil
}

// dispatch delivers tasks at least once: each open task goes to its owner
// (in a random agent's view) and, with probability dup, to one more agent;
// unacknowledged tasks are delivered again every retry. Tasks appear over
// o.spread. It returns the tasks still open when ctx ended.
func (f *fleet) dispatch(ctx context.Context, tasks []string) []string {
	o := f.o
	var mu sync.Mutex
	open := map[string]int{} // task -> deliveries so far
	acked := map[string]bool{}
	released := 0
	var wg sync.WaitGroup
	defer wg.Wait()
	start := time.Now()
	tick := time.NewTicker(o.retry / 3)
	defer tick.Stop()
	last := map[string]time.Time{}
	for {
		mu.Lock()
		want := len(tasks)
		if o.spread > 0 {
			want = min(len(tasks), int(float64(len(tasks))*float64(time.Since(start))/float64(o.spread))+1)
		}
		for ; released < want; released++ {
			open[tasks[released]] = 0
		}
		if released == len(tasks) && len(open) == 0 {
			mu.Unlock()
			return nil
		}
		var due []string
		for task := range open {
			if time.Since(last[task]) >= o.retry {
				due = append(due, task)
			}
		}
		slices.Sort(due)
		for _, task := range due {
			last[task] = time.Now()
			if open[task] > 0 {
				f.t.redeliveries.Add(1)
			}
			open[task]++
		}
		mu.Unlock()
		for _, task := range due {
			targets := []*worker{f.ownerOf(task)}
			if f.chance(o.dup) {
				targets = append(targets, f.pick())
			}
			for _, w := range targets {
				if w == nil {
					continue
				}
				f.t.deliveries.Add(1)
				wg.Add(1)
				go func() {
					defer wg.Done()
					if !f.handle(ctx, w, task) {
						return
					}
					if f.chance(o.ackLoss) {
						f.t.lostAcks.Add(1)
						return
					}
					mu.Lock()
					if !acked[task] {
						acked[task] = true
						f.t.acks.Add(1)
						delete(open, task)
					}
					mu.Unlock()
				}()
			}
		}
		select {
		case <-ctx.Done():
			mu.Lock()
			defer mu.Unlock()
			rest := slices.Sorted(func(yield func(string) bool) {
				for k := range open {
					if !yield(k) {
						return
					}
				}
			})
			return append(rest, tasks[released:]...)
		case <-tick.C:
		}
	}
}

// ownerOf is the agent a dispatcher sends task to: the claimant a refusal
// named, if it is running, else the owner in a random running agent's
// view, or that agent if the owner is not running.
func (f *fleet) ownerOf(task string) *worker {
	f.mu.Lock()
	w := f.workers[f.claimed[task]]
	f.mu.Unlock()
	if w != nil && !w.dead.Load() {
		return w
	}
	via := f.pick()
	if via == nil {
		return nil
	}
	owner, ok := via.a.Owner(task)
	if !ok {
		return via
	}
	f.mu.Lock()
	w = f.workers[owner.Name]
	f.mu.Unlock()
	if w == nil || w.dead.Load() {
		return via
	}
	return w
}

// chaos kills o.kills agents, one every o.spread/(kills+1), restarting each
// a second later under a new epoch, and splits the fleet in two for
// o.partition halfway through the spread.
func (f *fleet) chaos(ctx context.Context, seed string) {
	o := f.o
	var events []func()
	gap := o.spread / time.Duration(o.kills+2)
	for i := range o.kills {
		events = append(events, func() {
			time.Sleep(gap)
			ws := f.live()
			if len(ws) < 3 {
				return
			}
			w := ws[1+i%(len(ws)-1)] // never the seed agent
			f.kill(w)
			f.t.kills.Add(1)
			go func() {
				time.Sleep(time.Second)
				if ctx.Err() != nil {
					return
				}
				if _, err := f.start(context.WithoutCancel(ctx), w.name, w.addr, seed); err == nil {
					f.t.restarts.Add(1)
				}
			}()
		})
	}
	if o.partition > 0 {
		events = append(events[:len(events)/2], append([]func(){func() {
			ws := f.live()
			var left, right []string
			for i, w := range ws {
				if i < len(ws)/2 {
					left = append(left, w.name)
				} else {
					right = append(right, w.name)
				}
			}
			f.net.Partition(left, right)
			time.Sleep(o.partition)
			f.net.Heal()
		}}, events[len(events)/2:]...)...)
	}
	for _, e := range events {
		if ctx.Err() != nil {
			return
		}
		e()
	}
	// Let restarts scheduled near the end finish before the fleet is read.
	time.Sleep(1100 * time.Millisecond)
}

// waitLive waits until every running agent sees k live agents.
func (f *fleet) waitLive(ctx context.Context, k int, timeout time.Duration) error {
	return f.waitUntil(ctx, timeout, func() bool {
		for _, w := range f.live() {
			if len(w.a.Live()) != k {
				return false
			}
		}
		return true
	}, fmt.Sprintf("agents do not see %d live agents", k))
}

// waitConverged waits until every running agent holds the same state.
func (f *fleet) waitConverged(ctx context.Context, timeout time.Duration) error {
	return f.waitUntil(ctx, timeout, f.converged, "agents did not converge")
}

func (f *fleet) waitUntil(ctx context.Context, timeout time.Duration, cond func() bool, what string) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// print writes the tally.
func (r *result) print(w io.Writer) {
	o := r.o
	levels := "local"
	if o.majority {
		levels = "majority"
	}
	fmt.Fprintf(w, "%d agents, %d tasks, %.0f %% gossip loss, %.0f %% duplicated deliveries, %.0f %% lost acks, %d kills, %v partition, %s claims\n",
		o.agents, o.tasks, 100*o.loss, 100*o.dup, 100*o.ackLoss, r.kills, o.partition, levels)
	fmt.Fprintf(w, "  deliveries %d (%d redeliveries), acknowledgements lost %d, agents restarted %d\n",
		r.deliveries, r.redeliveries, r.lostAcks, r.restarts)
	fmt.Fprintf(w, "  tasks done %d of %d, effects applied %d\n", r.done, o.tasks, r.effects)
	fmt.Fprintf(w, "  executions %d; duplicate executions suppressed by the registry %d; refused at the sink by idempotency key %d\n",
		r.executions, r.replayed, r.refused)
	fmt.Fprintf(w, "  double claims observed %d; tasks recorded as executed twice %d\n", r.doubleClaims, r.dupRecords)
	fmt.Fprintf(w, "  wall time %v (converged %v after the last acknowledgement)\n", r.wall.Round(time.Millisecond), r.settle.Round(time.Millisecond))
	switch {
	case len(r.twice) > 0 || len(r.lost) > 0:
		fmt.Fprintf(w, "FAIL: %d effects applied twice %v, %d tasks lost %v\n", len(r.twice), head(r.twice), len(r.lost), head(r.lost))
	default:
		fmt.Fprintf(w, "ok: every task's effect applied exactly once\n")
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return append(s[:5:5], "…")
	}
	return s
}
