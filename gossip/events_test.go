package gossip

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/hashicorp/memberlist"
)

func testNode(name string, port uint16, epoch uint64) *memberlist.Node {
	return &memberlist.Node{Name: name, Addr: net.IPv4(127, 0, 0, 1), Port: port, Meta: binary.AppendUvarint(nil, epoch)}
}

func drain(s *Subscription) string {
	var out []string
	for {
		ev, ok := s.Next()
		if !ok {
			return strings.Join(out, ", ")
		}
		if ev.Kind == EventOverflow {
			out = append(out, fmt.Sprintf("overflow(%d)", ev.Dropped))
			continue
		}
		out = append(out, fmt.Sprintf("%s %s/%d@%s", ev.Kind, ev.Member.Name, ev.Member.Epoch, ev.Member.Addr))
	}
}

// TestEventKinds drives the event delegate as memberlist would and checks
// what a subscriber sees: the view at subscription, then joins, updates, a
// restart under a new epoch as fail+join, a goodbye as leave, a silent
// departure as fail.
func TestEventKinds(t *testing.T) {
	g := &Gossip{}

	g.memberJoined(testNode("a", 1, 1))
	view, s := g.Subscribe(16)
	if len(view) != 1 || view[0].Name != "a" {
		t.Fatalf("view %v", view)
	}
	g.memberJoined(testNode("b", 2, 7))
	g.memberUpdated(testNode("b", 3, 7))
	g.memberUpdated(testNode("b", 3, 8))
	g.events.markLeaving(Origin{Name: "b", Epoch: 8})
	g.memberLeft(testNode("b", 3, 8))
	g.memberLeft(testNode("a", 1, 1))
	want := "join b/7@127.0.0.1:2, update b/7@127.0.0.1:3, fail b/7@127.0.0.1:3, join b/8@127.0.0.1:3, leave b/8@127.0.0.1:3, fail a/1@127.0.0.1:1"
	if got := drain(s); got != want {
		t.Errorf("events\n got %s\nwant %s", got, want)
	}
	s.Close()
	g.memberJoined(testNode("c", 4, 1))
	if got := drain(s); got != "" {
		t.Errorf("events after Close: %s", got)
	}
}

// TestSubscriptionOverflow: a full ring drops the oldest events and says
// how many before the rest.
func TestSubscriptionOverflow(t *testing.T) {
	g := &Gossip{}
	_, s := g.Subscribe(2)
	for i := range 5 {
		g.memberJoined(testNode(fmt.Sprint("n", i), uint16(i), 1))
	}
	want := "overflow(3), join n3/1@127.0.0.1:3, join n4/1@127.0.0.1:4"
	if got := drain(s); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	g.memberJoined(testNode("n5", 5, 1))
	if got := drain(s); got != "join n5/1@127.0.0.1:5" {
		t.Errorf("after overflow: %s", got)
	}
	g.events.close()
	if !s.Closed() {
		t.Error("subscription open after the hub closed")
	}
}
