package node

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A panic in user code run by update (ObjectHandle.Update's mutator) must
// not leave the node's lock held: the panic reaches the caller and the node
// stays usable.
func TestUpdatePanicReleasesLock(t *testing.T) {
	n, err := Open(Config{Name: "p", Types: []Type{TypeOf(maxTag, newMaxReg)}})
	must(t, err)
	h, err := Object[*maxReg](n, "r")
	must(t, err)
	ctx := ctxT(t)
	must(t, h.Update(ctx, func(v *maxReg) (*maxReg, error) { return v.Set(3) }))
	root := n.Digest()

	func() {
		defer func() {
			if r := recover(); r != "user bug" {
				t.Errorf("recovered %v, want the mutator's panic", r)
			}
		}()
		_ = h.Update(ctx, func(v *maxReg) (*maxReg, error) { panic("user bug") })
		t.Error("Update returned after its mutator panicked")
	}()

	done := make(chan struct{})
	go func() {
		defer close(done)
		if got := n.Keys(); len(got) != 1 || got[0] != "r" {
			t.Errorf("Keys() = %v", got)
		}
		if got := n.Digest(); got != root {
			t.Errorf("digest changed by a mutator that panicked before changing anything")
		}
		if err := h.Update(ctx, func(v *maxReg) (*maxReg, error) { return v.Set(5) }); err != nil {
			t.Errorf("Update after a panic: %v", err)
		}
		if got := h.Value().v; got != 5 {
			t.Errorf("value %d, want 5", got)
		}
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("node deadlocked after a recovered panic in Update")
	}
}

// A mutator that panics after changing the state in place leaves that
// state; the object is marked changed, so its digest moves and
// anti-entropy ships it.
func TestUpdatePanicAfterChangeMarksDirty(t *testing.T) {
	n := openLocal(t, Config{Name: "p", Types: []Type{TypeOf(maxTag, newMaxReg)}})
	h, err := Object[*maxReg](n, "r")
	must(t, err)
	before := n.Digest()
	func() {
		defer func() { _ = recover() }()
		_ = h.Update(context.Background(), func(v *maxReg) (*maxReg, error) {
			v.v = 9
			panic("half done")
		})
	}()
	if got := h.Value().v; got != 9 {
		t.Fatalf("value %d, want the 9 the mutator left", got)
	}
	if n.Digest() == before {
		t.Error("digest unchanged: the change would never be shipped")
	}
}

// Removing an absent element gives an empty delta: no update is counted,
// nothing is published and no waiter or watcher is woken.
func TestEmptyDeltaIsNotShipped(t *testing.T) {
	n := openLocal(t, Config{Name: "e", Types: []Type{TypeOf(maxTag, newMaxReg)}})
	ctx := ctxT(t)
	s, err := ORSet[string](n, "s")
	must(t, err)
	must(t, s.Add(ctx, "x"))
	o, err := Object[*maxReg](n, "r")
	must(t, err)
	before := n.Counters().Updates
	changed := *n.changed.Load()
	must(t, s.Remove(ctx, "absent"))
	must(t, o.Update(ctx, func(v *maxReg) (*maxReg, error) { return &maxReg{}, nil }))
	if got := n.Counters().Updates; got != before {
		t.Errorf("Updates %d -> %d for no-op updates", before, got)
	}
	select {
	case <-changed:
		t.Error("a no-op update woke waiters")
	default:
	}
	must(t, s.Remove(ctx, "x"))
	if got := n.Counters().Updates; got != before+1 {
		t.Errorf("Updates = %d, want %d after a real remove", got, before+1)
	}
}

// The same Go type under two tags would make Object[T] pick one at random.
func TestConfigRejectsDuplicateGoType(t *testing.T) {
	_, err := Open(Config{Types: []Type{TypeOf(maxTag, newMaxReg), TypeOf(maxTag+1, newMaxReg)}})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("Open with *maxReg twice: %v, want ErrConfig for the Go type", err)
	}
}

// Close and cancel from inside a Watch callback must not wait for that
// callback; cancel from outside waits for a callback in progress.
func TestWatchCloseFromCallback(t *testing.T) {
	n, err := Open(Config{Name: "w"})
	must(t, err)
	ctx := ctxT(t)
	closed := make(chan error, 1)
	_, err = n.Watch("", func(string) { closed <- n.Close() })
	must(t, err)
	c, err := GCounter(n, "c")
	must(t, err)
	must(t, c.Inc(ctx, 1))
	select {
	case err := <-closed:
		must(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close from a Watch callback deadlocked")
	}
	must(t, n.Close())
}

func TestWatchCancelWaitsForCallback(t *testing.T) {
	n := openLocal(t, Config{Name: "w"})
	ctx := ctxT(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var running atomic.Bool
	cancel, err := n.Watch("", func(string) {
		running.Store(true)
		close(entered)
		<-release
		running.Store(false)
	})
	must(t, err)
	c, err := GCounter(n, "c")
	must(t, err)
	must(t, c.Inc(ctx, 1))
	<-entered
	cancelled := make(chan struct{})
	go func() { cancel(); close(cancelled) }()
	select {
	case <-cancelled:
		t.Fatal("cancel returned while the callback was running")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-cancelled
	if running.Load() {
		t.Error("callback still running after cancel returned")
	}
}
