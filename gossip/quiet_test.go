package gossip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/memberlist"
)

// TestBroadcastLimitCountsOwnTable: the broadcast queue's retransmit limit
// counts the members in gossip's own table (memberlist asks for broadcasts
// once per packet, and Memberlist.NumMembers takes its node lock).
func TestBroadcastLimitCountsOwnTable(t *testing.T) {
	g := &Gossip{cfg: Config{Origin: testOrigin}}
	bq := g.newBroadcastQueue(4)
	if n := bq.q.NumNodes(); n != 1 {
		t.Errorf("NumNodes with an empty table = %d, want 1", n)
	}
	for i := range 5 {
		g.table.put(&memberlist.Node{Name: fmt.Sprintf("n%d", i)})
	}
	if n := bq.q.NumNodes(); n != 5 {
		t.Errorf("NumNodes = %d, want the table's 5", n)
	}
}

// closedReplica refuses every merge, as a replica does while it closes.
type closedReplica struct {
	Replica
	err error
}

func (r closedReplica) Merge(string, []byte) (bool, error) { return false, r.err }

// levelCounter counts records at Warn or above.
type levelCounter struct {
	slog.Handler
	warns *atomic.Int64
}

func (h levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h levelCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.warns.Add(1)
	}
	return nil
}
func (h levelCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h levelCounter) WithGroup(string) slog.Handler      { return h }

// TestMergeRefusedWhileClosingIsQuiet: a merge the replica refuses because
// it is closing, or any refused merge once Close has started, is neither
// counted as a merge error nor logged as a warning; other errors are.
func TestMergeRefusedWhileClosingIsQuiet(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		closing bool
		loud    bool
	}{
		{name: "replica closed", err: fmt.Errorf("node: closed: %w", ErrReplicaClosed)},
		{name: "any error while closing", err: errors.New("bad"), closing: true},
		{name: "bad blob", err: errors.New("bad"), loud: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var warns atomic.Int64
			g := &Gossip{
				r:    closedReplica{err: tc.err},
				log:  slog.New(levelCounter{warns: &warns}),
				done: make(chan struct{}),
			}
			if tc.closing {
				close(g.done)
			}
			if g.merge(testOrigin, entry{Key: "k", Blob: []byte{1}}) {
				t.Fatal("a refused merge changed state")
			}
			errs, w := g.stats.mergeErrors.Load(), warns.Load()
			if tc.loud && (errs != 1 || w != 1) {
				t.Errorf("%d merge errors, %d warnings; want 1 and 1", errs, w)
			}
			if !tc.loud && (errs != 0 || w != 0) {
				t.Errorf("%d merge errors, %d warnings while closing; want none", errs, w)
			}
		})
	}
}
