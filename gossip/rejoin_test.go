package gossip

import (
	"slices"
	"testing"
)

// TestLateLeaveOfOldEpochIsIgnored: a member that left and came back with a
// new epoch stays in the peer book when its old incarnation's leave arrives
// late; only a leave from the epoch on record forgets it.
func TestLateLeaveOfOldEpochIsIgnored(t *testing.T) {
	var p peerBook
	p.seen("n1", "10.0.0.1:7946", 1)
	p.seen("n1", "10.0.0.1:7946", 2) // restarted
	if p.forget(Origin{Name: "n1", Epoch: 1}) {
		t.Error("a leave of epoch 1 forgot the member at epoch 2")
	}
	if got := p.missing(map[string]bool{"self": true, "other": true}, "self"); !slices.Equal(got, []string{"n1/10.0.0.1:7946"}) {
		t.Fatalf("missing = %q, want n1's address", got)
	}
	if !p.forget(Origin{Name: "n1", Epoch: 2}) {
		t.Error("a leave of the current epoch was ignored")
	}
	if got := p.missing(map[string]bool{"self": true, "other": true}, "self"); len(got) != 0 {
		t.Fatalf("missing = %q after the member left", got)
	}
}
