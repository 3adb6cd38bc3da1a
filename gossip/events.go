package gossip

import (
	"fmt"
	"sync"

	"github.com/hashicorp/memberlist"
)

// EventKind says what happened to a member. The values are not part of the
// wire protocol.
type EventKind uint8

// Membership event kinds.
const (
	// EventJoin: a member (name and epoch) became live.
	EventJoin EventKind = 1
	// EventLeave: a member left gracefully (it closed and said goodbye).
	// The goodbye is a best-effort packet: if it is lost, the departure
	// is reported as EventFail.
	EventLeave EventKind = 2
	// EventFail: a member was declared dead by failure detection, or was
	// replaced by a new epoch of the same name (a restart that came back
	// before it was declared dead; an EventJoin of the new epoch follows).
	EventFail EventKind = 3
	// EventUpdate: a live member's address or metadata changed, epoch
	// unchanged.
	EventUpdate EventKind = 4
	// EventOverflow: the subscriber read too slowly and Event.Dropped of
	// the oldest events were discarded; re-read the view (Members).
	EventOverflow EventKind = 5
)

func (k EventKind) String() string {
	switch k {
	case EventJoin:
		return "join"
	case EventLeave:
		return "leave"
	case EventFail:
		return "fail"
	case EventUpdate:
		return "update"
	case EventOverflow:
		return "overflow"
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is one membership change, as seen by this node. Events of one
// member arrive in the order memberlist reported them.
type Event struct {
	Kind   EventKind
	Member Member // after the change; for leave and fail, as last seen
	// Dropped is, for EventOverflow, how many events were discarded.
	Dropped int
}

// hub fans membership changes out to subscriptions. mu is held while the
// member table changes and the event is queued, and while a subscription
// takes its view, so a view and the events after it never overlap or miss
// a change. Publishing never blocks: memberlist calls the event delegate
// under its node lock.
type hub struct {
	mu      sync.Mutex
	subs    map[*Subscription]struct{} // guarded by mu
	closed  bool                       // guarded by mu
	leaving map[Origin]struct{}        // guarded by mu; members that said goodbye
}

// Subscription receives membership events from Subscribe. Events are kept
// in a ring of fixed capacity; when it is full the oldest event is
// discarded and the next Next returns an EventOverflow first. Safe for
// concurrent use.
type Subscription struct {
	h     *hub
	ready chan struct{} // capacity 1: events pending, or closed

	mu      sync.Mutex
	ring    []Event // guarded by mu
	head    int     // guarded by mu; index of the oldest event
	n       int     // guarded by mu; events queued
	dropped int     // guarded by mu; discarded since the last Next
	closed  bool    // guarded by mu
}

// DefaultEventBuffer is the capacity Subscribe uses for capacity <= 0.
const DefaultEventBuffer = 1024

// Subscribe returns the live members and a subscription to every change
// after that view. capacity bounds the events held for a slow reader (see
// Subscription). Close the subscription when done; Close of the Gossip
// closes it too.
func (g *Gossip) Subscribe(capacity int) ([]Member, *Subscription) {
	if capacity <= 0 {
		capacity = DefaultEventBuffer
	}
	s := &Subscription{h: &g.events, ready: make(chan struct{}, 1), ring: make([]Event, capacity)}
	g.events.mu.Lock()
	defer g.events.mu.Unlock()
	view := g.Members()
	if g.events.closed {
		s.closed = true
		s.signal()
		return view, s
	}
	if g.events.subs == nil {
		g.events.subs = make(map[*Subscription]struct{})
	}
	g.events.subs[s] = struct{}{}
	return view, s
}

// Ready is signalled when events are pending or the subscription closed.
// It is a hint: call Next until it reports nothing.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Next returns the oldest pending event, or ok false if none is pending.
func (s *Subscription) Next() (ev Event, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropped > 0 {
		ev = Event{Kind: EventOverflow, Dropped: s.dropped}
		s.dropped = 0
		return ev, true
	}
	if s.n == 0 {
		return Event{}, false
	}
	ev = s.ring[s.head]
	s.ring[s.head] = Event{}
	s.head = (s.head + 1) % len(s.ring)
	s.n--
	return ev, true
}

// Closed reports whether the subscription was closed (by Close or by the
// Gossip's Close). Pending events can still be read.
func (s *Subscription) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close ends the subscription. It is safe to call more than once.
func (s *Subscription) Close() {
	s.h.mu.Lock()
	delete(s.h.subs, s)
	s.h.mu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
}

func (s *Subscription) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// push queues ev, discarding the oldest event if the ring is full.
func (s *Subscription) push(ev Event) {
	s.mu.Lock()
	if s.n == len(s.ring) {
		s.ring[s.head] = Event{}
		s.head = (s.head + 1) % len(s.ring)
		s.n--
		s.dropped++
	}
	s.ring[(s.head+s.n)%len(s.ring)] = ev
	s.n++
	s.mu.Unlock()
	s.signal()
}

// publishLocked queues evs for every subscription. Caller holds h.mu.
func (h *hub) publishLocked(evs ...Event) {
	for s := range h.subs {
		for _, ev := range evs {
			s.push(ev)
		}
	}
}

// markLeaving records that from said goodbye (MsgLeave), so its departure
// is reported as EventLeave rather than EventFail. Called from NotifyMsg,
// before the message is queued: memberlist hands user messages and its own
// dead messages to one queue in order, and the goodbye is sent before
// memberlist's leave.
func (h *hub) markLeaving(from Origin) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.leaving == nil {
		h.leaving = make(map[Origin]struct{})
	}
	if len(h.leaving) < 4096 { // a bound against a peer inventing names
		h.leaving[from] = struct{}{}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	subs := h.subs
	h.subs, h.closed = nil, true
	h.mu.Unlock()
	for s := range subs {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.signal()
	}
}

// memberJoined, memberLeft and memberUpdated keep the member table and
// publish the change, under the hub's lock (see hub).
func (g *Gossip) memberJoined(n *memberlist.Node) {
	g.events.mu.Lock()
	defer g.events.mu.Unlock()
	g.table.put(n)
	g.events.publishLocked(Event{Kind: EventJoin, Member: toMember(n)})
}

func (g *Gossip) memberLeft(n *memberlist.Node) {
	g.events.mu.Lock()
	defer g.events.mu.Unlock()
	m := toMember(n)
	if old := g.table.get(n.Name); old != nil {
		m = toMember(old) // the table's copy; memberlist's may be stale
	}
	g.table.remove(n.Name)
	kind := EventFail
	o := Origin{Name: m.Name, Epoch: m.Epoch}
	if _, ok := g.events.leaving[o]; ok {
		delete(g.events.leaving, o)
		kind = EventLeave
	}
	g.events.publishLocked(Event{Kind: kind, Member: m})
}

func (g *Gossip) memberUpdated(n *memberlist.Node) {
	g.events.mu.Lock()
	defer g.events.mu.Unlock()
	old := g.table.get(n.Name)
	g.table.put(n)
	m := toMember(n)
	if old != nil && toMember(old).Epoch != m.Epoch {
		// The same name under a new epoch: the old incarnation is gone.
		g.events.publishLocked(Event{Kind: EventFail, Member: toMember(old)}, Event{Kind: EventJoin, Member: m})
		return
	}
	g.events.publishLocked(Event{Kind: EventUpdate, Member: m})
}
