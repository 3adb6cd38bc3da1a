package gossip_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/converge-crdt/converge/gossip"
)

func TestLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t, 1, false, func(cfg *gossip.Config) { cfg.MaxBlob = 4096 })
		g := c.nodes[0].g
		if _, err := g.Join(context.Background()); !errors.Is(err, gossip.ErrNoPeers) {
			t.Errorf("join without addresses: %v", err)
		}
		if _, err := g.Join(context.Background(), "nobody/127.0.0.1:1"); err == nil {
			t.Error("joined an address where no one listens")
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := g.Join(ctx, "nobody/127.0.0.1:1"); !errors.Is(err, context.Canceled) {
			t.Errorf("join with a canceled context: %v", err)
		}
		if err := g.Publish("", []byte{1}); !errors.Is(err, gossip.ErrEmptyKey) {
			t.Errorf("publish without key: %v", err)
		}
		if err := g.Publish("k", []byte{1}); err != nil {
			t.Errorf("publish alone: %v", err)
		}
		if err := g.Publish("k", make([]byte, 5000)); !errors.Is(err, gossip.ErrTooLarge) {
			t.Errorf("publish over MaxBlob: %v", err)
		}
		if err := g.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if err := g.Close(); err != nil {
			t.Errorf("second close: %v", err)
		}
		if err := g.Publish("k", []byte{1}); !errors.Is(err, gossip.ErrClosed) {
			t.Errorf("publish after close: %v", err)
		}
		if _, err := g.Join(context.Background(), "x/127.0.0.1:1"); !errors.Is(err, gossip.ErrClosed) {
			t.Errorf("join after close: %v", err)
		}
		time.Sleep(time.Second)
	})
}
