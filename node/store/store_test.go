package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func openT(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func loadAll(t testing.TB, s *Store) (map[string]Record, LoadInfo) {
	t.Helper()
	out := make(map[string]Record)
	info, err := s.Load(func(r Record) error { out[r.Key] = r; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return out, info
}

// TestLockNamesHolder: a second Open of a directory fails with ErrLocked
// naming the directory and this process's pid; Close releases it.
func TestLockNamesHolder(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	_, err := Open(dir, Options{})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), fmt.Sprint(os.Getpid())) {
		t.Fatalf("second Open: %v, want ErrLocked naming %s and pid %d", err, dir, os.Getpid())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

// TestNotADirectory: a DataDir that is a file is refused.
func TestNotADirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(f, Options{}); err == nil || !strings.Contains(err.Error(), f) {
		t.Fatalf("Open of a file: %v", err)
	}
}

// TestOpsRoundTrip: appends, a snapshot covering some of them, a delete.
func TestOpsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Apply([]Op{
		{Kind: OpAppend, Key: "a", Tag: 1, Seq: 1, Data: []byte("d1")},
		{Kind: OpAppend, Key: "a", Tag: 1, Seq: 2, Data: []byte("d2")},
		{Kind: OpAppend, Key: "ab", Tag: 1, Seq: 3, Data: []byte("other")},
		{Kind: OpAppend, Key: "a", Tag: 1, Seq: 4, Data: []byte("d4")},
		{Kind: OpPut, Key: "gone", Tag: 2, Data: []byte("x")},
	}))
	must(s.Apply([]Op{{Kind: OpPut, Key: "a", Tag: 1, Seq: 2, Data: []byte("snap")}, {Kind: OpDelete, Key: "gone", Seq: 9}}))
	recs, info := loadAll(t, s)
	if info.MaxSeq != 4 || len(info.Quarantined) != 0 || len(recs) != 2 {
		t.Fatalf("info %+v, records %v", info, recs)
	}
	a := recs["a"]
	if string(a.Snapshot) != "snap" || len(a.Deltas) != 1 || string(a.Deltas[0].Data) != "d4" {
		t.Fatalf("a: %+v (the snapshot covers seq 1 and 2 only)", a)
	}
	if ab := recs["ab"]; ab.Snapshot != nil || len(ab.Deltas) != 1 {
		t.Fatalf("ab (a key with the prefix of another): %+v", ab)
	}
}

// TestGroupShares: concurrent writers share commits, every op is on disk
// after its ticket, and a key whose log outgrows its snapshot is folded.
func TestGroupShares(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	var mu sync.Mutex
	state := map[string]int{}
	var g *Group
	g = NewGroup(s, GroupConfig{Snapshot: func(key string) (Op, bool) {
		mu.Lock()
		defer mu.Unlock()
		return Op{Kind: OpPut, Key: key, Tag: 1, Seq: g.Seq(), Data: []byte(fmt.Sprint(state[key]))}, true
	}}, 0)
	g.Start()
	const writers, each = 16, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprint("k", w%4)
			for range each {
				mu.Lock()
				state[key]++
				tk := g.Enqueue(Op{Kind: OpAppend, Key: key, Tag: 1, Data: []byte("+1")})
				mu.Unlock()
				if err := tk.Wait(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := g.Stats()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if st.Commits >= writers*each {
		t.Fatalf("%d commits for %d ops: no group commit", st.Commits, writers*each)
	}
	t.Logf("%d ops in %d commits", writers*each, st.Commits)
	recs, _ := loadAll(t, s)
	for k, want := range state {
		r := recs[k]
		if string(r.Snapshot) != fmt.Sprint(want) || len(r.Deltas) != 0 {
			t.Fatalf("%s after Close: snapshot %q with %d deltas, want %d folded", k, r.Snapshot, len(r.Deltas), want)
		}
	}
}

// TestSchemaOfNewerBuild: a store stamped with a higher schema is refused.
func TestSchemaOfNewerBuild(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaSchema, frame(idMeta, metaSchema, 0, 0, []byte{0, 0, 0, 2}))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrSchema) {
		t.Fatalf("Open: %v, want ErrSchema", err)
	}
}

// TestCloseCompacts: after most of the file became free pages (rewritten
// snapshots), Close rewrites it smaller, and everything is still there.
func TestCloseCompacts(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<10)
	for round := range 40 {
		var ops []Op
		for k := range 8 {
			big[0] = byte(round)
			ops = append(ops, Op{Kind: OpPut, Key: fmt.Sprint("k", k), Tag: 1, Data: big})
		}
		if err := s.Apply(ops); err != nil {
			t.Fatal(err)
		}
	}
	var del []Op
	for k := range 6 {
		del = append(del, Op{Kind: OpDelete, Key: fmt.Sprint("k", k)})
	}
	if err := s.Apply(del); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Size()
	used, free, _ := s.Usage()
	t.Logf("used %d free %d", used, free)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, dbName))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes before Close, %d after", before, fi.Size())
	if fi.Size() >= before {
		t.Fatalf("not compacted: %d bytes, was %d", fi.Size(), before)
	}
	s = openT(t, dir)
	recs, _ := loadAll(t, s)
	if len(recs) != 2 || recs["k7"].Snapshot[0] != 39 {
		t.Fatalf("after compaction: %d records", len(recs))
	}
}
