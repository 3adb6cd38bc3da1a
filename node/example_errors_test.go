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

// A set key has one element type per node: a handle of another element
// type fails, and a peer's set whose elements are not of the handle's type
// is refused where it arrives (counted in TypeMismatches), so the node
// never loses the ability to read its own set.
func ExampleORSet_elementType() {
	n, err := node.Open(node.Config{Name: "typed"})
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
	ids, _ := node.ORSet[int](n, "ids")
	_ = ids.Add(context.Background(), 42)

	_, err = node.ORSet[string](n, "ids")
	fmt.Println(errors.Is(err, node.ErrTypeMismatch))
	fmt.Println(ids.Elements())
	// Output:
	// true
	// [42] <nil>
}
