package node

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/converge-crdt/converge/crdt"
)

// A peer's stamps 59.9 s ahead must not make a node's writes unacceptable
// to an honest member whose clock is 2 s behind (issue 9, finding 11: on
// dbc6c32 the victim's clock followed the stamp and the lagging member
// refused 19 of 20 of its writes, on any map). Fake clocks: the victim at
// base, the lagging member 2 s behind, both advancing 100 ms per write.
func TestLWWClockNotHeldForwardByAPeer(t *testing.T) {
	ctx := ctxT(t)
	base := time.Unix(1_700_000_000, 0)
	cv, cl := &fakeClock{base}, &fakeClock{base.Add(-2 * time.Second)}
	victim := openLocal(t, Config{Name: "victim", Clock: cv})
	lagging := openLocal(t, Config{Name: "lagging", Clock: cl})

	evil := crdt.NewLWWMap[string, string]()
	evil.Set("evil~1", crdt.HLC{Wall: base.Add(59_900 * time.Millisecond).UnixNano()}, "x", "mine")
	blob, err := evil.MarshalBinary()
	must(t, err)

	refused := 0
	const writes = 20
	for i := range writes {
		cv.t, cl.t = cv.t.Add(100*time.Millisecond), cl.t.Add(100*time.Millisecond)
		// The attacker refreshes its stamp, 59.9 s ahead of the victim.
		evil.Set("evil~1", crdt.HLC{Wall: cv.t.Add(59_900 * time.Millisecond).UnixNano()}, "x", fmt.Sprint(i))
		blob, err = evil.MarshalBinary()
		must(t, err)
		if _, err := (*replica)(victim).Merge("evil-map", blob); err != nil {
			t.Fatalf("victim refused stamps 59.9 s ahead (within MaxSkew): %v", err)
		}
		m, err := LWWMap[string, int](victim, "honest")
		must(t, err)
		must(t, m.Set(ctx, fmt.Sprint("k", i), i))
		if err := ship(t, victim, lagging, "honest"); err != nil {
			if !errors.Is(err, crdt.ErrClockSkew) {
				t.Fatalf("write %d: %v", i, err)
			}
			refused++
		}
	}
	if refused > 0 {
		t.Fatalf("the lagging member refused %d of %d of the victim's writes", refused, writes)
	}
	lm, err := LWWMap[string, int](lagging, "honest")
	must(t, err)
	if lm.Len() != writes {
		t.Fatalf("lagging member holds %d of %d writes", lm.Len(), writes)
	}

	// The victim can still overwrite the attacker's key: its write is
	// stamped right after the entry it replaces.
	em, err := LWWMap[string, string](victim, "evil-map")
	must(t, err)
	must(t, em.Set(ctx, "x", "victim"))
	if v, _, _ := em.Get("x"); v != "victim" {
		t.Fatalf("x = %q after the victim's write, want victim", v)
	}
	victim.mu.Lock()
	last := victim.hlc.Last()
	victim.mu.Unlock()
	if ahead := time.Duration(last.Wall - cv.t.UnixNano()); ahead > observeSkew {
		t.Fatalf("victim's clock %v ahead of its wall clock, cap %v", ahead, observeSkew)
	}
}
