// Package store keeps a node's CRDT states in a data directory, on bbolt
// (go.etcd.io/bbolt): one file, copy-on-write B+tree pages, a single
// writer, and a commit that is durable (fdatasync) when Update returns.
// Package node uses it when Config.DataDir is set; it deals in opaque
// encoded states and knows nothing of CRDT types.
//
// # Layout
//
// A data directory holds
//
//	LOCK            flock'ed while a process has the store open; holds its pid
//	converge.store  marker written once the store exists (schema version)
//	converge.db     the bbolt file
//
// The bbolt file has these buckets:
//
//	meta        "schema" (the layout version, SchemaVersion) and "name"
//	epochs      every epoch ever started on this directory, in order
//	state       key -> the key's snapshot: its whole state, encoded
//	log         (key, seq) -> a delta appended since the key's snapshot
//	quarantine  records that failed their checks, kept with the reason
//
// Every record is framed: a frame version, the type tag, a CRC-32C over
// (bucket, key, seq, tag, payload) and the payload. A key's state on disk is
// its snapshot joined with its log entries; Group folds the log into a new
// snapshot once the log outgrows the snapshot, so the store's size follows
// live state, not history.
//
// # Damage
//
// Open refuses a store it cannot trust as a whole (ErrCorrupt, ErrSchema,
// ErrMissing) with an error naming the file: a foreign or torn file, a
// truncated one, a newer schema, a marker without its database. A single
// record that fails its checks is quarantined by Load: moved to the
// quarantine bucket with the reason (never dropped), and reported. The
// caller (package node) starts a new epoch on every open anyway, so a key
// that lost a record never reissues an update identity.
package store
