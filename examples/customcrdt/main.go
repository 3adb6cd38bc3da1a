// Command customcrdt shows a user-defined CRDT, a multi-value register, kept
// in sync by converge nodes, and (in mvregister_test.go) how few lines check
// its laws with package proptest.
//
// It opens three nodes on loopback, lets each write the register before they
// meet (three concurrent writes, all kept), joins them, waits until every
// node holds the three values, then lets one node write again, having seen
// them all, and waits until every node holds that one value:
//
//	go run ./examples/customcrdt
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/converge-crdt/converge/node"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "customcrdt:", err)
		os.Exit(1)
	}
}

// run is main without the process.
func run(ctx context.Context, out io.Writer) error {
	names := []string{"alpha", "beta", "gamma"}
	var nodes []*node.Node
	var regs []*node.ObjectHandle[*MVRegister]
	defer func() {
		for _, n := range nodes {
			n.Close()
		}
	}()
	for _, name := range names {
		n, err := node.Open(node.Config{
			Name:     name,
			BindAddr: "127.0.0.1:0",
			Types:    []node.Type{node.TypeOf(MVRegisterTag, NewMVRegister)},
		})
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
		reg, err := node.Object[*MVRegister](n, "owner")
		if err != nil {
			return err
		}
		regs = append(regs, reg)
	}

	// Each node writes before the nodes meet: the writes are concurrent.
	for i, reg := range regs {
		if err := set(ctx, nodes[i], reg, names[i]); err != nil {
			return err
		}
	}
	for _, n := range nodes[1:] {
		if _, err := n.Join(ctx, nodes[0].Addr()); err != nil {
			return err
		}
	}
	if err := waitAll(ctx, nodes, regs, names); err != nil {
		return err
	}
	fmt.Fprintf(out, "after three concurrent writes, every node holds %q\n", names)

	// alpha has seen every value: its write replaces them all.
	final := []string{"alpha again"}
	if err := set(ctx, nodes[0], regs[0], final[0]); err != nil {
		return err
	}
	if err := waitAll(ctx, nodes, regs, final); err != nil {
		return err
	}
	fmt.Fprintf(out, "after alpha writes again, every node holds %q\n", final)
	return nil
}

// set writes v into the register at node n.
func set(ctx context.Context, n *node.Node, reg *node.ObjectHandle[*MVRegister], v string) error {
	return reg.Update(ctx, func(m *MVRegister) (*MVRegister, error) {
		return m.Set(n.ReplicaID(), v), nil
	})
}

// waitAll waits until every node's register holds exactly want.
func waitAll(ctx context.Context, nodes []*node.Node, regs []*node.ObjectHandle[*MVRegister], want []string) error {
	for i, n := range nodes {
		err := n.WaitFor(ctx, func() bool { return slices.Equal(regs[i].Value().Values(), want) })
		if err != nil {
			return fmt.Errorf("%s holds %s, want %s: %w", n.Name(), regs[i].Value(), strings.Join(want, ", "), err)
		}
	}
	return nil
}
