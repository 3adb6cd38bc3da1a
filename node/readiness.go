package node

import (
	"context"
	"fmt"
	"log/slog"
)

// Readiness says whether the node has formed the cluster it was configured
// for, and why not.
type Readiness struct {
	Ready   bool   `json:"ready"`
	Reason  string `json:"reason"`  // why, in a few words
	Members int    `json:"members"` // live members, this node included
	Want    int    `json:"want"`    // members needed (Config.ReadyMembers)
}

// Readiness reports whether the node is ready: it sees at least
// Config.ReadyMembers members (by default 2 when Join is set: a seed
// answered; 1 without seeds: alone by design). It is not sticky: a node
// that loses its peers is no longer ready. A closed node is never ready.
func (n *Node) Readiness() Readiness {
	r := Readiness{Members: n.NumMembers(), Want: n.cfg.readyMembers}
	switch {
	case n.isClosed():
		r.Reason = "closed"
	case r.Members >= r.Want && n.cfg.seeds == 0 && r.Want <= 1:
		r.Ready, r.Reason = true, "alone by design: no seeds configured"
	case r.Members >= r.Want:
		r.Ready, r.Reason = true, fmt.Sprintf("%d of %d members", r.Members, r.Want)
	case n.cfg.seeds > 0 && r.Members <= 1:
		r.Reason = fmt.Sprintf("alone: none of %d seeds answered yet (see the WARN log)", n.cfg.seeds)
	default:
		r.Reason = fmt.Sprintf("waiting for members: %d of %d", r.Members, r.Want)
	}
	return r
}

// WaitReady blocks until Readiness reports ready, ctx ends (ctx.Err()) or
// the node closes (ErrClosed).
func (n *Node) WaitReady(ctx context.Context) error {
	return n.WaitFor(ctx, func() bool { return n.Readiness().Ready })
}

// warnOnly passes records at WARN and above to h: the default logger's
// handler, used when Config.Logger is nil.
type warnOnly struct{ slog.Handler }

func (w warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}
func (w warnOnly) WithAttrs(as []slog.Attr) slog.Handler { return warnOnly{w.Handler.WithAttrs(as)} }
func (w warnOnly) WithGroup(g string) slog.Handler       { return warnOnly{w.Handler.WithGroup(g)} }
