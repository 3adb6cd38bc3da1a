package crdt

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/converge-crdt/converge/internal/wire"
)

// Wire form of ORSet (format version 1):
//
//	[tag=3, version=1, context, entries]
//	context = [vector, cloud]          (see CausalContext)
//	entries = [e1, dots1, e2, dots2, …]
//	dots    = [r1, c1, r2, c2, …]      (the element's dots, sorted by replica, then counter)
//
// Each element is embedded as its own msgpack value, encoded as wire.Marshal
// does, and the entries are sorted by those bytes, so equal states encode to
// equal bytes.

// elemEncoder encodes elements exactly as wire.Marshal does (msgpack with
// sorted map keys) but reuses one encoder and buffer across elements instead
// of allocating a Writer per element. A test pins that both agree.
type elemEncoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

func newElemEncoder() *elemEncoder {
	c := &elemEncoder{}
	c.enc = msgpack.NewEncoder(&c.buf)
	c.enc.SetSortMapKeys(true)
	return c
}

// encodeOne replaces the buffer's content with the encoding of v. The result
// aliases the buffer until the next call.
func (c *elemEncoder) encodeOne(v any) ([]byte, error) {
	c.buf.Reset()
	if err := c.enc.Encode(v); err != nil {
		return nil, err
	}
	return c.buf.Bytes(), nil
}

// MarshalBinary encodes the state deterministically. It fails only if an
// element cannot be encoded by msgpack, or if two distinct elements encode
// to the same bytes (possible only for an interface E holding values of
// different types, such as int(1) and int64(1)), since no decoder could
// tell them apart.
func (s *ORSet[E]) MarshalBinary() ([]byte, error) {
	type entry struct {
		start, end int
		ds         dotSet
	}
	enc := newElemEncoder()
	ents := make([]entry, 0, len(s.entries))
	for e, ds := range s.entries {
		start := enc.buf.Len()
		if err := enc.enc.Encode(e); err != nil {
			return nil, fmt.Errorf("crdt: encode ORSet element %v: %w", e, err)
		}
		ents = append(ents, entry{start, enc.buf.Len(), ds})
	}
	raw := enc.buf.Bytes()
	elem := func(x entry) []byte { return raw[x.start:x.end] }
	slices.SortFunc(ents, func(a, b entry) int { return bytes.Compare(elem(a), elem(b)) })
	for i := 1; i < len(ents); i++ {
		if bytes.Equal(elem(ents[i-1]), elem(ents[i])) {
			return nil, fmt.Errorf("%w: two ORSet elements encode to the same bytes % x", ErrDuplicate, elem(ents[i]))
		}
	}

	w := wire.NewWriter()
	writeHeader(w, TagORSet, 2)
	s.ctx.encode(w)
	w.Array(2 * len(ents))
	var buf [8]Dot
	for _, x := range ents {
		w.Raw(elem(x))
		ds := x.ds.appendTo(buf[:0])
		w.Array(2 * len(ds))
		for _, d := range ds {
			w.String(string(d.Replica))
			w.Uint(d.Counter)
		}
	}
	return w.Bytes(), nil
}

// UnmarshalBinary replaces s with the state encoded in b, which may come
// from an untrusted peer. It checks every invariant before touching s and
// leaves s unchanged on error. Errors wrap ErrTruncated, ErrTrailing,
// ErrMalformed (including entries out of order and an element not in the
// canonical form that MarshalBinary writes), ErrTooLarge, ErrTooDeep,
// ErrWrongType, ErrVersion, ErrDuplicate (an element twice, a dot twice in
// one element or under two elements) or ErrInvalid (an element without
// dots, a dot its context does not cover, an empty replica ID, a zero or
// oversized counter). Allocation is bounded by a small multiple of len(b)
// plus what msgpack allocates for the elements themselves. b is not
// retained.
func (s *ORSet[E]) UnmarshalBinary(b []byte) error {
	r := wire.NewReader(b)
	if err := readHeader(r, TagORSet, 2); err != nil {
		return err
	}
	ctx, err := decodeCausalContext(r)
	if err != nil {
		return fmt.Errorf("ORSet context: %w", err)
	}
	// An entry takes at least 5 bytes: element (1), dots header (1), a
	// replica ID (2: it is never empty) and a counter (1).
	n, err := r.ArrayLen("ORSet entries", 2)
	if err != nil {
		return err
	}
	if n%2 != 0 {
		return fmt.Errorf("%w: ORSet entries array has odd length %d", ErrMalformed, n)
	}
	n /= 2
	var entries map[E]dotSet
	if n > 0 {
		entries = make(map[E]dotSet, n)
	}
	checkComparable := mayHoldIncomparable(reflect.TypeFor[E]())
	enc := newElemEncoder()
	reps := replicaTable{byRaw: make(map[string]int)}
	var prevElem []byte
	var buf [8]Dot
	for i := range n {
		start := r.Offset()
		raw, err := r.Raw("ORSet element", wire.DefaultMaxDepth)
		if err != nil {
			return fmt.Errorf("ORSet entry %d: %w", i, err)
		}
		if i > 0 {
			if c := bytes.Compare(prevElem, raw); c >= 0 {
				if c == 0 {
					return fmt.Errorf("%w: ORSet entry %d at offset %d repeats element % x", ErrDuplicate, i, start, raw)
				}
				return fmt.Errorf("%w: ORSet entry %d at offset %d out of order (elements sort by encoded bytes)", ErrMalformed, i, start)
			}
		}
		prevElem = raw
		var e E
		if err := wire.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("ORSet entry %d at offset %d: element: %w", i, start, err)
		}
		if checkComparable && !reflect.ValueOf(&e).Elem().Comparable() {
			return fmt.Errorf("%w: ORSet entry %d at offset %d: element %v is not comparable", ErrInvalid, i, start, e)
		}
		if e != e {
			return fmt.Errorf("%w: ORSet entry %d at offset %d: element %v is not equal to itself", ErrInvalid, i, start, e)
		}
		// The canonical check makes the encoding of a state unique: equal
		// elements then have equal bytes, so the sort above catches every
		// duplicate and re-encoding gives back b.
		canon, err := enc.encodeOne(e)
		if err != nil || !bytes.Equal(canon, raw) {
			return fmt.Errorf("%w: ORSet entry %d at offset %d: element % x is not in canonical form", ErrMalformed, i, start, raw)
		}
		if _, dup := entries[e]; dup {
			return fmt.Errorf("%w: ORSet entry %d repeats element %v", ErrDuplicate, i, e)
		}

		m, err := r.ArrayLen("ORSet element dots", 1)
		if err != nil {
			return fmt.Errorf("ORSet entry %d: %w", i, err)
		}
		if m%2 != 0 {
			return fmt.Errorf("%w: ORSet entry %d dots array has odd length %d", ErrMalformed, i, m)
		}
		if m == 0 {
			return fmt.Errorf("%w: ORSet entry %d (%v) has no dots", ErrInvalid, i, e)
		}
		ds := buf[:0]
		for j := range m / 2 {
			d, err := reps.readDot(r)
			if err != nil {
				return fmt.Errorf("ORSet entry %d dot %d: %w", i, j, err)
			}
			if j > 0 {
				if c := compareDots(d, ds[len(ds)-1]); c <= 0 {
					if c == 0 {
						return fmt.Errorf("%w: ORSet entry %d (%v) lists dot %v twice", ErrDuplicate, i, e, d)
					}
					return fmt.Errorf("%w: ORSet entry %d (%v) dots out of order (%v after %v)", ErrMalformed, i, e, d, ds[len(ds)-1])
				}
			}
			if !ctx.Contains(d) {
				return fmt.Errorf("%w: ORSet entry %d (%v) has dot %v that its context %v does not cover", ErrInvalid, i, e, d, ctx)
			}
			reps.note(d)
			ds = append(ds, d)
		}
		entries[e] = makeDotSet(ds)
	}
	if err := r.Done(); err != nil {
		return fmt.Errorf("ORSet: %w", err)
	}
	if err := reps.checkDistinct(); err != nil {
		return err
	}
	s.entries = entries
	s.ctx = *ctx
	s.peak = len(entries)
	return nil
}

// replicaTable interns the replica IDs of decoded dots, so that 100 k dots
// of three replicas hold three strings, not 100 k copies, and collects each
// replica's counters to find a dot listed under two elements.
type replicaTable struct {
	byRaw map[string]int // encoded replica ID → index into ids and ctrs
	ids   []ReplicaID
	ctrs  [][]uint64
	last  int // index of the replica of the last dot read
}

// readDot reads a replica ID and a counter, checked like decodeDot.
func (t *replicaTable) readDot(r *wire.Reader) (Dot, error) {
	start := r.Offset()
	raw, err := r.Raw("dot replica id", 0)
	if err != nil {
		return Dot{}, err
	}
	idx, ok := t.byRaw[string(raw)]
	if !ok {
		id, err := readReplicaID(wire.NewReader(raw))
		if err != nil {
			return Dot{}, fmt.Errorf("dot replica id at offset %d: %w", start, err)
		}
		idx = len(t.ids)
		t.byRaw[string(raw)] = idx
		t.ids = append(t.ids, id)
		t.ctrs = append(t.ctrs, nil)
	}
	ctr, err := r.Uint("dot counter")
	if err != nil {
		return Dot{}, err
	}
	d := Dot{Replica: t.ids[idx], Counter: ctr}
	if err := checkCounter(fmt.Sprintf("dot %v", d), ctr); err != nil {
		return Dot{}, err
	}
	t.last = idx
	return d, nil
}

// note records the dot last returned by readDot.
func (t *replicaTable) note(d Dot) { t.ctrs[t.last] = append(t.ctrs[t.last], d.Counter) }

// checkDistinct fails if any dot was noted twice.
func (t *replicaTable) checkDistinct() error {
	for i, cs := range t.ctrs {
		slices.Sort(cs)
		for j := 1; j < len(cs); j++ {
			if cs[j] == cs[j-1] {
				d := Dot{Replica: t.ids[i], Counter: cs[j]}
				return fmt.Errorf("%w: ORSet dot %v appears under two elements", ErrDuplicate, d)
			}
		}
	}
	return nil
}

// mayHoldIncomparable reports whether a value of the comparable type t can
// still hold an incomparable value: an interface whose dynamic type is, for
// example, a map decoded from a peer. Using such a value as a map key would
// panic, so the decoder checks elements of these types one by one.
func mayHoldIncomparable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Array:
		return mayHoldIncomparable(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if mayHoldIncomparable(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}
