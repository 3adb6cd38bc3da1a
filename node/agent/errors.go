package agent

import "errors"

var (
	// ErrStaleToken: a Fence refused a token older than one it accepted.
	ErrStaleToken = errors.New("agent: stale fencing token")
	// ErrLeaseLost: a held lease was taken over, released elsewhere or
	// expired before it could be renewed.
	ErrLeaseLost = errors.New("agent: lease lost")
	// ErrClosed: the agent was closed.
	ErrClosed = errors.New("agent: closed")
)
