// Package node is the replica an agent process embeds: named CRDT objects in
// memory, kept in sync with the other nodes of a cluster by gossip
// (package gossip, over hashicorp/memberlist), with no coordinator.
//
// Open a node with a Config (the zero Config is a single in-memory replica;
// DefaultConfig binds a free port on loopback; set Join to reach other
// nodes), then reach objects through
// typed handles:
//
//	n, err := node.Open(node.Config{Name: "agent-1", BindAddr: "0.0.0.0:7946", Join: peers})
//	tasks, err := node.GCounter(n, "tasks-done")
//	err = tasks.Inc(ctx, 1)
//	agents, err := node.ORSet[string](n, "agents")
//	claims, err := node.LWWMap[string, string](n, "claims")
//
// Updates take optional WriteOptions: WriteMajority(t), WriteTo(n, t) and
// WriteAll(t) wait until that many members merged the update (else a
// *LevelError counting them), and Track(&r) gives a Receipt for Reached.
// Each handle's Read(ctx, level) merges other members' state first, and
// MemberEvents streams membership changes (see levels.go and
// membership.go).
//
// # Model
//
// Every object is a state-based, delta-state CRDT (Shapiro et al. 2011;
// Almeida, Shoker, Baquero 2018) from package crdt, or a user type
// registered with TypeOf. A local update changes the object and produces a
// delta, which gossip spreads; a received delta or state is merged (the
// lattice join), so duplicated, reordered or retried messages never corrupt
// state and nodes that have seen the same updates hold Equal state.
// Anti-entropy compares digests of every key and repairs what broadcasts
// missed.
//
// A key is bound to one type: the first handle (or the first received blob)
// decides. Asking for it as another type fails with ErrTypeMismatch, and a
// received blob of another type is rejected, counted (Status) and logged,
// never merged.
//
// Sets and maps are stored type-erased, their elements, keys and values as
// msgpack bytes, so a node can hold and forward a key it has never been asked
// about. Handles convert at the call site; every node using a key must use
// the same Go types for it (or types with the same msgpack encoding), and a
// read that meets a value it cannot decode returns ErrDecode. Values are held
// in one canonical encoding (integers of every width in their shortest form,
// so int and int64 agree); a received blob holding another
// encoding is rejected like undecodable bytes.
//
// # Identity
//
// A node is (name, epoch). The epoch is drawn at random at every Open and
// the replica ID that goes into dots and counter entries is "name~epoch", so
// a process that restarts without its state never reissues an update
// identity, and the updates of the old and the new epoch both survive.
//
// # Threat model
//
// (a) With Config.SecretKey set, a host without the key can neither join,
// inject state nor make a node work: memberlist drops what does not
// decrypt. Without a key, anyone who reaches the port is a member.
//
// (b) A member that is faulty or compromised can write wrong values under
// its own identity (CRDTs have no signatures), but the node bounds what it
// can do to others:
//
//   - A blob claiming updates in this node's name that it never made (more
//     events of its replica ID than it issued, or an LWW-Map write stamped
//     after its last stamp) is refused with crdt.ErrIdentity, counted
//     (Counters.IdentityClaims) and logged at Error level. This also
//     catches two live nodes sharing an identity.
//   - Peers' blobs may fill at most 90% of Config.MaxObjects and of
//     Config.MaxBytes, the rest being kept for local keys and writes; the
//     objects one origin creates, at most half of that (see
//     Config.MaxBytes).
//   - A peer's LWW-Map stamps move the node's clock at most one second
//     ahead of its wall clock; stamps up to crdt.DefaultMaxSkew (a minute)
//     ahead are accepted, further ones refused (crdt.ErrClockSkew).
//   - Decoding and merging are bounded by package crdt (see its "Hostile
//     states"), the gossip layer bounds traffic (see package gossip).
//
// # Durability
//
// With Config.DataDir, objects live in a store (package node/store, on
// bbolt) and are loaded at Open. A local update is committed (fsync)
// before its call returns and before its delta leaves the process;
// concurrent updates share one commit (group commit). State merged from
// peers is written within Config.PersistInterval (a crash may lose that
// much of it; anti-entropy brings it back). Close writes everything.
// Config.WriteBehind trades the first promise for latency, and says what a
// crash then loses. A failed commit returns ErrPersist.
//
// Every Open starts a new epoch, with or without a data directory, and the
// directory records it before the first update. No case keeps an epoch,
// and that is what makes each one safe:
//
//   - kill -9 at any moment: updates not committed were never acknowledged
//     and never left the process (write-behind aside); the next Open issues
//     from a fresh epoch, so even a delta that left and was lost locally is
//     never reissued.
//   - a directory restored from an older backup, or copied to a second
//     host that runs at the same time: the directory cannot tell it is a
//     restored or duplicated copy (it looks exactly like one after a clean
//     stop), so keeping its epoch would reissue counters the cluster has
//     seen (Riak's kv679). A fresh random 64-bit epoch per Open never
//     collides (and is checked against the directory's history).
//   - a damaged record (quarantined) or a missing directory: the key or
//     the node starts empty under a fresh epoch and peers refill it.
//
// The price is one version-vector or counter entry per key written per
// start; PastEpochs lists the directory's retired epochs (none will issue
// again), which pruning can drop. A store that cannot be trusted as a
// whole (not a store, torn, truncated, a newer schema) is refused by Open
// with an error naming the file; a record that fails its checksum or does
// not decode is quarantined: kept aside with the reason, logged, listed by
// Quarantined, never silently dropped. Two processes never open one
// directory: the second gets store.ErrLocked naming the holder's pid.
//
// # Concurrency
//
// A Node is safe for concurrent use. One lock guards the objects; it is
// never held while calling the network or user callbacks (Watch). WaitFor
// waits for a condition on local state without polling; Close stops every
// goroutine the node started and waits for them.
package node
