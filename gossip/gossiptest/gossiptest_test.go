package gossiptest

import (
	"errors"
	"slices"
	"testing"

	"github.com/hashicorp/memberlist"
)

func TestReplicaMergeIsUnion(t *testing.T) {
	a, b := NewReplica(), NewReplica()
	da := a.Add("k", "x", "y")
	db := b.Add("k", "z")
	if changed, err := a.Merge("k", db); !changed || err != nil {
		t.Fatalf("merge new: %v %v", changed, err)
	}
	if changed, err := a.Merge("k", db); changed || err != nil {
		t.Fatalf("merge again: %v %v, want unchanged", changed, err)
	}
	b.Merge("k", da)
	if a.Root() != b.Root() {
		t.Fatal("equal sets, different roots")
	}
	j, err := a.Join("k", da, db)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := Decode(j); !slices.Equal(got, []string{"x", "y", "z"}) {
		t.Fatalf("join = %q", got)
	}
	if _, err := a.Merge("k", []byte{9, 'x'}); !errors.Is(err, ErrBadBlob) {
		t.Fatalf("bad blob: %v", err)
	}
}

func TestNetworkPartitionAndLoss(t *testing.T) {
	n := NewNetwork(1)
	a, b := n.NewTransport("a"), n.NewTransport("b")
	defer a.Shutdown()
	defer b.Shutdown()
	send := func() bool {
		a.WriteToAddress([]byte{1}, memberlist.Address{Addr: b.Addr(), Name: "b"})
		select {
		case <-b.PacketCh():
			return true
		default:
			return false
		}
	}
	if !send() {
		t.Fatal("packet lost on a clean network")
	}
	n.Partition([]string{"a"}, []string{"b"})
	if send() {
		t.Fatal("packet crossed the partition")
	}
	if _, err := a.DialAddressTimeout(memberlist.Address{Addr: b.Addr()}, 0); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("dial across partition: %v", err)
	}
	n.Heal()
	n.SetLoss(0.5)
	got := 0
	for range 1000 {
		if send() {
			got++
		}
	}
	if got < 400 || got > 600 {
		t.Fatalf("%d of 1000 packets at 50%% loss", got)
	}
	b.Shutdown()
	if send() {
		t.Fatal("packet delivered to a shut-down transport")
	}
}
