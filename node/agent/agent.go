package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/node"
)

// Config configures an Agent. The zero Config is usable.
type Config struct {
	// Prefix is put before the keys of every object the agent uses
	// (presence, leases, claims, registries), so that several independent
	// fleets can share a cluster. Empty means "agent/". Every agent of a
	// fleet must use the same Prefix.
	Prefix string

	// Meta is this agent's metadata, published in its presence entry.
	Meta map[string]string

	// Retention is how long claim and registry records are kept after they
	// were written; a key asked about again after it is done in a new
	// execution. Zero means DefaultRetention. It must be far longer than
	// any retry window and any partition the fleet tolerates.
	Retention time.Duration

	// ClockMargin is how far past a lease's expiry another agent's clock
	// must be before it may take the lease over, and how long before its
	// own expiry a holder stops renewing and treats it as lost: it covers
	// clock skew between hosts. A lease never has two holders that both
	// trust it as long as the clocks of any two agents differ by less than
	// twice ClockMargin (the holder stops a margin early, a contender
	// starts a margin late). Zero means DefaultClockMargin.
	ClockMargin time.Duration

	// Write and Read are the consistency levels of claims, registry
	// records and lease acquisitions (zero: local). With
	// node.WriteMajority and node.ReadMajority a claim is read from a
	// majority, written to a majority and read again before it reports a
	// win, which makes double claims rare while a majority is connected
	// (see BenchmarkContendedClaims); a level that is not met returns a
	// *node.LevelError with the local result, and the write still spreads.
	Write node.WriteLevel
	Read  node.ReadLevel

	// Clock is the wall clock behind timestamps. Nil means the system
	// clock.
	Clock node.Clock

	// Logger receives the agent's logs. Nil discards them.
	Logger *slog.Logger
}

// Defaults for Config.
const (
	DefaultRetention   = 24 * time.Hour
	DefaultClockMargin = time.Second
)

// Agent is one agent process's view of the fleet: its presence entry and
// the coordination objects under Config.Prefix on one node. It is safe for
// concurrent use.
type Agent struct {
	n        *node.Node
	cfg      Config
	log      *slog.Logger
	presence *node.LWWMapHandle[string, Info]
	leases   *node.ObjectHandle[*crdt.LeaseMap]

	mu    sync.Mutex
	clock crdt.Clock // guarded by mu
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// New starts an agent on n: it publishes this agent's presence entry and
// returns once that is done locally (it spreads by gossip). The agent
// owns no goroutine; Close removes the presence entry.
func New(ctx context.Context, n *node.Node, cfg Config) (*Agent, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "agent/"
	}
	if cfg.Retention < 0 || cfg.ClockMargin < 0 {
		return nil, fmt.Errorf("agent: negative Retention %v or ClockMargin %v", cfg.Retention, cfg.ClockMargin)
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.ClockMargin == 0 {
		cfg.ClockMargin = DefaultClockMargin
	}
	if cfg.Clock == nil {
		cfg.Clock = systemClock{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Agent{n: n, cfg: cfg, log: log}
	var err error
	if a.presence, err = node.LWWMap[string, Info](n, cfg.Prefix+"presence"); err != nil {
		return nil, err
	}
	if a.leases, err = node.Object[*crdt.LeaseMap](n, cfg.Prefix+"leases"); err != nil {
		return nil, err
	}
	if err := a.presence.Set(ctx, n.Name(), a.Self()); err != nil {
		return nil, fmt.Errorf("agent: publish presence: %w", err)
	}
	return a, nil
}

// Node returns the node the agent runs on.
func (a *Agent) Node() *node.Node { return a.n }

// Close removes this agent's presence entry (if it is still this epoch's),
// so peers drop it from their view without waiting for failure detection.
// It does not close the node.
func (a *Agent) Close(ctx context.Context) error {
	cur, ok, err := a.presence.Get(a.n.Name())
	if err != nil || !ok || cur.Epoch != a.n.Epoch() {
		return err
	}
	return a.presence.Delete(ctx, a.n.Name())
}

// now returns a fresh timestamp from the agent's hybrid logical clock.
func (a *Agent) now() crdt.HLC {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.clock.Now(a.cfg.Clock.Now().UnixNano())
}

// observe moves the agent's clock past a timestamp read from replicated
// state, so the agent's next timestamp is later. A stamp too far ahead is
// not observed (crdt.Clock refuses it); callers then compare with a clock
// that is behind, which only makes them wait longer.
func (a *Agent) observe(ts crdt.HLC) {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, _ = a.clock.Observe(ts, a.cfg.Clock.Now().UnixNano())
}

// after returns the HLC d after now.
func after(now crdt.HLC, d time.Duration) crdt.HLC {
	return crdt.HLC{Wall: now.Wall + int64(d)}
}
