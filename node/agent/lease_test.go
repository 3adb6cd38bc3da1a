package agent

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/crdt"
)

// TestLeaseFailoverTokensIncrease: a lease held by a crashed agent is taken
// over after it expires, with a larger token, and the fence refuses the old
// holder from then on.
func TestLeaseFailoverTokensIncrease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFleet(t, 3)
		ctx := ctxT(t)
		const ttl = 5 * time.Second
		var fence Fence
		t0, err := f.agents["a0"].Lease("leader").Acquire(ctx, ttl)
		if err != nil {
			t.Fatal(err)
		}
		must(t, fence.Check(t0))
		f.waitConverged(f.names()...)
		if _, err := f.agents["a1"].Lease("leader").Acquire(ctx, ttl); !errors.Is(err, crdt.ErrLeaseHeld) {
			t.Fatalf("a1 acquired a held lease: %v", err)
		}
		// The holder renews: still held past the first ttl.
		time.Sleep(3 * time.Second)
		must(t, f.agents["a0"].Lease("leader").Renew(ctx, t0, ttl))
		f.waitConverged(f.names()...)
		time.Sleep(3 * time.Second)
		if _, err := f.agents["a1"].Lease("leader").Acquire(ctx, ttl); !errors.Is(err, crdt.ErrLeaseHeld) {
			t.Fatalf("a1 acquired a renewed lease: %v", err)
		}

		f.kill("a0")
		var t1 crdt.Token
		waitFor(t, time.Minute, func() bool {
			t1, err = f.agents["a1"].Lease("leader").Acquire(ctx, ttl)
			return err == nil
		}, func() string { return err.Error() })
		if t1.Compare(t0) <= 0 {
			t.Fatalf("new token %v not above %v", t1, t0)
		}
		must(t, fence.Check(t1))
		if err := fence.Check(t0); !errors.Is(err, ErrStaleToken) {
			t.Fatalf("fence accepted the old holder: %v", err)
		}
	})
}

// TestLeasePartitionBothSidesFenced: both sides of a partition take an
// expired lease; their tokens differ and exceed the old one, and a fence
// that has seen the larger refuses the smaller.
func TestLeasePartitionBothSidesFenced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFleet(t, 4)
		ctx := ctxT(t)
		const ttl = 3 * time.Second
		t0, err := f.agents["a0"].Lease("job").Acquire(ctx, ttl)
		must(t, err)
		f.waitConverged(f.names()...)
		f.net.Partition([]string{"a0", "a1"}, []string{"a2", "a3"})
		time.Sleep(ttl + 2*DefaultClockMargin)
		tl, err := f.agents["a1"].Lease("job").Acquire(ctx, ttl)
		must(t, err)
		tr, err := f.agents["a2"].Lease("job").Acquire(ctx, ttl)
		must(t, err)
		if tl == tr || tl.Compare(t0) <= 0 || tr.Compare(t0) <= 0 {
			t.Fatalf("tokens %v and %v after %v", tl, tr, t0)
		}
		var fence Fence
		hi, lo := tl, tr
		if hi.Compare(lo) < 0 {
			hi, lo = lo, hi
		}
		must(t, fence.Check(hi))
		if err := fence.Check(lo); !errors.Is(err, ErrStaleToken) {
			t.Fatalf("fence accepted %v after %v", lo, hi)
		}
		f.net.Heal()
		f.waitConverged(f.names()...)
		l, _ := f.agents["a3"].Lease("job").Get()
		if l.Token != hi {
			t.Fatalf("after heal the lease is at %v, want the larger %v", l.Token, hi)
		}
		// The smaller holder learns it lost: its renewal fails.
		loser := f.agents["a1"]
		if lo == tr {
			loser = f.agents["a2"]
		}
		if err := loser.Lease("job").Renew(ctx, lo, ttl); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("loser renewed: %v", err)
		}
	})
}

// TestLeaseHoldRenewsAndStops: Hold keeps the lease through several ttls
// and cancels fn's context when the lease is taken over.
func TestLeaseHoldRenewsAndStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFleet(t, 2)
		ctx := ctxT(t)
		const ttl = 3 * time.Second
		err := f.agents["a0"].Lease("l").Hold(ctx, ttl, 100*time.Millisecond, func(held context.Context, tok crdt.Token) error {
			time.Sleep(4 * ttl)
			if held.Err() != nil {
				t.Errorf("lease lost while held: %v", context.Cause(held))
			}
			_, err := f.agents["a1"].Lease("l").Acquire(ctx, ttl)
			if !errors.Is(err, crdt.ErrLeaseHeld) {
				t.Errorf("a1 acquired while a0 holds: %v", err)
			}
			return nil
		})
		must(t, err)
		f.waitConverged(f.names()...)
		if _, err := f.agents["a1"].Lease("l").Acquire(ctx, ttl); err != nil {
			t.Fatalf("a1 cannot take a released lease: %v", err)
		}
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
