package gossip

import "errors"

// Sentinel errors. Callers match them with errors.Is; the returned errors wrap
// them with details.
var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("gossip: invalid config")
	// ErrClosed reports a call on a closed Gossip.
	ErrClosed = errors.New("gossip: closed")
	// ErrTooLarge reports a blob or message over a configured limit.
	ErrTooLarge = errors.New("gossip: too large")
	// ErrEmptyKey reports a publish without a key.
	ErrEmptyKey = errors.New("gossip: empty key")
	// ErrNoPeers reports a Join that reached no peer.
	ErrNoPeers = errors.New("gossip: no peer reached")
	// ErrReplicaClosed is for Replica implementations: a Merge refused
	// because the replica is shutting down should return an error that
	// matches it (errors.Is), and gossip drops the blob quietly instead of
	// counting and logging a merge error.
	ErrReplicaClosed = errors.New("gossip: replica closed")

	// ErrDecode is wrapped by every error about bytes received from a peer.
	ErrDecode = errors.New("gossip: bad message")
	// ErrVersion reports a message of an unknown protocol version.
	ErrVersion = errors.New("gossip: unsupported protocol version")
	// ErrType reports a message of an unknown type.
	ErrType = errors.New("gossip: unknown message type")
)
