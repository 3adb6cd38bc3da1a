package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// runFake runs the program in fake time (the fleet is on an in-memory
// network, so a whole run is deterministic for a seed and takes
// milliseconds).
func runFake(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var code int
	var out, errb bytes.Buffer
	synctest.Test(t, func(t *testing.T) {
		code = run(context.Background(), args, &out, &errb)
		time.Sleep(10 * time.Second) // memberlist's timers end inside the bubble
	})
	t.Logf("exit %d\n%s%s", code, out.String(), errb.String())
	return code, out.String()
}

var small = []string{"-agents", "4", "-tasks", "80", "-kills", "1", "-partition", "500ms", "-spread", "1500ms"}

// count returns the number before label in the tally.
func count(t *testing.T, out, label string) int {
	t.Helper()
	m := regexp.MustCompile(label + ` (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q in output", label)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestExactlyOnceWithEverySafeguard: retries, duplicated deliveries, lost
// acknowledgements, a kill and a partition, and still every task's effect
// is applied once; duplicate executions happen and are suppressed.
func TestExactlyOnceWithEverySafeguard(t *testing.T) {
	code, out := runFake(t, small...)
	if code != 0 || !strings.Contains(out, "ok: every task's effect applied exactly once") {
		t.Fatalf("exit %d", code)
	}
	if count(t, out, "tasks done") != 80 || count(t, out, "effects applied") != 80 {
		t.Fatal("tasks or effects missing")
	}
	if count(t, out, "suppressed by the registry") == 0 {
		t.Error("the registry suppressed nothing: the run did not exercise redelivery")
	}
}

// TestCheckerSeesDuplicates: with the registry bypassed and a sink that
// applies every call, redeliveries to the claimant execute again and
// effects are applied twice; the checker fails the run. This proves the
// checker can see what it guards against.
func TestCheckerSeesDuplicates(t *testing.T) {
	for _, off := range [][]string{
		{"-no-registry", "-no-dedupe"},
		{"-no-registry", "-no-claims", "-no-dedupe"},
	} {
		t.Run(strings.Join(off, ""), func(t *testing.T) {
			code, out := runFake(t, append(small, off...)...)
			if code != 1 || !strings.Contains(out, "effects applied twice") {
				t.Fatalf("exit %d: the checker missed duplicate effects", code)
			}
		})
	}
}

// TestIdempotencyKeyAloneKeepsEffectsOnce: the sink's idempotency key is
// what makes effects exactly once; without registry and claims, more
// duplicates reach the sink, and it refuses them.
func TestIdempotencyKeyAloneKeepsEffectsOnce(t *testing.T) {
	code, out := runFake(t, append(small, "-no-registry", "-no-claims")...)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if count(t, out, "refused at the sink by idempotency key") == 0 {
		t.Fatal("no duplicate reached the sink: the run exercised nothing")
	}
}

func TestFlagsRejected(t *testing.T) {
	for _, args := range [][]string{
		{"-loss", "NaN"}, {"-dup", "2"}, {"-ackloss", "-1"}, {"-agents", "1"}, {"-tasks", "0"}, {"-retry", "0s"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestMajorityClaims: at majority levels the run stays exactly-once and
// double claims do not exceed those of local claims on the same seed.
func TestMajorityClaims(t *testing.T) {
	_, local := runFake(t, small...)
	code, maj := runFake(t, append(small, "-majority")...)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if l, m := count(t, local, "double claims observed"), count(t, maj, "double claims observed"); m > l {
		t.Errorf("double claims: %d at majority, %d local", m, l)
	}
}
