package crdt_test

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/converge-crdt/converge/crdt"
)

// Three replicas count tasks concurrently, exchange the deltas their
// increments return, in any order and more than once, and agree.
func ExampleGCounter() {
	a, b, c := crdt.NewGCounter(), crdt.NewGCounter(), crdt.NewGCounter()
	da, _ := a.Inc("a", 2)
	db, _ := b.Inc("b", 5)
	dc, _ := c.Inc("c", 1)

	for _, d := range []*crdt.GCounter{dc, db, db} { // duplicated, reordered
		a.Merge(d)
	}
	b.Merge(da)
	b.Merge(dc)
	c.Merge(b) // a whole state merges like a delta

	fmt.Println(a.Value(), b.Value(), c.Value())
	fmt.Println(a.Equal(b), a)

	// Overflow is an error, never a wrapped value.
	_, err := a.Inc("a", math.MaxUint64)
	fmt.Println(errors.Is(err, crdt.ErrOverflow))
	// Output:
	// 8 8 8
	// true GCounter(8)[a:2 b:5 c:1]
	// true
}

// A counter that goes down as well as up: concurrent increments and
// decrements on two replicas converge to their sum.
func ExamplePNCounter() {
	a, b := crdt.NewPNCounter(), crdt.NewPNCounter()
	d1, _ := a.Inc("a", 10)
	_, _ = b.Dec("b", 3)
	d3, _ := b.Dec("b", 9) // holds b's whole decrement count, 12

	a.Merge(d3) // so the first decrement's delta is not needed
	b.Merge(d1)

	fmt.Println(a.Value(), b.Value(), a.Equal(b))
	fmt.Println(a)

	// Encodings are deterministic and round-trip.
	enc, _ := a.MarshalBinary()
	var back crdt.PNCounter
	fmt.Println(back.UnmarshalBinary(enc), back.Value())
	// Output:
	// -2 -2 true
	// PNCounter(-2)[P[a:10] N[b:12]]
	// <nil> -2
}

// The caller feeds wall time to a Clock; timestamps keep increasing when the
// wall clock stalls or steps back, and a peer far in the future is refused.
func ExampleClock() {
	c := crdt.Clock{MaxSkew: time.Second}
	base := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).UnixNano()

	fmt.Println(c.Now(base))
	fmt.Println(c.Now(base)) // same wall time: the logical counter advances
	fmt.Println(c.Now(base - int64(time.Minute)))

	remote := crdt.HLC{Wall: base + int64(500*time.Millisecond), Logical: 7}
	ts, err := c.Observe(remote, base)
	fmt.Println(ts, err, ts.Compare(remote))

	_, err = c.Observe(crdt.HLC{Wall: base + int64(time.Hour)}, base)
	fmt.Println(errors.Is(err, crdt.ErrClockSkew))
	// Output:
	// 2026-11-27T10:00:00Z+0
	// 2026-11-27T10:00:00Z+1
	// 2026-11-27T10:00:00Z+2
	// 2026-11-27T10:00:00.5Z+8 <nil> 1
	// true
}

// HLC timestamps order by wall time, then by logical counter.
func ExampleHLC_Compare() {
	early := crdt.HLC{Wall: 100, Logical: 9}
	late := crdt.HLC{Wall: 101}
	fmt.Println(early.Compare(late), late.Compare(early), early.Compare(early))
	fmt.Println(crdt.HLC{}.IsZero())
	// Output:
	// -1 1 0
	// true
}
