package node

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// Event says that a key changed. Events are coalesced (see Watch): one
// Event may stand for several changes, and it names the latest.
type Event struct {
	// Key is the object that changed.
	Key string
	// Type is the object's type name ("GCounter", "PNCounter", "ORSet",
	// "LWWMap" or a registered type's Go type name).
	Type string
	// Seq is the node's change sequence number of the key's latest change
	// when the event was taken. Sequence numbers grow by one with every
	// change of any key on this node (local or merged) and restart at zero
	// with a new epoch; Read returns a Snapshot with this Seq or a later one.
	Seq uint64
}

// event builds the Event for key from its current state.
func (n *Node) event(key string) Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	e := Event{Key: key}
	if obj := n.objects[key]; obj != nil {
		e.Type, e.Seq = obj.ops.name(), obj.seq
	}
	return e
}

// Subscribe returns a channel of Events for the keys m matches, until ctx
// ends or the node closes; then the channel is closed. It is WatchEvents
// with a channel: a consumer that falls behind delays only its own
// subscription, whose changes are coalesced meanwhile, so the channel
// never delivers a stale backlog.
func (n *Node) Subscribe(ctx context.Context, m Match) (<-chan Event, error) {
	ch := make(chan Event)
	cancel, err := n.WatchEvents(m, func(e Event) {
		select {
		case ch <- e:
		case <-ctx.Done():
		case <-n.done:
		}
	})
	if err != nil {
		return nil, err
	}
	go func() {
		select {
		case <-ctx.Done():
		case <-n.done:
		}
		cancel() // waits for a send in progress to give up
		close(ch)
	}()
	return ch, nil
}

// Seq returns the node's change sequence number: the number of changes of
// local state so far (see Event.Seq).
func (n *Node) Seq() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.seq
}

// ChangedSince returns an Event for every key whose latest change has a
// sequence number above seq, ordered by sequence number. A client that
// processed everything up to seq and reads these keys misses no change
// (states subsume earlier ones); ChangedSince(0) lists every key that ever
// changed. It costs O(objects).
func (n *Node) ChangedSince(seq uint64) []Event {
	n.mu.Lock()
	var out []Event
	for k, obj := range n.objects {
		if obj.seq > seq {
			out = append(out, Event{Key: k, Type: obj.ops.name(), Seq: obj.seq})
		}
	}
	n.mu.Unlock()
	slices.SortFunc(out, func(a, b Event) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// Snapshot is one object's state read at one instant: the value, and the
// sequence number and time of the change that produced it.
type Snapshot struct {
	Key     string
	Type    string
	Seq     uint64
	Changed time.Time // zero if the key never changed (bound, still empty)
	// Value is the state as plain data: uint64 for a GCounter, int64 for a
	// PNCounter, []any for an ORSet (elements decoded from msgpack, in
	// encoding order), map[string]any for an LWW-Map (keys that are not
	// strings are written as their JSON), and a copy of the value for a
	// registered type. Decoded maps have string keys, so Value marshals to
	// JSON.
	Value any
}

// Read returns a Snapshot of key. The value and its Seq are read under one
// lock, so they agree. It fails with ErrNotFound for a key the node does
// not hold.
func (n *Node) Read(key string) (Snapshot, error) {
	n.mu.Lock()
	obj := n.objects[key]
	if obj == nil {
		n.mu.Unlock()
		return Snapshot{}, ErrNotFound
	}
	s := Snapshot{Key: key, Type: obj.ops.name(), Seq: obj.seq, Changed: obj.changed}
	v := obj.ops.clone(obj.val)
	n.mu.Unlock()
	val, err := plainValue(v)
	if err != nil {
		return Snapshot{}, err
	}
	s.Value = val
	return s, nil
}
