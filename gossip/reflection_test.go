package gossip_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// nodeOf returns a memberlist node for sending straight to nd's address.
func nodeOf(nd *tnode) *memberlist.Node {
	host, port, _ := net.SplitHostPort(nd.tr.Addr())
	p, _ := strconv.Atoi(port)
	return &memberlist.Node{Name: nd.name, Addr: net.ParseIP(host), Port: uint16(p)}
}

// replyBytes sums what g sent in anti-entropy replies and state: every type
// but its own roots and deltas.
func replyBytes(g *gossip.Gossip) uint64 {
	var n uint64
	for t, tr := range g.Stats().Sent {
		if t != gossip.MsgRoot && t != gossip.MsgDelta && t != gossip.MsgDeltaDirect {
			n += tr.Bytes
		}
	}
	return n
}

// fill publishes keys keys of elems elements of 100 bytes each from nd.
func fill(t *testing.T, nd *tnode, keys, elems int) {
	t.Helper()
	for k := range keys {
		var es []string
		for e := range elems {
			es = append(es, fmt.Sprintf("%s-%04d-%d", strings.Repeat("x", 90), e, k))
		}
		nd.publish(t, fmt.Sprintf("key-%03d-%s", k, strings.Repeat("k", 100)), es...)
	}
}

// TestWantReflection: a member x sends n0 one want that names n1 as its
// sender and lists a 100 KB key 100 times. On dbc6c32 n0 streamed the key
// to n1 100 times (about 10 MB for 13 KB); now a want outside a session
// n0 holds with n1 is refused and costs nothing.
func TestWantReflection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, true, nil)
		n0, n1, x := c.nodes[0], c.nodes[1], c.nodes[2]
		fill(t, n0, 1, 1000)
		c.waitConverged(10 * time.Second)
		time.Sleep(10 * time.Second) // sessions of the catch-up rounds end
		key := n0.r.Keys()[0]
		before := replyBytes(n0.g)
		keys := make([]string, 100)
		for i := range keys {
			keys[i] = key
		}
		msg := gossip.EncodeWant(n1.g.Origin(), keys)
		if err := gossip.MemberlistOf(x.g).SendReliable(nodeOf(n0), msg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		sent := replyBytes(n0.g) - before
		ratio := float64(sent) / float64(len(msg))
		t.Logf("want of %d bytes naming n1: n0 sent %d bytes (%.1fx); refused %d", len(msg), sent, ratio, gossip.RefusedRequests(n0.g))
		if ratio > 2 {
			t.Errorf("reflection: %.0fx the request", ratio)
		}
	})
}

// TestSpoofedRootReflection: x sends n0 roots that name n1 and differ from
// n0's. On dbc6c32 n0 answered each with its digest list for n1 (100 keys
// of 110 bytes: about 340x); now it answers with one root reply of about
// the root's size.
func TestSpoofedRootReflection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 3, true, nil)
		n0, n1, x := c.nodes[0], c.nodes[1], c.nodes[2]
		fill(t, n0, 100, 1)
		c.waitConverged(20 * time.Second)
		time.Sleep(10 * time.Second)
		before := replyBytes(n0.g)
		var sentIn int
		for i := range 10 {
			msg := gossip.EncodeRoot(n1.g.Origin(), uint64(i+1))
			sentIn += len(msg)
			if err := gossip.MemberlistOf(x.g).SendBestEffort(nodeOf(n0), msg); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(10 * time.Second)
		sent := replyBytes(n0.g) - before
		ratio := float64(sent) / float64(sentIn)
		t.Logf("10 spoofed roots, %d bytes: n0 sent %d bytes (%.1fx)", sentIn, sent, ratio)
		if ratio > 2 {
			t.Errorf("reflection: %.0fx the request", ratio)
		}
	})
}

// recorder is a transport that records what its node sends to one
// address: packets, and the bytes written on each stream.
type recorder struct {
	*gossiptest.Transport
	to string

	mu      sync.Mutex
	packets [][]byte   // guarded by mu
	streams []*recConn // guarded by mu
}

type recConn struct {
	net.Conn
	mu  sync.Mutex
	buf []byte // guarded by mu
}

func (c *recConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.buf = append(c.buf, p...)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// Base returns the wrapped transport.
func (r *recorder) Base() *gossiptest.Transport { return r.Transport }

func (r *recorder) WriteTo(b []byte, addr string) (time.Time, error) {
	return r.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (r *recorder) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if a.Addr == r.to {
		r.mu.Lock()
		r.packets = append(r.packets, append([]byte(nil), b...))
		r.mu.Unlock()
	}
	return r.Transport.WriteToAddress(b, a)
}

func (r *recorder) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return r.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (r *recorder) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	c, err := r.Transport.DialAddressTimeout(a, timeout)
	if err != nil || a.Addr != r.to {
		return c, err
	}
	rc := &recConn{Conn: c}
	r.mu.Lock()
	r.streams = append(r.streams, rc)
	r.mu.Unlock()
	return rc, nil
}

// TestReplayCostsNothing: everything n1 sent n0 while catching up on 1 MB
// (roots, digests, wants, memberlist's own traffic) is captured and
// replayed to n0 five times, as an outsider could without the key. On
// dbc6c32 n0 sent the state again for every replay; now the replayed
// requests find their sessions used up.
func TestReplayCostsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 1, false, nil)
		n0 := c.nodes[0]
		fill(t, n0, 10, 1000)
		rec := &recorder{Transport: c.net.NewTransport("n1"), to: n0.tr.Addr()}
		n1 := c.add("n1", func(cfg *gossip.Config) { cfg.Transport = rec })
		c.join(n1, n0)
		c.waitConverged(30 * time.Second)
		rec.mu.Lock()
		packets, streams := rec.packets, rec.streams
		rec.mu.Unlock()
		var captured int
		for _, p := range packets {
			captured += len(p)
		}
		for _, s := range streams {
			captured += len(s.buf)
		}
		// The replayer is an outsider: a bare transport on the network.
		raw := c.net.NewTransport("outsider")
		to := memberlist.Address{Addr: n0.tr.Addr(), Name: n0.name}
		before := replyBytes(n0.g)
		for range 5 {
			for _, s := range streams {
				conn, err := raw.DialAddressTimeout(to, time.Second)
				if err != nil {
					t.Fatal(err)
				}
				go func() {
					defer conn.Close()
					s.mu.Lock()
					b := s.buf
					s.mu.Unlock()
					conn.SetDeadline(time.Now().Add(2 * time.Second))
					conn.Write(b)
					var sink [4096]byte
					for {
						if _, err := conn.Read(sink[:]); err != nil {
							return
						}
					}
				}()
			}
			for _, p := range packets {
				raw.WriteToAddress(p, to)
			}
			time.Sleep(time.Second)
		}
		time.Sleep(10 * time.Second)
		sent := replyBytes(n0.g) - before
		ratio := float64(sent) / float64(5*captured)
		t.Logf("replayed %d packets and %d streams (%d bytes) 5 times: n0 sent %d bytes (%.2fx); refused %d",
			len(packets), len(streams), captured, sent, ratio, gossip.RefusedRequests(n0.g))
		if ratio > 0.1 {
			t.Errorf("replays cost %.1fx their bytes", ratio)
		}
	})
}
