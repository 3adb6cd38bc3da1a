package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/converge-crdt/converge/node"
)

// runSingle runs one node in this process until ctx ends (SIGINT, SIGTERM).
// It prints its address, then its view every -every:
//
//	view a: members=3 counter=12 set=30 map=17 digest=9f3a6c1e22b04d17 updates=40
func runSingle(ctx context.Context, o *options, logger *slog.Logger, stdout, stderr io.Writer) int {
	cfg := node.DefaultConfig()
	cfg.Name = o.name
	if o.bind != "" {
		cfg.BindAddr = o.bind
	}
	cfg.Join = splitList(o.join)
	cfg.DataDir = o.data
	cfg.Logger = logger
	if !o.verbose {
		cfg.Logger = nil // the node's default: warnings (a dead seed, a name conflict) on stderr
	}
	n, err := node.Open(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "cluster: %v\n", err)
		return 1
	}
	if o.http != "" && o.writes == 0 {
		return runSidecar(ctx, n, o, stdout, stderr)
	}
	objs, err := openObjects(n, o.key)
	if err != nil {
		fmt.Fprintf(stderr, "cluster: %v\n", err)
		n.Close()
		return 1
	}
	fmt.Fprintf(stdout, "node %s listening on %s (replica %s)\n", n.Name(), n.Addr(), n.ReplicaID())
	agree, err := newAgreement(n, objs)
	if err != nil {
		fmt.Fprintf(stderr, "cluster: %v\n", err)
		n.Close()
		return 1
	}
	if o.http != "" {
		if err := serveHTTP(ctx, n, o, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "cluster: -http: %v\n", err)
			n.Close()
			return 1
		}
	}
	check := time.NewTicker(100 * time.Millisecond)
	defer check.Stop()

	rng := rand.New(rand.NewPCG(o.seed, uint64(n.Epoch())))
	write := time.NewTicker(time.Duration(float64(time.Second) / o.rate))
	defer write.Stop()
	show := time.NewTicker(o.every)
	defer show.Stop()
	for {
		select {
		case <-ctx.Done():
			v := objs.view()
			err := n.Close()
			fmt.Fprintf(stdout, "node %s: stopped after %d updates; last view counter=%d set=%d map=%d digest=%016x\n",
				n.Name(), objs.updates, v.Counter, v.Set, v.Map, v.Digest)
			if err != nil {
				fmt.Fprintf(stderr, "cluster: close: %v\n", err)
				return 1
			}
			return 0
		case <-check.C:
			if o.writes > 0 && objs.updates >= o.writes {
				if err := agree.check(ctx, stdout); err != nil && ctx.Err() == nil {
					fmt.Fprintf(stderr, "cluster: agreement: %v\n", err)
				}
			}
		case <-write.C:
			if o.writes > 0 && objs.updates >= o.writes {
				continue
			}
			if err := objs.step(ctx, rng); err != nil && ctx.Err() == nil {
				fmt.Fprintf(stderr, "cluster: update: %v\n", err)
			}
		case <-show.C:
			v := objs.view()
			fmt.Fprintf(stdout, "view %s: members=%d counter=%d set=%d map=%d digest=%016x updates=%d\n",
				n.Name(), n.NumMembers(), v.Counter, v.Set, v.Map, v.Digest, objs.updates)
		}
	}
}
