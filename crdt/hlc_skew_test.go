package crdt

import (
	"errors"
	"testing"
	"time"
)

// With ObserveSkew, a remote timestamp far ahead (within MaxSkew) is
// accepted but moves the clock only to wall+ObserveSkew; NowAfter still
// orders a write after it, without keeping that stamp.
func TestClockObserveSkewCapsTheClock(t *testing.T) {
	const wall = int64(1_700_000_000_000_000_000)
	c := Clock{ObserveSkew: time.Second}
	ahead := HLC{Wall: wall + int64(59*time.Second), Logical: 7}
	if _, err := c.Observe(ahead, wall); err != nil {
		t.Fatalf("Observe 59 s ahead: %v", err)
	}
	if got, limit := c.Last(), wall+int64(time.Second); got.Wall > limit || got.Wall <= wall {
		t.Fatalf("clock at %v after observing %v, want wall in (wall, wall+1s]", got, ahead)
	}
	ts, err := c.NowAfter(ahead, wall)
	if err != nil || ts.Compare(ahead) <= 0 {
		t.Fatalf("NowAfter(%v) = %v, %v; want after it", ahead, ts, err)
	}
	if next := c.Now(wall); next.Compare(HLC{Wall: wall + int64(time.Second) + 1}) >= 0 {
		t.Fatalf("Now after NowAfter = %v: the far-ahead stamp was kept", next)
	}
	// A stamp within the cap is followed as before.
	near := HLC{Wall: wall + int64(500*time.Millisecond)}
	if ts, err := c.NowAfter(near, wall); err != nil || ts.Compare(near) <= 0 || c.Last() != ts {
		t.Fatalf("NowAfter(%v) = %v, %v, clock %v", near, ts, err, c.Last())
	}
	// Beyond MaxSkew both refuse and leave the clock alone.
	before := c.Last()
	far := HLC{Wall: wall + int64(2*DefaultMaxSkew)}
	if _, err := c.NowAfter(far, wall); !errors.Is(err, ErrClockSkew) || c.Last() != before {
		t.Fatalf("NowAfter 2 min ahead: %v, clock %v -> %v", err, before, c.Last())
	}
	// Without ObserveSkew the clock follows every accepted timestamp.
	var u Clock
	if ts, _ := u.Observe(ahead, wall); ts.Compare(ahead) <= 0 {
		t.Fatalf("uncapped Observe = %v, want after %v", ts, ahead)
	}
}
