// Command cluster runs converge nodes and shows them converge.
//
// With no flags it starts a cluster of 5 nodes on loopback, makes every node
// update a counter, an OR-Set and an LWW-Map concurrently for a few seconds,
// waits until all nodes hold equal state, prints a table and the line
//
//	converged: 5 nodes, <U> updates, <K> objects equal, <T> ms after the last write
//
// and exits 0 (1 with a per-node difference if they do not converge within
// -timeout).
//
//	go run ./examples/cluster
//	go run ./examples/cluster -nodes 32
//	go run ./examples/cluster -nodes 32 -loss 0.2 -runs 20   # measure
//
// With -name, -bind or -join it runs one node per process (or host): it
// updates the same objects, prints its view periodically, and exits cleanly
// on SIGINT or SIGTERM. With -writes N it stops after N updates and prints
// "agreed: ..." once every live member holds the same digest:
//
//	go run ./examples/cluster -name a -bind 127.0.0.1:7946 -writes 50
//	go run ./examples/cluster -name b -bind 127.0.0.1:7947 -join 127.0.0.1:7946 -writes 50
//
// With -data DIR the node keeps its objects in a data directory: every
// acknowledged update survives a crash, and a restart (a new epoch) resumes
// from the directory:
//
//	go run ./examples/cluster -name a -data /tmp/a -writes 50
//
// With -http ADDR it is a sidecar for programs in other languages: it
// serves package node/httpapi (status page, JSON API, change stream) on a
// loopback address, with -token (or $CONVERGE_TOKEN) authorising writes,
// and runs no workload of its own unless -writes is set.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	nodes    int
	duration time.Duration
	timeout  time.Duration
	rate     float64
	loss     float64
	runs     int
	idle     time.Duration
	seed     uint64
	verbose  bool
	epidemic bool // -dissemination epidemic: gossip's epidemic mode, for comparison

	// single-node mode
	name   string
	bind   string
	join   string
	every  time.Duration
	writes int
	key    string
	http   string
	token  string
	data   string
}

func (o *options) single() bool {
	return o.name != "" || o.bind != "" || o.join != "" || o.http != "" || o.data != ""
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it parses args, runs a mode and returns
// the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.nodes, "nodes", 5, "number of nodes in the local cluster")
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "how long the nodes keep updating")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for convergence after the last write")
	fs.Float64Var(&o.rate, "rate", 50, "updates per second per node")
	fs.Float64Var(&o.loss, "loss", 0, "fraction of outgoing packets each node drops (0 to 1)")
	dissem := fs.String("dissemination", "direct", "how deltas spread: direct (the default) or epidemic (push to a few peers and re-gossip, for comparison)")
	fs.IntVar(&o.runs, "runs", 1, "run the local cluster this many times and print convergence percentiles")
	fs.DurationVar(&o.idle, "idle", 0, "after convergence, measure anti-entropy traffic for this long (default 2s with -runs > 1)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed for the workload and packet loss (0: from the clock)")
	fs.BoolVar(&o.verbose, "v", false, "log gossip and memberlist to stderr")
	fs.StringVar(&o.name, "name", "", "single-node mode: this node's name (default: host name and a random suffix)")
	fs.StringVar(&o.bind, "bind", "", "single-node mode: address to listen on, host:port (default 127.0.0.1:0)")
	fs.StringVar(&o.join, "join", "", "single-node mode: comma-separated host:port addresses to join")
	fs.DurationVar(&o.every, "every", time.Second, "single-node mode: how often to print the node's view")
	fs.IntVar(&o.writes, "writes", 0, "single-node mode: stop updating after this many updates, then report when every member holds the same digest (0: never stop)")
	fs.StringVar(&o.http, "http", "", "single-node mode: serve the HTTP API and status page on this loopback host:port (a sidecar: no built-in workload unless -writes)")
	fs.StringVar(&o.token, "token", os.Getenv("CONVERGE_TOKEN"), "bearer token for HTTP writes (default $CONVERGE_TOKEN; empty: writes refused)")
	fs.StringVar(&o.data, "data", "", "single-node mode: keep the node's objects in this data directory (bbolt), durable across restarts (default: in memory)")
	fs.StringVar(&o.key, "prefix", "", "prefix of the object names (default none)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cluster: unexpected arguments %q\n", fs.Args())
		return 2
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch *dissem {
	case "direct":
	case "epidemic":
		o.epidemic = true
	default:
		fmt.Fprintf(stderr, "cluster: -dissemination %q: want direct or epidemic\n", *dissem)
		return 2
	}
	if err := o.check(set); err != nil {
		fmt.Fprintf(stderr, "cluster: %v\n", err)
		return 2
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	logger := slog.New(slog.DiscardHandler)
	if o.verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if o.single() {
		return runSingle(ctx, &o, logger, stdout, stderr)
	}
	if o.runs > 1 {
		return runMeasure(ctx, &o, logger, stdout, stderr)
	}
	return runLocalOnce(ctx, &o, logger, stdout, stderr)
}

// Flags that only one mode reads. Setting one in the other mode is an
// error rather than silently ignored.
var (
	localOnlyFlags  = []string{"nodes", "runs", "duration", "timeout", "loss", "idle", "dissemination"}
	singleOnlyFlags = []string{"every", "writes"}
)

const (
	maxNodes = 1000
	// maxRate keeps the update interval (1 s / rate) at a microsecond or
	// more: a shorter one rounds to zero, which time.NewTicker rejects.
	maxRate = 1e6
)

// check validates the flags; set names those given on the command line.
// The comparisons are written so that NaN fails them.
func (o *options) check(set map[string]bool) error {
	if o.single() {
		for _, f := range localOnlyFlags {
			if set[f] {
				return fmt.Errorf("-%s is for the local cluster; it has no effect with -name, -bind or -join", f)
			}
		}
	} else {
		for _, f := range singleOnlyFlags {
			if set[f] {
				return fmt.Errorf("-%s is for single-node mode (-name, -bind or -join)", f)
			}
		}
	}
	switch {
	case o.nodes < 1 || o.nodes > maxNodes:
		return fmt.Errorf("-nodes %d: need 1 to %d", o.nodes, maxNodes)
	case o.duration < 0 || o.timeout <= 0:
		return fmt.Errorf("-duration and -timeout must be positive")
	case !(o.rate > 0 && o.rate <= maxRate):
		return fmt.Errorf("-rate %v: must be a number in (0, %g]", o.rate, float64(maxRate))
	case !(o.loss >= 0 && o.loss < 1):
		return fmt.Errorf("-loss %v: must be a number in [0, 1)", o.loss)
	case o.runs < 1:
		return fmt.Errorf("-runs %d: need at least 1", o.runs)
	case o.every <= 0:
		return fmt.Errorf("-every must be positive")
	case o.writes < 0:
		return fmt.Errorf("-writes %d: must not be negative", o.writes)
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
