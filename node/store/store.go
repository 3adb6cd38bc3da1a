package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout this package writes. Open refuses a store
// with a higher version (ErrSchema): a newer layout is never guessed at.
const SchemaVersion = 1

// File names inside a data directory.
const (
	lockName   = "LOCK"
	markerName = "converge.store"
	dbName     = "converge.db"
)

var (
	bucketMeta       = []byte("meta")
	bucketEpochs     = []byte("epochs")
	bucketState      = []byte("state")
	bucketLog        = []byte("log")
	bucketQuarantine = []byte("quarantine")

	metaSchema = []byte("schema")
	metaName   = []byte("name")
)

// Options tunes a Store. The zero Options is the durable default.
type Options struct {
	// NoSync skips fdatasync on commit: a crash of the machine (not of the
	// process) can then lose or tear recent commits. For tests and
	// benchmarks that measure everything but the disk.
	NoSync bool
}

// Store is an open data directory. Its methods are safe for concurrent use
// (bbolt serializes writers); Group is the way to commit from many
// goroutines with one fsync per batch.
type Store struct {
	dir  string
	path string // of the bbolt file
	lock *os.File
	db   *bolt.DB

	mu     sync.Mutex
	name   string        // guarded by mu
	epochs []Epoch       // guarded by mu
	found  []Quarantined // guarded by mu; quarantined by Open, reported by the first Load
	closed bool          // guarded by mu
}

// Epoch is one epoch started on a data directory.
type Epoch struct {
	Name    string
	Epoch   uint64
	Started time.Time
}

// Open opens (creating if needed) the store in dir and locks dir against
// every other opener until Close. It refuses a damaged or foreign store
// with an error wrapping ErrCorrupt, ErrSchema or ErrMissing that names the
// file, and a directory in use with ErrLocked naming the holder's pid.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: empty data directory")
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("store: data directory %s is not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: creating data directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: dir, path: filepath.Join(dir, dbName), lock: lock}
	if err := s.open(opts); err != nil {
		if s.db != nil {
			_ = s.db.Close()
		}
		_ = unlockDir(lock)
		return nil, err
	}
	return s, nil
}

func (s *Store) open(opts Options) (err error) {
	marker := filepath.Join(s.dir, markerName)
	_, merr := os.Stat(marker)
	fi, ferr := os.Stat(s.path)
	switch {
	case merr == nil && ferr != nil:
		return fmt.Errorf("%w: %s: the directory holds a store (%s) but its database is gone: %v", ErrMissing, s.path, markerName, ferr)
	case merr == nil && fi.Size() == 0:
		return fmt.Errorf("%w: %s is empty but %s says a store was created here", ErrMissing, s.path, markerName)
	}
	_ = os.Remove(s.path + compactSuffix) // a compaction cut short by a crash
	if err := checkLength(s.path); err != nil {
		return err
	}
	// A damaged file can make bbolt panic or fault on a page it maps;
	// turn both into errors rather than crash.
	defer catch(s.path, &err)
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)

	s.db, err = bolt.Open(s.path, 0o600, &bolt.Options{
		Timeout:      time.Second, // only reached without flock (lock_other.go)
		NoSync:       opts.NoSync,
		FreelistType: bolt.FreelistMapType,
		// The freelist is rebuilt by a scan at Open instead of being
		// written by every commit: fewer pages per fsync.
		NoFreelistSync: true,
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return fmt.Errorf("%w: %s is held by another process", ErrLocked, s.dir)
		}
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, s.path, err)
	}
	if err := s.checkSize(); err != nil {
		return err
	}
	created := false
	if err := s.db.Update(func(tx *bolt.Tx) (err error) {
		created, err = s.initTx(tx)
		return err
	}); err != nil {
		return err
	}
	if created {
		if err := writeMarker(s.dir, marker); err != nil {
			return err
		}
	}
	return s.readEpochs()
}

// catch turns a panic (bbolt's assertions on a damaged page, or a fault on
// a page beyond a truncated file) into an ErrCorrupt naming path.
func catch(path string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %s: %v", ErrCorrupt, path, r)
	}
}

// checkLength refuses a file shorter than the pages its newest meta page
// counts (a truncated file), before bbolt maps it. It reads bbolt's meta
// layout: a 16-byte page header, then magic, version, page size, flags
// (4 bytes each), the root bucket (16), the freelist page (8), the
// high-water mark page id (8) and the transaction id (8). Files it cannot
// read this way are left to bbolt's own checks.
func checkLength(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // missing: a new store
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	var best struct{ hwm, txid, pageSize uint64 }
	buf := make([]byte, 80)
	for _, off := range []int64{0, -1} {
		if off < 0 {
			off = int64(best.pageSize)
			if off == 0 {
				off = 4096
			}
		}
		if _, err := f.ReadAt(buf, off); err != nil {
			continue
		}
		le := binary.LittleEndian
		if le.Uint32(buf[16:]) != 0xED0CDAED {
			continue
		}
		ps, hwm, txid := uint64(le.Uint32(buf[24:])), le.Uint64(buf[56:]), le.Uint64(buf[64:])
		if ps < 512 || ps > 1<<20 || hwm > 1<<40 {
			continue
		}
		if best.pageSize == 0 || txid > best.txid {
			best.hwm, best.txid, best.pageSize = hwm, txid, ps
		}
	}
	if need := best.hwm * best.pageSize; best.pageSize != 0 && uint64(fi.Size()) < need {
		return fmt.Errorf("%w: %s is truncated: %d bytes, its pages need %d", ErrCorrupt, path, fi.Size(), need)
	}
	return nil
}

// checkSize refuses a file shorter than the pages its meta page counts: a
// truncated file (bbolt would fault reading past its end).
func (s *Store) checkSize() error {
	fi, err := os.Stat(s.path)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return s.db.View(func(tx *bolt.Tx) error {
		if tx.Size() > fi.Size() {
			return fmt.Errorf("%w: %s is truncated: %d bytes, its pages need %d", ErrCorrupt, s.path, fi.Size(), tx.Size())
		}
		return nil
	})
}

// initTx creates the buckets of a new store (a file without buckets: new,
// or created by a process that died before its first commit), or checks an
// existing one's schema and reads its name.
func (s *Store) initTx(tx *bolt.Tx) (created bool, err error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		empty := true
		_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
		if !empty {
			return false, fmt.Errorf("%w: %s is a bbolt file but not a converge store (no %q bucket)", ErrCorrupt, s.path, bucketMeta)
		}
		for _, b := range [][]byte{bucketMeta, bucketEpochs, bucketState, bucketLog, bucketQuarantine} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return false, fmt.Errorf("store: %s: %w", s.path, err)
			}
		}
		var v [4]byte
		binary.BigEndian.PutUint32(v[:], SchemaVersion)
		return true, tx.Bucket(bucketMeta).Put(metaSchema, frame(idMeta, metaSchema, 0, 0, v[:]))
	}
	return false, s.checkMeta(tx, meta)
}

// checkMeta checks an existing store's schema and buckets and reads its name.
func (s *Store) checkMeta(tx *bolt.Tx, meta *bolt.Bucket) error {
	raw := meta.Get(metaSchema)
	if raw == nil {
		return fmt.Errorf("%w: %s: no schema version", ErrCorrupt, s.path)
	}
	_, v, err := unframe(idMeta, metaSchema, 0, raw)
	if err != nil || len(v) != 4 {
		return fmt.Errorf("%w: %s: schema version record: %v (%x)", ErrCorrupt, s.path, err, clip(raw))
	}
	if ver := binary.BigEndian.Uint32(v); ver != SchemaVersion {
		return fmt.Errorf("%w: %s has schema %d, this build reads %d", ErrSchema, s.path, ver, SchemaVersion)
	}
	for _, b := range [][]byte{bucketEpochs, bucketState, bucketLog, bucketQuarantine} {
		if tx.Bucket(b) == nil {
			return fmt.Errorf("%w: %s: bucket %q missing", ErrCorrupt, s.path, b)
		}
	}
	if raw := meta.Get(metaName); raw != nil {
		_, name, err := unframe(idMeta, metaName, 0, raw)
		if err != nil {
			return fmt.Errorf("%w: %s: name record: %v", ErrCorrupt, s.path, err)
		}
		s.name = string(name)
	}
	return nil
}

// writeMarker records that a store exists in dir, after the database file
// it names is durable, so a later missing or emptied file is noticed.
func writeMarker(dir, path string) error {
	if err := os.WriteFile(path, []byte("converge store, schema "+strconv.Itoa(SchemaVersion)+"\n"), 0o600); err != nil {
		return fmt.Errorf("store: writing %s: %w", path, err)
	}
	f, err := os.Open(path)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("store: syncing %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// readEpochs loads the epoch history. A damaged entry is quarantined.
func (s *Store) readEpochs() error {
	var bad []badRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEpochs).ForEach(func(k, v []byte) error {
			e, err := decodeEpoch(k, v)
			if err != nil {
				bad = append(bad, badRecord{bucket: bucketEpochs, key: bytes.Clone(k), raw: bytes.Clone(v), reason: err.Error()})
				return nil
			}
			s.epochs = append(s.epochs, e)
			return nil
		})
	})
	if err != nil {
		return err
	}
	s.found, err = s.quarantine(bad)
	return err
}

func decodeEpoch(k, v []byte) (Epoch, error) {
	if len(k) != 8 {
		return Epoch{}, fmt.Errorf("%w: epoch key %x", ErrBadRecord, clip(k))
	}
	_, p, err := unframe(idEpochs, k, binary.BigEndian.Uint64(k), v)
	if err != nil {
		return Epoch{}, err
	}
	if len(p) < 16 {
		return Epoch{}, fmt.Errorf("%w: epoch record of %d bytes", ErrBadRecord, len(p))
	}
	return Epoch{
		Epoch:   binary.BigEndian.Uint64(p),
		Started: time.Unix(0, int64(binary.BigEndian.Uint64(p[8:]))),
		Name:    string(p[16:]),
	}, nil
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Path returns the bbolt file's path.
func (s *Store) Path() string { return s.path }

// Name returns the node name the store was last opened under ("" if none).
func (s *Store) Name() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.name
}

// Epochs returns every epoch started on this directory, oldest first.
func (s *Store) Epochs() []Epoch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Epoch(nil), s.epochs...)
}

// BeginEpoch records, durably, that name starts epoch now. It fails if the
// epoch was ever started here (the caller draws another).
func (s *Store) BeginEpoch(name string, epoch uint64, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, e := range s.epochs {
		if e.Epoch == epoch {
			return fmt.Errorf("store: %s: epoch %d was already started on %v", s.path, epoch, e.Started)
		}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEpochs)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		k := binary.BigEndian.AppendUint64(nil, seq)
		p := binary.BigEndian.AppendUint64(nil, epoch)
		p = binary.BigEndian.AppendUint64(p, uint64(now.UnixNano()))
		p = append(p, name...)
		if err := b.Put(k, frame(idEpochs, k, seq, 0, p)); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaName, frame(idMeta, metaName, 0, 0, []byte(name)))
	})
	if err != nil {
		return fmt.Errorf("store: %s: recording epoch: %w", s.path, err)
	}
	s.name = name
	s.epochs = append(s.epochs, Epoch{Name: name, Epoch: epoch, Started: now})
	return nil
}

// Size returns the size of the bbolt file in bytes.
func (s *Store) Size() (int64, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Close closes the database and releases the directory's lock.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.compact()
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	if uerr := unlockDir(s.lock); err == nil {
		err = uerr
	}
	return err
}

// compact rewrites the file without its free pages when they are at least
// half as many as the pages in use (bbolt never shrinks a file: pages freed by folds stay
// in it for reuse). It copies into converge.db.compact, syncs it, and
// renames it over the database, so a crash leaves one whole file or the
// other. Close calls it.
func (s *Store) compact() error {
	used, free := s.pages()
	if used+free < 1<<20 || 2*free < used {
		return nil
	}
	tmp := s.path + compactSuffix
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{NoSync: true, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("store: compacting %s: %w", s.path, err)
	}
	err = bolt.Compact(dst, s.db, 64<<20)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("store: compacting %s: %w", s.path, err)
	}
	return nil
}

// pages returns the bytes of the pages in use and of the free pages below
// the file's high-water mark (the file itself is larger: bbolt grows it
// ahead in steps).
func (s *Store) pages() (used, free int64) {
	st := s.db.Stats()
	free = int64(st.FreePageN+st.PendingPageN) * int64(s.db.Info().PageSize)
	var hwm int64
	_ = s.db.View(func(tx *bolt.Tx) error { hwm = tx.Size(); return nil })
	return hwm - free, free
}

// Usage reports the bytes of bbolt pages holding data (Used) and of free
// pages (Free) below the high-water mark, and the file's size.
func (s *Store) Usage() (used, free, file int64) {
	used, free = s.pages()
	file, _ = s.Size()
	return used, free, file
}

// compactSuffix names the copy compact writes; Open removes a leftover.
const compactSuffix = ".compact"

// describe names a record in errors and logs.
func describe(path string, bucket []byte, key string, seq uint64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %q", path, bucket, key)
	if seq != 0 {
		fmt.Fprintf(&b, " seq %d", seq)
	}
	return b.String()
}
