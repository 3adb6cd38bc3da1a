package node_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/converge-crdt/converge/node"
)

// Config.MaxBytes bounds the bytes a node's objects take. Peers may fill
// 90% of it; local writes may use it all, then fail with ErrTooManyBytes.
func ExampleConfig_maxBytes() {
	n, err := node.Open(node.Config{Name: "small", MaxBytes: 4 << 10})
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
	notes, err := node.ORSet[string](n, "notes")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; ; i++ {
		if err := notes.Add(ctx, fmt.Sprint(i, strings.Repeat(".", 1000))); err != nil {
			fmt.Println(errors.Is(err, node.ErrTooManyBytes), notes.Len() >= 3)
			break
		}
	}
	// Output:
	// true true
}
