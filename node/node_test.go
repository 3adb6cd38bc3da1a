package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/converge-crdt/converge/crdt"
)

func TestZeroConfigIsALocalReplica(t *testing.T) {
	n := openLocal(t, Config{})
	ctx := ctxT(t)
	if n.Name() == "" || n.Epoch() == 0 {
		t.Fatalf("name %q epoch %d", n.Name(), n.Epoch())
	}
	if want := n.Name() + "~"; !strings.HasPrefix(string(n.ReplicaID()), want) {
		t.Errorf("replica ID %q does not start with %q", n.ReplicaID(), want)
	}
	if got := n.NumMembers(); got != 1 {
		t.Errorf("NumMembers = %d, want 1", got)
	}
	if _, err := n.Join(ctx, "127.0.0.1:1"); !errors.Is(err, ErrNoNetwork) {
		t.Errorf("Join without networking: %v, want ErrNoNetwork", err)
	}
	c, err := GCounter(n, "c")
	must(t, err)
	must(t, c.Inc(ctx, 2))
	if c.Value() != 2 {
		t.Errorf("counter = %d", c.Value())
	}
}

func TestEpochChangesOnEveryOpen(t *testing.T) {
	a := openLocal(t, Config{Name: "same"})
	b := openLocal(t, Config{Name: "same"})
	if a.Epoch() == b.Epoch() || a.ReplicaID() == b.ReplicaID() {
		t.Fatalf("two opens share an identity: %s, %s", a.ReplicaID(), b.ReplicaID())
	}
}

func TestConfigValidation(t *testing.T) {
	reserved := TypeOf(crdt.TagORSet, newMaxReg)
	custom := TypeOf(maxTag, newMaxReg)
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error
	}{
		{name: "name with separator", cfg: Config{Name: "a~b"}, want: "separates"},
		{name: "name with space", cfg: Config{Name: "a b"}, want: "space"},
		{name: "name too long", cfg: Config{Name: strings.Repeat("x", MaxNameLen+1)}, want: "limit"},
		{name: "join without bind", cfg: Config{Join: []string{"127.0.0.1:7946"}}, want: "Join needs BindAddr"},
		{name: "bad bind addr", cfg: Config{BindAddr: "localhost"}, want: "BindAddr"},
		{name: "bad port", cfg: Config{BindAddr: "127.0.0.1:99999"}, want: "BindAddr"},
		{name: "bad advertise", cfg: Config{BindAddr: "127.0.0.1:0", AdvertiseAddr: "x"}, want: "AdvertiseAddr"},
		{name: "bad join addr", cfg: Config{BindAddr: "127.0.0.1:0", Join: []string{"nope"}}, want: "Join[0]"},
		{name: "bad key length", cfg: Config{SecretKey: []byte("short")}, want: "SecretKey"},
		{name: "zero type", cfg: Config{Types: []Type{{}}}, want: "zero Type"},
		{name: "reserved tag", cfg: Config{Types: []Type{reserved}}, want: "reserved"},
		{name: "duplicate tag", cfg: Config{Types: []Type{custom, custom}}, want: "already used"},
		{name: "nil constructor", cfg: Config{Types: []Type{TypeOf[*maxReg](maxTag, nil)}}, want: "nil constructor"},
		{name: "tag differs from encoding", cfg: Config{Types: []Type{TypeOf(maxTag+1, newMaxReg)}}, want: "encodes tag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Open(tc.cfg)
			if err == nil {
				n.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestOpenDoesNotMutateConfig(t *testing.T) {
	join := []string{"127.0.0.1:1"}
	key := []byte("0123456789abcdef")
	cfg := DefaultConfig()
	cfg.Join, cfg.SecretKey, cfg.Name = join, key, "keep"
	g := *cfg.Gossip
	n, err := Open(cfg)
	must(t, err)
	defer n.Close()
	if cfg.Name != "keep" || cfg.Gossip.Origin.Name != g.Origin.Name || cfg.Gossip.BindAddr != g.BindAddr ||
		cfg.Gossip.Logger != nil || cfg.Gossip.SecretKey != nil {
		t.Errorf("Open changed the caller's config: %+v", cfg.Gossip)
	}
}

func TestHandlesOnAllTypes(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	n := openLocal(t, Config{Name: "h", Clock: clk, Types: []Type{TypeOf(maxTag, newMaxReg)}})
	ctx := ctxT(t)

	g, err := GCounter(n, "g")
	must(t, err)
	must(t, g.Inc(ctx, 3))
	must(t, g.Inc(ctx, 4))
	if got := g.Value(); got != 7 {
		t.Errorf("GCounter = %d, want 7", got)
	}

	p, err := PNCounter(n, "p")
	must(t, err)
	must(t, p.Inc(ctx, 2))
	must(t, p.Dec(ctx, 5))
	if got := p.Value(); got != -3 {
		t.Errorf("PNCounter = %d, want -3", got)
	}

	type point struct{ X, Y int }
	s, err := ORSet[point](n, "s")
	must(t, err)
	must(t, s.Add(ctx, point{1, 2}))
	must(t, s.Add(ctx, point{3, 4}))
	must(t, s.Add(ctx, point{5, 6}))
	must(t, s.Remove(ctx, point{3, 4}))
	if ok, err := s.Contains(point{1, 2}); err != nil || !ok {
		t.Errorf("Contains(1,2) = %v, %v", ok, err)
	}
	if ok, err := s.Contains(point{3, 4}); err != nil || ok {
		t.Errorf("Contains(3,4) after remove = %v, %v", ok, err)
	}
	els, err := s.Elements()
	must(t, err)
	if want := []point{{1, 2}, {5, 6}}; !slices.Equal(els, want) {
		t.Errorf("Elements = %v, want %v", els, want)
	}
	if s.Len() != 2 {
		t.Errorf("Len = %d", s.Len())
	}

	m, err := LWWMap[string, []int](n, "m")
	must(t, err)
	must(t, m.Set(ctx, "a", []int{1}))
	must(t, m.Set(ctx, "b", []int{2, 3}))
	must(t, m.Set(ctx, "a", []int{4})) // same wall time: the HLC orders it later
	must(t, m.Delete(ctx, "b"))
	if v, ok, err := m.Get("a"); err != nil || !ok || !slices.Equal(v, []int{4}) {
		t.Errorf("Get(a) = %v, %v, %v", v, ok, err)
	}
	if _, ok, err := m.Get("b"); err != nil || ok {
		t.Errorf("Get(b) after delete = %v, %v", ok, err)
	}
	ents, err := m.Entries()
	must(t, err)
	if len(ents) != 1 || m.Len() != 1 {
		t.Errorf("Entries = %v, Len %d", ents, m.Len())
	}
	// Reads return copies: changing them does not change the node.
	ents["a"][0] = 99
	if v, _, _ := m.Get("a"); v[0] != 4 {
		t.Errorf("a read aliased the node's state: %v", v)
	}

	o, err := Object[*maxReg](n, "r")
	must(t, err)
	must(t, o.Update(ctx, func(v *maxReg) (*maxReg, error) { return v.Set(5) }))
	must(t, o.Update(ctx, func(v *maxReg) (*maxReg, error) { return v.Set(3) }))
	if err := o.Update(ctx, func(v *maxReg) (*maxReg, error) { return v.Set(-1) }); err == nil {
		t.Error("a failing mutator did not return its error")
	}
	v := o.Value()
	if v.v != 5 {
		t.Errorf("custom value = %d, want 5", v.v)
	}
	v.v = 100 // a copy
	if o.Value().v != 5 {
		t.Error("Value aliased the node's state")
	}

	// Each object's digest is recorded in Status.
	st := n.Status()
	if len(st.Objects) != 5 || st.Counters.Updates != 14 {
		t.Errorf("status objects %d updates %d: %+v", len(st.Objects), st.Counters.Updates, st)
	}
	for _, ob := range st.Objects {
		if ob.Size == 0 || ob.Digest == 0 {
			t.Errorf("object %+v has no size or digest", ob)
		}
	}
}

func TestObjectOfUnregisteredType(t *testing.T) {
	n := openLocal(t, Config{})
	if _, err := Object[*maxReg](n, "r"); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("Object of unregistered type: %v, want ErrUnknownType", err)
	}
}

func TestEmptyKey(t *testing.T) {
	n := openLocal(t, Config{})
	if _, err := GCounter(n, ""); !errors.Is(err, ErrEmptyKey) {
		t.Fatalf("empty key: %v", err)
	}
}

func TestUpdateHonoursContext(t *testing.T) {
	n := openLocal(t, Config{})
	c, err := GCounter(n, "c")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Inc(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Inc with a done context: %v", err)
	}
	if c.Value() != 0 {
		t.Error("update applied despite a done context")
	}
}

func TestLocalTypeMismatch(t *testing.T) {
	n := openLocal(t, Config{Types: []Type{TypeOf(maxTag, newMaxReg)}})
	_, err := GCounter(n, "k")
	must(t, err)
	for name, get := range map[string]func() error{
		"PNCounter": func() error { _, err := PNCounter(n, "k"); return err },
		"ORSet":     func() error { _, err := ORSet[string](n, "k"); return err },
		"LWWMap":    func() error { _, err := LWWMap[string, int](n, "k"); return err },
		"Object":    func() error { _, err := Object[*maxReg](n, "k"); return err },
	} {
		if err := get(); !errors.Is(err, ErrTypeMismatch) {
			t.Errorf("%s on a GCounter key: %v, want ErrTypeMismatch", name, err)
		}
	}
}

// encodeOf returns the full-state encoding of key on n.
func encodeOf(t testing.TB, n *Node, key string) []byte {
	t.Helper()
	b, ok, err := (*replica)(n).Encode(key)
	if err != nil || !ok {
		t.Fatalf("Encode(%q) = %v, %v", key, ok, err)
	}
	return b
}

func TestReceivedBlobsOfWrongTypeOrBadBytesAreDropped(t *testing.T) {
	ctx := ctxT(t)
	src := openLocal(t, Config{Name: "src"})
	sc, err := GCounter(src, "k")
	must(t, err)
	must(t, sc.Inc(ctx, 1))
	ss, err := ORSet[string](src, "s")
	must(t, err)
	must(t, ss.Add(ctx, "x"))
	counter, set := encodeOf(t, src, "k"), encodeOf(t, src, "s")

	dst := openLocal(t, Config{Name: "dst"})
	dm, err := LWWMap[string, int](dst, "k") // "k" is a map here
	must(t, err)
	must(t, dm.Set(ctx, "a", 1))
	r := (*replica)(dst)
	rootBefore := dst.Digest()

	cases := []struct {
		name string
		key  string
		blob []byte
		want error
	}{
		{name: "other type for a bound key", key: "k", blob: counter, want: ErrTypeMismatch},
		{name: "no tag", key: "k", blob: []byte{0xc1}, want: ErrDecode},
		{name: "empty", key: "new", blob: nil, want: ErrDecode},
		{name: "unknown tag", key: "new", blob: []byte{0x92, 0xcd, 0x10, 0x00, 0x01}, want: ErrUnknownType},
		{name: "truncated set", key: "s", blob: set[:len(set)-1], want: ErrDecode},
		{name: "garbage after tag", key: "s", blob: []byte{0x93, 0x03, 0x01, 0xc1}, want: ErrDecode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			changed, err := r.Merge(tc.key, tc.blob)
			if changed || !errors.Is(err, tc.want) {
				t.Fatalf("Merge = %v, %v; want false, %v", changed, err, tc.want)
			}
		})
	}
	c := dst.Counters()
	if c.TypeMismatches != 1 || c.DecodeErrors != 4 || c.UnknownTypes != 1 {
		t.Errorf("counters %+v, want 1 mismatch, 4 decode errors, 1 unknown type", c)
	}
	if dst.Digest() != rootBefore || len(dst.Keys()) != 1 {
		t.Errorf("rejected blobs changed state: keys %v", dst.Keys())
	}
	// The node keeps serving: a good blob merges, local updates work.
	if changed, err := r.Merge("s", set); err != nil || !changed {
		t.Fatalf("good blob after bad ones: %v, %v", changed, err)
	}
	ds, err := ORSet[string](dst, "s")
	must(t, err)
	if ok, _ := ds.Contains("x"); !ok {
		t.Error("merged set lacks x")
	}
	must(t, dm.Set(ctx, "b", 2))
	// Merging the same blob again changes nothing (novelty stops re-gossip),
	// and is recognised without decoding.
	if changed, err := r.Merge("s", set); err != nil || changed {
		t.Errorf("second merge of the same blob: %v, %v", changed, err)
	}
	if d := dst.Counters().Duplicates; d != 1 {
		t.Errorf("duplicates = %d, want 1", d)
	}
}

// Digests and Join behave as gossip expects.
func TestReplicaDigestsAndJoin(t *testing.T) {
	ctx := ctxT(t)
	a := openLocal(t, Config{Name: "a"})
	b := openLocal(t, Config{Name: "b"})
	ra, rb := (*replica)(a), (*replica)(b)
	for _, n := range []*Node{a, b} {
		s, err := ORSet[string](n, "s")
		must(t, err)
		must(t, s.Add(ctx, n.Name()))
	}
	rootA, keysA := ra.Digests()
	rootB, _ := rb.Digests()
	if rootA == rootB {
		t.Fatal("different states, same root")
	}
	if len(keysA) != 1 || keysA[0].Key != "s" {
		t.Fatalf("keys %v", keysA)
	}
	// Join of the two states covers both.
	j, err := ra.Join("s", encodeOf(t, a, "s"), encodeOf(t, b, "s"))
	must(t, err)
	for _, r := range []*replica{ra, rb} {
		if _, err := r.Merge("s", j); err != nil {
			t.Fatal(err)
		}
	}
	if a.Digest() != b.Digest() {
		t.Fatal("equal states, different roots")
	}
	if r2, _ := ra.Digests(); r2 != a.Digest() {
		t.Fatal("root not stable")
	}
}

func TestWatchCoalescesAndRunsOutsideTheLock(t *testing.T) {
	n := openLocal(t, Config{})
	ctx := ctxT(t)
	c, err := GCounter(n, "jobs/a")
	must(t, err)
	other, err := GCounter(n, "other")
	must(t, err)

	var calls atomic.Int64
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	seen := make(chan uint64, 100)
	cancel, err := n.Watch("jobs/", func(key string) {
		if key != "jobs/a" {
			t.Errorf("watcher got %q", key)
		}
		if calls.Add(1) == 1 {
			entered <- struct{}{}
			<-release // a slow subscriber
		}
		// Calling back into the node from a callback must not deadlock.
		h, err := GCounter(n, key)
		if err != nil {
			t.Error(err)
			return
		}
		seen <- h.Value()
	})
	must(t, err)
	defer cancel()

	must(t, c.Inc(ctx, 1))
	<-entered
	// While the subscriber is stuck, updates keep going.
	for range 100 {
		must(t, c.Inc(ctx, 1))
		must(t, other.Inc(ctx, 1))
	}
	close(release)
	// The burst is delivered coalesced: the last callback sees the final
	// value, after far fewer than 101 calls.
	timeout := time.After(30 * time.Second)
	for {
		select {
		case v := <-seen:
			if v == 101 {
				if k := calls.Load(); k > 3 {
					t.Errorf("%d callbacks for one burst, want coalescing", k)
				}
				return
			}
		case <-timeout:
			t.Fatal("no callback saw the final value")
		}
	}
}

func TestWatchCancelFromCallbackAndAfterClose(t *testing.T) {
	n, err := Open(Config{})
	must(t, err)
	ctx := ctxT(t)
	c, err := GCounter(n, "k")
	must(t, err)
	done := make(chan struct{})
	var cancel func()
	var mu sync.Mutex
	mu.Lock()
	cancel, err = n.Watch("", func(string) {
		mu.Lock()
		defer mu.Unlock()
		cancel() // must not deadlock
		close(done)
	})
	mu.Unlock()
	must(t, err)
	must(t, c.Inc(ctx, 1))
	<-done
	must(t, n.Close())
	if _, err := n.Watch("", func(string) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Watch after Close: %v", err)
	}
}

func TestCloseWaitsForCallbacks(t *testing.T) {
	n, err := Open(Config{})
	must(t, err)
	ctx := ctxT(t)
	c, err := GCounter(n, "k")
	must(t, err)
	entered, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	_, err = n.Watch("k", func(string) {
		close(entered)
		<-release
		finished.Store(true)
	})
	must(t, err)
	must(t, c.Inc(ctx, 1))
	<-entered
	closed := make(chan error)
	go func() { closed <- n.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while a callback was running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	must(t, <-closed)
	if !finished.Load() {
		t.Fatal("callback did not finish before Close returned")
	}
	// After Close: updates and new handles fail, reads still work.
	if err := c.Inc(ctx, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Inc after Close: %v", err)
	}
	if _, err := GCounter(n, "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("GCounter after Close: %v", err)
	}
	if c.Value() != 1 {
		t.Errorf("Value after Close = %d", c.Value())
	}
	if err := n.WaitFor(ctx, func() bool { return false }); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitFor after Close: %v", err)
	}
	must(t, n.Close()) // idempotent
}

func TestWaitForWakesOnChangeAndHonoursContext(t *testing.T) {
	n := openLocal(t, Config{})
	c, err := GCounter(n, "k")
	must(t, err)

	waited := make(chan error)
	go func() {
		waited <- n.WaitFor(context.Background(), func() bool { return c.Value() >= 3 })
	}()
	for range 3 {
		must(t, c.Inc(context.Background(), 1))
	}
	select {
	case err := <-waited:
		must(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("WaitFor did not wake")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := n.WaitFor(ctx, func() bool { return false }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor past its deadline: %v", err)
	}
}

// A remote merge also wakes WaitFor.
func TestWaitForWakesOnMerge(t *testing.T) {
	ctx := ctxT(t)
	a := openLocal(t, Config{Name: "a"})
	b := openLocal(t, Config{Name: "b"})
	ac, err := GCounter(a, "k")
	must(t, err)
	must(t, ac.Inc(ctx, 5))
	waited := make(chan error)
	go func() {
		waited <- b.WaitFor(ctx, func() bool {
			bc, err := GCounter(b, "k")
			return err == nil && bc.Value() == 5
		})
	}()
	if _, err := (*replica)(b).Merge("k", encodeOf(t, a, "k")); err != nil {
		t.Fatal(err)
	}
	must(t, <-waited)
}

func TestStatusMarshalsToJSON(t *testing.T) {
	n := openLocal(t, Config{Name: "j"})
	c, err := GCounter(n, "c")
	must(t, err)
	must(t, c.Inc(ctxT(t), 1))
	b, err := json.Marshal(n.Status())
	must(t, err)
	var back Status
	must(t, json.Unmarshal(b, &back))
	if back.Name != "j" || len(back.Objects) != 1 || back.Objects[0].Type != "GCounter" || back.Counters.Updates != 1 {
		t.Errorf("status round trip: %s", b)
	}
}

func TestSeenSetEvictsOldest(t *testing.T) {
	var s seenSet
	hash := func(i int) [16]byte { return blobHash(fmt.Sprint(i), nil) }
	for i := range seenCapacity + 10 {
		s.add(hash(i))
	}
	if len(s.idx) != seenCapacity {
		t.Fatalf("size %d, want %d", len(s.idx), seenCapacity)
	}
	for i := range 10 {
		if s.has(hash(i)) {
			t.Errorf("entry %d not evicted", i)
		}
	}
	for i := 10; i < seenCapacity+10; i++ {
		if !s.has(hash(i)) {
			t.Fatalf("entry %d lost", i)
		}
	}
}

// Novelty for a custom type without crdt.ChangeReporter comes from
// clone, merge and compare.
func TestMergeNoveltyOfCustomType(t *testing.T) {
	n := openLocal(t, Config{Types: []Type{TypeOf(maxTag, newMaxReg)}})
	r := (*replica)(n)
	enc := func(v int64) []byte {
		b, err := (&maxReg{v: v}).MarshalBinary()
		must(t, err)
		return b
	}
	for _, step := range []struct {
		v       int64
		changed bool
	}{{5, true}, {3, false}, {9, true}, {9, false}, {7, false}} {
		changed, err := r.Merge("r", enc(step.v))
		must(t, err)
		if changed != step.changed {
			t.Errorf("merge %d: changed %v, want %v", step.v, changed, step.changed)
		}
	}
	o, err := Object[*maxReg](n, "r")
	must(t, err)
	if o.Value().v != 9 {
		t.Errorf("value %d, want 9", o.Value().v)
	}
}
