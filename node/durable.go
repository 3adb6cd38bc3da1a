package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/node/store"
)

// durable is a node's data directory: the store and its group committer.
type durable struct {
	st          *store.Store
	g           *store.Group
	writeBehind bool
	quarantined []store.Quarantined // found at Open; never changed after
	past        []store.Epoch       // epochs started before this Open
}

// diskKnobs are settings for tests and benchmarks of the store.
type diskKnobs struct {
	noSync   bool // skip fsync: measure everything but the disk
	maxBatch int  // ops per commit (1: one fsync per update)
}

// openDisk opens the data directory, loads every object into n and starts
// the committer. It runs in Open before the gossip layer starts. The name
// stored in the directory is adopted when Config.Name is empty; the epoch
// is always new (see the package doc, Identity).
func (n *Node) openDisk(nameGiven bool) error {
	s := n.cfg
	st, err := store.Open(s.dataDir, store.Options{NoSync: s.disk.noSync})
	if err != nil {
		return fmt.Errorf("node: data directory: %w", err)
	}
	d := &durable{st: st, writeBehind: s.writeBehind > 0, past: st.Epochs()}
	if !nameGiven && st.Name() != "" && checkName(st.Name()) == nil {
		s.name = st.Name()
	}
	for d.usedEpoch(s.epoch) {
		if s.epoch, err = newEpoch(); err != nil {
			st.Close()
			return fmt.Errorf("node: choosing an epoch: %w", err)
		}
	}
	s.replica = replicaID(s.name, s.epoch)
	s.gossip.Origin.Name, s.gossip.Origin.Epoch = s.name, s.epoch
	n.log = s.logger.With("node", s.name)

	start := time.Now()
	info, sizes, err := n.load(d)
	if err == nil {
		// Durable before the first update can carry the epoch anywhere.
		err = st.BeginEpoch(s.name, s.epoch, time.Now())
	}
	if err != nil {
		st.Close()
		return fmt.Errorf("node: data directory %s: %w", s.dataDir, err)
	}
	for _, q := range d.quarantined {
		n.log.Error("quarantined a damaged record of the data directory; its key starts from what peers send",
			"file", st.Path(), "record", q.String())
	}
	d.g = store.NewGroup(st, store.GroupConfig{
		Snapshot:      n.snapshot,
		MaxBatch:      s.disk.maxBatch,
		WriteBehind:   s.writeBehind,
		FlushInterval: s.persistEvery,
	}, info.MaxSeq)
	for k, sz := range sizes {
		d.g.Track(k, sz[0], sz[1])
	}
	d.g.Start()
	n.disk = d
	n.log.Info("loaded data directory", "dir", s.dataDir, "keys", info.Keys,
		"quarantined", len(d.quarantined), "past_epochs", len(d.past), "took", time.Since(start))
	return nil
}

func (d *durable) usedEpoch(e uint64) bool {
	for _, p := range d.past {
		if p.Epoch == e {
			return true
		}
	}
	return false
}

// load reads every key of the store into n.objects. A record that fails its
// frame check was quarantined by the store; a key whose type is unknown or
// whose bytes do not decode is quarantined here, whole. sizes holds each
// loaded key's snapshot and log bytes.
func (n *Node) load(d *durable) (info store.LoadInfo, sizes map[string][2]int, err error) {
	sizes = make(map[string][2]int)
	bad := make(map[string]string)
	wall := n.cfg.clock.Now().UnixNano()
	info, err = d.st.Load(func(r store.Record) error {
		v, o, gen, err := n.decodeRecord(r)
		if err != nil {
			bad[r.Key] = err.Error()
			return nil
		}
		if m, ok := v.(*rawMap); ok {
			// Stamp later local writes after every loaded entry; a stamp
			// too far ahead leaves the clock where it is (lwwWriteLocked
			// then reports a lost write rather than hide it).
			_, _ = n.hlc.Observe(m.MaxStamp(), wall)
		}
		logBytes := 0
		for _, dl := range r.Deltas {
			logBytes += len(dl.Data)
		}
		// A join encodes to at most the sum of its parts plus headers
		// (see sizelimit.go).
		bound := len(r.Snapshot) + logBytes + growthSlack*(1+len(r.Deltas))
		obj := &object{key: r.Key, ops: o, val: v, bound: bound, gen: gen}
		n.addedLocked(obj, false, "") // the node's own now, whoever sent it first
		n.chargeLocked(obj, bound)
		n.objects[r.Key] = obj
		n.markDirtyLocked(obj)
		sizes[r.Key] = [2]int{r.SnapBytes, logBytes}
		return nil
	})
	if err != nil {
		return info, nil, err
	}
	d.quarantined = info.Quarantined
	for key, reason := range bad {
		q, err := d.st.Quarantine(key, reason)
		if err != nil {
			return info, nil, err
		}
		d.quarantined = append(d.quarantined, q...)
	}
	n.keys, n.rootDirty = nil, true
	return info, sizes, nil
}

// decodeRecord decodes a key's snapshot and joins its deltas into it.
func (n *Node) decodeRecord(r store.Record) (any, typeOps, keyGen, error) {
	var gen keyGen
	o := n.cfg.types[crdt.TypeTag(r.Tag)]
	if o == nil {
		return nil, nil, gen, fmt.Errorf("%w: tag %d (register the type in Config.Types)", ErrUnknownType, r.Tag)
	}
	var v any
	decode := func(what string, tag uint16, b []byte) (any, error) {
		g, b, err := unwrapGen(b) // a deleted key's generation (see Delete)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrDecode, what, err)
		}
		switch c := g.compare(gen); {
		case c > 0:
			gen, v = g, o.zero() // a delete: what came before goes
		case c < 0:
			return o.zero(), nil // from before a delete: nothing
		}
		if got, _, err := crdt.PeekTag(b); err != nil || got != crdt.TypeTag(tag) || tag != r.Tag {
			return nil, fmt.Errorf("%w: %s: a record tagged %d, of a key tagged %d, holds bytes tagged %d (%v)", ErrDecode, what, tag, r.Tag, got, err)
		}
		v, err := o.decode(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return v, nil
	}
	v = o.zero()
	if r.Snapshot != nil {
		x, err := decode("snapshot", r.Tag, r.Snapshot)
		if err != nil {
			return nil, nil, gen, err
		}
		o.merge(v, x)
	}
	for _, dl := range r.Deltas {
		x, err := decode(fmt.Sprintf("log entry %d", dl.Seq), dl.Tag, dl.Data)
		if err != nil {
			return nil, nil, gen, err
		}
		o.merge(v, x)
	}
	return v, o, gen, nil
}

// snapshot captures key's whole state for the store (see store.Snapshotter).
func (n *Node) snapshot(key string) (store.Op, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	obj := n.objects[key]
	if obj == nil {
		return store.Op{}, false
	}
	b, err := n.encodeObjLocked(obj)
	if err != nil {
		n.log.Error("encoding object for the data directory", "key", key, "type", obj.ops.name(), "err", err)
		return store.Op{}, false
	}
	if obj.dirty {
		n.refreshLocked(key, obj, b)
	}
	return store.Op{Kind: store.OpPut, Key: key, Tag: uint16(obj.ops.tag()), Seq: n.disk.g.Seq(), Data: b}, true
}

// commitLocked is the durability seam: with a data directory it queues the
// delta for the next group commit and returns the ticket that update waits
// on, after unlocking, before the delta is published. Without one the state
// lives in memory only and there is nothing to do.
//
// A small state (at most smallState bytes) is written whole instead: one
// record per key, overwritten in place, is cheaper for bbolt than a log
// entry now and a fold later, and the encoding costs little more than the
// delta's.
func (n *Node) commitLocked(key string, tag crdt.TypeTag, delta []byte) *store.Ticket {
	if n.disk == nil {
		return nil
	}
	if obj := n.objects[key]; obj != nil && obj.bound <= smallState {
		if enc, err := n.encodeObjLocked(obj); err == nil {
			n.refreshLocked(key, obj, enc)
			obj.bound = len(enc)
			return n.disk.g.Enqueue(store.Op{Kind: store.OpPut, Key: key, Tag: uint16(tag), Seq: n.disk.g.Seq(), Data: enc})
		}
	}
	return n.disk.g.Enqueue(store.Op{Kind: store.OpAppend, Key: key, Tag: uint16(tag), Data: delta})
}

// smallState is the size up to which a local update writes the key's
// whole state rather than a delta.
const smallState = 1024

// awaitCommit waits until t's commit is durable: always, unless the node
// writes behind and the queue is short.
func (n *Node) awaitCommit(t *store.Ticket) error {
	if t == nil || n.disk.writeBehind && !t.MustWait {
		return nil
	}
	if err := t.Wait(); err != nil {
		return fmt.Errorf("%w: %w", ErrPersist, err)
	}
	return nil
}

// persistMergedLocked notes that key changed by a merge; the committer
// snapshots it within Config.PersistInterval.
func (n *Node) persistMergedLocked(key string) {
	if n.disk != nil {
		n.disk.g.MarkDirty(key)
	}
}

// persistDeletedLocked removes key from the data directory at the next
// commit (its snapshot and every log entry queued so far), for a caller
// that has just removed it from n.objects. A tombstone that must outlive
// the key is a state of its own: put it with persistMergedLocked on the
// key that holds it. It does not wait for the commit.
func (n *Node) persistDeletedLocked(key string) {
	if n.disk != nil {
		n.disk.g.Enqueue(store.Op{Kind: store.OpDelete, Key: key, Seq: n.disk.g.Seq()})
	}
}

// closeDisk commits everything, snapshots every changed key and closes
// the store. Close calls it once no update or merge can start.
func (n *Node) closeDisk() error {
	if n.disk == nil {
		return nil
	}
	return errors.Join(n.disk.g.Close(), n.disk.st.Close())
}

// Sync commits everything queued and writes the state merged from peers
// now, rather than within Config.PersistInterval, and returns once it is
// durable. Without a data directory it does nothing.
func (n *Node) Sync(ctx context.Context) error {
	if n.disk == nil {
		return nil
	}
	if n.isClosed() {
		return ErrClosed
	}
	done := make(chan error, 1)
	go func() { done <- n.disk.g.Flush() }() // ends with the next commit, at Close at the latest
	select {
	case err := <-done:
		if errors.Is(err, store.ErrClosed) {
			return ErrClosed
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrPersist, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Quarantined returns the records of the data directory that Open found
// damaged and moved to the store's quarantine bucket (kept there, with the
// reason; their keys start empty and are refilled by peers). Nil without a
// data directory.
func (n *Node) Quarantined() []store.Quarantined {
	if n.disk == nil {
		return nil
	}
	return append([]store.Quarantined(nil), n.disk.quarantined...)
}

// PastEpochs returns the epochs started on the data directory before this
// Open, oldest first. None of them will ever issue another update, so their
// entries in CRDT state are retired identities. Nil without a data
// directory.
func (n *Node) PastEpochs() []store.Epoch {
	if n.disk == nil {
		return nil
	}
	return append([]store.Epoch(nil), n.disk.past...)
}
