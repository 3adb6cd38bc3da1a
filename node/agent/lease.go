package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/node"
)

// Lease is a handle to one named lease of the fleet. All leases of an agent
// live in one crdt.LeaseMap object under Config.Prefix+"leases".
type Lease struct {
	a    *Agent
	name string
}

// Lease returns a handle to the lease called name.
func (a *Agent) Lease(name string) *Lease { return &Lease{a: a, name: name} }

// Name returns the lease's name.
func (l *Lease) Name() string { return l.name }

// Acquire takes the lease for ttl and returns its fencing token. If this
// agent already holds it, Acquire renews it with the same token. It fails
// with an error wrapping crdt.ErrLeaseHeld while another holder's lease has
// not expired by Config.ClockMargin on this agent's clock.
//
// Acquire decides on what this replica has seen: two agents that cannot
// talk can both acquire (with different tokens). Check tokens with a Fence
// where the effect happens.
//
// With Config.Read, Acquire first merges the lease from the members it
// names and fails, taking nothing, if that level is not met; with
// Config.Write it waits for that many members to merge the acquisition and
// returns the token with a *node.LevelError if they did not (the lease is
// then held locally and spreads).
func (l *Lease) Acquire(ctx context.Context, ttl time.Duration) (crdt.Token, error) {
	if ttl <= 2*l.a.cfg.ClockMargin {
		return crdt.Token{}, fmt.Errorf("agent: lease %q: ttl %v must exceed twice the clock margin %v", l.name, ttl, l.a.cfg.ClockMargin)
	}
	if err := l.a.n.Fetch(ctx, l.a.leases.Key(), l.a.cfg.Read); err != nil {
		return crdt.Token{}, err
	}
	if cur, ok := l.Get(); ok {
		l.a.observe(cur.Expiry)
	}
	holder := []byte(l.a.n.Name())
	var tok crdt.Token
	err := l.a.leases.Update(ctx, func(m *crdt.LeaseMap) (*crdt.LeaseMap, error) {
		now := l.a.now()
		got, d, err := m.Acquire(l.name, l.a.n.ReplicaID(), holder, now, after(now, ttl), l.a.cfg.ClockMargin)
		tok = got.Token
		return d, err
	}, l.a.cfg.Write)
	if err != nil && !errors.Is(err, node.ErrLevelNotMet) {
		return crdt.Token{}, err
	}
	return tok, err
}

// Renew extends the lease held with token by ttl from now. It fails with an
// error wrapping ErrLeaseLost when token no longer holds the lease, or when
// its expiry is less than Config.ClockMargin away on this agent's clock (too
// late to be sure no one else has taken it over).
func (l *Lease) Renew(ctx context.Context, token crdt.Token, ttl time.Duration) error {
	err := l.a.leases.Update(ctx, func(m *crdt.LeaseMap) (*crdt.LeaseMap, error) {
		now := l.a.now()
		if cur, ok := m.Get(l.name); ok && cur.Token == token && !cur.Released &&
			cur.Expiry.Wall-now.Wall < int64(l.a.cfg.ClockMargin) {
			return nil, fmt.Errorf("%w: lease %q expires at %v, within the clock margin of %v", ErrLeaseLost, l.name, cur.Expiry, now)
		}
		return m.Renew(l.name, token, after(now, ttl))
	})
	if errors.Is(err, crdt.ErrNotHolder) {
		return fmt.Errorf("%w: %w", ErrLeaseLost, err)
	}
	return err
}

// Release gives the lease up, so another agent may take it at once.
func (l *Lease) Release(ctx context.Context, token crdt.Token) error {
	err := l.a.leases.Update(ctx, func(m *crdt.LeaseMap) (*crdt.LeaseMap, error) {
		return m.Release(l.name, token)
	})
	if errors.Is(err, crdt.ErrNotHolder) {
		return fmt.Errorf("%w: %w", ErrLeaseLost, err)
	}
	return err
}

// Get returns the lease's current state on this replica.
func (l *Lease) Get() (crdt.Lease, bool) {
	return l.a.leases.Value().Get(l.name)
}

// Hold acquires the lease (waiting while another holder has it), renews it
// every ttl/3 and runs fn with the token and a context that is cancelled
// when the lease is lost or ctx ends. It releases the lease when fn
// returns, and returns fn's error, or the error that ended the lease. poll
// is how often it retries Acquire while the lease is held elsewhere.
func (l *Lease) Hold(ctx context.Context, ttl, poll time.Duration, fn func(ctx context.Context, token crdt.Token) error) error {
	var tok crdt.Token
	for {
		var err error
		if tok, err = l.Acquire(ctx, ttl); err == nil {
			break
		}
		if !errors.Is(err, crdt.ErrLeaseHeld) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
	held, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-held.Done():
				return
			case <-t.C:
			}
			if err := l.Renew(held, tok, ttl); err != nil {
				cancel(err)
				return
			}
		}
	}()
	err := fn(held, tok)
	cause := context.Cause(held)
	cancel(nil)
	<-done
	if rerr := l.Release(context.WithoutCancel(ctx), tok); err == nil && cause == nil && rerr != nil {
		err = rerr
	}
	if err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	return err
}
