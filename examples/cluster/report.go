package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// printTable prints one line per node.
func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "node\taddr\tmembers\tupdates\tcounter\tset\tmap\tsent KiB\tdigest\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%.1f\t%016x\t\n",
			r.name, r.addr, r.members, r.updates, r.view.Counter, r.view.Set, r.view.Map, float64(r.sent)/1024, r.view.Digest)
	}
	tw.Flush()
}

func printIdle(w io.Writer, res *result) {
	per := 0.0
	if res.idleAERounds > 0 {
		per = float64(res.idleAEBytes) / float64(res.idleAERounds)
	}
	if res.drained {
		fmt.Fprintf(w, "idle: broadcast queues empty %d ms after convergence; then", res.drain.Milliseconds())
	} else {
		fmt.Fprintf(w, "idle: broadcast queues NOT empty %v after convergence; then", drainWait)
	}
	fmt.Fprintf(w, " %d anti-entropy rounds, %.0f bytes per round, %d delta bytes sent, %d state changes\n",
		res.idleAERounds, per, res.idleDelta, res.idleMerged)
}

// describeDiff says, per object, which nodes agree with which.
func describeDiff(c *localCluster) string {
	var b strings.Builder
	for i, objs := range c.objs {
		v := objs.view()
		n := c.nodes[i]
		st := n.Status()
		fmt.Fprintf(&b, "  %s: members=%d queue=%d counter=%d set=%d map=%d root=%016x objects:",
			n.Name(), n.NumMembers(), st.QueueLen, v.Counter, v.Set, v.Map, v.Digest)
		for _, ob := range st.Objects {
			fmt.Fprintf(&b, " %s=%016x(%dB)", ob.Key, ob.Digest, ob.Size)
		}
		b.WriteByte('\n')
	}
	// Group nodes by digest per object, largest group first.
	for _, key := range c.nodes[0].Keys() {
		groups := map[uint64][]string{}
		for _, n := range c.nodes {
			for _, ob := range n.Status().Objects {
				if ob.Key == key {
					groups[ob.Digest] = append(groups[ob.Digest], n.Name())
				}
			}
		}
		if len(groups) < 2 {
			continue
		}
		type g struct {
			d     uint64
			names []string
		}
		var gs []g
		for d, names := range groups {
			gs = append(gs, g{d, names})
		}
		slices.SortFunc(gs, func(a, b g) int { return len(b.names) - len(a.names) })
		fmt.Fprintf(&b, "  %q differs, %d versions:", key, len(gs))
		for _, x := range gs {
			fmt.Fprintf(&b, " %016x on %s;", x.d, strings.Join(x.names, ","))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// runMeasure runs the cluster o.runs times and prints convergence
// percentiles and traffic figures.
func runMeasure(ctx context.Context, o *options, logger *slog.Logger, stdout, stderr io.Writer) int {
	if o.idle == 0 {
		o.idle = 2 * time.Second
	}
	fmt.Fprintf(stdout, "measuring: %d runs of %d nodes, %.0f%% packet loss, %v of updates at %.0f/s per node\n",
		o.runs, o.nodes, 100*o.loss, o.duration, o.rate)
	var lags, drains []time.Duration
	var undrained int
	var idleMerged uint64
	var updates int
	var busy, aeRounds, aeBytes, idleDelta uint64
	var intended int
	var cpu time.Duration
	var drops, resent, gaveUp uint64
	var dropsBy [3]uint64
	failed := 0
	for i := range o.runs {
		res, err := runCluster(ctx, o, logger, o.seed+uint64(i)*1000003)
		if err != nil {
			fmt.Fprintf(stderr, "cluster: run %d: %v\n", i+1, err)
			return 1
		}
		if !res.converged {
			failed++
			fmt.Fprintf(stdout, "run %2d: NOT converged within %v\n%s", i+1, o.timeout, res.diff)
			continue
		}
		lags = append(lags, res.lag)
		switch {
		case res.drained:
			drains = append(drains, res.drain)
		case res.idleMeasured:
			undrained++
			fmt.Fprintf(stdout, "run %2d: broadcast queues not empty %v after convergence; then %d delta bytes sent in %v, %d state changes\n",
				i+1, drainWait, res.idleDelta, o.idle, res.idleMerged)
		}
		idleMerged += res.idleMerged
		updates += res.updates
		intended += res.intended
		cpu += res.cpu
		drops += res.drops
		resent += res.resent
		gaveUp += res.gaveUp
		for j := range dropsBy {
			dropsBy[j] += res.dropsBy[j]
		}
		busy += res.busyBytes
		aeRounds += res.idleAERounds
		aeBytes += res.idleAEBytes
		idleDelta += res.idleDelta
		fmt.Fprintf(stdout, "run %2d: %d updates, converged %d ms after the last write, %.0f bytes per update\n",
			i+1, res.updates, res.lag.Milliseconds(), float64(res.busyBytes)/float64(max(res.updates, 1)))
	}
	if len(lags) == 0 {
		fmt.Fprintf(stdout, "no run converged\n")
		return 1
	}
	slices.Sort(lags)
	fmt.Fprintf(stdout, "convergence after the last write (%d runs, %d nodes, %.0f%% loss): p50 %d ms, p99 %d ms, worst %d ms\n",
		len(lags), o.nodes, 100*o.loss, percentile(lags, 0.50).Milliseconds(), percentile(lags, 0.99).Milliseconds(), lags[len(lags)-1].Milliseconds())
	fmt.Fprintf(stdout, "gossip bytes sent per update (all nodes, writes to convergence): %.0f\n", float64(busy)/float64(max(updates, 1)))
	fmt.Fprintf(stdout, "updates made: %d of %d intended (%.1f%%); CPU per update: %s; peak RSS: %s\n",
		updates, intended, 100*float64(updates)/float64(max(intended, 1)), perUpdate(cpu, updates), peakRSS())
	fmt.Fprintf(stdout, "dropped messages: %d (inbound %d, memberlist handoff %d, send %d); batches resent %d, copies given up %d\n",
		drops, dropsBy[0], dropsBy[1], dropsBy[2], resent, gaveUp)
	per := 0.0
	if aeRounds > 0 {
		per = float64(aeBytes) / float64(aeRounds)
	}
	fmt.Fprintf(stdout, "anti-entropy when equal: %.0f bytes per round (%d rounds), %d delta bytes sent while idle\n", per, aeRounds, idleDelta)
	fmt.Fprintf(stdout, "broadcast queues empty after convergence:")
	if len(drains) > 0 {
		slices.Sort(drains)
		fmt.Fprintf(stdout, " p50 %d ms, worst %d ms (%d runs)",
			percentile(drains, 0.5).Milliseconds(), drains[len(drains)-1].Milliseconds(), len(drains))
	}
	if undrained > 0 {
		fmt.Fprintf(stdout, " not within %v in %d runs", drainWait, undrained)
	}
	fmt.Fprintf(stdout, "\nstate changes while idle (must be 0): %d\n", idleMerged)
	if failed > 0 {
		fmt.Fprintf(stdout, "%d of %d runs did not converge\n", failed, o.runs)
		return 1
	}
	return 0
}

// perUpdate formats CPU time per update, or "n/a" where it was not read.
func perUpdate(cpu time.Duration, updates int) string {
	if cpu <= 0 || updates == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f µs", float64(cpu.Microseconds())/float64(updates))
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
