package gossip

import (
	"hash/fnv"
	"sync"
)

// DigestSource may be implemented by a Replica to let gossip keep its
// anti-entropy digests incrementally: gossip asks for the digest of each
// key the replica reports as changed, instead of copying every key's digest
// (Replica.Digests) each round. An idle round then costs O(1) and a round
// between replicas that differ in d keys moves O(d) digests (see
// digestTree). Every replica in a cluster should implement it or none: the
// two kinds compute different roots and never find each other equal.
type DigestSource interface {
	// KeyDigest returns key's digest (as in Digests), ok false if the key
	// is unknown (never created, or deleted).
	KeyDigest(key string) (digest uint64, ok bool)

	// OnChange registers f to be called with the key of every change of
	// local state (a local update, a merge that changed something, a
	// deletion), after the change. gossip calls it once, in New, before
	// it reads any digest. f only records the key; it may be called with
	// the replica's locks held, and never calls back into the replica.
	OnChange(f func(key string))
}

// The digest tree. Keys hash into numLeaves leaves; each tree node holds the
// sum of mix(key, digest) over the keys below it, so a change updates one
// node per level, and the root changes with any key. Two replicas compare
// the tree top down, descending only into the nodes that differ: d
// differing keys cost at most d x treeFanout node digests per level, then
// the keys of at most d leaves (about keys/numLeaves each).
const (
	treeFanout = 16
	treeDepth  = 3 // levels below the root: 16, 256 and 4096 nodes
	numLeaves  = 4096
	leafBits   = 12 // log2(numLeaves)
)

// digestTree is the incrementally maintained digest structure.
type digestTree struct {
	src DigestSource

	dmu   sync.Mutex
	dirty map[string]struct{} // guarded by dmu; keys changed since refresh

	mu     sync.Mutex
	leaves [numLeaves]map[string]uint64 // guarded by mu; key -> digest, by leaf
	count  int                          // guarded by mu; keys
	levels [treeDepth + 1][]uint64      // guarded by mu; node sums, levels[0] is the root
}

// newDigestTree registers for src's changes, then learns the keys there
// are already (from Digests, once), so no change falls in between.
func newDigestTree(src DigestSource, r Replica) *digestTree {
	t := &digestTree{src: src, dirty: make(map[string]struct{})}
	for l := range t.levels {
		t.levels[l] = make([]uint64, 1<<(4*l))
	}
	src.OnChange(t.changed)
	_, keys := r.Digests()
	for _, kd := range keys {
		t.changed(kd.Key)
	}
	return t
}

// changed records that key changed (DigestSource.OnChange).
func (t *digestTree) changed(key string) {
	t.dmu.Lock()
	t.dirty[key] = struct{}{}
	t.dmu.Unlock()
}

// refreshLocked brings the tree up to date with the keys changed since the
// last call: O(changes).
func (t *digestTree) refreshLocked() {
	t.dmu.Lock()
	if len(t.dirty) == 0 {
		t.dmu.Unlock()
		return
	}
	dirty := t.dirty
	t.dirty = make(map[string]struct{})
	t.dmu.Unlock()
	for k := range dirty {
		leaf := leafOf(k)
		old, had := t.leaves[leaf][k]
		d, ok := t.src.KeyDigest(k)
		if had == ok && old == d {
			continue
		}
		var delta uint64
		if had {
			delta -= keyMix(k, old)
			t.count--
			delete(t.leaves[leaf], k)
		}
		if ok {
			delta += keyMix(k, d)
			t.count++
			if t.leaves[leaf] == nil {
				t.leaves[leaf] = make(map[string]uint64)
			}
			t.leaves[leaf][k] = d
		}
		for l := range t.levels {
			t.levels[l][leaf>>(4*(treeDepth-l))] += delta
		}
	}
}

// root returns the root digest and the number of keys.
func (t *digestTree) root() (uint64, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refreshLocked()
	return mix64(t.levels[0][0] ^ mix64(uint64(t.count))), t.count
}

// children returns the sums of the children of the given nodes of level
// level-1 (level in 1..treeDepth), treeFanout per parent.
func (t *digestTree) children(level int, parents []uint32) []uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refreshLocked()
	out := make([]uint64, 0, len(parents)*treeFanout)
	for _, p := range parents {
		out = append(out, t.levels[level][int(p)*treeFanout:int(p+1)*treeFanout]...)
	}
	return out
}

// differing compares the peer's children sums of parents at level with
// ours and returns the indices (at level) of those that differ.
func (t *digestTree) differing(level int, parents []uint32, theirs []uint64) []uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refreshLocked()
	var out []uint32
	for i, p := range parents {
		for c := range treeFanout {
			idx := int(p)*treeFanout + c
			if t.levels[level][idx] != theirs[i*treeFanout+c] {
				out = append(out, uint32(idx))
			}
		}
	}
	return out
}

// keysIn returns our key digests in the given leaves, sorted by key.
func (t *digestTree) keysIn(leaves []uint32) []KeyDigest {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refreshLocked()
	var out []KeyDigest
	for _, l := range leaves {
		for k, d := range t.leaves[l] {
			out = append(out, KeyDigest{Key: k, Digest: d})
		}
	}
	sortKeyDigests(out)
	return out
}

// digest returns our digest of key.
func (t *digestTree) digest(key string) (uint64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.leaves[leafOf(key)][key]
	return d, ok
}

// leafOf returns the leaf of key: the top leafBits of FNV-1a 64, mixed
// (FNV's high bits barely change between keys that differ at the end),
// part of the protocol.
func leafOf(key string) int {
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(mix64(h.Sum64()) >> (64 - leafBits))
}

// keyMix is a key's contribution to the sums: its name and digest mixed.
func keyMix(key string, digest uint64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return mix64(h.Sum64() ^ mix64(digest))
}
