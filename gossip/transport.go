package gossip

import (
	"net"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// streamTransport wraps the transport memberlist dials its streams with, so
// that no stream can hold a goroutine of ours past Close or forever:
// memberlist bounds a user message's dial by TCPTimeout but sets no deadline
// on its write, and a peer that accepts a stream and never reads would hold
// a sender goroutine (and Close, which waits for it) indefinitely.
//
//   - Writes go in pieces of streamWritePiece bytes, each with a write
//     deadline of TCPTimeout: a slow link is fine, a stalled one fails.
//   - Close (closeStreams) closes every open dialed stream, failing a write
//     in progress at once, and makes later dials fail.
type streamTransport struct {
	memberlist.NodeAwareTransport
	stall time.Duration // memberlist's TCPTimeout
	gate  *inboundGate  // admits inbound streams (inbound.go)
	in    chan net.Conn // admitted inbound streams, for memberlist

	mu     sync.Mutex
	conns  map[*stallConn]struct{} // guarded by mu; open dialed streams
	closed bool                    // guarded by mu
}

// streamWritePiece is how much of a stream write must make it out within
// TCPTimeout.
const streamWritePiece = 64 << 10

var _ memberlist.NodeAwareTransport = (*streamTransport)(nil)

func (t *streamTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	c, err := t.NodeAwareTransport.DialTimeout(addr, timeout)
	return t.track(c, err)
}

func (t *streamTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	c, err := t.NodeAwareTransport.DialAddressTimeout(a, timeout)
	return t.track(c, err)
}

func (t *streamTransport) check() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	return nil
}

func (t *streamTransport) track(c net.Conn, err error) (net.Conn, error) {
	if err != nil {
		return nil, err
	}
	sc := &stallConn{Conn: c, t: t}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return nil, ErrClosed
	}
	if t.conns == nil {
		t.conns = make(map[*stallConn]struct{})
	}
	t.conns[sc] = struct{}{}
	return sc, nil
}

// closeStreams closes every open dialed stream and refuses new dials.
func (t *streamTransport) closeStreams() {
	t.mu.Lock()
	t.closed = true
	conns := t.conns
	t.conns = nil
	t.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// stallConn is a dialed stream whose writes fail when a piece makes no
// progress for the transport's stall time.
type stallConn struct {
	net.Conn
	t *streamTransport
}

func (c *stallConn) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(c.t.stall)); err != nil {
			return n, err
		}
		m, err := c.Conn.Write(p[n:min(len(p), n+streamWritePiece)])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (c *stallConn) Close() error {
	c.t.mu.Lock()
	delete(c.t.conns, c)
	c.t.mu.Unlock()
	return c.Conn.Close()
}

// nodeAware returns t as a NodeAwareTransport, adapting a plain Transport
// the way memberlist does (transport.go, shimNodeAwareTransport).
func nodeAware(t memberlist.Transport) memberlist.NodeAwareTransport {
	if na, ok := t.(memberlist.NodeAwareTransport); ok {
		return na
	}
	return nodeAwareShim{t}
}

type nodeAwareShim struct{ memberlist.Transport }

func (s nodeAwareShim) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	return s.WriteTo(b, a.Addr)
}

func (s nodeAwareShim) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	return s.DialTimeout(a.Addr, timeout)
}
