package node

import "errors"

// Sentinel errors. Callers match them with errors.Is; returned errors wrap
// them with details.
var (
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("node: invalid config")
	// ErrClosed reports a call on a closed Node.
	ErrClosed = errors.New("node: closed")
	// ErrEmptyKey reports an object key that is empty.
	ErrEmptyKey = errors.New("node: empty key")
	// ErrTypeMismatch reports a key used as another type than the one it is
	// bound to: locally (a handle of another type, or of another element,
	// key or value type for a set or map) or from a peer (a blob of another
	// type, or a set or map whose values do not decode as the local
	// handle's types; neither is merged).
	ErrTypeMismatch = errors.New("node: key bound to another type")
	// ErrUnknownType reports a type tag or Go type that is not registered.
	ErrUnknownType = errors.New("node: unknown type")
	// ErrDecode reports bytes that do not decode: a blob from a peer, or an
	// element or value written by another node with a different Go type.
	ErrDecode = errors.New("node: decode failed")
)

// ErrTooManyObjects reports a new key beyond Config.MaxObjects, or beyond
// the part of it that peers, or one peer, may fill.
var ErrTooManyObjects = errors.New("node: too many objects")

// ErrTooManyBytes reports a write or a received blob beyond
// Config.MaxBytes, or beyond the part of it that peers, or one peer, may
// fill.
var ErrTooManyBytes = errors.New("node: objects take too many bytes")

// ErrNoNetwork reports a networking call (Join, WaitMembers) on a node
// opened without networking (empty BindAddr and no Gossip.Transport).
var ErrNoNetwork = errors.New("node: networking disabled")

// ErrNotFound reports a key the node does not hold (Read).
var ErrNotFound = errors.New("node: no such key")

// ErrTooLarge reports a write refused because the object's state or delta
// would be too large to replicate (over the gossip layer's MaxBlobSize for
// the key, Gossip.MaxBlob less framing). The write changed nothing.
var ErrTooLarge = errors.New("node: too large to replicate")

// ErrPersist reports a local update that changed the node's state in
// memory but could not be committed to Config.DataDir. Its delta is not
// published; the change may still reach peers by anti-entropy and the disk
// by a later commit.
var ErrPersist = errors.New("node: committing to the data directory failed")

// ErrLevelNotMet reports a write, read or Reached wait that heard from
// fewer members than its level needs before its timeout (see LevelError,
// which carries the counts).
var ErrLevelNotMet = errors.New("node: consistency level not met")
