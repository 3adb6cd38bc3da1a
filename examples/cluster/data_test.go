package main

import (
	"bytes"
	"context"
	"regexp"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the writer in run and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var stateRE = regexp.MustCompile(`counter=(\d+) set=(\d+) map=(\d+) digest=([0-9a-f]+)`)

// runUntil runs a single node with args until its output matches re, then
// stops it (SIGINT's path: the context ends) and returns its output.
func runUntil(t *testing.T, re *regexp.Regexp, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, &out, &errs) }()
	deadline := time.Now().Add(30 * time.Second)
	for !re.MatchString(out.String()) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no %v in output:\n%s\nstderr:\n%s", re, out.String(), errs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d:\n%s\nstderr:\n%s", code, out.String(), errs.String())
	}
	return out.String()
}

// TestSingleNodeDataDir: a node with -data makes 20 updates and stops; a
// second run on the same directory, writing nothing, starts from the same
// state (equal digest).
func TestSingleNodeDataDir(t *testing.T) {
	dir := t.TempDir()
	first := runUntil(t, regexp.MustCompile(`updates=20\n`), "-name", "d", "-bind", "127.0.0.1:0", "-data", dir, "-writes", "20", "-rate", "500", "-every", "20ms")
	stopped := regexp.MustCompile(`stopped after \d+ updates; last view ` + stateRE.String())
	m := stopped.FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("no final view in:\n%s", first)
	}
	second := runUntil(t, regexp.MustCompile(`view d: .*`+stateRE.String()), "-name", "d", "-bind", "127.0.0.1:0", "-data", dir, "-rate", "0.001", "-every", "20ms")
	if got, want := stateRE.FindString(second), stateRE.FindString(m[0]); got != want {
		t.Fatalf("restarted with %q, stopped with %q", got, want)
	}
}
