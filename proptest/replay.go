package proptest

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/converge-crdt/converge/crdt"
)

// sim replays a history: the replicas, the deltas in flight between them
// and what each replica has seen. Replaying is deterministic, so replaying
// the same history twice gives two independent, Equal sets of states.
type sim[T crdt.CRDT[T]] struct {
	spec   *Spec[T]
	reps   []T
	ids    []crdt.ReplicaID
	seq    []uint64 // accepted operations per replica
	clock  []uint64 // Lamport clock per replica
	seen   []bitset // events each replica has seen
	events []Event  // accepted operations, in the order they ran
	deltas []T      // deltas[i] is the delta events[i] returned
	stepOf []int    // stepOf[i] is the index of the step that ran events[i]
	done   int      // steps run so far
	flight [][]int  // per receiver: events whose delta is in flight to it, oldest first

	trace []string // one line per step when tracing

	// causal makes deliveries causal, as a causal broadcast layer would:
	// a delta arrives only after every delta that happened before it (they
	// are delivered first). Every replica's knowledge is then causally
	// closed, which the model law needs.
	causal bool
}

// stepResult says what an operation step did.
type stepResult struct {
	event    int   // index of the accepted event, or -1
	rejected error // the error a rejected operation returned
}

// replicaIDs caches the IDs of the first replicas: replays are many.
var replicaIDs = func() (ids [8]crdt.ReplicaID) {
	for i := range ids {
		ids[i] = crdt.ReplicaID(fmt.Sprintf("r%d", i))
	}
	return ids
}()

func replicaID(i int) crdt.ReplicaID {
	if i < len(replicaIDs) {
		return replicaIDs[i]
	}
	return crdt.ReplicaID(fmt.Sprintf("r%d", i))
}

func newSim[T crdt.CRDT[T]](spec *Spec[T], tracing bool) *sim[T] {
	n := spec.replicas()
	s := &sim[T]{
		spec:   spec,
		reps:   make([]T, n),
		ids:    make([]crdt.ReplicaID, n),
		seq:    make([]uint64, n),
		clock:  make([]uint64, n),
		seen:   make([]bitset, n),
		flight: make([][]int, n),
	}
	for i := range n {
		s.reps[i] = spec.New()
		s.ids[i] = replicaID(i)
	}
	if tracing {
		s.trace = []string{}
	}
	return s
}

// replay runs the first n steps of h (all of them if n < 0) on fresh
// replicas.
func replay[T crdt.CRDT[T]](spec *Spec[T], h history, n int) (*sim[T], error) {
	if n < 0 || n > len(h) {
		n = len(h)
	}
	s := newSim(spec, false)
	for _, st := range h[:n] {
		if _, err := s.do(st); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// do runs one step. Its error reports a broken contract that stops the
// replay (an operation that returned a nil delta, say); a rejected
// operation is not an error.
func (s *sim[T]) do(st step) (stepResult, error) {
	res := stepResult{event: -1}
	r := st.replica
	s.done++
	switch st.kind {
	case stepOp:
		op := s.spec.Ops[st.op]
		at := Site{Replica: s.ids[r], Seq: s.seq[r] + 1, Clock: s.clock[r] + 1}
		d, err := op.Apply(s.reps[r], at, st.arg)
		if err != nil {
			res.rejected = err
			if s.trace != nil {
				s.tracef("%s  %s%s  rejected: %v", s.ids[r], op.Name, formatArg(st.arg), err)
			}
			return res, nil
		}
		if isNil(d) {
			return res, fmt.Errorf("op %s%s at %s returned a nil delta and no error", op.Name, formatArg(st.arg), s.ids[r])
		}
		if sameObject(d, s.reps[r]) {
			return res, fmt.Errorf("op %s%s at %s returned the replica itself as its delta; return a fresh value (a Clone if need be)", op.Name, formatArg(st.arg), s.ids[r])
		}
		s.seq[r], s.clock[r] = at.Seq, at.Clock
		ev := Event{Op: op.Name, Replica: at.Replica, Seq: at.Seq, Clock: at.Clock, Arg: st.arg,
			index: len(s.events), past: s.seen[r].clone()}
		res.event = ev.index
		s.events = append(s.events, ev)
		s.deltas = append(s.deltas, d)
		s.stepOf = append(s.stepOf, s.done-1)
		s.seen[r].add(ev.index)
		for to := range s.reps {
			if to != r {
				s.flight[to] = append(s.flight[to], ev.index)
			}
		}
		if s.trace != nil {
			s.tracef("%s  %s%s  -> e%d", s.ids[r], op.Name, formatArg(st.arg), ev.index+1)
		}
	case stepMerge:
		s.mergeState(r, st.from)
		s.tracef("%s  <- full state of %s", s.ids[r], s.ids[st.from])
	case stepDeliver:
		q := s.flight[r]
		if len(q) == 0 {
			s.tracef("%s  <- (no delta in flight)", s.ids[r])
			return res, nil
		}
		i := st.pick % len(q)
		e := q[i]
		if !st.keep {
			s.flight[r] = slices.Delete(q, i, i+1)
		}
		s.deliver(r, e)
		dup := ""
		if st.keep {
			dup = ", a copy stays in flight"
		}
		if s.trace != nil {
			s.tracef("%s  <- delta of e%d (%s %s%s)%s", s.ids[r], e+1, s.events[e].Replica, s.events[e].Op, formatArg(s.events[e].Arg), dup)
		}
	}
	return res, nil
}

func (s *sim[T]) mergeState(to, from int) {
	s.reps[to].Merge(s.reps[from])
	s.seen[to].union(s.seen[from])
	s.clock[to] = max(s.clock[to], s.clock[from])
}

func (s *sim[T]) deliver(to, e int) {
	if s.causal {
		for i := range e {
			if s.events[e].past.has(i) && !s.seen[to].has(i) {
				s.tracef("%s  <- delta of e%d first, to keep delivery causal", s.ids[to], i+1)
				s.deliver(to, i)
			}
		}
	}
	s.reps[to].Merge(s.deltas[e])
	s.seen[to].add(e)
	s.clock[to] = max(s.clock[to], s.events[e].Clock)
}

// deliverAll delivers every delta still in flight, newest first and then
// each once more oldest first: reordered and duplicated, none lost. In a
// causal sim it delivers every missing delta in causal order instead.
func (s *sim[T]) deliverAll() {
	if s.causal {
		for to := range s.reps {
			for e := range s.events {
				if !s.seen[to].has(e) {
					s.deliver(to, e)
				}
			}
			s.flight[to] = nil
		}
		return
	}
	for to, q := range s.flight {
		for _, e := range slices.Backward(q) {
			s.deliver(to, e)
		}
		for _, e := range q {
			s.deliver(to, e)
		}
		s.flight[to] = nil
	}
}

// antiEntropy drops every delta in flight and runs one full-state round:
// replica 0 merges every other replica, then every other replica merges
// replica 0.
func (s *sim[T]) antiEntropy() {
	for to := range s.flight {
		s.flight[to] = nil
	}
	for i := 1; i < len(s.reps); i++ {
		s.mergeState(0, i)
	}
	for i := 1; i < len(s.reps); i++ {
		s.mergeState(i, 0)
	}
}

// observer returns a fresh replica that merged every delta once, in the
// order the operations ran: the state a single replica reaches by applying
// the effect of every operation.
func (s *sim[T]) observer() T {
	o := s.spec.New()
	for _, d := range s.deltas {
		o.Merge(d)
	}
	return o
}

// seenEvents lists the events replica r has seen, in the order they ran.
func (s *sim[T]) seenEvents(r int) []Event {
	var out []Event
	for i, ev := range s.events {
		if s.seen[r].has(i) {
			out = append(out, ev)
		}
	}
	return out
}

func (s *sim[T]) tracef(format string, args ...any) {
	if s.trace != nil {
		s.trace = append(s.trace, fmt.Sprintf(format, args...))
	}
}

// isNil reports whether v is a nil pointer, map, slice, interface, func or
// channel: a delta that would make Merge panic.
func isNil[T any](v T) bool {
	rv := reflect.ValueOf(any(v))
	if !rv.IsValid() {
		return true
	}
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Func, reflect.Chan:
		return rv.IsNil()
	}
	return false
}

// sameObject reports whether a and b are the same pointer or map.
func sameObject[T any](a, b T) bool {
	ra, rb := reflect.ValueOf(any(a)), reflect.ValueOf(any(b))
	if !ra.IsValid() || !rb.IsValid() || ra.Kind() != rb.Kind() {
		return false
	}
	switch ra.Kind() {
	case reflect.Pointer, reflect.Map:
		return ra.Pointer() == rb.Pointer()
	}
	return false
}
