package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The crash tests run real processes: the test binary itself, re-executed
// with durableHelperEnv set, becomes a writer or a peer (see
// durableHelper), and the test kills it with SIGKILL.
const durableHelperEnv = "CONVERGE_DURABLE_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(durableHelperEnv); mode != "" {
		os.Exit(durableHelper(mode))
	}
	os.Exit(m.Run())
}

// durableHelper runs a node on $DIR joined to $JOIN until it is killed.
// Every line it prints is one write(2), so what the test reads was printed.
//
//	writer: 4 goroutines loop { print "try i"; Inc "c" by 1; Add "r/i" to
//	        "s"; print "ack i" } (i unique in the process, r = $ROUND)
//	peer:   every 10 ms: read c and s, Sync, print "synced <value of c> <len of s>"
func durableHelper(mode string) int {
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n")
	}
	cfg := DefaultConfig()
	cfg.Name = os.Getenv("NAME")
	cfg.DataDir = os.Getenv("DIR")
	cfg.Logger = quietLogger()
	if b := os.Getenv("BIND"); b != "" {
		cfg.BindAddr = b
	}
	if j := os.Getenv("JOIN"); j != "" {
		cfg.Join = []string{j}
	}
	n, err := Open(cfg)
	if err != nil {
		say("error %v", err)
		return 1
	}
	ctx := context.Background()
	c, err1 := GCounter(n, "c")
	s, err2 := ORSet[string](n, "s")
	if err1 != nil || err2 != nil {
		say("error %v %v", err1, err2)
		return 1
	}
	say("open %s", n.ReplicaID())
	switch mode {
	case "writer":
		round := os.Getenv("ROUND")
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					say("try %d", i)
					if err := c.Inc(ctx, 1); err != nil {
						say("error %v", err)
						return
					}
					if err := s.Add(ctx, fmt.Sprintf("%s/%d", round, i)); err != nil {
						say("error %v", err)
						return
					}
					say("ack %d", i)
				}
			}()
		}
		wg.Wait()
	case "peer":
		for {
			v, l := c.Value(), s.Len() // before Sync, which persists at least this
			if err := n.Sync(ctx); err != nil {
				say("error %v", err)
				return 1
			}
			say("synced %d %d", v, l)
			time.Sleep(10 * time.Millisecond) // a helper's pace, not a test's wait
		}
	}
	return 1
}

// helperProc is a running helper and the lines it printed.
type helperProc struct {
	t     testing.TB
	cmd   *exec.Cmd
	lines chan string
}

// startHelper re-executes the test binary as a helper in mode.
func startHelper(t testing.TB, mode string, env ...string) *helperProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{durableHelperEnv + "=" + mode}, env...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	h := &helperProc{t: t, cmd: cmd, lines: make(chan string, 1<<16)}
	go func() {
		defer close(h.lines)
		buf := make([]byte, 0, 4096)
		chunk := make([]byte, 4096)
		for {
			k, err := out.Read(chunk)
			buf = append(buf, chunk[:k]...)
			for {
				i := strings.IndexByte(string(buf), '\n')
				if i < 0 {
					break
				}
				h.lines <- string(buf[:i])
				buf = buf[i+1:]
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { h.kill() })
	return h
}

// next returns the next line, failing the test after a deadline.
func (h *helperProc) next(d time.Duration) (string, bool) {
	h.t.Helper()
	select {
	case l, ok := <-h.lines:
		if strings.HasPrefix(l, "error ") {
			h.t.Fatalf("helper: %s", l)
		}
		return l, ok
	case <-time.After(d):
		h.t.Fatalf("helper printed nothing for %v", d)
		return "", false
	}
}

// kill sends SIGKILL and waits for the process to end.
func (h *helperProc) kill() {
	if h.cmd.ProcessState != nil {
		return
	}
	_ = h.cmd.Process.Kill()
	_ = h.cmd.Wait()
}

// rest returns the lines printed after the last next, once the process has
// ended.
func (h *helperProc) rest() []string {
	h.kill()
	var out []string
	for l := range h.lines {
		out = append(out, l)
	}
	return out
}
