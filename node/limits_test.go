package node

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// A peer must not be able to create objects without bound, nor local code.
func TestMaxObjects(t *testing.T) {
	ctx := ctxT(t)
	n := openLocal(t, Config{Name: "m", MaxObjects: 2})
	a, err := GCounter(n, "a")
	must(t, err)
	_, err = ORSet[string](n, "b")
	must(t, err)
	if _, err := GCounter(n, "c"); !errors.Is(err, ErrTooManyObjects) {
		t.Errorf("third handle: %v, want ErrTooManyObjects", err)
	}
	must(t, a.Inc(ctx, 1)) // existing keys keep working

	peer := crdt.NewGCounter()
	_, _ = peer.Inc("peer~1", 5)
	blob, err := peer.MarshalBinary()
	must(t, err)
	for _, key := range []string{"x", "y", "z"} {
		if _, err := (*replica)(n).Merge(key, blob); !errors.Is(err, ErrTooManyObjects) {
			t.Errorf("Merge(%q): %v, want ErrTooManyObjects", key, err)
		}
	}
	if got := n.Counters().ObjectLimitDrops; got != 3 {
		t.Errorf("ObjectLimitDrops = %d, want 3", got)
	}
	if changed, err := (*replica)(n).Merge("a", blob); err != nil || !changed {
		t.Errorf("Merge into an existing key: %v, %v", changed, err)
	}
	if got := n.Keys(); len(got) != 2 {
		t.Errorf("keys %v, want 2", got)
	}
	if _, err := Open(Config{MaxObjects: -1}); !errors.Is(err, ErrConfig) {
		t.Errorf("MaxObjects -1: %v, want ErrConfig", err)
	}
}

func TestInsecureBindAddrWarns(t *testing.T) {
	tests := []struct {
		name     string
		bind     string
		key      []byte
		insecure bool
	}{
		{name: "loopback v4", bind: "127.0.0.1:0"},
		{name: "loopback v6", bind: "[::1]:0"},
		{name: "localhost", bind: "localhost:0"},
		{name: "no network", bind: ""},
		{name: "all interfaces", bind: "0.0.0.0:0", insecure: true},
		{name: "empty host", bind: ":0", insecure: true},
		{name: "public with key", bind: "0.0.0.0:0", key: make([]byte, 16)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Name: "s", BindAddr: tc.bind, SecretKey: tc.key}
			s, err := cfg.validate()
			must(t, err)
			if s.insecureNet != tc.insecure {
				t.Errorf("insecure = %v, want %v", s.insecureNet, tc.insecure)
			}
		})
	}
	// Open with a non-loopback BindAddr, but over the in-memory network:
	// tests bind only to loopback, and the warning depends on the config,
	// not on the socket.
	var buf bytes.Buffer
	g := DefaultGossipConfig()
	g.Logger = slog.New(slog.DiscardHandler) // buf is for the node's own logs
	g.Transport = gossiptest.NewNetwork(1).NewTransport("s")
	n := openLocal(t, Config{Name: "s", BindAddr: "0.0.0.0:0", Gossip: &g,
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	_ = n
	if !strings.Contains(buf.String(), "without a SecretKey") {
		t.Errorf("no warning logged at Open: %q", buf.String())
	}
}

// A merge refused because the node is closing carries both sentinels:
// ErrClosed for callers of the node, gossip.ErrReplicaClosed so that gossip
// drops it quietly instead of counting a merge error.
func TestMergeAfterCloseIsReplicaClosed(t *testing.T) {
	src := openLocal(t, Config{Name: "src"})
	c, err := GCounter(src, "c")
	must(t, err)
	must(t, c.Inc(ctxT(t), 1))
	blob, ok, err := (*replica)(src).Encode("c")
	if err != nil || !ok {
		t.Fatalf("Encode: %v %v", ok, err)
	}
	n, err := Open(Config{Name: "dst"})
	must(t, err)
	must(t, n.Close())
	_, err = (*replica)(n).Merge("c", blob)
	if !errors.Is(err, ErrClosed) || !errors.Is(err, gossip.ErrReplicaClosed) {
		t.Fatalf("Merge after Close: %v, want ErrClosed and gossip.ErrReplicaClosed", err)
	}
}
