package node

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// exchange merges every key's full state of a into b and of b into a: one
// anti-entropy round, without a network.
func exchange(t testing.TB, a, b *Node) {
	t.Helper()
	for _, pair := range [][2]*Node{{a, b}, {b, a}} {
		from, to := (*replica)(pair[0]), (*replica)(pair[1])
		for _, k := range pair[0].Keys() {
			blob, ok, err := from.Encode(k)
			must(t, err)
			if ok {
				if _, err := to.Merge(k, blob); err != nil {
					t.Fatalf("merge %q into %s: %v", k, pair[1].Name(), err)
				}
			}
		}
	}
}

// writeN increments "c" by 1 and adds prefix/i to "s", n times.
func writeN(t testing.TB, nd *Node, prefix string, n int) {
	t.Helper()
	ctx := ctxT(t)
	c, err := GCounter(nd, "c")
	must(t, err)
	s, err := ORSet[string](nd, "s")
	must(t, err)
	for i := range n {
		must(t, c.Inc(ctx, 1))
		must(t, s.Add(ctx, fmt.Sprintf("%s/%d", prefix, i)))
	}
}

// checkHolds fails unless nd's counter is want and its set holds every
// prefix/i for i < n of each prefix.
func checkHolds(t testing.TB, nd *Node, want uint64, n int, prefixes ...string) {
	t.Helper()
	c, err := GCounter(nd, "c")
	must(t, err)
	s, err := ORSet[string](nd, "s")
	must(t, err)
	if c.Value() != want {
		t.Errorf("%s: counter %d, want %d (an update identity reused, or an update lost)", nd.Name(), c.Value(), want)
	}
	for _, p := range prefixes {
		for i := range n {
			if ok, _ := s.Contains(fmt.Sprintf("%s/%d", p, i)); !ok {
				t.Fatalf("%s: element %s/%d lost", nd.Name(), p, i)
			}
		}
	}
}

// copyDir copies the files of src into dst (created).
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	must(t, os.MkdirAll(dst, 0o700))
	ents, err := os.ReadDir(src)
	must(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600))
	}
}

// TestDurableRestoreBackup is Riak's kv679 with durable data: back the
// directory up, write more (which the cluster learns), put the old copy
// back and write again. Nothing is lost anywhere and no dot is reused: a
// node that resumed the backup's identity would reissue the counter values
// the cluster already holds, and the GCounter's per-replica maximum would
// swallow the new increments (counter 40, not 60).
func TestDurableRestoreBackup(t *testing.T) {
	dir, backup := t.TempDir(), filepath.Join(t.TempDir(), "backup")
	peer := openLocal(t, Config{Name: "peer", Logger: quietLogger()})

	b := openLocal(t, Config{Name: "b", DataDir: dir, Logger: quietLogger()})
	writeN(t, b, "x", 20)
	exchange(t, b, peer)
	must(t, b.Close())
	copyDir(t, dir, backup)

	b = openLocal(t, Config{Name: "b", DataDir: dir, Logger: quietLogger()})
	writeN(t, b, "y", 20)
	exchange(t, b, peer)
	must(t, b.Close())

	must(t, os.RemoveAll(dir))
	copyDir(t, backup, dir)
	b = openLocal(t, Config{Name: "b", DataDir: dir, Logger: quietLogger()})
	checkHolds(t, b, 20, 20, "x") // the backup's state, nothing newer
	if len(b.PastEpochs()) != 1 {
		t.Fatalf("restored directory remembers %d epochs, want the backup's 1", len(b.PastEpochs()))
	}
	writeN(t, b, "z", 20)
	exchange(t, b, peer)
	checkHolds(t, b, 60, 20, "x", "y", "z")
	checkHolds(t, peer, 60, 20, "x", "y", "z")
	if b.Digest() != peer.Digest() {
		t.Fatal("b and peer differ after an exchange")
	}
}

// TestDurableCopiedDir runs two copies of one data directory at once, as
// two hosts would, under the same (stored) name: each starts its own epoch,
// so their updates never share an identity and both survive the merge.
func TestDurableCopiedDir(t *testing.T) {
	dir, dir2 := t.TempDir(), filepath.Join(t.TempDir(), "copy")
	b := openLocal(t, Config{Name: "b", DataDir: dir, Logger: quietLogger()})
	writeN(t, b, "before", 10)
	must(t, b.Close())
	copyDir(t, dir, dir2)

	h1 := openLocal(t, Config{DataDir: dir, Logger: quietLogger()}) // the name comes from the directory
	h2 := openLocal(t, Config{DataDir: dir2, Logger: quietLogger()})
	if h1.Name() != "b" || h2.Name() != "b" {
		t.Fatalf("names %q and %q, want the stored %q", h1.Name(), h2.Name(), "b")
	}
	if h1.ReplicaID() == h2.ReplicaID() {
		t.Fatalf("both copies run as %s", h1.ReplicaID())
	}
	writeN(t, h1, "one", 15)
	writeN(t, h2, "two", 15)
	exchange(t, h1, h2)
	checkHolds(t, h1, 40, 10, "before")
	checkHolds(t, h1, 40, 15, "one", "two")
	if h1.Digest() != h2.Digest() {
		t.Fatal("the copies differ after an exchange")
	}
}

// TestDurableWriteBehind: with Config.WriteBehind a lone writer's updates
// return before their commit (so one commit carries many of them), and
// Close commits them all.
func TestDurableWriteBehind(t *testing.T) {
	dir := t.TempDir()
	n := openLocal(t, Config{Name: "wb", DataDir: dir, WriteBehind: 50 * time.Millisecond, Logger: quietLogger()})
	writeN(t, n, "x", 200)
	st := n.disk.g.Stats()
	if st.Commits > 40 { // 400 updates; each would need a commit of its own if the writer waited
		t.Fatalf("%d commits for 400 updates of one writer: it waited for its commits", st.Commits)
	}
	must(t, n.Close())
	n = openLocal(t, Config{Name: "wb", DataDir: dir, Logger: quietLogger()})
	checkHolds(t, n, 200, 200, "x")
}

// TestDurableDeletedKeyStaysDeleted: a key removed from the node and from
// the store (persistDeletedLocked, the seam for whole-key deletes) does not
// come back at the next Open, snapshot and log entries alike.
func TestDurableDeletedKeyStaysDeleted(t *testing.T) {
	dir := t.TempDir()
	n := openLocal(t, Config{Name: "del", DataDir: dir, Logger: quietLogger(), disk: diskKnobs{noSync: true}})
	writeN(t, n, "x", 3) // "c" small (whole states), "s" too
	big, err := ORSet[string](n, "big")
	must(t, err)
	for i := range 200 { // past smallState: log entries
		must(t, big.Add(ctxT(t), fmt.Sprintf("element-%03d", i)))
	}
	n.mu.Lock()
	for _, k := range []string{"c", "big"} {
		n.removedLocked(n.objects[k])
		delete(n.objects, k)
		n.keys, n.rootDirty = nil, true
		n.persistDeletedLocked(k)
	}
	n.mu.Unlock()
	must(t, n.Close())
	n = openLocal(t, Config{Name: "del", DataDir: dir, Logger: quietLogger()})
	if got := n.Keys(); len(got) != 1 || got[0] != "s" {
		t.Fatalf("keys after reopen: %v, want only s", got)
	}
}
