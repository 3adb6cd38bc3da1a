package agent

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestClaimsEarliestWinsAfterPartition: two agents claim one task on both
// sides of a partition; both win locally, and after the heal every replica
// agrees on the earlier claim, the later claimant learns it lost, and the
// double claim is visible as Contested.
func TestClaimsEarliestWinsAfterPartition(t *testing.T) {
	atLosses(t, testClaimsEarliestWinsAfterPartition)
}

func testClaimsEarliestWinsAfterPartition(t *testing.T, loss float64) {
	synctest.Test(t, func(t *testing.T) {
		f := newFleet(t, 4)
		f.net.SetLoss(loss)
		ctx := ctxT(t)
		board := func(name string) *Claims {
			c, err := f.agents[name].Claims("board")
			must(t, err)
			return c
		}
		f.net.Partition([]string{"a0", "a1"}, []string{"a2", "a3"})
		first, err := board("a0").Claim(ctx, "t1")
		must(t, err)
		time.Sleep(time.Millisecond)
		second, err := board("a2").Claim(ctx, "t1")
		must(t, err)
		if !first.Won || !second.Won {
			t.Fatalf("each side should win locally: %+v %+v", first, second)
		}
		lost := make(chan Claim, 1)
		go func() {
			cl, err := board("a2").WaitLost(ctx, "t1")
			must(t, err)
			lost <- cl
		}()
		f.net.Heal()
		f.waitConverged(f.names()...)
		cl := <-lost
		if cl.Winner != "a0" {
			t.Fatalf("a2 learned it lost to %q, want a0", cl.Winner)
		}
		for _, name := range f.names() {
			c, ok := board(name).Get("t1")
			if !ok || c.Winner != "a0" || !c.Contested || c.Won != (name == "a0") {
				t.Fatalf("%s sees %+v", name, c)
			}
		}
		// A claim of a task a live agent holds writes nothing and loses.
		again, err := board("a3").Claim(ctx, "t1")
		must(t, err)
		if again.Won || again.Winner != "a0" {
			t.Fatalf("a3 claims a held task: %+v", again)
		}
	})
}

// TestClaimsTakeoverAfterCrash: a task whose claimant crashed is taken over
// in the next round once the claimant leaves the live view.
func TestClaimsTakeoverAfterCrash(t *testing.T) {
	atLosses(t, testClaimsTakeoverAfterCrash)
}

func testClaimsTakeoverAfterCrash(t *testing.T, loss float64) {
	synctest.Test(t, func(t *testing.T) {
		f := newFleet(t, 3)
		f.net.SetLoss(loss)
		ctx := ctxT(t)
		c0, _ := f.agents["a0"].Claims("board")
		c1, _ := f.agents["a1"].Claims("board")
		_, err := c0.Claim(ctx, "t")
		must(t, err)
		f.waitConverged(f.names()...)
		if cl, _ := c1.Claim(ctx, "t"); cl.Won {
			t.Fatal("a1 took a task a live agent holds")
		}
		f.kill("a0")
		f.waitLive(2, "a1", "a2")
		cl, err := c1.Claim(ctx, "t")
		must(t, err)
		if !cl.Won || cl.Round != 1 {
			t.Fatalf("takeover: %+v", cl)
		}
		f.waitConverged("a1", "a2")
		c2, _ := f.agents["a2"].Claims("board")
		if got, _ := c2.Get("t"); got.Winner != "a1" {
			t.Fatalf("a2 sees %+v", got)
		}
	})
}
