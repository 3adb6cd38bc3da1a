package gossip

import "github.com/hashicorp/memberlist"

// Hooks for the external tests (package gossip_test), which cannot reach
// unexported names.

// EncodeDelta returns a MsgDelta message, for injection tests.
func EncodeDelta(from Origin, key string, blob []byte) []byte {
	return appendDelta(nil, from, key, blob)
}

// MemberlistOf exposes the memberlist instance, for injection tests.
func MemberlistOf(g *Gossip) *memberlist.Memberlist { return g.ml }
