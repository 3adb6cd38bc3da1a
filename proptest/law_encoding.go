package proptest

import (
	"bytes"
	"encoding"
	"fmt"
)

// The encoding laws, for types that implement encoding.BinaryMarshaler
// (and, for the round trip, whose New() implements BinaryUnmarshaler).
// Replicas compare digests of encoded states, so Equal states must encode
// to the same bytes, whatever order their information arrived in.

func (c *checker[T]) canEncode() bool {
	_, ok := any(c.spec.New()).(encoding.BinaryMarshaler)
	return ok
}

func (c *checker[T]) canDecode() bool {
	_, ok := any(c.spec.New()).(encoding.BinaryUnmarshaler)
	return ok && c.canEncode()
}

func encode[T any](x T) ([]byte, error) {
	return any(x).(encoding.BinaryMarshaler).MarshalBinary()
}

func (c *checker[T]) decode(b []byte) (T, error) {
	y := c.spec.New()
	err := any(y).(encoding.BinaryUnmarshaler).UnmarshalBinary(b)
	return y, err
}

// named is a state with the name a failure message gives it.
type named[T any] struct {
	name string
	x    T
}

// statesOf lists the empty state, every replica and every delta of s.
func (c *checker[T]) statesOf(s *sim[T]) []named[T] {
	out := []named[T]{{"⊥", c.spec.New()}}
	for i, x := range s.reps {
		out = append(out, named[T]{string(s.ids[i]), x})
	}
	for k, d := range s.deltas {
		out = append(out, named[T]{fmt.Sprintf("the delta of e%d", k+1), d})
	}
	return out
}

func (c *checker[T]) encodingRoundTrip(h history) error {
	for _, s := range c.statesOf(c.fresh(h)) {
		b, err := encode(s.x)
		if err != nil {
			return fmt.Errorf("MarshalBinary of %s = %s failed: %v", s.name, show(s.x), err)
		}
		y, err := c.decode(b)
		if err != nil {
			return fmt.Errorf("UnmarshalBinary of the encoding of %s = %s failed: %v (bytes %x)", s.name, show(s.x), err, b)
		}
		if !y.Equal(s.x) {
			return fmt.Errorf("decoding the encoding of %s gave a value that is not Equal: %s, decoded %s (bytes %x)",
				s.name, show(s.x), show(y), b)
		}
		for i := range b {
			b[i] = 0xff
		}
		if !y.Equal(s.x) {
			return fmt.Errorf("the value decoded from %s changed when its input buffer was overwritten: UnmarshalBinary must copy what it keeps", s.name)
		}
	}
	return nil
}

func (c *checker[T]) encodingDeterministic(h history) error {
	as, bs := c.statesOf(c.fresh(h)), c.statesOf(c.fresh(h))
	for i, s := range as {
		first, err := encode(s.x)
		if err != nil {
			return fmt.Errorf("MarshalBinary of %s = %s failed: %v", s.name, show(s.x), err)
		}
		// Several encodings, because a Go map's iteration order is only
		// sometimes different.
		for range 4 {
			again, err := encode(s.x)
			if err != nil {
				return fmt.Errorf("MarshalBinary of %s = %s failed: %v", s.name, show(s.x), err)
			}
			if !bytes.Equal(first, again) {
				return fmt.Errorf("encoding %s = %s twice gave different bytes:\n\t%x\n\t%x", s.name, show(s.x), first, again)
			}
		}
		twin, err := encode(bs[i].x)
		if err != nil {
			return fmt.Errorf("MarshalBinary of %s = %s failed: %v", s.name, show(s.x), err)
		}
		if bs[i].x.Equal(s.x) && !bytes.Equal(first, twin) {
			return fmt.Errorf("%s from two replays of the same history is Equal but encodes differently:\n\t%x\n\t%x", s.name, first, twin)
		}
		if c.canDecode() {
			if y, err := c.decode(bytes.Clone(first)); err == nil && y.Equal(s.x) {
				re, err := encode(y)
				if err == nil && !bytes.Equal(first, re) {
					return fmt.Errorf("re-encoding %s after decoding it gave different bytes:\n\t%x\n\t%x", s.name, first, re)
				}
			}
		}
	}

	// The same information joined in three different orders.
	n := c.spec.replicas()
	fwd := c.fresh(h)
	for i := 1; i < n; i++ {
		fwd.reps[0].Merge(fwd.reps[i])
	}
	back := c.fresh(h)
	for i := n - 2; i >= 0; i-- {
		back.reps[n-1].Merge(back.reps[i])
	}
	bot, src := c.spec.New(), c.fresh(h)
	for i := n - 1; i >= 0; i-- {
		bot.Merge(src.reps[(i+1)%n])
	}
	joins := []named[T]{
		{"r0 ⊔ r1 ⊔ … (into r0)", fwd.reps[0]},
		{"… ⊔ r1 ⊔ r0 (into the last replica)", back.reps[n-1]},
		{"⊥ ⊔ r0 ⊔ rN ⊔ … ⊔ r1", bot},
	}
	var enc [][]byte
	for _, j := range joins {
		b, err := encode(j.x)
		if err != nil {
			return fmt.Errorf("MarshalBinary of %s = %s failed: %v", j.name, show(j.x), err)
		}
		enc = append(enc, b)
	}
	for i := 1; i < len(joins); i++ {
		// States that are not Equal are the lattice laws' business.
		if joins[0].x.Equal(joins[i].x) && !bytes.Equal(enc[0], enc[i]) {
			return fmt.Errorf("Equal states joined in different orders encode differently: %s = %x, %s = %x",
				joins[0].name, enc[0], joins[i].name, enc[i])
		}
	}
	return nil
}
