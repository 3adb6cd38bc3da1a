package node_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/converge-crdt/converge/node"
)

// A node with a data directory keeps its objects across restarts. Each
// Open is a new epoch: the replica ID changes, the old one is retired.
func ExampleConfig_dataDir() {
	dir, err := os.MkdirTemp("", "converge-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	cfg := node.Config{Name: "agent-1", DataDir: dir, Logger: slog.New(slog.DiscardHandler)}

	n, err := node.Open(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	done, _ := node.GCounter(n, "tasks-done")
	_ = done.Inc(ctx, 3) // on disk when Inc returns
	first := n.ReplicaID()
	_ = n.Close()

	n, err = node.Open(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer n.Close()
	done, _ = node.GCounter(n, "tasks-done")
	fmt.Println("tasks done after the restart:", done.Value())
	fmt.Println("new replica ID:", n.ReplicaID() != first)
	fmt.Println("retired epochs:", len(n.PastEpochs()))

	// A second process (or Open) on the same directory is refused.
	_, err = node.Open(cfg)
	fmt.Println("second open refused:", err != nil)
	// Output:
	// tasks done after the restart: 3
	// new replica ID: true
	// retired epochs: 1
	// second open refused: true
}
