package node

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/gossip/gossiptest"
)

// recorder is a slog.Handler that keeps every record's level and message.
type recorder struct {
	mu   sync.Mutex
	recs []string // "LEVEL message attrs"
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Level.String() + " " + rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	r.mu.Lock()
	r.recs = append(r.recs, b.String())
	r.mu.Unlock()
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// has reports whether a record at level starts with msg.
func (r *recorder) has(level slog.Level, msg string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.recs {
		if strings.HasPrefix(s, level.String()+" "+msg) {
			return true
		}
	}
	return false
}

// TestFormationProblemsAreLoud: a dead seed, a name taken by another node,
// another key, another label: each is logged at WARN (or, for what
// memberlist reports itself, at ERROR) and counted under its own name.
func TestFormationProblemsAreLoud(t *testing.T) {
	tests := []struct {
		name    string
		a, b    func(*Config) // configure the seed a and the joiner b
		bName   string
		count   func(gossip.Stats) uint64
		on      string // whose counter: "a" or "b"
		logWho  string
		level   slog.Level
		message string
	}{
		{
			name: "dead seed", bName: "b", on: "b", logWho: "b", level: slog.LevelWarn, message: "join failed",
			b:     func(c *Config) { c.Join = []string{"127.0.0.1:1"} },
			count: func(s gossip.Stats) uint64 { return s.JoinFailures },
		},
		{
			name: "name conflict", bName: "a", on: "a", logWho: "a", level: slog.LevelWarn, message: "name conflict",
			count: func(s gossip.Stats) uint64 { return s.NameConflicts },
		},
		{
			name: "key mismatch", bName: "b", on: "a", logWho: "b", level: slog.LevelWarn, message: "join failed",
			a:     func(c *Config) { c.SecretKey = []byte("0123456789abcdef") },
			b:     func(c *Config) { c.SecretKey = []byte("fedcba9876543210") },
			count: func(s gossip.Stats) uint64 { return s.KeyMismatches },
		},
		{
			name: "label mismatch", bName: "b", on: "a", logWho: "a", level: slog.LevelError, message: "discarding",
			a:     func(c *Config) { c.Label = "prod" },
			b:     func(c *Config) { c.Label = "staging" },
			count: func(s gossip.Stats) uint64 { return s.LabelMismatches },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := &testCluster{t: t, net: gossiptest.NewNetwork(1)}
				t.Cleanup(c.closeAll)
				logs := map[string]*recorder{"a": {}, "b": {}}
				open := func(who, name string, tweak func(*Config), join []string) *Node {
					cfg := c.config(name)
					cfg.Logger = slog.New(logs[who])
					cfg.Join = join
					if tweak != nil {
						tweak(&cfg)
					}
					n, err := Open(cfg)
					if err != nil {
						t.Fatalf("open %s: %v", name, err)
					}
					c.nodes = append(c.nodes, n)
					return n
				}
				a := open("a", "a", tc.a, nil)
				b := open("b", tc.bName, tc.b, []string{a.Addr()})
				nodes := map[string]*Node{"a": a, "b": b}
				waitFor(t, time.Minute, func() bool {
					return tc.count(nodes[tc.on].GossipStats()) > 0 && logs[tc.logWho].has(tc.level, tc.message)
				})
				if r := b.Readiness(); r.Ready {
					t.Errorf("joiner ready: %+v", r)
				}
			})
		})
	}
}

// TestNilLoggerWarnsOnDefault: with no Logger, the insecure-bind warning
// reaches slog.Default (on dbc6c32 it was discarded), and INFO does not.
func TestNilLoggerWarnsOnDefault(t *testing.T) {
	rec := &recorder{}
	old := slog.Default()
	slog.SetDefault(slog.New(rec))
	t.Cleanup(func() { slog.SetDefault(old) })
	n, err := Open(Config{BindAddr: "0.0.0.0:0"})
	must(t, err)
	defer n.Close()
	if !rec.has(slog.LevelWarn, "listening beyond loopback without a SecretKey") {
		t.Errorf("no warning on the default logger: %v", rec.recs)
	}
	if n.log.Enabled(context.Background(), slog.LevelInfo) {
		t.Error("the default logger passes INFO")
	}
}

func TestReadiness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		alone := openLocal(t, Config{})
		if r := alone.Readiness(); !r.Ready || !strings.Contains(r.Reason, "alone by design") {
			t.Errorf("no seeds: %+v", r)
		}
		c := newTestCluster(t, 1)
		cfg := c.config("b")
		cfg.Join = []string{c.nodes[0].Addr()}
		b, err := Open(cfg)
		must(t, err)
		c.nodes = append(c.nodes, b)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		must(t, b.WaitReady(ctx))
		if st := b.Status(); !st.Ready.Ready || st.Ready.Members != 2 {
			t.Errorf("Status readiness %+v", st.Ready)
		}

		cfg = c.config("c")
		cfg.Join = []string{c.nodes[0].Addr()}
		cfg.ReadyMembers = 4
		d, err := Open(cfg)
		must(t, err)
		c.nodes = append(c.nodes, d)
		must(t, d.WaitMembers(ctx, 3))
		if r := d.Readiness(); r.Ready || r.Want != 4 || r.Members != 3 {
			t.Errorf("3 of 4 members: %+v", r)
		}
		_ = d.Close()
		if r := d.Readiness(); r.Ready || r.Reason != "closed" {
			t.Errorf("closed: %+v", r)
		}
		if _, err := Open(Config{ReadyMembers: -1}); err == nil {
			t.Error("negative ReadyMembers accepted")
		}
	})
}
