package crdt

import (
	"cmp"
	"fmt"
)

// MaxCounter is the largest event counter a decoder accepts in a dot or a
// version vector. No replica makes 2^62 updates; the bound leaves room so
// that Next can never overflow, even after merging a hostile peer's vector.
const MaxCounter = 1 << 62

// Dot names one event: the Counter-th update made by Replica. Counters start
// at 1; the zero Dot names no event.
type Dot struct {
	Replica ReplicaID
	Counter uint64
}

func (d Dot) String() string { return fmt.Sprintf("%s:%d", d.Replica, d.Counter) }

// compareDots orders dots by replica, then counter: the order of every
// encoding that lists dots.
func compareDots(a, b Dot) int {
	if c := cmp.Compare(a.Replica, b.Replica); c != 0 {
		return c
	}
	return cmp.Compare(a.Counter, b.Counter)
}

func checkCounter(what string, c uint64) error {
	if c == 0 {
		return fmt.Errorf("%w: %s has counter 0", ErrInvalid, what)
	}
	if c > MaxCounter {
		return fmt.Errorf("%w: %s counter %d above limit %d", ErrInvalid, what, c, uint64(MaxCounter))
	}
	return nil
}
