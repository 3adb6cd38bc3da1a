package agent

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/node"
)

// TestMajorityClaimsRefuseTheMinority: with majority levels, during a
// partition (before failure detection shrinks the views) the minority side
// cannot claim at all, writing nothing, while the majority side claims and
// wins; after the heal every replica agrees on the majority's claimant.
func TestMajorityClaimsRefuseTheMinority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFleetWith(t, 5, nil, func(c *Config) {
			c.Write = node.WriteMajority(500 * time.Millisecond)
			c.Read = node.ReadMajority(500 * time.Millisecond)
		})
		ctx := ctxT(t)
		board := func(name string) *Claims {
			c, err := f.agents[name].Claims("board")
			must(t, err)
			return c
		}
		f.net.Partition([]string{"a0", "a1"}, []string{"a2", "a3", "a4"})
		minority, err := board("a0").Claim(ctx, "t") // first in time
		if !errors.Is(err, node.ErrLevelNotMet) || minority.Won {
			t.Fatalf("minority claim: %+v, %v", minority, err)
		}
		if _, ok := board("a0").Get("t"); ok {
			t.Fatal("a refused claim was written")
		}
		majority, err := board("a3").Claim(ctx, "t")
		must(t, err)
		if !majority.Won {
			t.Fatalf("majority claim lost: %+v", majority)
		}
		f.net.Heal()
		f.waitConverged(f.names()...)
		for _, name := range f.names() {
			if c, _ := board(name).Get("t"); c.Winner != "a3" || c.Contested {
				t.Fatalf("%s sees %+v", name, c)
			}
		}
	})
}
