package agent

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
)

func taskKeys(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("task-%03d", i)
	}
	return out
}

// TestOwnershipExactlyOneAndMoves: with a stable view every key has one
// owner that every agent agrees on; when an agent crashes, its keys move,
// and the agents that gain them are told exactly those keys.
func TestOwnershipExactlyOneAndMoves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFleet(t, 4)
		ctx := ctxT(t)
		keys := taskKeys(200)
		trackers := map[string]*Ownership{}
		owned := map[string][]string{}
		for _, name := range f.names() {
			trackers[name] = f.agents[name].Ownership(func() []string { return keys })
			ch, err := trackers[name].Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			owned[name] = ch.Gained
		}
		for _, k := range keys {
			n := 0
			want, _ := f.agents["a0"].Owner(k)
			for name, a := range f.agents {
				if a.Owns(k) {
					n++
				}
				if o, _ := a.Owner(k); o.Replica != want.Replica {
					t.Fatalf("%s: %s thinks %s owns it, a0 thinks %s", k, name, o.Name, want.Name)
				}
			}
			if n != 1 {
				t.Fatalf("%s has %d owners", k, n)
			}
		}
		for name, ks := range owned {
			if len(ks) < 20 {
				t.Errorf("%s owns only %d of 200 keys", name, len(ks))
			}
		}

		lost := owned["a3"]
		f.kill("a3")
		var gained []string
		for _, name := range []string{"a0", "a1", "a2"} {
			ch, err := trackers[name].Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for len(ch.Live) != 3 { // the view may pass through states
				next, err := trackers[name].Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				ch.Gained = append(ch.Gained, next.Gained...)
				ch.Live = next.Live
			}
			if len(ch.Lost) != 0 {
				t.Errorf("%s lost %v when a3 crashed", name, ch.Lost)
			}
			gained = append(gained, ch.Gained...)
		}
		slices.Sort(gained)
		if !slices.Equal(gained, lost) {
			t.Fatalf("keys gained %v, a3 owned %v", gained, lost)
		}
	})
}
