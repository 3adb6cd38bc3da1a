package gossip

import "hash/fnv"

// Buckets split the key space for anti-entropy between replicas with many
// keys: when roots differ, the replicas first compare numBuckets bucket
// digests (2 KiB) and then list only the keys of the buckets that differ, so
// a few changed keys among many cost a few digests, not all of them.

// numBuckets is part of the protocol (it fixes MsgBuckets' length).
const numBuckets = 256

// bucketThreshold is the number of keys above which a differing root is
// answered with bucket digests rather than the whole key list: below it the
// list is about as small as the buckets.
const bucketThreshold = 128

// bucketSet is a set of buckets, one bit each.
type bucketSet [numBuckets / 8]byte

func (s *bucketSet) add(b int)            { s[b/8] |= 1 << (b % 8) }
func (s *bucketSet) has(b int) bool       { return s[b/8]&(1<<(b%8)) != 0 }
func (s *bucketSet) hasKey(k string) bool { return s == nil || s.has(bucketOf(k)) }

// bucketOf returns the bucket of key: FNV-1a, part of the protocol.
func bucketOf(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % numBuckets)
}

// bucketDigests folds the per-key digests into numBuckets digests. Each key
// contributes a mix of its name and digest, combined by addition so the
// order of keys does not matter.
func bucketDigests(keys []KeyDigest) *[numBuckets]uint64 {
	var d [numBuckets]uint64
	for _, kd := range keys {
		h := fnv.New64a()
		h.Write([]byte(kd.Key))
		d[bucketOf(kd.Key)] += mix64(h.Sum64() ^ mix64(kd.Digest))
	}
	return &d
}

// mix64 is the splitmix64 finalizer: it spreads every input bit over the
// output, so sums of mixed values rarely cancel.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
