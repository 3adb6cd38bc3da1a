package node

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestDurableRemoteState: state a node received from a peer and persisted
// (Sync) survives a SIGKILL; after the restart it is there with the peer
// gone, so it came from the data directory.
func TestDurableRemoteState(t *testing.T) {
	ctx := ctxT(t)
	src, err := Open(Config{Name: "src", BindAddr: "127.0.0.1:0", Logger: quietLogger()})
	must(t, err)
	t.Cleanup(func() { _ = src.Close() })
	dir := t.TempDir()
	h := startHelper(t, "peer", "NAME=dst", "DIR="+dir, "JOIN="+src.Addr())
	if l, _ := h.next(20 * time.Second); !strings.HasPrefix(l, "open ") {
		t.Fatalf("first line %q", l)
	}
	c, err := GCounter(src, "c")
	must(t, err)
	s, err := ORSet[string](src, "s")
	must(t, err)
	const n = 50
	for i := range n {
		must(t, c.Inc(ctx, 2))
		must(t, s.Add(ctx, fmt.Sprint(i)))
	}
	want := fmt.Sprintf("synced %d %d", 2*n, n)
	for {
		l, ok := h.next(20 * time.Second)
		if !ok {
			t.Fatal("helper ended")
		}
		if l == want {
			break
		}
	}
	h.kill()
	must(t, src.Close())

	dst := openDir(t, dir)
	dc, err := GCounter(dst, "c")
	must(t, err)
	ds, err := ORSet[string](dst, "s")
	must(t, err)
	if dc.Value() != 2*n || ds.Len() != n {
		t.Fatalf("after SIGKILL and restart: counter %d set %d, want %d and %d (merged remote state lost)", dc.Value(), ds.Len(), 2*n, n)
	}
}
