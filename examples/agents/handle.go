package main

import (
	"context"
	"errors"
	"time"
)

// errCrashed ends a handler whose agent was killed under it.
var errCrashed = errors.New("agent crashed")

// handle is what an agent does with one delivery of task; it returns true
// to acknowledge. The order is the point of the example:
//
//  1. the registry first: a task already done is acknowledged with its
//     recorded outcome, and not executed again (a duplicate suppressed);
//  2. then the claim: only the winning claimant executes; a claim held by
//     a live agent means "not mine": no acknowledgement, and the answer
//     names the claimant, to whom the retry goes (if the winner dies, the
//     next claim takes over);
//  3. then the execution, through the registry, with the task's key as
//     the idempotency key at the sink.
func (f *fleet) handle(ctx context.Context, w *worker, task string) bool {
	w.mu.Lock()
	if w.inflight[task] {
		w.mu.Unlock()
		return false // already on it: one execution per process at a time
	}
	w.inflight[task] = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.inflight, task)
		w.mu.Unlock()
	}()

	if !f.o.noRegistry {
		if _, ok := w.reg.Get(task); ok {
			f.t.replayed.Add(1)
			return true
		}
	}
	if !f.o.noClaims {
		cl, err := w.claims.Claim(ctx, task)
		if err != nil || !cl.Won {
			if err == nil && cl.Winner != "" {
				f.redirect(task, cl.Winner) // "claimed by X": the next delivery goes there
			}
			return false
		}
	}
	effect := func(context.Context) ([]byte, error) {
		time.Sleep(f.o.work) // the work itself
		if w.dead.Load() {
			return nil, errCrashed
		}
		f.t.executions.Add(1)
		f.sink.Apply(task)
		if w.dead.Load() { // crashed after the effect, before recording it
			return nil, errCrashed
		}
		return []byte(w.name), nil
	}
	if f.o.noRegistry {
		_, err := effect(ctx)
		return err == nil
	}
	o, err := w.reg.Do(ctx, task, effect)
	if err != nil {
		return false
	}
	if o.Replayed {
		f.t.replayed.Add(1)
	}
	return !w.dead.Load()
}

// tallyClaims counts the tasks whose claims show a double claim (more than
// one claimant in the winning round) and the registry records that show
// more than one execution, on one worker's converged state.
func tallyClaims(w *worker, tasks []string) (doubleClaims, dupRecords int) {
	for _, t := range tasks {
		if c, ok := w.claims.Get(t); ok && c.Contested {
			doubleClaims++
		}
		if o, ok := w.reg.Get(t); ok && o.Duplicate {
			dupRecords++
		}
	}
	return
}
