package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRun runs the demo: three nodes on loopback must converge twice.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out strings.Builder
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\noutput so far:\n%s", err, out.String())
	}
	want := `after three concurrent writes, every node holds ["alpha" "beta" "gamma"]
after alpha writes again, every node holds ["alpha again"]
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
