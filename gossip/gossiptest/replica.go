package gossiptest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sync"

	"github.com/converge-crdt/converge/gossip"
)

// ErrBadBlob is returned by Replica.Merge for bytes that are not a set.
var ErrBadBlob = errors.New("gossiptest: bad blob")

// Replica is a gossip.Replica holding, per key, a grow-only set of strings.
// A blob is the set's elements, sorted, each as a uvarint length and bytes:
// deterministic, so equal sets have equal digests. Merge is union and
// reports whether the set grew. It is safe for concurrent use.
type Replica struct {
	mu     sync.Mutex
	sets   map[string]map[string]struct{} // guarded by mu
	root   uint64                         // guarded by mu; valid if len(dirty) == 0
	digest map[string]uint64              // guarded by mu; per key not in dirty
	dirty  map[string]bool                // guarded by mu; keys changed since Digests
	merges int                            // guarded by mu; Merge calls
	notify func(key string)               // guarded by mu; OnChange's callback
	reads  int                            // guarded by mu; Digests and KeyDigest calls
}

var (
	_ gossip.Replica      = (*Replica)(nil)
	_ gossip.Holder       = (*Replica)(nil)
	_ gossip.DigestSource = (*Replica)(nil)
)

// NewReplica returns an empty replica.
func NewReplica() *Replica {
	return &Replica{sets: make(map[string]map[string]struct{}), digest: map[string]uint64{}, dirty: map[string]bool{}}
}

// Add adds elems to key's set and returns the delta to publish (the set of
// the elements that were new; empty if none was).
func (r *Replica) Add(key string, elems ...string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var added []string
	for _, e := range elems {
		if r.addLocked(key, e) {
			added = append(added, e)
		}
	}
	return Encode(added...)
}

func (r *Replica) addLocked(key, e string) bool {
	s := r.sets[key]
	if s == nil {
		s = make(map[string]struct{})
		r.sets[key] = s
	}
	if _, ok := s[e]; ok {
		return false
	}
	s[e] = struct{}{}
	r.dirty[key] = true
	if r.notify != nil {
		r.notify(key)
	}
	return true
}

// Has reports whether key's set holds e.
func (r *Replica) Has(key, e string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.sets[key][e]
	return ok
}

// Len returns the size of key's set.
func (r *Replica) Len(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sets[key])
}

// Keys returns the keys, sorted.
func (r *Replica) Keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.sets))
}

// Merges returns how many times Merge was called.
func (r *Replica) Merges() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.merges
}

// Root returns the root digest (equal roots: equal state).
func (r *Replica) Root() uint64 {
	root, _ := r.Digests()
	return root
}

// Digests implements gossip.Replica. The digests are cached until the next
// change.
func (r *Replica) Digests() (uint64, []gossip.KeyDigest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads += len(r.sets)
	if len(r.dirty) > 0 {
		for k := range r.dirty {
			r.digest[k] = digest(r.encodeLocked(k))
		}
		clear(r.dirty)
		h := fnv.New64a()
		for _, k := range slices.Sorted(maps.Keys(r.digest)) {
			h.Write([]byte(k))
			h.Write(binary.BigEndian.AppendUint64(nil, r.digest[k]))
		}
		r.root = h.Sum64()
	}
	keys := make([]gossip.KeyDigest, 0, len(r.digest))
	for _, k := range slices.Sorted(maps.Keys(r.digest)) {
		keys = append(keys, gossip.KeyDigest{Key: k, Digest: r.digest[k]})
	}
	return r.root, keys
}

// KeyDigest implements gossip.DigestSource.
func (r *Replica) KeyDigest(key string) (uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	if _, ok := r.sets[key]; !ok {
		return 0, false
	}
	return digest(r.encodeLocked(key)), true
}

// DigestReads returns how many digests were read: one per KeyDigest call,
// one per key per Digests call.
func (r *Replica) DigestReads() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reads
}

// OnChange implements gossip.DigestSource.
func (r *Replica) OnChange(f func(key string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notify = f
}

func digest(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// Encode implements gossip.Replica.
func (r *Replica) Encode(key string) ([]byte, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sets[key]; !ok {
		return nil, false, nil
	}
	return r.encodeLocked(key), true, nil
}

func (r *Replica) encodeLocked(key string) []byte {
	return Encode(slices.Sorted(maps.Keys(r.sets[key]))...)
}

// Merge implements gossip.Replica: union, changed if the set grew.
func (r *Replica) Merge(key string, blob []byte) (bool, error) {
	elems, err := Decode(blob)
	if err != nil {
		return false, fmt.Errorf("key %q: %w", key, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.merges++
	changed := false
	for _, e := range elems {
		if r.addLocked(key, e) {
			changed = true
		}
	}
	return changed, nil
}

// Holds implements gossip.Holder: whether every element of blob is in
// key's set.
func (r *Replica) Holds(key string, blob []byte) (bool, error) {
	elems, err := Decode(blob)
	if err != nil {
		return false, fmt.Errorf("key %q: %w", key, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range elems {
		if _, ok := r.sets[key][e]; !ok {
			return false, nil
		}
	}
	return true, nil
}

// Join implements gossip.Replica: the union of two deltas.
func (r *Replica) Join(key string, a, b []byte) ([]byte, error) {
	ea, err := Decode(a)
	if err != nil {
		return nil, err
	}
	eb, err := Decode(b)
	if err != nil {
		return nil, err
	}
	set := make(map[string]struct{}, len(ea)+len(eb))
	for _, e := range append(ea, eb...) {
		set[e] = struct{}{}
	}
	return Encode(slices.Sorted(maps.Keys(set))...), nil
}

// Encode returns the blob of a set holding elems (which must be sorted and
// distinct for the encoding to be canonical).
func Encode(elems ...string) []byte {
	var b []byte
	for _, e := range elems {
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	return b
}

// Decode parses a blob, checking every length against the bytes left.
func Decode(b []byte) ([]string, error) {
	var out []string
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, fmt.Errorf("%w: bad length", ErrBadBlob)
		}
		b = b[k:]
		if n > uint64(len(b)) {
			return nil, fmt.Errorf("%w: length %d, %d bytes left", ErrBadBlob, n, len(b))
		}
		out = append(out, string(b[:n]))
		b = b[n:]
	}
	return out, nil
}
