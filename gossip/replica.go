package gossip

// KeyDigest is the digest of one key's state. Equal states encode to equal
// bytes (every converge encoding is deterministic), so equal digests mean
// equal state with overwhelming probability.
type KeyDigest struct {
	Key    string
	Digest uint64
}

// Replica is everything gossip needs from the local state. gossip never sees
// a concrete CRDT type: it moves opaque, keyed blobs, and the replica decides
// what they mean. node.Node implements it; tests use small fakes.
//
// Implementations must be safe for concurrent use. gossip calls them from its
// own goroutines, never from inside a memberlist callback, so they may take
// locks and do I/O, but should return promptly: a slow replica delays
// delivery, it does not block memberlist. Merge is called for different keys
// at once (Config.MergeWorkers), never for one key at once: a replica that
// merges a large state without holding a lock over all keys lets small
// updates of other keys through meanwhile.
type Replica interface {
	// Digests returns one digest over all keys (the root) and the per-key
	// digests, sorted by key. Anti-entropy compares roots first and only
	// exchanges the per-key list when they differ, so the root should be
	// cheap (cached) when nothing changed.
	Digests() (root uint64, keys []KeyDigest)

	// Encode returns the full state of key. ok is false if the key is
	// unknown. The returned slice is owned by the caller.
	Encode(key string) (blob []byte, ok bool, err error)

	// Merge merges a received blob (a delta or a full state) into key and
	// reports whether local state changed. A blob that changed nothing is
	// not forwarded: novelty is what stops re-gossip. A blob that fails to
	// decode, or whose type does not match the key's, returns an error and
	// changes nothing. A replica that is shutting down returns an error
	// matching ErrReplicaClosed; gossip drops those quietly.
	Merge(key string, blob []byte) (changed bool, err error)

	// Join joins two blobs for key into one that covers both (the lattice
	// join of two deltas), so that a queued broadcast can be replaced by
	// one that covers it instead of sending both.
	Join(key string, a, b []byte) ([]byte, error)
}

// OriginMerger is an optional extension of Replica. If the replica
// implements it, gossip calls MergeFrom instead of Merge, with the origin
// named in the header of the message that carried the blob: the member
// that sent it (a forwarded delta names the forwarder, not the writer).
// The cluster key authenticates membership, not names: a member can claim
// another's. A replica uses the origin to share its budgets between
// senders, so that one member cannot fill them all.
type OriginMerger interface {
	MergeFrom(from Origin, key string, blob []byte) (changed bool, err error)
}
