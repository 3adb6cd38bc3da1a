package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/converge-crdt/converge/node"
)

// The difference report names the objects that differ and which nodes hold
// which version.
func TestDescribeDiff(t *testing.T) {
	c := &localCluster{}
	ctx := context.Background()
	for _, name := range []string{"x", "y", "z"} {
		n, err := node.Open(node.Config{Name: name}) // not networked: never converges
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		objs, err := openObjects(n, "")
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, n)
		c.objs = append(c.objs, objs)
	}
	// x and y agree on the map; z differs. The counters differ on x only.
	if err := c.objs[0].counter.Inc(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := c.objs[2].kv.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	d := describeDiff(c)
	for _, want := range []string{
		`"counter" differs, 2 versions:`,
		`"map" differs, 2 versions:`,
		"on y,z;", // the larger group first
		"on x,y;",
		"  z: members=1",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("difference report lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, `"set" differs`) {
		t.Errorf("equal object reported as different:\n%s", d)
	}
}

// -runs prints percentiles and traffic figures.
func TestMeasureMode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two clusters")
	}
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"-nodes", "2", "-runs", "2", "-duration", "200ms", "-idle", "500ms", "-seed", "3"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errs.String())
	}
	for _, want := range []string{"run  1:", "run  2:", "p50 ", "p99 ", "worst ", "bytes sent per update", "anti-entropy when equal:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
