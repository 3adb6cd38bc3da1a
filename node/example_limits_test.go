package node_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/converge-crdt/converge/node"
)

// A write whose object would be too large to replicate (over the gossip
// layer's MaxBlob, less framing) fails with ErrTooLarge and changes
// nothing, instead of being kept here and never reaching a peer.
func ExampleLWWMapHandle_Set_tooLarge() {
	g := node.DefaultGossipConfig()
	g.MaxBlob = 64 << 10
	cfg := node.DefaultConfig()
	cfg.Name = "small-blobs"
	cfg.Gossip = &g
	n, err := node.Open(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
	ctx := context.Background()

	docs, _ := node.LWWMap[string, string](n, "docs")
	err = docs.Set(ctx, "big", strings.Repeat("x", 100<<10))
	fmt.Println(errors.Is(err, node.ErrTooLarge), docs.Len())
	fmt.Println(docs.Set(ctx, "small", strings.Repeat("x", 10<<10)), docs.Len())
	// Output:
	// true 0
	// <nil> 1
}
