package node

import (
	"errors"
	"testing"
	"time"

	"github.com/converge-crdt/converge/crdt"
)

// ship merges from's full state of key into to.
func ship(t testing.TB, from, to *Node, key string) error {
	t.Helper()
	blob, ok, err := (*replica)(from).Encode(key)
	if err != nil || !ok {
		t.Fatalf("Encode(%q): %v, %v", key, ok, err)
	}
	_, err = (*replica)(to).Merge(key, blob)
	return err
}

// A node whose clock is behind a peer's must still win with its own later
// writes: it observes the peer's timestamps on merge and before writing.
func TestLWWMapLocalWriteWinsOverPeerAhead(t *testing.T) {
	ctx := ctxT(t)
	base := time.Unix(1_700_000_000, 0)
	ca, cb := &fakeClock{base.Add(50 * time.Millisecond)}, &fakeClock{base}
	a := openLocal(t, Config{Name: "a", Clock: ca})
	b := openLocal(t, Config{Name: "b", Clock: cb})
	ma, err := LWWMap[string, string](a, "m")
	must(t, err)
	mb, err := LWWMap[string, string](b, "m")
	must(t, err)

	must(t, ma.Set(ctx, "k", "old"))
	must(t, ma.Set(ctx, "gone", "x"))
	must(t, ship(t, a, b, "m"))
	must(t, mb.Set(ctx, "k", "new"))
	must(t, mb.Delete(ctx, "gone"))
	must(t, ship(t, b, a, "m"))
	for _, n := range []*LWWMapHandle[string, string]{ma, mb} {
		got, err := n.Entries()
		must(t, err)
		if len(got) != 1 || got["k"] != "new" {
			t.Errorf("node %s: entries %v, want map[k:new]", n.n.Name(), got)
		}
	}
	if a.Digest() != b.Digest() {
		t.Error("digests differ after exchanging states")
	}
}

// A peer more than MaxSkew ahead is refused (and counted) until our clock
// catches up; then the same state is accepted.
func TestLWWMapRejectsPeerTooFarAhead(t *testing.T) {
	ctx := ctxT(t)
	base := time.Unix(1_700_000_000, 0)
	ca, cb := &fakeClock{base.Add(2 * crdt.DefaultMaxSkew)}, &fakeClock{base}
	a := openLocal(t, Config{Name: "a", Clock: ca})
	b := openLocal(t, Config{Name: "b", Clock: cb})
	ma, err := LWWMap[string, string](a, "m")
	must(t, err)
	must(t, ma.Set(ctx, "k", "future"))

	if err := ship(t, a, b, "m"); !errors.Is(err, crdt.ErrClockSkew) {
		t.Fatalf("merge of a map 2 min ahead: %v, want ErrClockSkew", err)
	}
	if got := b.Counters().ClockSkews; got != 1 {
		t.Errorf("ClockSkews = %d, want 1", got)
	}
	if len(b.Keys()) != 0 {
		t.Errorf("rejected blob created keys %v", b.Keys())
	}

	cb.t = base.Add(2*crdt.DefaultMaxSkew - time.Second)
	must(t, ship(t, a, b, "m"))
	mb, err := LWWMap[string, string](b, "m")
	must(t, err)
	must(t, mb.Set(ctx, "k", "mine"))
	if v, _, _ := mb.Get("k"); v != "mine" {
		t.Errorf("b reads %q after its own write, want mine", v)
	}
}

// A write that would lose to the stored entry (our wall clock stepped back
// more than MaxSkew) is an error, never a silent no-op.
func TestLWWMapLostWriteIsAnError(t *testing.T) {
	ctx := ctxT(t)
	base := time.Unix(1_700_000_000, 0)
	c := &fakeClock{base.Add(2 * crdt.DefaultMaxSkew)}
	n := openLocal(t, Config{Name: "a", Clock: c})
	m, err := LWWMap[string, string](n, "m")
	must(t, err)
	must(t, m.Set(ctx, "k", "first"))
	// A fresh node with the clock back: same state, clock never advanced.
	c2 := &fakeClock{base}
	n2 := openLocal(t, Config{Name: "b", Clock: c2})
	c2.t = c.t
	must(t, ship(t, n, n2, "m"))
	c2.t = base
	m2, err := LWWMap[string, string](n2, "m")
	must(t, err)
	// n2's clock observed the entry on merge, so it still wins...
	must(t, m2.Set(ctx, "k", "second"))
	// ...but a node that never observed it (its clock restarted) cannot.
	n3 := openLocal(t, Config{Name: "c", Clock: c2})
	c2.t = c.t
	must(t, ship(t, n, n3, "m"))
	n3.mu.Lock()
	n3.hlc = crdt.Clock{}
	n3.mu.Unlock()
	c2.t = base
	m3, err := LWWMap[string, string](n3, "m")
	must(t, err)
	if err := m3.Set(ctx, "k", "lost"); !errors.Is(err, crdt.ErrClockSkew) {
		t.Fatalf("Set losing to an entry 2 min ahead: %v, want ErrClockSkew", err)
	}
	if v, _, _ := m3.Get("k"); v != "first" {
		t.Errorf("k = %q, want first", v)
	}
}

// A map blob that is dropped (object limit, type mismatch) must not move
// the clock.
func TestDroppedLWWMapBlobLeavesClock(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	a := openLocal(t, Config{Name: "a", Clock: &fakeClock{base.Add(time.Second)}})
	ma, err := LWWMap[string, string](a, "m")
	must(t, err)
	must(t, ma.Set(ctxT(t), "k", "v"))
	b := openLocal(t, Config{Name: "b", Clock: &fakeClock{base}, MaxObjects: 1})
	_, err = GCounter(b, "c")
	must(t, err)
	for _, key := range []string{"m", "c"} { // over the limit; bound to GCounter
		blob, _, err := (*replica)(a).Encode("m")
		must(t, err)
		if _, err := (*replica)(b).Merge(key, blob); err == nil {
			t.Fatalf("Merge(%q) accepted", key)
		}
	}
	b.mu.Lock()
	last := b.hlc.Last()
	b.mu.Unlock()
	if !last.IsZero() {
		t.Errorf("clock moved to %v by dropped blobs", last)
	}
}
