package node

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// TestElementTypeMismatchKeepsBothReadable: two nodes use one key as
// ORSet[int] and ORSet[string] (and another as LWWMap of different value
// types). Each refuses the other's values where they arrive, counted as a
// type mismatch, and both keep reading their own object (they used to
// merge, and Elements failed with ErrDecode on both nodes).
func TestElementTypeMismatchKeepsBothReadable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2)
		a, b := c.nodes[0], c.nodes[1]
		ctx := context.Background()

		ai, err := ORSet[int](a, "set")
		must(t, err)
		bs, err := ORSet[string](b, "set")
		must(t, err)
		am, err := LWWMap[string, int](a, "map")
		must(t, err)
		bm, err := LWWMap[string, string](b, "map")
		must(t, err)
		must(t, ai.Add(ctx, 1))
		must(t, ai.Add(ctx, 2))
		must(t, bs.Add(ctx, "x"))
		must(t, am.Set(ctx, "k", 7))
		must(t, bm.Set(ctx, "j", "seven"))

		// Pushes, broadcasts and several anti-entropy rounds.
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) && (a.Counters().TypeMismatches < 2 || b.Counters().TypeMismatches < 2) {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(5 * time.Second)
		for _, n := range []*Node{a, b} {
			if got := n.Counters().TypeMismatches; got < 2 {
				t.Errorf("%s counted %d type mismatches, want the set and the map refused", n.Name(), got)
			}
		}
		if got, err := ai.Elements(); err != nil || !slices.Equal(got, []int{1, 2}) {
			t.Errorf("a's ORSet[int]: %v, %v", got, err)
		}
		if got, err := bs.Elements(); err != nil || !slices.Equal(got, []string{"x"}) {
			t.Errorf("b's ORSet[string]: %v, %v", got, err)
		}
		if got, err := am.Entries(); err != nil || len(got) != 1 || got["k"] != 7 {
			t.Errorf("a's map: %v, %v", got, err)
		}
		if got, err := bm.Entries(); err != nil || len(got) != 1 || got["j"] != "seven" {
			t.Errorf("b's map: %v, %v", got, err)
		}
		// Writes of the right type still work and still replicate among
		// nodes that agree: a third node using ints gets a's set.
		n2 := c.start("n2")
		ci, err := ORSet[int](n2, "set") // before it can hear of b's set
		must(t, err)
		c.join(n2, a)
		must(t, ai.Add(ctx, 3))
		waitFor := time.Now().Add(30 * time.Second)
		for time.Now().Before(waitFor) && ci.Len() != 3 {
			time.Sleep(100 * time.Millisecond)
		}
		if got, err := ci.Elements(); err != nil || !slices.Equal(got, []int{1, 2, 3}) {
			t.Errorf("third node's ORSet[int]: %v, %v", got, err)
		}
	})
}

// TestTwoElementTypesOnOneNode: one node cannot use a key with two element
// types; the second handle fails with ErrTypeMismatch, naming both.
func TestTwoElementTypesOnOneNode(t *testing.T) {
	n := openLocal(t, Config{Name: "a"})
	if _, err := ORSet[int](n, "s"); err != nil {
		t.Fatal(err)
	}
	if _, err := ORSet[int](n, "s"); err != nil {
		t.Fatalf("the same element type again: %v", err)
	}
	if _, err := ORSet[string](n, "s"); !errors.Is(err, ErrTypeMismatch) {
		t.Fatalf("ORSet[string] after ORSet[int]: %v, want ErrTypeMismatch", err)
	}
	if _, err := LWWMap[string, int](n, "m"); err != nil {
		t.Fatal(err)
	}
	if _, err := LWWMap[string, string](n, "m"); !errors.Is(err, ErrTypeMismatch) {
		t.Fatalf("LWWMap[string, string] after LWWMap[string, int]: %v, want ErrTypeMismatch", err)
	}
}

// TestForeignElementsRefusedOnMerge: a blob whose elements are not the
// handle's type is refused whole, changes nothing, and is counted.
func TestForeignElementsRefusedOnMerge(t *testing.T) {
	ctx := ctxT(t)
	foreign := stringSetBlob(t)
	b := openLocal(t, Config{Name: "b"})
	bi, err := ORSet[int](b, "s")
	must(t, err)
	must(t, bi.Add(ctx, 5))
	before := b.Digest()
	if _, err := (*replica)(b).Merge("s", foreign); !errors.Is(err, ErrTypeMismatch) {
		t.Fatalf("merge of a set of strings into an ORSet[int]: %v, want ErrTypeMismatch", err)
	}
	if b.Digest() != before || b.Counters().TypeMismatches != 1 {
		t.Fatalf("refused merge changed the state or was not counted: %+v", b.Counters())
	}
	if got, err := bi.Elements(); err != nil || !slices.Equal(got, []int{5}) {
		t.Fatalf("Elements: %v, %v", got, err)
	}
}

// A set element written by one node as a string, merged by another before
// it had a handle, and then asked for as an int: the handle constructor
// says so (ErrTypeMismatch wrapping the ErrDecode), never a panic; a handle
// of the right type still reads it.
func TestReadOfForeignElementTypeIsAnError(t *testing.T) {
	b := openLocal(t, Config{Name: "b"})
	if _, err := (*replica)(b).Merge("s", stringSetBlob(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := ORSet[int](b, "s"); !errors.Is(err, ErrTypeMismatch) || !errors.Is(err, ErrDecode) {
		t.Errorf("ORSet[int] of a set of strings: %v, want ErrTypeMismatch and ErrDecode", err)
	}
	bs, err := ORSet[string](b, "s")
	must(t, err)
	if got, err := bs.Elements(); err != nil || len(got) != 1 || got[0] != "text" {
		t.Errorf("Elements as string: %q, %v", got, err)
	}
}

// stringSetBlob returns the state of a set "s" holding the string "text",
// as a peer using ORSet[string] would send it.
func stringSetBlob(t *testing.T) []byte {
	t.Helper()
	a := openLocal(t, Config{Name: "a"})
	as, err := ORSet[string](a, "s")
	must(t, err)
	must(t, as.Add(ctxT(t), "text"))
	return encodeOf(t, a, "s")
}
