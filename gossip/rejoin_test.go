package gossip

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func viewOf(names ...string) view {
	v := view{names: map[string]bool{}, addrs: map[string]bool{}}
	for _, n := range names {
		v.names[n] = true
	}
	return v
}

// TestLeaveWinsInAnyOrder: a member that said it left is never dialled
// again, whether its leave arrives before or after the news of the
// incarnation that sent it, from our own MsgLeave (no address) or from
// memberlist (with one); only a newer epoch brings it back.
func TestLeaveWinsInAnyOrder(t *testing.T) {
	const addr = "10.0.0.1:7946"
	tests := []struct {
		name   string
		events func(p *peerBook)
		want   []string // due addresses afterwards
	}{
		{"alive then leave", func(p *peerBook) {
			p.seen("n1", addr, 2)
			p.leave("n1", "", 2, t0)
		}, nil},
		{"leave of epoch 2 while epoch 1 is on record", func(p *peerBook) {
			p.seen("n1", addr, 1)
			p.leave("n1", "", 2, t0)
		}, nil},
		{"leave before the alive news of its epoch", func(p *peerBook) {
			p.seen("n1", addr, 1)
			p.leave("n1", "", 2, t0)
			p.seen("n1", addr, 2)
		}, nil},
		{"leave before any news", func(p *peerBook) {
			p.leave("n1", addr, 2, t0)
			p.seen("n1", addr, 1)
			p.seen("n1", addr, 2)
		}, nil},
		{"late leave of an old epoch", func(p *peerBook) {
			p.seen("n1", addr, 1)
			p.seen("n1", addr, 2) // restarted
			p.leave("n1", "", 1, t0)
		}, []string{"n1/" + addr}},
		{"newer epoch after a leave", func(p *peerBook) {
			p.seen("n1", addr, 2)
			p.leave("n1", addr, 2, t0)
			p.seen("n1", addr, 3) // restarted and joined someone
		}, []string{"n1/" + addr}},
		{"seed where a member left", func(p *peerBook) {
			p.addSeeds([]string{addr})
			p.seen("n1", addr, 1)
			p.leave("n1", "", 1, t0)
		}, nil},
		{"seed given again explicitly after a leave", func(p *peerBook) {
			p.addSeeds([]string{addr})
			p.seen("n1", addr, 1)
			p.leave("n1", "", 1, t0)
			p.addSeeds([]string{addr})
		}, []string{addr}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p peerBook
			tc.events(&p)
			if got := p.due(viewOf("self", "other"), "self", t0); !slices.Equal(got, tc.want) {
				t.Fatalf("due = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRejoinDialsWhatIsMissing: seeds and remembered members missing from
// the view are due whenever any is missing, not only when this node is
// alone; seeds that a live member answers at are not.
func TestRejoinDialsWhatIsMissing(t *testing.T) {
	var p peerBook
	p.addSeeds([]string{"a/10.0.0.1:1", "10.0.0.2:1"})
	p.seen("b", "10.0.0.2:1", 1)
	p.seen("c", "10.0.0.3:1", 1)
	v := viewOf("self", "b")
	v.addrs["10.0.0.2:1"] = true
	got := p.due(v, "self", t0)
	slices.Sort(got)
	if want := []string{"a/10.0.0.1:1", "c/10.0.0.3:1"}; !slices.Equal(got, want) {
		t.Fatalf("due = %q, want %q", got, want)
	}
}

// TestRejoinBackoff: failed addresses back off exponentially with jitter,
// up to 2^maxBackoffShift intervals; at most maxRejoinAddrs are dialled per
// round however many are missing; a member's return resets its schedule.
func TestRejoinBackoff(t *testing.T) {
	const (
		interval = time.Second
		members  = 20
		rounds   = 600
	)
	var p peerBook
	for i := range members {
		p.seen(fmt.Sprintf("m%d", i), fmt.Sprintf("10.0.0.%d:1", i), 1)
	}
	dials := map[string][]time.Time{}
	for tick := range rounds {
		now := t0.Add(time.Duration(tick) * interval)
		due := p.due(viewOf("self"), "self", now)
		if len(due) > maxRejoinAddrs {
			t.Fatalf("%d addresses due in one round, limit %d", len(due), maxRejoinAddrs)
		}
		for _, a := range due {
			dials[a] = append(dials[a], now)
			p.dialled(a, false, now, interval)
		}
	}
	if len(dials) != members {
		t.Errorf("%d of %d missing members dialled in %d rounds", len(dials), members, rounds)
	}
	longest := interval << maxBackoffShift
	for a, ts := range dials {
		for i := maxBackoffShift + 1; i < len(ts); i++ {
			if gap := ts[i].Sub(ts[i-1]); gap < longest*3/4 {
				t.Fatalf("%s: dialled %v after its %dth failure, want at least %v", a, gap, i, longest*3/4)
			}
		}
		// Without backoff it would be dialled about 3*rounds/members times.
		if limit := rounds/int(longest*3/4/interval) + maxBackoffShift + 1; len(ts) > limit {
			t.Errorf("%s dialled %d times in %d rounds, want at most %d", a, len(ts), rounds, limit)
		}
	}

	// m0 comes back: its schedule is dropped, so if it vanishes again it
	// is dialled in the next round it wins a slot in.
	v := viewOf("self", "m0")
	p.due(v, "self", t0.Add(rounds*interval))
	if _, ok := p.tries["m0/10.0.0.0:1"]; ok {
		t.Error("m0's backoff survived its return")
	}
}
