package node

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/node/store"
	bolt "go.etcd.io/bbolt"
)

// seedStore writes a store with a counter "c", a set "s" and 200 registers
// (enough pages that a truncation cuts live ones), then closes it.
func seedStore(t testing.TB, dir string) {
	t.Helper()
	n, err := Open(Config{Name: "d", DataDir: dir, Logger: quietLogger(), Types: []Type{TypeOf(maxTag, newMaxReg)}, disk: diskKnobs{noSync: true}})
	must(t, err)
	ctx := ctxT(t)
	c, _ := GCounter(n, "c")
	s, _ := ORSet[string](n, "s")
	must(t, c.Inc(ctx, 7))
	must(t, s.Add(ctx, "kept"))
	for i := range 200 {
		r, err := Object[*maxReg](n, "r"+strings.Repeat("x", 40)+string(rune('a'+i%26))+string(rune('a'+i/26)))
		must(t, err)
		must(t, r.Update(ctx, func(v *maxReg) (*maxReg, error) { return v.Set(int64(i)) }))
	}
	must(t, n.Close())
}

// editDB changes the bbolt file of dir directly.
func editDB(t testing.TB, dir string, f func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "converge.db"), 0o600, nil)
	must(t, err)
	must(t, db.Update(f))
	must(t, db.Close())
}

// putRaw stores an op through the store's own API (a well-framed record).
func putRaw(t testing.TB, dir string, ops ...store.Op) {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	must(t, err)
	must(t, st.Apply(ops))
	must(t, st.Close())
}

func flipByte(t testing.TB, bucket, key string, at int) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		v := append([]byte(nil), b.Get([]byte(key))...)
		if len(v) == 0 {
			t.Fatalf("no record %s/%q", bucket, key)
		}
		if at < 0 {
			at += len(v)
		}
		v[at] ^= 0x40
		return b.Put([]byte(key), v)
	}
}

// schemaRecord is the meta "schema" record for version v, framed as
// package store documents it: frame version 1, tag 0, CRC-32C over
// ('m', seq 0, tag 0, key, payload), payload.
func schemaRecord(v uint32) []byte {
	payload := binary.BigEndian.AppendUint32(nil, v)
	h := append([]byte{'m'}, make([]byte, 8+2)...)
	h = append(h, "schema"...)
	crc := crc32.Checksum(append(h, payload...), crc32.MakeTable(crc32.Castagnoli))
	b := binary.BigEndian.AppendUint32([]byte{1, 0, 0}, crc)
	return append(b, payload...)
}

func counterBlob(t testing.TB, r crdt.ReplicaID, n uint64) []byte {
	g := crdt.NewGCounter()
	_, err := g.Inc(r, n)
	must(t, err)
	b, err := g.MarshalBinary()
	must(t, err)
	return b
}

// TestDurableDamage opens damaged stores, one per named case. A store that
// cannot be trusted as a whole is refused with an error naming the file;
// a damaged record is quarantined (kept in the quarantine bucket with the
// reason, reported by Quarantined and still there after a reopen), its key
// starts empty and every other key loads. No case panics.
func TestDurableDamage(t *testing.T) {
	db := func(dir string) string { return filepath.Join(dir, "converge.db") }
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string)
		refuse error  // Open fails with this (and names the file)
		key    string // else this key is quarantined
		bucket string // from this bucket
		keepC  bool   // and "c" still holds 7
	}{
		{name: "foreign file", refuse: store.ErrCorrupt, damage: func(t *testing.T, dir string) {
			must(t, os.WriteFile(db(dir), []byte(strings.Repeat("not a database\n", 2000)), 0o600))
		}},
		{name: "truncated file", refuse: store.ErrCorrupt, damage: func(t *testing.T, dir string) {
			must(t, os.Truncate(db(dir), 4*4096))
		}},
		{name: "torn meta pages", refuse: store.ErrCorrupt, damage: func(t *testing.T, dir string) {
			f, err := os.OpenFile(db(dir), os.O_RDWR, 0)
			must(t, err)
			_, err = f.WriteAt(make([]byte, 2*4096), 0)
			must(t, err)
			must(t, f.Close())
		}},
		{name: "garbage over data pages", refuse: store.ErrCorrupt, damage: func(t *testing.T, dir string) {
			fi, err := os.Stat(db(dir))
			must(t, err)
			junk := []byte(strings.Repeat("\xff\x13\x37", int(fi.Size())/3))
			f, err := os.OpenFile(db(dir), os.O_RDWR, 0)
			must(t, err)
			_, err = f.WriteAt(junk[:fi.Size()-4*4096], 4*4096)
			must(t, err)
			must(t, f.Close())
		}},
		{name: "emptied file", refuse: store.ErrMissing, damage: func(t *testing.T, dir string) {
			must(t, os.Truncate(db(dir), 0))
		}},
		{name: "missing file", refuse: store.ErrMissing, damage: func(t *testing.T, dir string) {
			must(t, os.Remove(db(dir)))
		}},
		{name: "bbolt file of another program", refuse: store.ErrCorrupt, damage: func(t *testing.T, dir string) {
			must(t, os.Remove(db(dir)))
			editDB(t, dir, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
		}},
		{name: "newer schema", refuse: store.ErrSchema, damage: func(t *testing.T, dir string) {
			// A well-framed version 2, as a newer build would write it:
			// rewrite the version and fix the checksum by reframing.
			editDB(t, dir, func(tx *bolt.Tx) error {
				m := tx.Bucket([]byte("meta"))
				return m.Put([]byte("schema"), schemaRecord(2))
			})
		}},
		{name: "damaged schema record", refuse: store.ErrCorrupt, damage: func(t *testing.T, dir string) {
			editDB(t, dir, flipByte(t, "meta", "schema", -1))
		}},
		{name: "snapshot checksum mismatch", key: "s", bucket: "state", keepC: true, damage: func(t *testing.T, dir string) {
			editDB(t, dir, flipByte(t, "state", "s", -2))
		}},
		{name: "snapshot cut short", key: "s", bucket: "state", keepC: true, damage: func(t *testing.T, dir string) {
			editDB(t, dir, func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte("state"))
				return b.Put([]byte("s"), append([]byte(nil), b.Get([]byte("s"))[:4]...))
			})
		}},
		{name: "unknown frame version", key: "c", bucket: "state", damage: func(t *testing.T, dir string) {
			editDB(t, dir, func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte("state"))
				v := append([]byte(nil), b.Get([]byte("c"))...)
				v[0] = 9
				return b.Put([]byte("c"), v)
			})
		}},
		{name: "record under another key", key: "s", bucket: "state", keepC: true, damage: func(t *testing.T, dir string) {
			editDB(t, dir, func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte("state"))
				return b.Put([]byte("s"), append([]byte(nil), b.Get([]byte("c"))...))
			})
		}},
		{name: "well-framed bytes that do not decode", key: "c", bucket: "state", damage: func(t *testing.T, dir string) {
			putRaw(t, dir, store.Op{Kind: store.OpPut, Key: "c", Tag: uint16(crdt.TagGCounter), Data: []byte{0x93, 0x01, 0x01, 0xc1}})
		}},
		{name: "unregistered type tag", key: "u", bucket: "state", keepC: true, damage: func(t *testing.T, dir string) {
			putRaw(t, dir, store.Op{Kind: store.OpPut, Key: "u", Tag: 999, Data: []byte{0x92, 0xcd, 0x03, 0xe7, 0x01}})
		}},
		{name: "tag of another type", key: "c", bucket: "state", damage: func(t *testing.T, dir string) {
			putRaw(t, dir, store.Op{Kind: store.OpPut, Key: "c", Tag: uint16(crdt.TagORSet), Data: counterBlob(t, "x~1", 3)})
		}},
		{name: "log entry checksum mismatch", key: "c", bucket: "log", keepC: true, damage: func(t *testing.T, dir string) {
			putRaw(t, dir, store.Op{Kind: store.OpAppend, Key: "c", Seq: 1 << 40, Tag: uint16(crdt.TagGCounter), Data: counterBlob(t, "x~1", 3)})
			editDB(t, dir, func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte("log"))
				k, v := b.Cursor().First()
				v = append([]byte(nil), v...)
				v[len(v)-1] ^= 1
				return b.Put(append([]byte(nil), k...), v)
			})
		}},
		{name: "malformed log key", key: "", bucket: "log", keepC: true, damage: func(t *testing.T, dir string) {
			editDB(t, dir, func(tx *bolt.Tx) error { return tx.Bucket([]byte("log")).Put([]byte("\xffjunk"), []byte("junk")) })
		}},
		{name: "damaged epoch record", key: "", bucket: "epochs", keepC: true, damage: func(t *testing.T, dir string) {
			editDB(t, dir, flipByte(t, "epochs", "\x00\x00\x00\x00\x00\x00\x00\x01", -1))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			seedStore(t, dir)
			tc.damage(t, dir)
			n, err := Open(Config{Name: "d", DataDir: dir, Logger: quietLogger(), Types: []Type{TypeOf(maxTag, newMaxReg)}})
			if tc.refuse != nil {
				if err == nil {
					n.Close()
					t.Fatalf("Open accepted the store, want %v", tc.refuse)
				}
				if !errors.Is(err, tc.refuse) || !strings.Contains(err.Error(), dir) {
					t.Fatalf("Open: %v\nwant %v naming %s", err, tc.refuse, dir)
				}
				t.Logf("refused: %v", err)
				return
			}
			must(t, err)
			q := n.Quarantined()
			found := false
			for _, r := range q {
				if r.Key == tc.key && r.Bucket == tc.bucket && r.Reason != "" && len(r.Raw) > 0 {
					found = true
					t.Logf("quarantined: %s", r)
				}
			}
			if !found {
				t.Fatalf("no quarantined %s record of %q in %v", tc.bucket, tc.key, q)
			}
			c, err := GCounter(n, "c")
			if tc.keepC {
				must(t, err)
				if c.Value() != 7 {
					t.Fatalf("undamaged counter %d, want 7", c.Value())
				}
			}
			if len(n.Keys()) < 200 {
				t.Fatalf("%d keys loaded, want the 200 undamaged registers at least", len(n.Keys()))
			}
			must(t, n.Close())
			// Kept for good, and not found again.
			n2, err := Open(Config{Name: "d", DataDir: dir, Logger: quietLogger(), Types: []Type{TypeOf(maxTag, newMaxReg)}})
			must(t, err)
			if len(n2.Quarantined()) != 0 {
				t.Fatalf("second open quarantined again: %v", n2.Quarantined())
			}
			must(t, n2.Close())
			st, err := store.Open(dir, store.Options{})
			must(t, err)
			all, err := st.Quarantined()
			must(t, err)
			must(t, st.Close())
			if len(all) != len(q) {
				t.Fatalf("store keeps %d quarantined records, want %d", len(all), len(q))
			}
		})
	}
}
