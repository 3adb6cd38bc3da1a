package node

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// openDir opens dir without networking and closes it at cleanup.
func openDir(t testing.TB, dir string) *Node {
	t.Helper()
	return openLocal(t, Config{Name: "w", DataDir: dir, Logger: quietLogger()})
}

// TestDurableCrashRounds kills a writer process with SIGKILL at a random
// moment, 20 times over one data directory. After every kill the directory
// holds every update the writer acknowledged; at the end the directory's
// node rejoins the peer the writers gossiped to and the two converge with
// no increment lost or counted twice (acked <= counter <= tried).
func TestDurableCrashRounds(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 10))
	peer, err := Open(Config{Name: "peer", BindAddr: "127.0.0.1:0", Logger: quietLogger()})
	must(t, err)
	t.Cleanup(func() { _ = peer.Close() })
	dir := t.TempDir()
	bind := freeAddr(t)

	acked := make(map[string]bool) // "round/i" elements acknowledged
	tried := 0
	replicas := make(map[string]bool)
	const rounds = 20
	for round := range rounds {
		// One name and one address for every process: memberlist refuses
		// a known name at a new address (DeadNodeReclaimTime is off).
		h := startHelper(t, "writer", "NAME=w", "BIND="+bind, "DIR="+dir, "JOIN="+peer.Addr(), "ROUND="+strconv.Itoa(round))
		line, _ := h.next(20 * time.Second)
		id, ok := strings.CutPrefix(line, "open ")
		if !ok {
			t.Fatalf("round %d: first line %q", round, line)
		}
		if replicas[id] {
			t.Fatalf("round %d: replica ID %s issued before", round, id)
		}
		replicas[id] = true
		// Kill at a random moment: after a random number of lines (some
		// rounds before the first ack), then a random delay.
		lines := []string{}
		for range rng.IntN(60) {
			l, _ := h.next(20 * time.Second)
			lines = append(lines, l)
		}
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond) // the random moment of the kill
		lines = append(lines, h.rest()...)
		acks := 0
		for _, l := range lines {
			switch {
			case strings.HasPrefix(l, "try "):
				tried++
			case strings.HasPrefix(l, "ack "):
				acked[fmt.Sprintf("%d/%s", round, l[4:])] = true
				acks++
			case strings.HasPrefix(l, "error "):
				t.Fatalf("round %d: %s", round, l)
			}
		}

		n := openDir(t, dir)
		checkAcked(t, n, acked, tried, fmt.Sprintf("after round %d (%d acks)", round, acks))
		must(t, n.Close())
	}

	// Rejoin the peer and converge.
	// Another name and address for the last node: the peer may still
	// hold the killed process as a suspect at bind, and the test is about
	// the directory, not memberlist's refutations.
	n, err := Open(Config{Name: "w-final", DataDir: dir, BindAddr: "127.0.0.1:0", Join: []string{peer.Addr()}, Logger: quietLogger()})
	must(t, err)
	t.Cleanup(func() { _ = n.Close() })
	deadline := time.Now().Add(2 * time.Minute)
	for n.Digest() != peer.Digest() {
		if time.Now().After(deadline) {
			t.Fatalf("not converged after 2 min:\n%s\n%s", crashState(n), crashState(peer))
		}
		time.Sleep(10 * time.Millisecond)
	}
	checkAcked(t, peer, acked, tried, "on the peer after rejoining")
	if got := len(n.PastEpochs()); got < 2*rounds {
		t.Fatalf("%d past epochs, want at least %d (one per open)", got, 2*rounds)
	}
	seen := make(map[uint64]bool)
	for _, e := range n.PastEpochs() {
		if seen[e.Epoch] || e.Epoch == n.Epoch() {
			t.Fatalf("epoch %d started twice", e.Epoch)
		}
		seen[e.Epoch] = true
	}
	t.Logf("%d rounds: %d tried, %d acknowledged, %d epochs", rounds, tried, len(acked), len(seen)+1)
}

// crashState describes n for a failure message: its members, the two
// keys' values and its gossip counters.
func crashState(n *Node) string {
	var cv uint64
	var sl int
	if c, err := GCounter(n, "c"); err == nil {
		cv = c.Value()
	}
	if s, err := ORSet[string](n, "s"); err == nil {
		sl = s.Len()
	}
	return fmt.Sprintf("%s: digest %x, c %d, |s| %d, members %v, gossip %+v", n.Name(), n.Digest(), cv, sl, n.Members(), n.GossipStats())
}

// checkAcked fails unless n holds every acknowledged element and a counter
// between the acknowledged and the tried increments.
func checkAcked(t *testing.T, n *Node, acked map[string]bool, tried int, when string) {
	t.Helper()
	c, err := GCounter(n, "c")
	must(t, err)
	s, err := ORSet[string](n, "s")
	must(t, err)
	for e := range acked {
		ok, err := s.Contains(e)
		must(t, err)
		if !ok {
			t.Fatalf("%s: acknowledged element %s lost", when, e)
		}
	}
	if v := c.Value(); v < uint64(len(acked)) || v > uint64(tried) {
		t.Fatalf("%s: counter %d, want between %d acknowledged and %d tried", when, v, len(acked), tried)
	}
}

// quietLogger is testLogger, or a discarding logger (nil would be the
// node's default: warnings on stderr).
func quietLogger() *slog.Logger {
	if l := testLogger(); l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// freeAddr returns a loopback address whose TCP and UDP port were free.
func freeAddr(t testing.TB) string {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			u.Close()
			return addr
		}
	}
	t.Fatal("no free port")
	return ""
}
