package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// buildCluster builds this command into a temporary directory.
func buildCluster(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGINT")
	}
	bin := filepath.Join(t.TempDir(), "cluster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// waitLine waits for p to print a line starting with prefix and returns
// the rest of it.
func (p *proc) waitLine(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if l := p.last(prefix); l != "" {
			return strings.TrimPrefix(l, prefix)
		}
		select {
		case <-p.more:
		case <-p.done:
			t.Fatalf("%s exited before printing %q:\n%s", p.name, prefix, p.output())
		case <-deadline:
			t.Fatalf("%s printed no %q:\n%s", p.name, prefix, p.output())
		}
	}
}

// TestSidecarFromPython runs two sidecar processes (-http) and drives them
// from Python with examples/cluster/python/converge.py: a write on one is
// delivered by the other's change stream, also after a reconnect.
func TestSidecarFromPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found on PATH: the sidecar test drives the HTTP API from Python")
	}
	bin := buildCluster(t)
	a := startProc(t, bin, "a", "-http", "127.0.0.1:0", "-token", "s3cret", "-writes", "0")
	addrA := strings.Fields(a.waitLine(t, "node a listening on ", time.Minute))[0]
	httpA := a.waitLine(t, "http on ", time.Minute)
	b := startProc(t, bin, "b", "-http", "127.0.0.1:0", "-join", addrA, "-writes", "0")
	httpB := b.waitLine(t, "http on ", time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "python/sidecar_check.py", "http://"+httpA, "http://"+httpB, "s3cret")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "\nok\n") {
		t.Fatalf("python: %v\n%s\na:\n%s\nb:\n%s", err, out, a.output(), b.output())
	}
	t.Logf("python:\n%s", out)
}
