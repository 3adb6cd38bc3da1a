package crdt_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/converge-crdt/converge/crdt"
)

// A replica checks a received state against its own before merging: a
// state that claims events of the replica's own ID beyond those it issued
// was forged, or made by another replica using the same ID.
func ExampleIdentityChecker() {
	mine := crdt.NewORSet[string]()
	mine.Add("me", "a")

	echo := mine.Clone() // our own add, seen by a peer: fine
	echo.Add("peer", "b")
	fmt.Println(mine.CheckClaims(echo, "me"))

	forged := crdt.NewORSet[string]()
	forged.Add("me", "x") // a peer writing in our name...
	forged.Add("me", "y") // ...claims our events 1 and 2; we issued 1
	err := mine.CheckClaims(forged, "me")
	fmt.Println(errors.Is(err, crdt.ErrIdentity))
	// Output:
	// <nil>
	// true
}

// With ObserveSkew, a peer's timestamp far ahead is accepted but moves the
// clock only a little; NowAfter still orders a write after that stamp.
func ExampleClock_NowAfter() {
	wall := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).UnixNano()
	c := crdt.Clock{ObserveSkew: time.Second}
	peer := crdt.HLC{Wall: wall + int64(50*time.Second)}

	_, _ = c.Observe(peer, wall)
	fmt.Println(time.Duration(c.Last().Wall - wall)) // held at most 1 s ahead

	ts, _ := c.NowAfter(peer, wall) // a write replacing the peer's entry
	fmt.Println(ts.Compare(peer) > 0, time.Duration(c.Now(wall).Wall-wall))
	// Output:
	// 1s
	// true 1s
}
