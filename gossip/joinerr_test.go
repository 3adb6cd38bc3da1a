package gossip_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestJoinErrorIsOneLine: a failed join says what failed on one line (it
// used to print memberlist's multi-line multierror text, which broke the
// one-line messages of examples/cluster and of programs that log it).
func TestJoinErrorIsOneLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 1, false, nil)
		_, err := c.nodes[0].g.Join(context.Background(), "nobody/127.0.0.1:1", "other/127.0.0.1:2")
		if err == nil {
			t.Fatal("joined addresses where no one listens")
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || strings.Contains(msg, "occurred") {
			t.Errorf("join error over several lines: %q", msg)
		}
		if !strings.Contains(msg, "127.0.0.1:2") {
			t.Errorf("join error does not name the address: %q", msg)
		}
		time.Sleep(time.Second)
	})
}
