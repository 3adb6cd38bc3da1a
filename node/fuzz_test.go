package node

import (
	"errors"
	"testing"

	"github.com/converge-crdt/converge/crdt"
)

// FuzzReplicaMerge feeds arbitrary blobs to the path every byte from a peer
// takes: tag routing, the type-erased set and map decoders (canonical
// msgpack only), the custom-type registry, and the merge. It must never
// panic; a refused blob must leave the node unchanged; an accepted one must
// leave state that encodes and decodes back to itself.
func FuzzReplicaMerge(f *testing.F) {
	src := openLocal(f, Config{Name: "src", Types: []Type{TypeOf(maxTag, newMaxReg)}})
	ctx := ctxT(f)
	c, _ := GCounter(src, "c")
	must(f, c.Inc(ctx, 3))
	p, _ := PNCounter(src, "p")
	must(f, p.Dec(ctx, 2))
	s, _ := ORSet[string](src, "s")
	must(f, s.Add(ctx, "x"))
	must(f, s.Add(ctx, "y"))
	must(f, s.Remove(ctx, "x"))
	i, _ := ORSet[int64](src, "i")
	must(f, i.Add(ctx, -70000))
	m, _ := LWWMap[string, map[string]int](src, "m")
	must(f, m.Set(ctx, "k", map[string]int{"b": 2, "a": 1}))
	must(f, m.Delete(ctx, "gone"))
	o, _ := Object[*maxReg](src, "o")
	must(f, o.Update(ctx, func(v *maxReg) (*maxReg, error) { return v.Set(9) }))
	for _, key := range src.Keys() {
		b, ok, err := (*replica)(src).Encode(key)
		if err != nil || !ok {
			f.Fatalf("Encode(%s): %v %v", key, ok, err)
		}
		// The valid seeds must take the accepting path, or the checks
		// after it would never run.
		dst := openLocal(f, Config{Name: "seed", Types: []Type{TypeOf(maxTag, newMaxReg)}})
		if changed, err := (*replica)(dst).Merge(key, b); err != nil || !changed {
			f.Fatalf("valid seed %s refused: changed=%v err=%v", key, changed, err)
		}
		f.Add(key, b)
		f.Add("other", b)
		if len(b) > 3 {
			f.Add(key, b[:len(b)-1])
		}
	}
	f.Add("s", []byte{0x94, 0x03, 0x01, 0x92, 0x90, 0x90, 0x92, 0xd0, 0x01, 0x90}) // non-canonical element
	f.Add("s", []byte{0x94, 0x03, 0x01, 0x92, 0x90, 0x90, 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add("c", []byte{0x93, 0x01, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff})

	f.Fuzz(func(t *testing.T, key string, blob []byte) {
		if key == "" || len(key) > 64 {
			return
		}
		n := openLocal(t, Config{Name: "dst", Types: []Type{TypeOf(maxTag, newMaxReg)}})
		r := (*replica)(n)
		changed, err := r.Merge(key, blob)
		if err != nil {
			if changed || len(n.Keys()) != 0 {
				t.Fatalf("refused blob (%v) changed the node: changed=%v keys=%v", err, changed, n.Keys())
			}
			if !errors.Is(err, ErrDecode) && !errors.Is(err, ErrUnknownType) && !errors.Is(err, ErrTypeMismatch) &&
				!errors.Is(err, crdt.ErrClockSkew) {
				t.Fatalf("refusal without a node sentinel: %v", err)
			}
			return
		}
		if !changed {
			return
		}
		enc, ok, err := r.Encode(key)
		if err != nil || !ok {
			t.Fatalf("accepted blob cannot be encoded back: %v %v", ok, err)
		}
		again, err := r.Merge(key, enc)
		if err != nil || again {
			t.Fatalf("own encoding merged back: changed=%v err=%v", again, err)
		}
		root1, _ := r.Digests()
		root2, _ := r.Digests()
		if root1 != root2 {
			t.Fatal("digest not stable")
		}
	})
}
