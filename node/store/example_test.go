package store_test

import (
	"fmt"
	"os"

	"github.com/converge-crdt/converge/node/store"
)

// A store holds opaque states per key: a snapshot plus deltas appended
// since, which Load returns together. Package node drives it; a caller
// keeping something of its own (tombstones of deleted keys, say) uses the
// same ops.
func Example() {
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	_ = s.Apply([]store.Op{
		{Kind: store.OpPut, Key: "a", Tag: 1, Seq: 0, Data: []byte("state")},
		{Kind: store.OpAppend, Key: "a", Tag: 1, Seq: 1, Data: []byte("delta")},
		{Kind: store.OpPut, Key: "gone", Tag: 1, Data: []byte("x")},
	})
	_ = s.Apply([]store.Op{{Kind: store.OpDelete, Key: "gone", Seq: 1}})
	_, _ = s.Load(func(r store.Record) error {
		fmt.Printf("%s: snapshot %q, %d delta(s)\n", r.Key, r.Snapshot, len(r.Deltas))
		return nil
	})
	_, err = store.Open(dir, store.Options{})
	fmt.Println(err != nil)
	// Output:
	// a: snapshot "state", 1 delta(s)
	// true
}
