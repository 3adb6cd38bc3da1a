package node_test

import (
	"context"
	"fmt"

	"github.com/converge-crdt/converge/node"
)

// A deleted key starts again from empty; no stale copy of the old state,
// from a peer or a late delta, can bring it back (see Node.Delete).
// Config.ExpireAfter deletes idle keys the same way, and departed replicas
// are pruned from every object (Config.PruneAfter, crdt.Pruner).
func ExampleNode_Delete() {
	ctx := context.Background()
	n, _ := node.Open(node.Config{Name: "solo"})
	defer n.Close()
	jobs, _ := node.GCounter(n, "jobs")
	_ = jobs.Inc(ctx, 3)
	_ = n.Delete(ctx, "jobs")
	fmt.Println("after delete:", jobs.Value())
	_ = jobs.Inc(ctx, 2) // re-creates the key
	fmt.Println("re-created:", jobs.Value())
	// Output:
	// after delete: 0
	// re-created: 2
}
