package node

import "hash/fnv"

// seenSet remembers the hashes of the last blobs merged, so that a blob
// received again (gossip delivers most deltas several times: pushes,
// retransmitted broadcasts, forwards) is dropped without decoding it or
// comparing states. This is safe while state only inflates: once a
// blob has been merged, the state stays above it, and merging it again
// can change nothing. Collecting tombstones deflates it, so collectOnce
// empties the set when it collected anything. Hashes are 128-bit FNV-1a over the key and the blob,
// so a false match is not a practical concern (and anti-entropy would
// repair one).
type seenSet struct {
	idx  map[[16]byte]struct{}
	ring [][16]byte // the last len(ring) hashes added, oldest at next
	next int
}

// seenCapacity bounds the set: about 50 bytes per entry.
const seenCapacity = 4096

func blobHash(key string, blob []byte) [16]byte {
	h := fnv.New128a()
	_, _ = h.Write([]byte(key))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write(blob)
	var out [16]byte
	h.Sum(out[:0])
	return out
}

func (s *seenSet) has(h [16]byte) bool {
	_, ok := s.idx[h]
	return ok
}

func (s *seenSet) add(h [16]byte) {
	if s.idx == nil {
		s.idx = make(map[[16]byte]struct{})
	}
	if _, ok := s.idx[h]; ok {
		return
	}
	if len(s.ring) < seenCapacity {
		s.ring = append(s.ring, h)
	} else {
		delete(s.idx, s.ring[s.next])
		s.ring[s.next] = h
		s.next = (s.next + 1) % seenCapacity
	}
	s.idx[h] = struct{}{}
}
