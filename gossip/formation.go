package gossip

import (
	"strings"
	"sync/atomic"

	"github.com/hashicorp/memberlist"
)

// Cluster formation problems make a node run alone while it looks healthy:
// seeds that do not answer, a name another node holds, a SecretKey or Label
// that differs from the cluster's. Each is counted (Stats) and logged at
// WARN with the reason, so a person sees it with the default logger.

// formationCounters count formation problems.
type formationCounters struct {
	joinFailures, nameConflicts, keyMismatches, labelMismatches atomic.Uint64
}

// classify counts a memberlist log line that reports traffic dropped for a
// key or label mismatch. memberlist (v0.7.0, net.go) reports these only in
// its log, which it writes at ERR, so the line itself reaches the user's
// logger as an error.
func (c *formationCounters) classify(line string) {
	l := strings.ToLower(line)
	switch {
	case strings.Contains(l, "unacceptable label"):
		c.labelMismatches.Add(1)
	case strings.Contains(l, "decrypt"),
		strings.Contains(l, "encryption is not configured"),
		strings.Contains(l, "remote state is not encrypted"):
		c.keyMismatches.Add(1)
	}
}

// joinFailed records a join attempt to addr that reached no node. It is
// logged at WARN when the node is alone (the seeds are its only way into
// the cluster), else at DEBUG: the rejoin loop retries members that died
// until they come back, and that is routine.
func (g *Gossip) joinFailed(addr string, err error, alone bool) {
	g.stats.formation.joinFailures.Add(1)
	if !alone {
		g.log.Debug("rejoin failed", "addr", addr, "err", err)
		return
	}
	g.log.Warn("join failed: running alone until a seed answers", "addr", addr, "err", err,
		"hint", joinHint(err), "retry_in", g.cfg.RejoinInterval)
}

// joinHint names the likely cause of a failed join for the log.
func joinHint(err error) string {
	if err == nil {
		return "no node answered"
	}
	l := strings.ToLower(err.Error())
	switch {
	case strings.Contains(l, "decrypt"), strings.Contains(l, "encrypt"):
		return "SecretKey differs from the cluster's"
	case strings.Contains(l, "connection refused"), strings.Contains(l, "no route"), strings.Contains(l, "timeout"):
		return "seed unreachable or not running"
	case strings.Contains(l, "eof"), strings.Contains(l, "reset"):
		return "seed closed the connection: Label or SecretKey may differ"
	}
	return "see err"
}

// conflictDelegate hears from memberlist when a node claims a member's name
// from another address: two processes share a name, and one of them is
// shut out of the cluster.
type conflictDelegate Gossip

var _ memberlist.ConflictDelegate = (*conflictDelegate)(nil)

// NotifyConflict counts and logs the conflict. It runs under memberlist's
// lock and does not block.
func (c *conflictDelegate) NotifyConflict(existing, other *memberlist.Node) {
	g := (*Gossip)(c)
	g.stats.formation.nameConflicts.Add(1)
	g.log.Warn("name conflict: another node uses this member's name; give every node a unique name",
		"name", existing.Name, "existing_addr", existing.Address(), "other_addr", other.Address(),
		"self", existing.Name == g.cfg.Origin.Name)
}
