package gossip

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Inbound streams. memberlist reads a stream's message header and then
// allocates the length it declares (up to 20 MiB) before the body arrives,
// and it neither limits how many streams are open at once nor notices one
// that stalls before TCPTimeout: 25 stalled streams of 19 bytes each held
// 500 MiB for TCPTimeout. (With a SecretKey, memberlist reads an encrypted
// stream whole before it allocates for its content, so a stalled stream
// holds only what was sent; the limits below hold either way.) The stream
// transport therefore admits inbound streams through a gate:
//
//   - at most MaxInboundStreams open at once, and MaxInboundStreamsPerHost
//     from one remote host (IP); a stream over either limit is closed at
//     once and counted (Stats.RefusedStreams);
//   - every read must make progress within half of TCPTimeout, whatever
//     deadline memberlist set, so a stalled stream is cut within that.
//
// So what stalled streams hold is at most the open streams times 20 MiB,
// for half of TCPTimeout, and a single host gets MaxInboundStreamsPerHost
// of those.

// inboundGate counts the open inbound streams.
type inboundGate struct {
	max, perHost int
	idle         time.Duration

	mu     sync.Mutex
	open   int            // guarded by mu
	byHost map[string]int // guarded by mu

	refused atomic.Uint64
}

func newInboundGate(max, perHost int, idle time.Duration) *inboundGate {
	return &inboundGate{max: max, perHost: perHost, idle: idle, byHost: make(map[string]int)}
}

// hostOf returns the host part of a remote address.
func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// admit returns c wrapped, or nil if a limit is reached (c is then closed).
func (gt *inboundGate) admit(c net.Conn) net.Conn {
	host := hostOf(c.RemoteAddr())
	gt.mu.Lock()
	if gt.open >= gt.max || gt.byHost[host] >= gt.perHost {
		gt.mu.Unlock()
		gt.refused.Add(1)
		c.Close()
		return nil
	}
	gt.open++
	gt.byHost[host]++
	gt.mu.Unlock()
	return &inConn{Conn: c, gate: gt, host: host}
}

func (gt *inboundGate) release(host string) {
	gt.mu.Lock()
	defer gt.mu.Unlock()
	gt.open--
	if gt.byHost[host]--; gt.byHost[host] <= 0 {
		delete(gt.byHost, host)
	}
}

// inConn is an admitted inbound stream: Close frees its place, and each
// read fails if no data comes within the gate's idle time.
type inConn struct {
	net.Conn
	gate *inboundGate
	host string
	once sync.Once

	mu    sync.Mutex
	outer time.Time // guarded by mu; the read deadline memberlist set
}

func (c *inConn) Read(p []byte) (int, error) {
	d := time.Now().Add(c.gate.idle)
	c.mu.Lock()
	if !c.outer.IsZero() && c.outer.Before(d) {
		d = c.outer
	}
	c.mu.Unlock()
	if err := c.Conn.SetReadDeadline(d); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *inConn) SetDeadline(t time.Time) error {
	c.setOuter(t)
	return c.Conn.SetDeadline(t)
}

func (c *inConn) SetReadDeadline(t time.Time) error {
	c.setOuter(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *inConn) setOuter(t time.Time) {
	c.mu.Lock()
	c.outer = t
	c.mu.Unlock()
}

func (c *inConn) Close() error {
	c.once.Do(func() { c.gate.release(c.host) })
	return c.Conn.Close()
}

// StreamCh hands memberlist the admitted inbound streams (see pumpInbound).
func (t *streamTransport) StreamCh() <-chan net.Conn { return t.in }

// pumpInbound moves inbound streams from the wrapped transport through the
// gate to StreamCh. Once closing is closed it closes what arrives instead
// (memberlist stops reading StreamCh, but the wrapped transport's listener
// must not block on a send while memberlist shuts it down), and it returns
// when stop is closed, after memberlist's Shutdown.
func (t *streamTransport) pumpInbound(closing, stop <-chan struct{}) {
	inner := t.NodeAwareTransport.StreamCh()
	for {
		select {
		case <-stop:
			return
		case c := <-inner:
			select {
			case <-closing:
				c.Close()
				continue
			default:
			}
			ac := t.gate.admit(c)
			if ac == nil {
				continue
			}
			select {
			case t.in <- ac:
			case <-closing:
				ac.Close()
			}
		}
	}
}
