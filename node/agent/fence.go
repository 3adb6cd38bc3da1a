package agent

import (
	"fmt"
	"sync"

	"github.com/converge-crdt/converge/crdt"
)

// Fence is the resource-side check of fencing tokens: it accepts a token at
// least as new as every token it accepted before and refuses older ones, so
// a holder whose lease was taken over cannot act after its successor has.
// Put one in front of each resource a lease protects (in the resource's own
// process, persisted with it if the resource is durable). The zero Fence
// accepts any token first. It is safe for concurrent use.
type Fence struct {
	mu   sync.Mutex
	last crdt.Token // guarded by mu
}

// Check accepts token (remembering it when it is the newest so far) or
// refuses it with an error wrapping ErrStaleToken.
func (f *Fence) Check(token crdt.Token) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if token.Compare(f.last) < 0 {
		return fmt.Errorf("%w: %v is older than %v", ErrStaleToken, token, f.last)
	}
	f.last = token
	return nil
}

// Last returns the newest token accepted.
func (f *Fence) Last() crdt.Token {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}
