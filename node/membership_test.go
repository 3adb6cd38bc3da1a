package node

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// eventLog reads events from ch in the background and records them.
type eventLog struct {
	ch <-chan MemberEvent
}

// next returns the next event not about a member in skip, failing after
// timeout (fake time).
func (l eventLog) next(t testing.TB, timeout time.Duration) MemberEvent {
	t.Helper()
	select {
	case ev, ok := <-l.ch:
		if !ok {
			t.Fatal("event channel closed")
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("no membership event within %v", timeout)
	}
	return MemberEvent{}
}

func evString(ev MemberEvent) string {
	if ev.Kind == MemberOverflow {
		return fmt.Sprintf("overflow(%d)", ev.Dropped)
	}
	return fmt.Sprintf("%s %s/%x", ev.Kind, ev.Member.Name, ev.Member.Epoch)
}

// TestMemberEventsInOrder: join, graceful leave, kill (fail) and restart
// under a new epoch arrive at a subscriber in order, each with the
// member's name, address and epoch; WaitMembers is woken by them.
func TestMemberEventsInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2)
		n0 := c.nodes[0]
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		view, ch, err := n0.MemberEvents(ctx)
		must(t, err)
		if len(view) != 2 || view[0].Name != "n0" || view[1].Name != "n1" {
			t.Fatalf("view %v, want n0 and n1", view)
		}
		log := eventLog{ch}
		expect := func(want string) MemberEvent {
			t.Helper()
			ev := log.next(t, time.Minute)
			if got := evString(ev); got != want {
				t.Fatalf("event %q, want %q", got, want)
			}
			return ev
		}

		a := c.start("a")
		c.join(a, n0)
		ev := expect(fmt.Sprintf("join a/%x", a.Epoch()))
		if ev.Member.Addr != a.Addr() {
			t.Errorf("join address %q, want %q", ev.Member.Addr, a.Addr())
		}
		must(t, a.Close())
		expect(fmt.Sprintf("leave a/%x", a.Epoch()))

		b := c.start("b")
		c.join(b, n0)
		expect(fmt.Sprintf("join b/%x", b.Epoch()))
		// Kill b: nobody hears it go.
		c.net.Partition([]string{"b"}, []string{"n0", "n1"})
		must(t, b.Close())
		c.net.Heal()
		expect(fmt.Sprintf("fail b/%x", b.Epoch()))

		b2 := c.start("b")
		c.join(b2, n0)
		expect(fmt.Sprintf("join b/%x", b2.Epoch()))
		wctx, wcancel := context.WithTimeout(ctx, time.Minute)
		defer wcancel()
		must(t, n0.WaitMembers(wctx, 3))

		// (Later events may follow: memberlist can flap a restarted
		// member once while news of its old incarnation's death still
		// circulates.)
		for _, m := range n0.Members() {
			if m.Name == "b" && m.Epoch != b2.Epoch() {
				t.Errorf("n0 sees b with epoch %x, want the new %x", m.Epoch, b2.Epoch())
			}
		}
		cancel()
		for range ch { // closed once ctx ends
		}
	})
}

// TestSlowEventReaderDoesNotStallGossip: a subscriber that never reads
// does not hold up membership or replication; when it reads at last it
// gets an overflow marker counting what was dropped, then the newest
// events.
func TestSlowEventReaderDoesNotStallGossip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 3)
		n0 := c.nodes[0]
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, ch, err := n0.memberEvents(ctx, 2)
		must(t, err)
		g0, _ := GCounter(n0, "g")
		for i := range 4 {
			x := c.start(fmt.Sprintf("x%d", i))
			c.join(x, n0)
			waitFor(t, time.Minute, func() bool { return n0.NumMembers() == 4 })
			must(t, g0.Inc(context.Background(), 1))
			must(t, x.Close())
			waitFor(t, time.Minute, func() bool { return n0.NumMembers() == 3 })
		}
		waitConverged(t, time.Minute, c.nodes[:3]...)
		g2, _ := GCounter(c.nodes[2], "g")
		if g2.Value() != 4 {
			t.Fatalf("n2 counter %d, want 4", g2.Value())
		}
		// 8 events (4 joins, 4 leaves) into a buffer of 2. The pump holds
		// one event it could not hand over; the ring kept the last two.
		var got []string
		for range 4 {
			got = append(got, evString(eventLog{ch}.next(t, time.Second)))
		}
		s := strings.Join(got, ", ")
		if !strings.Contains(s, "overflow(5)") || !strings.HasSuffix(s, "leave x3/"+fmt.Sprintf("%x", c.nodes[len(c.nodes)-1].Epoch())) {
			t.Errorf("events %s; want the first, overflow(5), then the last two", s)
		}
	})
}
