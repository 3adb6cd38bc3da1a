package gossip

import "time"

// Hooks for the hostile-peer tests: messages as a member that knows no
// session token would write them.

// EncodeWant returns a MsgWant for keys under a made-up session token.
func EncodeWant(from Origin, keys []string) []byte {
	return appendWant(nil, from, random64(), keys)
}

// EncodeRoot returns a MsgRoot with a made-up nonce.
func EncodeRoot(from Origin, root uint64) []byte {
	return appendRoot(nil, from, rootMsg{Root: root, Keys: 1, Nonce: random64(), Stamp: uint64(time.Now().UnixNano())})
}

// RefusedRequests returns Stats().RefusedRequests.
func RefusedRequests(g *Gossip) uint64 { return g.Stats().RefusedRequests }

// WantsExpired returns Stats().WantsExpired.
func WantsExpired(g *Gossip) uint64 { return g.Stats().WantsExpired }

// EncodeChunk returns a MsgChunk.
func EncodeChunk(from Origin, id uint64, seq, total uint32, size uint64, data []byte) []byte {
	return appendChunk(nil, from, chunkMsg{ID: id, Seq: seq, Total: total, Size: size, Data: data})
}

// LimitInboundPerHost sets Config.MaxInboundStreamsPerHost.
func LimitInboundPerHost(cfg *Config, n int) { cfg.MaxInboundStreamsPerHost = n }

// RefusedStreams returns Stats().RefusedStreams.
func RefusedStreams(g *Gossip) uint64 { return g.Stats().RefusedStreams }
