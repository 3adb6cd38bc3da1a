package node

import "context"

// WaitFor blocks until cond returns true, re-evaluating it after every change
// of local state (a local update or a merge that changed something) and of
// membership (a membership event from the gossip layer). It returns nil once cond holds, ctx.Err() if ctx ends first,
// and ErrClosed if the node is closed. cond runs on the caller's goroutine,
// not under the node's lock, so it may read the node through handles.
func (n *Node) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		// Take the channel before evaluating cond: a change after the
		// evaluation closes this channel, so no wake-up is lost.
		ch := *n.changed.Load()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-n.done:
			return ErrClosed
		}
	}
}
