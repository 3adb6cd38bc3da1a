package agent

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestPresenceFollowsMembership: a crashed agent leaves every view after
// failure detection, a closed one at once, and a restart shows the new
// epoch.
func TestPresenceFollowsMembership(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFleet(t, 4)
		ctx := ctxT(t)
		for _, name := range f.names() {
			live := f.agents[name].Live()
			if live[0].Name != "a0" || live[0].Meta["role"] != "worker" {
				t.Fatalf("%s sees %+v", name, live)
			}
		}

		// Crash: cut off and closed without a word.
		oldEpoch := f.agents["a3"].n.Epoch()
		f.kill("a3")
		start := time.Now()
		f.waitLive(3, "a0", "a1", "a2")
		t.Logf("crash left every view after %v", time.Since(start))

		// Graceful: the presence entry goes with the agent.
		a2 := f.agents["a2"]
		if err := a2.Close(ctx); err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		f.waitLive(2, "a0", "a1")
		t.Logf("graceful close left every view after %v", time.Since(start))
		_ = a2.n.Close()
		delete(f.agents, "a2")

		// Restart of a3 under a new epoch.
		f.start("a3")
		f.join("a3", "a0")
		f.waitLive(3, "a0", "a1", "a3")
		for _, i := range f.agents["a0"].Live() {
			if i.Name == "a3" && i.Epoch == oldEpoch {
				t.Fatalf("a0 sees a3's old epoch")
			}
		}
	})
}
