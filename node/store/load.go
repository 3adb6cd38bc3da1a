package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Record is one key's state on disk: its snapshot (nil if it has only log
// entries) and the deltas appended since, oldest first. The state is their
// join. Tags are checked by the caller against the payloads.
type Record struct {
	Key       string
	Tag       uint16 // the snapshot's, or else the first delta's
	Snapshot  []byte
	SnapBytes int // framed size of the snapshot record
	Deltas    []Delta
}

// Delta is one log entry of a key.
type Delta struct {
	Seq  uint64
	Tag  uint16
	Data []byte
}

// Quarantined is a record moved aside because it failed a check. It stays
// in the store's quarantine bucket for good: inspect it with Quarantined.
type Quarantined struct {
	At     time.Time
	Bucket string // where it was: "state", "log", "epochs"
	Key    string // the object's key (for "log" entries too)
	Seq    uint64 // the log entry's sequence number
	Reason string
	Raw    []byte // the record as it was on disk
}

// String names the record and the reason.
func (q Quarantined) String() string {
	return fmt.Sprintf("%s %q seq %d: %s", q.Bucket, q.Key, q.Seq, q.Reason)
}

// LoadInfo reports what Load found.
type LoadInfo struct {
	Keys        int
	MaxSeq      uint64        // the highest log sequence number on disk
	Quarantined []Quarantined // records that failed their frame checks now
}

// Load calls fn for every key with its record, in key order, and
// quarantines each record that fails its frame check (checksum, framing,
// key form), reporting it in LoadInfo. fn's slices are copies it may keep.
// An error from fn stops Load; fn reports a record it cannot use (a payload
// that does not decode) with Quarantine after Load returns.
func (s *Store) Load(fn func(Record) error) (info LoadInfo, err error) {
	var bad []badRecord
	defer catch(s.path, &err)
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	err = s.db.View(func(tx *bolt.Tx) error {
		logs := make(map[string][]Delta)
		err := tx.Bucket(bucketLog).ForEach(func(k, v []byte) error {
			key, seq, err := parseLogKey(k)
			if err == nil && key == "" {
				err = fmt.Errorf("%w: empty key", ErrBadRecord)
			}
			var tag uint16
			var p []byte
			if err == nil {
				tag, p, err = unframe(idLog, k, seq, v)
			}
			if err != nil {
				bad = append(bad, badRecord{bucket: bucketLog, key: bytes.Clone(k), objKey: key, seq: seq, raw: bytes.Clone(v), reason: err.Error()})
				return nil
			}
			info.MaxSeq = max(info.MaxSeq, seq)
			logs[key] = append(logs[key], Delta{Seq: seq, Tag: tag, Data: bytes.Clone(p)})
			return nil
		})
		if err != nil {
			return err
		}
		c := tx.Bucket(bucketState).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			tag, p, err := unframe(idState, k, 0, v)
			if err == nil && len(k) == 0 {
				err = fmt.Errorf("%w: empty key", ErrBadRecord)
			}
			if err != nil {
				bad = append(bad, badRecord{bucket: bucketState, key: bytes.Clone(k), objKey: string(k), raw: bytes.Clone(v), reason: err.Error()})
				continue
			}
			r := Record{Key: string(k), Tag: tag, Snapshot: bytes.Clone(p), SnapBytes: len(v), Deltas: logs[string(k)]}
			delete(logs, string(k))
			info.Keys++
			if err := fn(r); err != nil {
				return err
			}
		}
		// Keys with log entries only (created since the last snapshot).
		rest := make([]string, 0, len(logs))
		for k := range logs {
			rest = append(rest, k)
		}
		sort.Strings(rest)
		for _, k := range rest {
			info.Keys++
			if err := fn(Record{Key: k, Tag: logs[k][0].Tag, Deltas: logs[k]}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return info, err
	}
	info.Quarantined, err = s.quarantine(bad)
	s.mu.Lock()
	info.Quarantined = append(s.found, info.Quarantined...)
	s.found = nil
	s.mu.Unlock()
	return info, err
}

// Quarantine moves key's snapshot and all its log entries to the
// quarantine bucket with reason, because the caller cannot use them (they
// do not decode, or are of an unknown type). They are kept, never dropped.
func (s *Store) Quarantine(key, reason string) ([]Quarantined, error) {
	var bad []badRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketState).Get([]byte(key)); v != nil {
			bad = append(bad, badRecord{bucket: bucketState, key: []byte(key), objKey: key, raw: bytes.Clone(v), reason: reason})
		}
		prefix := logPrefix(key)
		c := tx.Bucket(bucketLog).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			_, seq, _ := parseLogKey(k)
			bad = append(bad, badRecord{bucket: bucketLog, key: bytes.Clone(k), objKey: key, seq: seq, raw: bytes.Clone(v), reason: reason})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.quarantine(bad)
}

// badRecord is a record on its way to the quarantine bucket.
type badRecord struct {
	bucket []byte
	key    []byte // the bbolt key
	objKey string
	seq    uint64
	raw    []byte
	reason string
}

// quarantine moves bad records into the quarantine bucket in one
// transaction.
func (s *Store) quarantine(bad []badRecord) ([]Quarantined, error) {
	if len(bad) == 0 {
		return nil, nil
	}
	now := time.Now()
	out := make([]Quarantined, 0, len(bad))
	err := s.db.Update(func(tx *bolt.Tx) error {
		q := tx.Bucket(bucketQuarantine)
		for _, r := range bad {
			n, err := q.NextSequence()
			if err != nil {
				return err
			}
			k := binary.BigEndian.AppendUint64(nil, n)
			if err := q.Put(k, encodeQuarantined(now, r)); err != nil {
				return err
			}
			if err := tx.Bucket(r.bucket).Delete(r.key); err != nil {
				return err
			}
			out = append(out, Quarantined{At: now, Bucket: string(r.bucket), Key: r.objKey, Seq: r.seq, Reason: r.reason, Raw: r.raw})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s: quarantining %d records: %w", s.path, len(bad), err)
	}
	return out, nil
}

// encodeQuarantined: unix nanos (8), seq (8), then uvarint-prefixed bucket,
// key, reason, and the raw record to the end.
func encodeQuarantined(at time.Time, r badRecord) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, r.seq)
	for _, f := range [][]byte{r.bucket, []byte(r.objKey), []byte(r.reason)} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return append(b, r.raw...)
}

func decodeQuarantined(b []byte) (Quarantined, error) {
	if len(b) < 16 {
		return Quarantined{}, errors.New("short")
	}
	q := Quarantined{At: time.Unix(0, int64(binary.BigEndian.Uint64(b))), Seq: binary.BigEndian.Uint64(b[8:])}
	b = b[16:]
	var fields [3]string
	for i := range fields {
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w) {
			return Quarantined{}, errors.New("malformed")
		}
		fields[i] = string(b[w : w+int(n)])
		b = b[w+int(n):]
	}
	q.Bucket, q.Key, q.Reason, q.Raw = fields[0], fields[1], fields[2], bytes.Clone(b)
	return q, nil
}

// Quarantined lists every record ever quarantined in this store, oldest
// first.
func (s *Store) Quarantined() ([]Quarantined, error) {
	var out []Quarantined
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketQuarantine).ForEach(func(k, v []byte) error {
			q, err := decodeQuarantined(v)
			if err != nil {
				q = Quarantined{Bucket: "?", Reason: "unreadable quarantine entry: " + err.Error(), Raw: bytes.Clone(v)}
			}
			out = append(out, q)
			return nil
		})
	})
	return out, err
}
