package gossiptest

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// LossyTransport wraps a transport (usually memberlist's NetTransport) and
// drops a fraction of outgoing packets, as a lossy network would. Streams
// pass untouched (TCP retransmits).
type LossyTransport struct {
	memberlist.NodeAwareTransport

	mu   sync.Mutex
	rate float64    // guarded by mu
	rng  *rand.Rand // guarded by mu

	dropped atomic.Uint64
}

// NewLossyTransport wraps inner, dropping outgoing packets with probability
// rate, using a random source seeded with seed.
func NewLossyTransport(inner memberlist.NodeAwareTransport, rate float64, seed uint64) *LossyTransport {
	return &LossyTransport{
		NodeAwareTransport: inner,
		rate:               rate,
		rng:                rand.New(rand.NewPCG(seed, ^seed)),
	}
}

// NewLoopbackTransport returns memberlist's UDP/TCP transport on 127.0.0.1
// and a free port, wrapped to drop outgoing packets with probability rate.
func NewLoopbackTransport(rate float64, seed uint64) (*LossyTransport, error) {
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{"127.0.0.1"},
		Logger:    discardLogger,
	})
	if err != nil {
		return nil, err
	}
	return NewLossyTransport(nt, rate, seed), nil
}

// SetRate changes the loss rate.
func (l *LossyTransport) SetRate(rate float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate = rate
}

// Dropped returns how many packets were dropped.
func (l *LossyTransport) Dropped() uint64 { return l.dropped.Load() }

func (l *LossyTransport) lose() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate > 0 && l.rng.Float64() < l.rate {
		l.dropped.Add(1)
		return true
	}
	return false
}

// WriteTo implements memberlist.Transport.
func (l *LossyTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return l.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress implements memberlist.NodeAwareTransport.
func (l *LossyTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if l.lose() {
		return time.Now(), nil
	}
	return l.NodeAwareTransport.WriteToAddress(b, a)
}
