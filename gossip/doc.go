// Package gossip replicates keyed state between processes over
// hashicorp/memberlist.
//
// gossip moves opaque blobs. It never sees a CRDT type: a Replica (the node
// package's, or a test fake) lists keys with digests, encodes a key's state,
// merges a received blob and reports whether that changed anything, and
// joins two deltas for a key into one. Because merges are joins in a
// semilattice (Shapiro et al. 2011; Almeida, Shoker, Baquero 2018: delta-state
// CRDTs), duplicated, reordered or re-sent blobs are harmless, which is what
// lets every mechanism below be best-effort.
//
// By default (Config.Dissemination = DisseminateDirect) a published delta
// joins a batch that the publisher itself sends to every member, once:
// deltas published within BatchWindow (or until a packet is full) leave
// together, deltas of one key joined; members acknowledge batches; the
// publisher resends a batch only to members that have not acked it, after
// an adaptive timeout, and gives up after RetransmitAttempts, leaving the
// rest to anti-entropy. Nobody forwards, so without loss every member
// receives each update exactly once (the direct-send floor), one hop after
// the write. DisseminateEpidemic is the older mode, kept for comparison and
// mixed clusters; three mechanisms carry updates there (anti-entropy in
// both modes):
//
//   - Push. Publish sends a local delta at once to a few random peers
//     (PushFanout, about ln N + 2; one UDP packet each). A peer whose state
//     the delta changed pushes it on to as many others. A delta that
//     changes nothing stops there: novelty is the stop signal, so
//     forwarding needs no sequence numbers.
//   - Broadcast. The delta is also queued as a memberlist broadcast,
//     piggybacked on memberlist's gossip packets and retransmitted
//     RetransmitMult*log(N+1) times. memberlist does not forward user
//     broadcasts, so receivers that learned something queue it again.
//     Queued deltas for one key are joined into one. A delta larger than a
//     packet (memberlist silently never sends an oversize broadcast) goes
//     instead from its publisher to every member over TCP streams, and is
//     not forwarded, so each member receives it once.
//   - Anti-entropy. Every AntiEntropyInterval a node sends its root digest
//     to a random peer; if the roots differ they exchange per-key digests
//     (first narrowed by 256 bucket digests when there are many keys) and
//     each asks for the keys it lacks or holds differently. A Replica that
//     is a DigestSource (node.Node is) reports changed keys instead, and
//     gossip keeps a digest tree from them: idle rounds cost O(1), and
//     replicas descend the tree to the d keys that differ, O(d) digests. Equal replicas
//     pay one small packet per round. A round is a session the peer must
//     prove it takes part in (a nonce and a token echoed from its own
//     address), each of its requests is answered once, and roots carry
//     increasing stamps: a member cannot make a node send state to another
//     member (a reply to an unproven request is one packet about the
//     request's size), and replayed traffic costs nothing. States larger
//     than a stream message are chunked and reassembled before they are
//     merged, so a single key can exceed memberlist's 20 MiB limit.
//
// A rejoin loop re-dials seeds and members that were seen but are missing
// from the view (unless they said they left: a leave wins over older or
// equal-epoch news in any order), with a jittered backoff and a few
// addresses per round, so partitions longer than memberlist's
// GossipToTheDeadTime heal and groups that formed apart merge. Encryption (SecretKey)
// and a cluster label (Label) are memberlist's own.
//
// On top of these, Deliver, Fetch and Confirm (request.go) ask the live
// peers directly and wait for enough answers: merge this delta and
// acknowledge it, send me your state of a key, do you already cover this
// delta. They carry the consistency levels of package node. Subscribe
// (events.go) delivers membership changes with the view they follow.
//
// Every message starts with a versioned header carrying the sender's Origin
// (name and epoch), since memberlist does not say who sent a message. All
// decoding is bounded by the bytes received; bad input is counted in Stats,
// logged, and dropped.
//
// memberlist callbacks never block: received bytes are copied into a bounded
// queue served by one worker goroutine, which decodes them and hands each
// blob to a pool of MergeWorkers goroutines that call Replica.Merge: one
// key's blobs in order and one at a time, different keys in parallel, so a
// large state does not hold up small updates of other keys. Reliable
// sends run on a few sender goroutines (one for anti-entropy replies, so
// they never wait behind a state transfer). Close waits for all of them.
//
// # Hostile members
//
// With a SecretKey, a host without the key can do nothing (memberlist drops
// what does not decrypt). A member with the key can write wrong values
// under its own name, but what it can make a node do is bounded (figures
// from the tests named; "before" is the code before issue 9):
//
//   - Amplification. State is sent only to a member that proved, in the
//     session of an anti-entropy round, that it is the member it names;
//     a want is answered once, for keys offered in that session, each once
//     (session.go). A want naming another member and listing a 100 KB key
//     100 times: 900x its size before, nothing now (TestWantReflection);
//     spoofed roots: 780x before, 1.0x now (TestSpoofedRootReflection).
//   - Replays. Captured traffic replayed five times, key or no key: 2800x
//     before, nothing now: sessions are one-shot and roots carry
//     increasing stamps (TestReplayCostsNothing).
//   - Want-squatting. A want left unanswered goes to another peer, and the
//     key is not asked of the squatter for ten want lifetimes (wants.go):
//     a batch of 100 keys held off 18-45 s before, 0.9-2.8 s now
//     (TestWantSquatting).
//   - Chunked transfers. Chunks are accepted from current members only,
//     each with reserved slots, charged for the memory they hold, at least
//     256 bytes each (chunk.go): a slot flood starved an honest transfer
//     for as long as it went on, now 0.8 s (TestChunkSlotsStarvation);
//     1-byte chunks held 5.4x the reassembly budget, now refused, and the
//     smallest allowed hold 0.64x (TestReassemblyChargesMemoryHeld).
//   - Inbound streams. At most MaxInboundStreams open, MaxInboundStreamsPerHost
//     from one host, and a read must progress within half of TCPTimeout
//     (inbound.go): 12 stalled 18-byte streams declaring 5 MiB held 60 MiB
//     until TCPTimeout before; 19 MiB (4 per host) for half of it now
//     (TestStalledStreamsAreCapped).
//   - Large states. MaxBlob defaults to 64 MiB, the blobs decoded at once
//     total at most MergeBytes, and a key's merge holds up only that key
//     (a 10 s merge delayed another key's update 19.96 s before, 10 ms
//     now: TestSlowKeyDoesNotStallOthers).
//
// The gossiptest package has a fake Replica and in-memory, lossy and
// partitionable transports for tests and benchmarks.
package gossip
