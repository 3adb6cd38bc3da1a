package gossip

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// joinReplica joins blobs by sorted byte union; only Join is used.
type joinReplica struct {
	Replica
	fail bool
}

func (r joinReplica) Join(key string, a, b []byte) ([]byte, error) {
	if r.fail {
		return nil, errors.New("join failed")
	}
	u := slices.Concat(a, b)
	slices.Sort(u)
	return slices.Compact(u), nil
}

func newTestQueue(fail bool) *broadcastQueue {
	bq := &broadcastQueue{r: joinReplica{fail: fail}, origin: testOrigin, budget: 100, stats: &counters{}}
	bq.q.RetransmitMult = 1
	bq.q.NumNodes = func() int { return 2 }
	return bq
}

func TestBroadcastQueueJoinsPerKey(t *testing.T) {
	bq := newTestQueue(false)
	bq.enqueue("k", []byte{1, 2})
	bq.enqueue("k", []byte{3})
	bq.enqueue("other", []byte{9})
	if n := bq.len(); n != 2 {
		t.Fatalf("queued %d broadcasts, want 2 (one per key)", n)
	}
	msgs := bq.q.GetBroadcasts(0, 1000)
	want := appendDelta(nil, testOrigin, "k", []byte{1, 2, 3})
	found := false
	for _, m := range msgs {
		found = found || bytes.Equal(m, want)
	}
	if !found {
		t.Fatalf("no joined delta for k among %x", msgs)
	}
}

func TestBroadcastQueueKeepsWhatItCannotJoin(t *testing.T) {
	seq := func(from, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(from + i)
		}
		return b
	}
	tests := []struct {
		name        string
		fail        bool
		first, next []byte
	}{
		{name: "join fails", fail: true, first: []byte{1}, next: []byte{2}},
		{name: "joined over budget", first: seq(0, 50), next: seq(50, 50)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bq := newTestQueue(tc.fail)
			if !bq.enqueue("k", tc.first) || !bq.enqueue("k", tc.next) {
				t.Fatal("a delta within budget was refused")
			}
			if n := bq.len(); n != 2 {
				t.Fatalf("queued %d broadcasts, want the 2 deltas kept apart", n)
			}
			msgs := bq.q.GetBroadcasts(0, 1000)
			for _, d := range [][]byte{tc.first, tc.next} {
				want := appendDelta(nil, testOrigin, "k", d)
				if !slices.ContainsFunc(msgs, func(m []byte) bool { return bytes.Equal(m, want) }) {
					t.Errorf("delta %x missing from %x", d, msgs)
				}
			}
		})
	}
}

func TestBroadcastQueueRejectsOversize(t *testing.T) {
	bq := newTestQueue(false)
	if bq.enqueue("k", bytes.Repeat([]byte{1}, 200)) {
		t.Fatal("queued a delta over the packet budget")
	}
	if bq.len() != 0 {
		t.Fatal("queue not empty")
	}
}

func TestBroadcastQueueDrains(t *testing.T) {
	bq := newTestQueue(false)
	bq.enqueue("k", []byte{1})
	for range 10 {
		bq.q.GetBroadcasts(0, 1000)
	}
	if n := bq.len(); n != 0 {
		t.Fatalf("queue holds %d after the retransmit limit", n)
	}
	// A finished broadcast is not joined into: the next delta starts fresh.
	bq.enqueue("k", []byte{2})
	msgs := bq.q.GetBroadcasts(0, 1000)
	if len(msgs) != 1 || !bytes.Equal(msgs[0], appendDelta(nil, testOrigin, "k", []byte{2})) {
		t.Fatalf("got %x", msgs)
	}
}
