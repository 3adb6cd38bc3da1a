package node

import (
	"testing"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/node/store"
)

// FuzzDurableRecord feeds arbitrary bytes, as a key's snapshot and delta
// from the data directory, to the decoder Open uses. It must never panic;
// what it accepts must encode again (a valid state).
func FuzzDurableRecord(f *testing.F) {
	n, err := Open(Config{Logger: quietLogger(), Types: []Type{TypeOf(maxTag, newMaxReg)}})
	if err != nil {
		f.Fatal(err)
	}
	defer n.Close()
	g := crdt.NewGCounter()
	_, _ = g.Inc("a~1", 3)
	gb, _ := g.MarshalBinary()
	s := crdt.NewORSet[rawValue]()
	s.Add("a~1", rawValue("\xa1x"))
	sb, _ := s.MarshalBinary()
	f.Add(uint16(crdt.TagGCounter), gb, gb)
	f.Add(uint16(crdt.TagORSet), sb, sb)
	f.Add(uint16(crdt.TagORSet), sb, gb)
	f.Add(uint16(maxTag), []byte{0x93, 0xcd, 0x01, 0x07, 0x01, 0x05}, []byte{})
	f.Fuzz(func(t *testing.T, tag uint16, snap, delta []byte) {
		r := store.Record{Key: "k", Tag: tag, Snapshot: snap, Deltas: []store.Delta{{Seq: 1, Tag: tag, Data: delta}}}
		v, o, _, err := n.decodeRecord(r)
		if err != nil {
			return
		}
		if _, err := o.encode(v); err != nil {
			t.Fatalf("accepted a record that does not encode: %v", err)
		}
	})
}
