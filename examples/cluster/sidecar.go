package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/converge-crdt/converge/node"
	"github.com/converge-crdt/converge/node/httpapi"
)

// serveHTTP starts the HTTP API on o.http until ctx ends and prints
//
//	http on 127.0.0.1:8081
//
// once it listens.
func serveHTTP(ctx context.Context, n *node.Node, o *options, stdout, stderr io.Writer) error {
	h, err := httpapi.New(n, httpapi.Config{Token: o.token})
	if err != nil {
		return err
	}
	ready := make(chan string, 1)
	failed := make(chan error, 1)
	go func() {
		if err := h.Serve(ctx, o.http, func(a string) { ready <- a }); err != nil {
			failed <- err
			fmt.Fprintf(stderr, "cluster: http: %v\n", err)
		}
	}()
	select {
	case a := <-ready:
		fmt.Fprintf(stdout, "http on %s\n", a)
		return nil
	case err := <-failed:
		return err
	}
}

// runSidecar runs a node that writes only what its HTTP clients write
// (-http without -writes) until ctx ends. It prints its addresses, then
// every -every
//
//	view a: members=2 keys=3 digest=9f3a6c1e22b04d17
func runSidecar(ctx context.Context, n *node.Node, o *options, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "node %s listening on %s (replica %s)\n", n.Name(), n.Addr(), n.ReplicaID())
	if err := serveHTTP(ctx, n, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "cluster: -http: %v\n", err)
		n.Close()
		return 1
	}
	show := time.NewTicker(o.every)
	defer show.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := n.Close(); err != nil {
				fmt.Fprintf(stderr, "cluster: close: %v\n", err)
				return 1
			}
			fmt.Fprintf(stdout, "node %s: stopped\n", n.Name())
			return 0
		case <-show.C:
			fmt.Fprintf(stdout, "view %s: members=%d keys=%d digest=%016x\n", n.Name(), n.NumMembers(), len(n.Keys()), n.Digest())
		}
	}
}
