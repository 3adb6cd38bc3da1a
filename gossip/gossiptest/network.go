package gossiptest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// ErrUnreachable is returned when dialing a node that is partitioned away or
// gone.
var ErrUnreachable = errors.New("gossiptest: unreachable")

// Network is an in-memory network of memberlist transports, like
// memberlist.MockNetwork, but safe for concurrent use, able to drop packets
// and to partition nodes, and usable inside a testing/synctest bubble: a
// transport that is shut down stops accepting traffic, so no sender stays
// blocked on it.
type Network struct {
	mu     sync.Mutex
	byAddr map[string]*Transport // guarded by mu
	port   int                   // guarded by mu; last port handed out
	loss   float64               // guarded by mu; packet loss rate
	rng    *rand.Rand            // guarded by mu
	group  map[string]int        // guarded by mu; partition group by name
}

// NewNetwork returns an empty network whose random packet loss is seeded.
func NewNetwork(seed uint64) *Network {
	return &Network{
		byAddr: make(map[string]*Transport),
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// NewTransport returns a transport for the node called name (the memberlist
// node name must match), at a fresh 127.0.0.1 address.
func (n *Network) NewTransport(name string) *Transport {
	n.mu.Lock()
	n.port++
	addr := "127.0.0.1:" + strconv.Itoa(10000+n.port)
	n.mu.Unlock()
	return n.NewTransportAt(name, addr)
}

// NewTransportAt returns a transport for name at addr, replacing whatever
// transport had that name or address (a process restarted on the same or a
// new port).
func (n *Network) NewTransportAt(name, addr string) *Transport {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := &Transport{
		net:      n,
		name:     name,
		addr:     memAddr(addr),
		packetCh: make(chan *memberlist.Packet, 1024),
		streamCh: make(chan net.Conn, 64),
	}
	n.byAddr[string(t.addr)] = t
	return t
}

// SetLoss makes the network drop each packet with probability rate (streams
// are reliable, like TCP).
func (n *Network) SetLoss(rate float64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.loss = rate
}

// Partition splits the nodes into groups (by name) that cannot reach each
// other. Nodes not named stay reachable by all.
func (n *Network) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.group = make(map[string]int)
	for i, g := range groups {
		for _, name := range g {
			n.group[name] = i + 1
		}
	}
}

// Heal ends the partition.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.group = nil
}

// route returns the destination for a, or nil and an error; drop reports a
// packet lost to partition or loss.
func (n *Network) route(from string, a memberlist.Address, packet bool) (dest *Transport, drop bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	// By address, as a real network does: a node restarted on a new port
	// must not receive what is sent to its old one.
	dest = n.byAddr[a.Addr]
	if dest == nil {
		return nil, false, fmt.Errorf("%w: no route to %s", ErrUnreachable, a)
	}
	gf, gt := n.group[from], n.group[dest.name]
	if gf != 0 && gt != 0 && gf != gt {
		return dest, true, nil
	}
	if packet && n.loss > 0 && n.rng.Float64() < n.loss {
		return dest, true, nil
	}
	return dest, false, nil
}

// Transport is one node's end of a Network.
type Transport struct {
	net      *Network
	name     string
	addr     memAddr
	packetCh chan *memberlist.Packet
	streamCh chan net.Conn

	// mu makes delivery and Shutdown atomic: nothing is queued on a
	// transport after it shut down, where no one would ever read it.
	mu     sync.Mutex
	closed bool // guarded by mu
}

// deliverPacket queues p unless t is shut down or its queue is full (then
// the packet is lost, as over UDP).
func (t *Transport) deliverPacket(p *memberlist.Packet) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	select {
	case t.packetCh <- p:
	default:
	}
}

// deliverStream queues c, or reports that t is shut down or overloaded.
func (t *Transport) deliverStream(c net.Conn) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return fmt.Errorf("%w: %s is shut down", ErrUnreachable, t.addr)
	}
	select {
	case t.streamCh <- c:
		return nil
	default:
		return fmt.Errorf("%w: %s has too many pending connections", ErrUnreachable, t.addr)
	}
}

var _ memberlist.NodeAwareTransport = (*Transport)(nil)

type memAddr string

func (a memAddr) Network() string { return "mem" }
func (a memAddr) String() string  { return string(a) }

// Addr returns the transport's address, host:port.
func (t *Transport) Addr() string { return string(t.addr) }

// FinalAdvertiseAddr implements memberlist.Transport.
func (t *Transport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	host, port, err := net.SplitHostPort(string(t.addr))
	if err != nil {
		return nil, 0, err
	}
	p, err := strconv.Atoi(port)
	return net.ParseIP(host), p, err
}

// WriteTo implements memberlist.Transport.
func (t *Transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress implements memberlist.NodeAwareTransport. Lost packets
// vanish silently, as over UDP.
func (t *Transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	now := time.Now()
	dest, drop, err := t.net.route(t.name, a, true)
	if err != nil || drop {
		return now, err
	}
	dest.deliverPacket(&memberlist.Packet{Buf: bytes.Clone(b), From: t.addr, Timestamp: now})
	return now, nil
}

// PacketCh implements memberlist.Transport.
func (t *Transport) PacketCh() <-chan *memberlist.Packet { return t.packetCh }

// IngestPacket implements memberlist.NodeAwareTransport.
func (t *Transport) IngestPacket(conn net.Conn, addr net.Addr, now time.Time, shouldClose bool) error {
	if shouldClose {
		defer conn.Close()
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, conn); err != nil {
		return fmt.Errorf("gossiptest: read packet: %w", err)
	}
	if buf.Len() < 1 {
		return fmt.Errorf("gossiptest: empty packet from %s", addr)
	}
	t.deliverPacket(&memberlist.Packet{Buf: buf.Bytes(), From: addr, Timestamp: now})
	return nil
}

// DialTimeout implements memberlist.Transport.
func (t *Transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport. A node
// partitioned away is unreachable at once (rather than after the timeout).
func (t *Transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	dest, drop, err := t.net.route(t.name, a, false)
	if err != nil {
		return nil, err
	}
	if drop {
		return nil, fmt.Errorf("%w: %s partitioned from %s", ErrUnreachable, a, t.name)
	}
	p1, p2 := net.Pipe()
	if err := dest.deliverStream(p1); err != nil {
		p1.Close()
		p2.Close()
		return nil, err
	}
	return p2, nil
}

// StreamCh implements memberlist.Transport.
func (t *Transport) StreamCh() <-chan net.Conn { return t.streamCh }

// IngestStream implements memberlist.NodeAwareTransport.
func (t *Transport) IngestStream(conn net.Conn) error {
	if err := t.deliverStream(conn); err != nil {
		conn.Close()
		return err
	}
	return nil
}

// Shutdown implements memberlist.Transport. Traffic to a shut-down transport
// is dropped; queued streams are closed so their senders return.
func (t *Transport) Shutdown() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for {
		select {
		case c := <-t.streamCh:
			c.Close()
		default:
			return nil
		}
	}
}
