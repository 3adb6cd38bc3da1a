package wire

import "errors"

// Sentinel errors. The crdt package re-exports them under the same names so
// that callers need only one import to branch with errors.Is.
var (
	ErrTruncated = errors.New("crdt: truncated input")
	ErrTrailing  = errors.New("crdt: trailing bytes after value")
	ErrMalformed = errors.New("crdt: malformed encoding")
	ErrTooLarge  = errors.New("crdt: length exceeds input")
	ErrTooDeep   = errors.New("crdt: nesting too deep")
)
