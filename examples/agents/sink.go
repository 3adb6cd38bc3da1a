package main

import "sync"

// Sink is the outside world a task's effect lands in: think of a payment
// API that takes an idempotency key. It applies each key once and refuses
// repeats (when dedupe is on), and it counts every call, so the checker can
// see an effect applied twice.
type Sink struct {
	dedupe bool

	mu       sync.Mutex
	applied  map[string]int // guarded by mu; times the effect of a key took place
	refused  int            // guarded by mu; repeats refused by the idempotency key
	attempts int            // guarded by mu
}

func newSink(dedupe bool) *Sink { return &Sink{dedupe: dedupe, applied: map[string]int{}} }

// Apply performs the effect of key (idempotently when dedupe is on) and
// reports whether it took place now.
func (s *Sink) Apply(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if s.dedupe && s.applied[key] > 0 {
		s.refused++
		return false
	}
	s.applied[key]++
	return true
}

// check returns the keys applied more than once and the keys of want never
// applied.
func (s *Sink) check(want []string) (twice, lost []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range want {
		switch n := s.applied[k]; {
		case n == 0:
			lost = append(lost, k)
		case n > 1:
			twice = append(twice, k)
		}
	}
	return twice, lost
}
