package store

import "errors"

// Sentinel errors. Returned errors wrap them with the file, key and cause.
var (
	// ErrLocked reports a data directory held by another process (or by
	// another Store of this process).
	ErrLocked = errors.New("store: data directory in use")
	// ErrCorrupt reports a store file that cannot be trusted as a whole: not
	// a bbolt file, not a converge store, torn or truncated.
	ErrCorrupt = errors.New("store: corrupt store")
	// ErrSchema reports a store written by a newer (or unknown) layout.
	ErrSchema = errors.New("store: unsupported schema version")
	// ErrMissing reports a data directory whose marker says a store was
	// created there but whose database file is missing or empty.
	ErrMissing = errors.New("store: database file missing")
	// ErrBadRecord reports one record that failed its checks (checksum,
	// framing, key); Load quarantines it.
	ErrBadRecord = errors.New("store: bad record")
	// ErrClosed reports a call on a closed Store or Group.
	ErrClosed = errors.New("store: closed")
)
