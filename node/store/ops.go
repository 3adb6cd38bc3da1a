package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// OpKind says what an Op does. Values are not stored.
type OpKind uint8

const (
	// OpAppend appends Data as a delta of Key under sequence number Seq.
	OpAppend OpKind = iota + 1
	// OpPut replaces Key's snapshot with Data, the whole state, and drops
	// Key's log entries up to Seq, which the snapshot covers.
	OpPut
	// OpDelete removes Key's snapshot and its log entries up to Seq.
	// A deleted key's tombstone, if one is kept, is an OpPut of a
	// tombstone state.
	OpDelete
)

// Op is one change to the store.
type Op struct {
	Kind OpKind
	Key  string
	Tag  uint16 // the state's type tag, checked again at Load
	Seq  uint64 // OpAppend: the entry's; OpPut, OpDelete: the last one covered
	Data []byte
}

// Apply commits ops in one transaction (one fsync): all of them or none.
func (s *Store) Apply(ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		st, lg := tx.Bucket(bucketState), tx.Bucket(bucketLog)
		for _, op := range ops {
			if err := applyOp(st, lg, op); err != nil {
				return fmt.Errorf("%s: %w", describe(s.path, bucketState, op.Key, op.Seq), err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func applyOp(st, lg *bolt.Bucket, op Op) error {
	if op.Key == "" {
		return fmt.Errorf("empty key")
	}
	switch op.Kind {
	case OpAppend:
		k := logKey(op.Key, op.Seq)
		return lg.Put(k, frame(idLog, k, op.Seq, op.Tag, op.Data))
	case OpPut:
		if err := st.Put([]byte(op.Key), frame(idState, []byte(op.Key), 0, op.Tag, op.Data)); err != nil {
			return err
		}
		return dropLog(lg, op.Key, op.Seq)
	case OpDelete:
		if err := st.Delete([]byte(op.Key)); err != nil {
			return err
		}
		return dropLog(lg, op.Key, op.Seq)
	default:
		return fmt.Errorf("unknown op kind %d", op.Kind)
	}
}

// dropLog deletes key's log entries with a sequence number up to seq.
func dropLog(lg *bolt.Bucket, key string, seq uint64) error {
	prefix := logPrefix(key)
	c := lg.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); {
		_, s, err := parseLogKey(k)
		if err != nil || len(k) != len(prefix)+8 {
			// Another key whose length prefix and bytes start like ours
			// cannot exist (the length is part of the prefix); skip
			// anything malformed rather than delete it.
			k, _ = c.Next()
			continue
		}
		if s > seq {
			break
		}
		if err := c.Delete(); err != nil {
			return err
		}
		k, _ = c.Seek(prefix)
	}
	return nil
}
