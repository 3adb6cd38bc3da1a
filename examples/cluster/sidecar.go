package main

import (
	"context"
	"fmt"
	"io"

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
