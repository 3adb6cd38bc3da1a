package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestLocalClusterConverges runs the default mode briefly, in process.
func TestLocalClusterConverges(t *testing.T) {
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"-nodes", "3", "-duration", "500ms", "-timeout", "30s", "-idle", "1500ms", "-seed", "1"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errs.String())
	}
	re := regexp.MustCompile(`(?m)^converged: 3 nodes, (\d+) updates, 3 objects equal, (\d+) ms after the last write$`)
	m := re.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no converged line in:\n%s", out.String())
	}
	if m[1] == "0" {
		t.Errorf("no updates made:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "idle: ") {
		t.Errorf("no idle traffic line:\n%s", out.String())
	}
	t.Log(out.String())
}

// TestFlagErrors: bad flags exit 2 with a one-line message naming the
// flag, before anything starts, and never panic. NaN, infinities and rates
// whose update interval rounds to zero used to panic in time.NewTicker;
// -loss NaN was accepted, and local-cluster flags were silently ignored in
// single-node mode.
func TestFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the message
	}{
		{"no nodes", []string{"-nodes", "0"}, "-nodes"},
		{"too many nodes", []string{"-nodes", "100000"}, "-nodes"},
		{"loss 1", []string{"-loss", "1"}, "-loss"},
		{"loss NaN", []string{"-loss", "NaN"}, "-loss"},
		{"loss negative", []string{"-loss", "-0.1"}, "-loss"},
		{"rate 0", []string{"-rate", "0"}, "-rate"},
		{"rate NaN", []string{"-rate", "NaN"}, "-rate"},
		{"rate +Inf", []string{"-rate", "+Inf"}, "-rate"},
		{"rate -Inf", []string{"-rate", "-Inf"}, "-rate"},
		{"rate 1e10", []string{"-rate", "1e10"}, "-rate"},
		{"rate NaN single", []string{"-name", "a", "-rate", "NaN"}, "-rate"},
		{"runs 0", []string{"-runs", "0"}, "-runs"},
		{"nodes in single mode", []string{"-name", "a", "-nodes", "3"}, "-nodes"},
		{"runs in single mode", []string{"-bind", "127.0.0.1:0", "-runs", "2"}, "-runs"},
		{"loss in single mode", []string{"-join", "127.0.0.1:1", "-loss", "0.1"}, "-loss"},
		{"every in local mode", []string{"-every", "2s"}, "-every"},
		{"writes in local mode", []string{"-writes", "5"}, "-writes"},
		{"extra argument", []string{"extra"}, "extra"},
		{"unknown flag", []string{"-nosuchflag"}, "nosuchflag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			if code := run(context.Background(), tc.args, &out, &errs); code != 2 {
				t.Errorf("%v: exit %d, want 2", tc.args, code)
			}
			if msg := errs.String(); !strings.Contains(msg, tc.want) {
				t.Errorf("%v: message %q does not name %s", tc.args, msg, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("%v: started anyway: %s", tc.args, out.String())
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 20; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if p := percentile(d, 0.5); p != 10*time.Millisecond {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(d, 0.99); p != 20*time.Millisecond {
		t.Errorf("p99 = %v", p)
	}
	if p := percentile(d[:1], 0.99); p != time.Millisecond {
		t.Errorf("p99 of one = %v", p)
	}
}

// proc is a running single-node process whose output lines are collected.
type proc struct {
	name string
	cmd  *exec.Cmd

	mu    sync.Mutex
	lines []string // guarded by mu
	more  chan struct{}
	done  chan struct{} // closed when stdout is drained
}

func startProc(t *testing.T, bin, name string, args ...string) *proc {
	t.Helper()
	// A later flag in args wins over these.
	return startCommand(t, name, bin, append([]string{"-name", name, "-bind", "127.0.0.1:0", "-every", "100ms", "-rate", "100", "-writes", "30"}, args...)...)
}

// startCommand runs path with args as the process called name.
func startCommand(t *testing.T, name, path string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, more: make(chan struct{}, 1), done: make(chan struct{})}
	p.cmd = exec.Command(path, args...)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	p.cmd.Stderr = &stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		if stderr.Len() > 0 {
			t.Logf("%s stderr:\n%s", name, stderr.String())
		}
	})
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	return p
}

// last returns the last line starting with prefix.
func (p *proc) last(prefix string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(p.lines[i], prefix) {
			return p.lines[i]
		}
	}
	return ""
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

var viewRE = regexp.MustCompile(`members=(\d+) counter=\d+ set=\d+ map=\d+ digest=([0-9a-f]+) updates=(\d+)$`)

// TestSingleNodeProcesses builds the command and runs three processes in
// single-node mode on loopback. Each makes 30 updates; the test waits (with
// a deadline, re-checking on every output line) until all three print the
// same digest with 3 members and all their updates made, then stops them
// with SIGINT and expects a clean exit.
func TestSingleNodeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGINT")
	}
	bin := filepath.Join(t.TempDir(), "cluster")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	a := startProc(t, bin, "a")
	deadline := time.After(60 * time.Second)
	var addr string
	for addr == "" {
		if l := a.last("node a listening on "); l != "" {
			addr = strings.Fields(strings.TrimPrefix(l, "node a listening on "))[0]
			break
		}
		select {
		case <-a.more:
		case <-a.done:
			t.Fatalf("a exited:\n%s", a.output())
		case <-deadline:
			t.Fatalf("a printed no address:\n%s", a.output())
		}
	}
	procs := []*proc{a, startProc(t, bin, "b", "-join", addr), startProc(t, bin, "c", "-join", addr)}

	agree := func() bool {
		var digest string
		for _, p := range procs {
			m := viewRE.FindStringSubmatch(p.last("view " + p.name + ":"))
			if m == nil || m[1] != "3" || m[3] != "30" {
				return false
			}
			if digest == "" {
				digest = m[2]
			} else if m[2] != digest {
				return false
			}
		}
		return true
	}
	// Any output line may complete the picture; wake on each.
	wake := make(chan struct{}, 1)
	for _, p := range procs {
		go func() {
			for {
				select {
				case <-p.more:
					select {
					case wake <- struct{}{}:
					default:
					}
				case <-p.done:
					return
				}
			}
		}()
	}
	for !agree() {
		select {
		case <-wake:
		case <-deadline:
			var b strings.Builder
			for _, p := range procs {
				fmt.Fprintf(&b, "\n%s: %s", p.name, p.last("view "))
			}
			t.Fatalf("processes did not converge:%s", b.String())
		}
	}

	// Each process says so itself once every member holds its digest.
	for _, p := range procs {
		for p.last("agreed: 3 nodes hold workload digest ") == "" {
			select {
			case <-wake:
			case <-deadline:
				t.Fatalf("%s never reported agreement:\n%s", p.name, p.output())
			}
		}
	}

	for _, p := range procs {
		if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range procs {
		<-p.done
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("%s: exit after SIGINT: %v\n%s", p.name, err, p.output())
		}
		if l := p.last("node " + p.name + ": stopped after 30 updates"); l == "" {
			t.Errorf("%s: no clean stop line:\n%s", p.name, p.output())
		}
	}
	_ = os.Stderr
}
