package agent

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/crdt"
)

// TestLeaseNoOverlapUnderSkewAndLoss: with the holder's clock behind and a
// contender's ahead by 0.9 ClockMargin each (relative skew 1.8 margins,
// within the 2 margins a lease tolerates) and 20 % packet loss, the holder
// considers its lease valid only while no other agent can take it: the
// contender acquires only after the holder has stopped trusting it.
func TestLeaseNoOverlapUnderSkewAndLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		skew := 9 * DefaultClockMargin / 10
		fl := newSkewedFleet(t, 3, map[string]time.Duration{"a0": -skew, "a1": skew})
		fl.net.SetLoss(0.2)
		ctx := ctxT(t)
		const ttl = 5 * time.Second
		holder, contender := fl.agents["a0"], fl.agents["a1"]
		tok, err := holder.Lease("l").Acquire(ctx, ttl)
		must(t, err)
		l, _ := holder.Lease("l").Get()
		fl.waitConverged(fl.names()...)
		// The holder's own rule: valid while expiry is more than the margin
		// ahead of its clock (Renew refuses after that).
		holderValid := func() bool { return l.Expiry.Wall-holder.now().Wall >= int64(DefaultClockMargin) }
		var took time.Time
		for deadline := time.Now().Add(time.Minute); took.IsZero(); {
			if time.Now().After(deadline) {
				t.Fatal("contender never acquired the expired lease")
			}
			t1, err := contender.Lease("l").Acquire(ctx, ttl)
			switch {
			case err == nil:
				took = time.Now()
				if holderValid() {
					t.Fatalf("contender acquired %v while the holder still trusts %v", t1, tok)
				}
				if t1.Compare(tok) <= 0 {
					t.Fatalf("token %v not above %v", t1, tok)
				}
			case !errors.Is(err, crdt.ErrLeaseHeld):
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := holder.Lease("l").Renew(ctx, tok, ttl); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("holder renewed after takeover: %v", err)
		}
	})
}
