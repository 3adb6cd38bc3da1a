package crdt

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/converge-crdt/converge/internal/wire"
)

// MarshalBinary encodes the state deterministically: equal states give
// equal bytes, so digests compare. The wire form (format version 1) is
//
//	[tag=3, version=1, context, entries]
//
// or, once the set holds prune records (see Prune), version 2:
// [tag=3, version=2, context, entries, pruned]. In both,
//
//	context = [vector, cloud]          (see CausalContext)
//	entries = [e1, dots1, e2, dots2, …]
//	dots    = [r1, c1, r2, c2, …]      (sorted by replica, then counter)
//
// Each element is embedded as its own msgpack value, encoded by wire.Marshal
// (ORSet[string] takes a fast path that writes the same bytes), and the
// entries are sorted by those bytes.
//
// It fails only if msgpack cannot encode an element, or if two distinct
// elements encode to the same bytes (an interface E holding int(1) and
// uint(1), or structs that differ only in unexported fields), since no
// decoder could tell them apart.
func (s *ORSet[E]) MarshalBinary() ([]byte, error) {
	// Encode every element into one buffer, then sort small references to
	// the encodings rather than the entries themselves.
	type ref struct {
		key             uint64 // 8 bytes past the common prefix; see below
		start, end, idx uint32
	}
	refs := make([]ref, 0, len(s.entries))
	dss := make([]dotSet, 0, len(s.entries))
	var raw []byte
	if m, ok := any(s.entries).(map[string]dotSet); ok {
		// Fast path for the common ORSet[string]: the same bytes as
		// msgpack (TestORSetElementEncoderMatchesWire) without boxing
		// each element or going through reflection.
		for e, ds := range m {
			start := len(raw)
			raw = appendStringElem(raw, e)
			refs = append(refs, ref{0, uint32(start), uint32(len(raw)), uint32(len(dss))})
			dss = append(dss, ds)
		}
	} else {
		for e, ds := range s.entries {
			b, err := wire.Marshal(e)
			if err != nil {
				return nil, fmt.Errorf("crdt: encode ORSet element %s: %w", clip(e), err)
			}
			start := len(raw)
			raw = append(raw, b...)
			refs = append(refs, ref{0, uint32(start), uint32(len(raw)), uint32(len(dss))})
			dss = append(dss, ds)
		}
	}
	if uint64(len(raw)) > math.MaxUint32 {
		return nil, fmt.Errorf("%w: ORSet elements take %d bytes", ErrTooLarge, len(raw))
	}
	elem := func(x ref) []byte { return raw[x.start:x.end] }
	// Sorting by bytes.Compare alone spends most of its time re-reading
	// the prefix that many elements share ("agent-00…"). Each ref instead
	// carries the 8 bytes after the common prefix of all encodings, zero
	// padded, as a number: a smaller key means smaller bytes (a zero pad
	// sorts where the shorter encoding, a prefix, belongs), and only equal
	// keys need the full comparison.
	if len(refs) > 1 {
		lcp := int(refs[0].end - refs[0].start)
		first := elem(refs[0])
		for _, x := range refs[1:] {
			e := elem(x)
			n := min(lcp, len(e))
			i := 0
			for i < n && e[i] == first[i] {
				i++
			}
			lcp = i
			if lcp == 0 {
				break
			}
		}
		for i := range refs {
			var k [8]byte
			e := elem(refs[i])
			copy(k[:], e[min(lcp, len(e)):])
			refs[i].key = binary.BigEndian.Uint64(k[:])
		}
	}
	slices.SortFunc(refs, func(a, b ref) int {
		if a.key != b.key {
			return cmp.Compare(a.key, b.key)
		}
		return bytes.Compare(elem(a), elem(b))
	})
	for i := 1; i < len(refs); i++ {
		if bytes.Equal(elem(refs[i-1]), elem(refs[i])) {
			return nil, fmt.Errorf("%w: two ORSet elements encode to the same bytes %s", ErrDuplicate, clipBytes(elem(refs[i])))
		}
	}

	w := wire.NewWriter()
	writeHeaderPruned(w, TagORSet, 2, 1, !s.pr.empty())
	s.ctx.encode(w)
	w.Array(2 * len(refs))
	var buf [8]Dot
	for _, x := range refs {
		w.Raw(elem(x))
		ds := dss[x.idx].appendTo(buf[:0])
		w.Array(2 * len(ds))
		for _, d := range ds {
			w.String(string(d.Replica))
			w.Uint(d.Counter)
		}
	}
	if !s.pr.empty() {
		s.pr.encode(w) // version 2: prune records (see Prune)
	}
	return w.Bytes(), nil
}

// appendStringElem appends s as msgpack writes a string: the shortest str
// header, then the bytes.
func appendStringElem(buf []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		buf = append(buf, 0xa0|byte(n))
	case n < 1<<8:
		buf = append(buf, 0xd9, byte(n))
	case n < 1<<16:
		buf = append(buf, 0xda, byte(n>>8), byte(n))
	default:
		buf = append(buf, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(buf, s...)
}

// decodeStringElem returns the string raw holds if raw is exactly what
// appendStringElem writes for it: the canonical encoding, the only one the
// decoder accepts (decoding with msgpack and re-encoding, as for other
// element types, accepts the same inputs, but costs more).
func decodeStringElem(raw []byte) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	var hdr, n int
	switch c := raw[0]; {
	case c >= 0xa0 && c <= 0xbf:
		hdr, n = 1, int(c&0x1f)
	case c == 0xd9 && len(raw) >= 2:
		hdr, n = 2, int(raw[1])
		if n < 32 {
			return "", false
		}
	case c == 0xda && len(raw) >= 3:
		hdr, n = 3, int(raw[1])<<8|int(raw[2])
		if n < 1<<8 {
			return "", false
		}
	case c == 0xdb && len(raw) >= 5:
		hdr, n = 5, int(raw[1])<<24|int(raw[2])<<16|int(raw[3])<<8|int(raw[4])
		if n < 1<<16 {
			return "", false
		}
	default:
		return "", false
	}
	if len(raw) != hdr+n {
		return "", false
	}
	return string(raw[hdr:]), true
}

// UnmarshalBinary replaces s with the state encoded in b, which may come
// from an untrusted peer. It checks every invariant before touching s and
// leaves s unchanged on error. Errors wrap ErrTruncated, ErrTrailing,
// ErrMalformed (including entries out of order and an element not in the
// canonical form that MarshalBinary writes), ErrTooLarge, ErrTooDeep,
// ErrWrongType, ErrVersion, ErrDuplicate (an element twice, a dot twice in
// one element or under two elements) or ErrInvalid (an element without
// dots, a dot its context does not cover, more than MaxDotsPerReplica dots
// of one replica on one element, an empty replica ID, a zero or oversized
// counter). Allocation is bounded by a small multiple of len(b)
// plus what msgpack allocates for the elements themselves. b is not
// retained.
func (s *ORSet[E]) UnmarshalBinary(b []byte) error {
	r := wire.NewReader(b)
	pruned, err := readHeaderPruned(r, TagORSet, 2, 1)
	if err != nil {
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
					return fmt.Errorf("%w: ORSet entry %d at offset %d repeats element %s", ErrDuplicate, i, start, clipBytes(raw))
				}
				return fmt.Errorf("%w: ORSet entry %d at offset %d out of order (elements sort by encoded bytes)", ErrMalformed, i, start)
			}
		}
		prevElem = raw
		// Elements must be in canonical form: the bytes MarshalBinary
		// writes for them. Then equal elements have equal bytes, so the
		// order check above also rules out duplicates, and a state has
		// one encoding of its elements.
		var e E
		if p, ok := any(&e).(*string); ok {
			if *p, ok = decodeStringElem(raw); !ok {
				return fmt.Errorf("%w: ORSet entry %d at offset %d: element %s is not a string in canonical form", ErrMalformed, i, start, clipBytes(raw))
			}
		} else if e, err = decodeElem[E](raw, checkComparable); err != nil {
			return fmt.Errorf("ORSet entry %d at offset %d: %w", i, start, err)
		}

		m, err := r.ArrayLen("ORSet element dots", 1)
		if err != nil {
			return fmt.Errorf("ORSet entry %d: %w", i, err)
		}
		if m%2 != 0 {
			return fmt.Errorf("%w: ORSet entry %d dots array has odd length %d", ErrMalformed, i, m)
		}
		if m == 0 {
			return fmt.Errorf("%w: ORSet entry %d (%s) has no dots", ErrInvalid, i, clip(e))
		}
		ds := buf[:0]
		run := 0 // dots of the current replica so far
		for j := range m / 2 {
			d, err := reps.readDot(r)
			if err != nil {
				return fmt.Errorf("ORSet entry %d dot %d: %w", i, j, err)
			}
			if j > 0 {
				if c := compareDots(d, ds[len(ds)-1]); c <= 0 {
					if c == 0 {
						return fmt.Errorf("%w: ORSet entry %d (%s) lists dot %v twice", ErrDuplicate, i, clip(e), d)
					}
					return fmt.Errorf("%w: ORSet entry %d (%s) dots out of order (%v after %v)", ErrMalformed, i, clip(e), d, ds[len(ds)-1])
				}
			}
			if j > 0 && d.Replica == ds[len(ds)-1].Replica {
				run++
			} else {
				run = 1
			}
			if run > MaxDotsPerReplica {
				return fmt.Errorf("%w: ORSet entry %d (%s) holds more than %d dots of replica %q (MaxDotsPerReplica)", ErrInvalid, i, clip(e), MaxDotsPerReplica, d.Replica)
			}
			if !ctx.Contains(d) {
				return fmt.Errorf("%w: ORSet entry %d (%s) has dot %v that its context does not cover (vector has %q up to %d)", ErrInvalid, i, clip(e), d, d.Replica, ctx.vv.Get(d.Replica))
			}
			reps.note(d)
			ds = append(ds, d)
		}
		entries[e] = makeDotSet(ds)
		if len(entries) != i+1 { // cannot happen with canonical elements; cheap to be sure
			return fmt.Errorf("%w: ORSet entry %d repeats element %s", ErrDuplicate, i, clip(e))
		}
	}
	var pr pruneSet
	if pruned {
		if pr, err = decodeORSetPruned(r, ctx, entries); err != nil {
			return err
		}
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
	s.pr = pr
	return nil
}

// decodeElem decodes one element with msgpack and checks that it can be
// a map key and is in canonical form.
func decodeElem[E comparable](raw []byte, checkComparable bool) (E, error) {
	var e E
	if err := wire.Unmarshal(raw, &e); err != nil {
		return e, fmt.Errorf("element: %w", err)
	}
	if checkComparable && !reflect.ValueOf(&e).Elem().Comparable() {
		return e, fmt.Errorf("%w: element %s is not comparable", ErrInvalid, clip(e))
	}
	if e != e {
		return e, fmt.Errorf("%w: element %s is not equal to itself", ErrInvalid, clip(e))
	}
	canon, err := wire.Marshal(e)
	if err != nil || !bytes.Equal(canon, raw) {
		return e, fmt.Errorf("%w: element %s is not in canonical form", ErrMalformed, clipBytes(raw))
	}
	return e, nil
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
	if ctr == 0 || ctr > MaxCounter { // checked first: the message costs an allocation
		return Dot{}, checkCounter(fmt.Sprintf("dot %v", d), ctr)
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

// clip formats an element for an error message, cut short: an element from
// a peer can be as long as its input.
func clip(v any) string {
	const max = 64
	s := fmt.Sprintf("%q", fmt.Sprint(v))
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// clipBytes formats encoded bytes for an error message, cut short.
func clipBytes(b []byte) string {
	const max = 32
	if len(b) > max {
		return fmt.Sprintf("% x …", b[:max])
	}
	return fmt.Sprintf("% x", b)
}
