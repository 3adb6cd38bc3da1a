package crdt

import "github.com/converge-crdt/converge/internal/wire"

// ValidateMsgpack checks that b holds exactly one well-formed msgpack value
// whose every length prefix fits in the bytes that follow it, nested at most
// 32 deep, with no trailing bytes. Errors wrap ErrTruncated, ErrTooLarge,
// ErrTooDeep, ErrMalformed or ErrTrailing.
//
// Call it on bytes from a peer before decoding them with msgpack into your
// own CRDT type: msgpack v5 sizes slices and maps from the length headers it
// reads, so a 5-byte input can make it allocate gigabytes. Once b is valid,
// no length exceeds len(b), which bounds what decoding can allocate. The
// built-in types check their input this way already.
func ValidateMsgpack(b []byte) error { return wire.Validate(b, wire.DefaultMaxDepth) }
