package crdt

import (
	"errors"

	"github.com/converge-crdt/converge/internal/wire"
)

// Errors returned by decoders and mutators. Decoding errors wrap one of these
// with %w and add what exactly was wrong (offset, field, values), so callers can branch with
// errors.Is and people can read the message.
var (
	// ErrTruncated: the input ended inside a value.
	ErrTruncated = wire.ErrTruncated
	// ErrTrailing: bytes remain after a complete value.
	ErrTrailing = wire.ErrTrailing
	// ErrMalformed: the bytes are not the msgpack shape this type encodes.
	ErrMalformed = wire.ErrMalformed
	// ErrTooLarge: a length prefix claims more than the input can hold, or
	// a configured limit.
	ErrTooLarge = wire.ErrTooLarge
	// ErrTooDeep: nesting exceeds the decoder's depth limit.
	ErrTooDeep = wire.ErrTooDeep
	// ErrWrongType: the type tag names another CRDT type.
	ErrWrongType = errors.New("crdt: wrong type tag")
	// ErrVersion: the format version is unknown to this build.
	ErrVersion = errors.New("crdt: unknown format version")
	// ErrDuplicate: a replica, dot, element or key appears twice.
	ErrDuplicate = errors.New("crdt: duplicate entry")
	// ErrInvalid: the value decodes but breaks an invariant of its type
	// (zero replica ID, zero counter, a dot its context does not cover, a
	// negative or overflowing count).
	ErrInvalid = errors.New("crdt: invalid state")
	// ErrOverflow: a mutation would overflow a counter.
	ErrOverflow = errors.New("crdt: counter overflow")
	// ErrIdentity: a remote state claims more events of this replica's own
	// ID than it has issued: forged by a peer, or made by another replica
	// using the same ID (see IdentityChecker).
	ErrIdentity = errors.New("crdt: state claims events this replica never issued")
	// ErrClockSkew: a remote timestamp is further ahead of the local wall
	// clock than the configured maximum skew.
	ErrClockSkew = errors.New("crdt: remote clock too far ahead")
	// ErrLeaseHeld: a lease is held by another holder and has not expired.
	ErrLeaseHeld = errors.New("crdt: lease held by another holder")
	// ErrNotHolder: a lease renewal or release by a token that no longer
	// holds the lease (it expired and was taken over, or was released).
	ErrNotHolder = errors.New("crdt: not the lease holder")
)
