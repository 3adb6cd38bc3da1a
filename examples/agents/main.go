// Command agents runs a fleet of converge agents that take tasks from a
// shared board over at-least-once delivery, with retries, duplicated
// deliveries, lost acknowledgements, agents killed and restarted, packet
// loss and a partition, and checks that every task's effect happened
// exactly once.
//
//	go run ./examples/agents
//	go run ./examples/agents -agents 8 -tasks 2000 -loss 0.2 -kills 6
//
// The agents run in one process on an in-memory network (gossip/gossiptest),
// so loss and the partition are exact. A dispatcher delivers each task to
// the agent that owns it by rendezvous hashing (in a random agent's view),
// also to a second agent with probability -dup, loses acknowledgements with
// probability -ackloss, and redelivers every unacknowledged task after
// -retry. An agent that receives a task consults the idempotency registry,
// claims the task, and executes it through the registry; the effect goes to
// a sink that applies each idempotency key once.
//
// It prints the tasks done, the effects applied, the duplicate executions
// the registry suppressed (deliveries answered from a record), the ones
// that reached the sink and were refused there, and the double claims
// observed, and exits 1 if any task's effect was applied twice or any task
// was lost. -no-registry, -no-claims and -no-dedupe take the safeguards away
// one by one, to show what each one does (with all three off, effects are
// applied twice and the checker says so); -majority claims and records at
// majority levels, which makes double claims rarer.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

type options struct {
	agents    int
	tasks     int
	loss      float64
	dup       float64
	ackLoss   float64
	retry     time.Duration
	work      time.Duration
	kills     int
	partition time.Duration
	spread    time.Duration
	timeout   time.Duration
	seed      uint64

	noRegistry, noClaims, noDedupe bool
	majority                       bool

	logger *slog.Logger // the nodes' logs: discarded unless -v
}

// tally counts what happened during a run.
type tally struct {
	deliveries, redeliveries, acks, lostAcks atomic.Int64
	executions, replayed                     atomic.Int64
	kills, restarts                          atomic.Int64
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("agents", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.agents, "agents", 5, "number of agents")
	fs.IntVar(&o.tasks, "tasks", 200, "number of tasks on the board")
	fs.Float64Var(&o.loss, "loss", 0.1, "fraction of gossip packets lost (0 to 1)")
	fs.Float64Var(&o.dup, "dup", 0.3, "probability that a delivery also goes to a second agent")
	fs.Float64Var(&o.ackLoss, "ackloss", 0.2, "probability that an acknowledgement is lost")
	fs.DurationVar(&o.retry, "retry", 300*time.Millisecond, "redelivery interval for unacknowledged tasks")
	fs.DurationVar(&o.work, "work", 20*time.Millisecond, "time an execution takes")
	fs.IntVar(&o.kills, "kills", 2, "agents killed (and restarted with a new epoch) during the run")
	fs.DurationVar(&o.partition, "partition", time.Second, "length of one partition that splits the fleet in two (0: none)")
	fs.DurationVar(&o.spread, "spread", 2*time.Second, "tasks appear on the board evenly over this long")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up (exit 1) if tasks are still open after this long")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed")
	fs.BoolVar(&o.majority, "majority", false, "claim and record at majority write and read levels")
	fs.BoolVar(&o.noRegistry, "no-registry", false, "execute without the idempotency registry")
	fs.BoolVar(&o.noClaims, "no-claims", false, "execute without claiming")
	fs.BoolVar(&o.noDedupe, "no-dedupe", false, "make the sink apply every call (no idempotency key)")
	verbose := fs.Bool("v", false, "log the nodes' warnings to stderr")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *verbose {
		o.logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(stderr, "agents:", err)
		return 2
	}
	res, err := runFleet(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "agents:", err)
		return 1
	}
	res.print(stdout)
	if len(res.twice) > 0 || len(res.lost) > 0 {
		return 1
	}
	return 0
}

func (o *options) check() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", o.loss}, {"dup", o.dup}, {"ackloss", o.ackLoss}} {
		if math.IsNaN(p.v) || p.v < 0 || p.v > 1 {
			return fmt.Errorf("-%s %v: want a fraction from 0 to 1", p.name, p.v)
		}
	}
	switch {
	case o.agents < 2 || o.agents > 64:
		return fmt.Errorf("-agents %d: want 2 to 64", o.agents)
	case o.tasks < 1 || o.tasks > 1_000_000:
		return fmt.Errorf("-tasks %d: want 1 to 1000000", o.tasks)
	case o.kills < 0 || o.retry <= 0 || o.work < 0 || o.partition < 0 || o.spread < 0 || o.timeout <= 0:
		return fmt.Errorf("-kills, -work, -partition and -spread must not be negative, -retry and -timeout must be positive")
	}
	return nil
}
