package node

import (
	"bytes"
	"testing"

	"github.com/converge-crdt/converge/crdt"
)

// The type-erased stored forms must encode byte for byte like the typed
// sets and maps, or digests and decoding across nodes break.
func TestRawValueWireFormMatchesTyped(t *testing.T) {
	const r1, r2 crdt.ReplicaID = "a~1", "b~2"
	raw := func(v any) rawValue {
		t.Helper()
		x, err := toRaw(v)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}

	typed := crdt.NewORSet[string]()
	erased := crdt.NewORSet[rawValue]()
	for i, e := range []string{"x", "", "a long element over thirty-one bytes ....", "y", "x"} {
		r := r1
		if i%2 == 1 {
			r = r2
		}
		typed.Add(r, e)
		erased.Add(r, raw(e))
	}
	typed.Remove("y")
	erased.Remove(raw("y"))
	assertSameEncoding(t, "ORSet", typed, erased)

	// Round trip: the typed bytes decode into the erased form and back.
	b, _ := typed.MarshalBinary()
	back := crdt.NewORSet[rawValue]()
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(erased) {
		t.Errorf("decoded erased set differs: %v vs %v", back, erased)
	}

	tm := crdt.NewLWWMap[string, int]()
	em := crdt.NewLWWMap[rawValue, rawValue]()
	ts := crdt.HLC{Wall: 1000}
	for i, kv := range []struct {
		k string
		v int
	}{{"a", 1}, {"b", -300}, {"c", 70000}, {"a", 2}} {
		ts.Logical = uint32(i)
		tm.Set(r1, ts, kv.k, kv.v)
		em.Set(r1, ts, raw(kv.k), raw(kv.v))
	}
	ts.Logical = 9
	tm.Delete(r2, ts, "b")
	em.Delete(r2, ts, raw("b"))
	assertSameEncoding(t, "LWWMap", tm, em)
	mb, _ := tm.MarshalBinary()
	mback := crdt.NewLWWMap[rawValue, rawValue]()
	if err := mback.UnmarshalBinary(mb); err != nil {
		t.Fatal(err)
	}
	if !mback.Equal(em) {
		t.Errorf("decoded erased map differs")
	}
	if v, ok := mback.Get(raw("a")); !ok {
		t.Error("a missing")
	} else if got, err := fromRaw[int](v); err != nil || got != 2 {
		t.Errorf("a = %v, %v; want 2", got, err)
	}
}

func assertSameEncoding(t *testing.T, what string, a, b interface{ MarshalBinary() ([]byte, error) }) {
	t.Helper()
	ab, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	bb, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ab, bb) {
		t.Errorf("%s: typed and erased encodings differ:\ntyped  %x\nerased %x", what, ab, bb)
	}
}

func TestFromRawWrongTypeIsAnError(t *testing.T) {
	r, err := toRaw("not a number")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fromRaw[int](r); err == nil {
		t.Fatal("decoding a string as int succeeded")
	}
}
