package gossip

// maxBlobOverhead bounds the bytes a delta or state message adds around one
// key's blob: the header (version, type, origin name and epoch), an entry
// count, the key and the blob's length, each length a uvarint of at most
// ten bytes.
func (g *Gossip) maxBlobOverhead(key string) int {
	return 2 + 10 + len(g.cfg.Origin.Name) + 10 + 10 + 10 + len(key) + 10
}

// MaxBlobSize returns the largest blob (a delta or a key's whole state) this
// node can send for key, as a delta and as anti-entropy state: Config.MaxBlob
// less the message framing. A key's state larger than this never reaches a
// peer, so a replica should refuse an update that would make it larger. It
// is 0 for a key that cannot be sent at all (over 64 KiB).
func (g *Gossip) MaxBlobSize(key string) int {
	if len(key) > maxKeyLen {
		return 0
	}
	return max(0, g.cfg.MaxBlob-g.maxBlobOverhead(key))
}
