package agent

import (
	"context"
	"fmt"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/internal/wire"
)

// Registry is a replicated record from idempotency key to outcome: the
// first completion of each key, by (hybrid logical clock, replica), wins on
// every replica. It lives in a crdt.FWWMap object under
// Config.Prefix+"registry/"+name; records expire after Config.Retention.
type Registry struct {
	r    records
	name string
}

// Registry returns the idempotency registry called name.
func (a *Agent) Registry(name string) (*Registry, error) {
	r, err := a.records("registry/" + name)
	if err != nil {
		return nil, err
	}
	return &Registry{r: r, name: name}, nil
}

// Outcome is the recorded result of an operation.
type Outcome struct {
	Key string
	// Value is the winning outcome, as the operation returned it.
	Value []byte
	// Replayed reports that the outcome was recorded before the call, so
	// the operation did not run.
	Replayed bool
	// Duplicate reports that more than one execution of the key was
	// recorded (they raced before either record spread). The effects must
	// be made harmless where they happen, by the idempotency key.
	Duplicate bool
	// Conflict reports that recorded executions returned different
	// outcomes; Value is the first completion's.
	Conflict bool
	// By and At name the replica whose completion won and when.
	By string
	At crdt.HLC
}

// Get returns the recorded outcome of key, and false if there is none.
func (g *Registry) Get(key string) (Outcome, bool) {
	return outcomeIn(g.r.obj.Value(), key)
}

func outcomeIn(st *crdt.FWWMap, key string) (Outcome, bool) {
	w, ok := st.Winner(key)
	if !ok {
		return Outcome{Key: key}, false
	}
	return Outcome{Key: key, Value: w.Value, Duplicate: st.Contested(key), Conflict: st.Conflict(key),
		By: string(w.Replica), At: w.Stamp}, true
}

// Do runs fn once per key as far as this replica knows: if key's outcome is
// recorded it returns it (Replayed) without running fn; otherwise it runs
// fn and records its outcome, and returns the winning one, which is fn's
// unless another replica's completion of the same key won. An error from fn
// records nothing and is returned, so the caller may retry.
//
// Do cannot stop two replicas that have not heard of each other's record
// from both running fn: see the package documentation. With Config.Read,
// Do first merges the records of the members it names (and refuses to run
// fn if the level is not met); the outcome is recorded at Config.Write.
func (g *Registry) Do(ctx context.Context, key string, fn func(ctx context.Context) ([]byte, error)) (Outcome, error) {
	if err := g.r.fetch(ctx); err != nil {
		return Outcome{Key: key}, err
	}
	if o, ok := g.Get(key); ok {
		o.Replayed = true
		return o, nil
	}
	v, err := fn(ctx)
	if err != nil {
		return Outcome{Key: key}, err
	}
	if v == nil {
		v = []byte{}
	}
	st, err := g.r.write(ctx, key, 0, v)
	if st == nil {
		return Outcome{Key: key}, fmt.Errorf("agent: record outcome of %q: %w", key, err)
	}
	o, ok := outcomeIn(st, key)
	if err != nil {
		// Recorded here, not yet at the level asked for: the outcome
		// stands and spreads; the caller learns the level was not met.
		return o, fmt.Errorf("agent: record outcome of %q: %w", key, err)
	}
	if !ok {
		return Outcome{Key: key}, fmt.Errorf("agent: outcome of %q expired as it was recorded (retention %v)", key, g.r.a.cfg.Retention)
	}
	return o, nil
}

// Compensate runs the compensation of key's operation once, recorded in
// the same registry under its own key, so a compensation retried or
// delivered twice is applied once like any operation.
func (g *Registry) Compensate(ctx context.Context, key string, fn func(ctx context.Context) ([]byte, error)) (Outcome, error) {
	return g.Do(ctx, "compensate/"+key, fn)
}

// Do is Registry.Do for an outcome of any msgpack-encodable type T.
func Do[T any](ctx context.Context, g *Registry, key string, fn func(ctx context.Context) (T, error)) (T, Outcome, error) {
	var zero T
	o, err := g.Do(ctx, key, func(ctx context.Context) ([]byte, error) {
		v, err := fn(ctx)
		if err != nil {
			return nil, err
		}
		return wire.Marshal(v)
	})
	if err != nil {
		return zero, o, err
	}
	var v T
	if err := wire.Unmarshal(o.Value, &v); err != nil {
		return zero, o, fmt.Errorf("agent: outcome of %q does not decode as %T: %w", key, zero, err)
	}
	return v, o, nil
}
