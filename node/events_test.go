package node

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestMatchBoundary(t *testing.T) {
	tests := []struct {
		name string
		m    Match
		key  string
		want bool
	}{
		{name: "prefix itself", m: Prefix("claims"), key: "claims", want: true},
		{name: "prefix child", m: Prefix("claims"), key: "claims/7", want: true},
		{name: "prefix not a sibling", m: Prefix("claims"), key: "claims-archive", want: false},
		{name: "prefix not shorter", m: Prefix("claims"), key: "claim", want: false},
		{name: "slash prefix child", m: Prefix("claims/"), key: "claims/7", want: true},
		{name: "slash prefix not itself", m: Prefix("claims/"), key: "claims", want: false},
		{name: "empty prefix", m: Prefix(""), key: "anything", want: true},
		{name: "zero match", m: Match{}, key: "anything", want: true},
		{name: "raw prefix sibling", m: RawPrefix("claims"), key: "claims-archive", want: true},
		{name: "raw prefix other", m: RawPrefix("claims"), key: "clai", want: false},
		{name: "exact", m: Exact("claims"), key: "claims", want: true},
		{name: "exact not child", m: Exact("claims"), key: "claims/7", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.m.Matches(tc.key); got != tc.want {
				t.Errorf("%v.Matches(%q) = %v, want %v", tc.m, tc.key, got, tc.want)
			}
		})
	}
}

// TestWatchPrefixStopsAtBoundary uses only the API of dbc6c32, where
// Watch("claims") also fired for "claims-archive".
func TestWatchPrefixStopsAtBoundary(t *testing.T) {
	n := openLocal(t, Config{})
	ctx := ctxT(t)
	got := make(chan string, 10)
	cancel, err := n.Watch("claims", func(key string) { got <- key })
	must(t, err)
	defer cancel()
	for _, k := range []string{"claims-archive", "claims/7"} {
		c, err := GCounter(n, k)
		must(t, err)
		must(t, c.Inc(ctx, 1))
	}
	if k := <-got; k != "claims/7" {
		t.Fatalf("Watch(%q) fired for %q", "claims", k)
	}
	select {
	case k := <-got:
		t.Fatalf("Watch(%q) fired again, for %q", "claims", k)
	default:
	}
}

func TestSubscribeEventsAndRead(t *testing.T) {
	n := openLocal(t, Config{})
	ctx := ctxT(t)
	sctx, stop := context.WithCancel(ctx)
	ch, err := n.Subscribe(sctx, Exact("claims"))
	must(t, err)

	other, err := LWWMap[string, string](n, "claims-archive")
	must(t, err)
	must(t, other.Set(ctx, "x", "y"))
	claims, err := LWWMap[string, string](n, "claims")
	must(t, err)
	must(t, claims.Set(ctx, "task-1", "agent-a"))

	e := <-ch
	if e.Key != "claims" || e.Type != "LWWMap" || e.Seq == 0 {
		t.Fatalf("event %+v, want claims, LWWMap, a sequence number", e)
	}
	s, err := n.Read(e.Key)
	must(t, err)
	if s.Seq < e.Seq {
		t.Errorf("Read gave seq %d, older than the event's %d", s.Seq, e.Seq)
	}
	if want := map[string]any{"task-1": "agent-a"}; !reflect.DeepEqual(s.Value, want) {
		t.Errorf("Read value %#v, want %#v", s.Value, want)
	}
	if s.Changed.IsZero() {
		t.Error("Snapshot.Changed is zero after a change")
	}
	if _, err := n.Read("nope"); err != ErrNotFound {
		t.Errorf("Read of a missing key: %v, want ErrNotFound", err)
	}

	stop()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed after its context ended")
		}
	}
}

func TestSubscribeClosedByClose(t *testing.T) {
	n, err := Open(Config{})
	must(t, err)
	ch, err := n.Subscribe(context.Background(), Prefix(""))
	must(t, err)
	c, err := GCounter(n, "k")
	must(t, err)
	must(t, c.Inc(ctxT(t), 1)) // an event nobody reads: Close must not wait for it
	must(t, n.Close())
	for range ch {
	}
	if _, err := n.Subscribe(context.Background(), Prefix("")); err != ErrClosed {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
}

func TestChangedSinceAndPlainValues(t *testing.T) {
	n := openLocal(t, Config{})
	ctx := ctxT(t)
	g, _ := GCounter(n, "g")
	p, _ := PNCounter(n, "p")
	s, _ := ORSet[string](n, "s")
	_, _ = GCounter(n, "bound-only")
	must(t, g.Inc(ctx, 2))
	mid := n.Seq()
	must(t, p.Dec(ctx, 3))
	must(t, s.Add(ctx, "b"))
	must(t, s.Add(ctx, "a"))
	must(t, g.Inc(ctx, 1))

	var keys []string
	for _, e := range n.ChangedSince(mid) {
		keys = append(keys, e.Key)
	}
	if want := []string{"p", "s", "g"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("ChangedSince(%d) = %v, want %v (by sequence number)", mid, keys, want)
	}
	if all := n.ChangedSince(0); len(all) != 3 {
		t.Errorf("ChangedSince(0) has %d keys, want 3 (bound-only never changed)", len(all))
	}
	for key, want := range map[string]any{"g": uint64(3), "p": int64(-3), "s": []any{"a", "b"}} {
		snap, err := n.Read(key)
		must(t, err)
		if !reflect.DeepEqual(snap.Value, want) {
			t.Errorf("Read(%q).Value = %#v, want %#v", key, snap.Value, want)
		}
	}
}

func TestPlainNonStringKeys(t *testing.T) {
	n := openLocal(t, Config{})
	m, err := LWWMap[int, map[int]string](n, "m")
	must(t, err)
	must(t, m.Set(ctxT(t), 7, map[int]string{1: "one"}))
	s, err := n.Read("m")
	must(t, err)
	want := map[string]any{"7": map[string]any{"1": "one"}}
	if !reflect.DeepEqual(s.Value, want) {
		t.Errorf("Value %#v, want %#v", s.Value, want)
	}
}
