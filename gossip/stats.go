package gossip

import "sync/atomic"

// Traffic counts messages and payload bytes (gossip's own bytes, without
// memberlist's framing, encryption or labels).
type Traffic struct {
	Msgs  uint64
	Bytes uint64
}

// Stats is a snapshot of a Gossip's counters. All counters only grow.
type Stats struct {
	// Sent and Received count messages by type. A broadcast counts once
	// per transmission; a chunked message counts once per chunk (as
	// MsgChunk) and once when reassembled (as its own type, received only).
	Sent     map[MsgType]Traffic
	Received map[MsgType]Traffic

	DroppedInbound   uint64 // inbound queue full (count or bytes)
	DroppedHandoff   uint64 // dropped by memberlist: its HandoffQueueDepth reached
	DroppedSend      uint64 // reliable send queue full
	SendErrors       uint64 // memberlist refused or failed a send
	OversizeRerouted uint64 // deltas over the packet budget sent over streams
	DecodeErrors     uint64 // received bytes that failed to decode
	MergeErrors      uint64 // Replica.Merge returned an error
	DeltaJoinErrors  uint64 // Replica.Join of two queued deltas failed; they were queued apart
	Merged           uint64 // blobs merged that changed local state
	Forwarded        uint64 // deltas re-pushed because they were new here
	Retransmits      uint64 // batches resent to a member that had not acked them
	GaveUp           uint64 // batch copies given up unacked (left to anti-entropy)
	DuplicateBatches uint64 // batches received again (retransmitted), acked and not merged

	AERounds        uint64 // anti-entropy rounds started by this node
	AERootsEqual    uint64 // root digests received that matched ours
	KeysSent        uint64 // keys whose full state was sent by anti-entropy
	KeysReceived    uint64 // keys whose full state was received
	TransfersDone   uint64 // chunked transfers reassembled
	TransfersLost   uint64 // chunked transfers expired or over a limit
	RefusedRequests uint64 // anti-entropy messages outside any session: spoofed, replayed or expired
	WantsExpired    uint64 // peers that left requested keys unanswered (the keys go to other peers)
	RefusedStreams  uint64 // inbound streams closed over MaxInboundStreams(PerHost)
	RejoinAttempts  uint64 // rejoin tries (each with one or more addresses)
	Rejoined        uint64 // nodes reached by rejoin tries

	// Cluster formation problems, each also logged at WARN (see
	// formation.go).
	JoinFailures    uint64 // join or rejoin attempts to one address that reached no node
	NameConflicts   uint64 // another node claimed a member's name from another address
	KeyMismatches   uint64 // traffic memberlist dropped: not decryptable with our key, or encrypted unlike ours
	LabelMismatches uint64 // traffic memberlist dropped: another cluster label

	// Requests and replies of consistency levels (see request.go).
	Requests        uint64 // requests sent (Deliver, Fetch, Confirm), retries included
	RequestRetries  uint64 // requests sent again, unanswered after RequestRetry
	RequestsRefused uint64 // requests received from non-members, replayed, or over the per-peer cap
	RepliesBad      uint64 // replies refused: wrong sender or type, or a state that failed to merge
	RepliesStale    uint64 // replies to no outstanding request (late, duplicated or replayed)
}

// traffic is the atomic form of Traffic.
type traffic struct{ msgs, bytes atomic.Uint64 }

func (t *traffic) add(n int) {
	t.msgs.Add(1)
	t.bytes.Add(uint64(n))
}

// counters are updated from any goroutine, including memberlist callbacks.
type counters struct {
	sent, recv [numMsgTypes]traffic

	droppedInbound, droppedSend, sendErrors, oversize atomic.Uint64
	handoffDropped                                    atomic.Uint64
	decodeErrors, mergeErrors, joinErrors, merged     atomic.Uint64
	forwarded, aeRounds, aeEqual                      atomic.Uint64
	keysSent, keysRecv, transfersDone, transfersLost  atomic.Uint64
	rejoinAttempts, rejoined                          atomic.Uint64
	formation                                         formationCounters
	retransmits, gaveUp, duplicates                   atomic.Uint64
	refused, wantsExpired                             atomic.Uint64
	requests, requestRetries, requestsRefused         atomic.Uint64
	repliesBad, repliesStale                          atomic.Uint64
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Sent:             make(map[MsgType]Traffic),
		Received:         make(map[MsgType]Traffic),
		DroppedInbound:   c.droppedInbound.Load(),
		DroppedHandoff:   c.handoffDropped.Load(),
		DroppedSend:      c.droppedSend.Load(),
		SendErrors:       c.sendErrors.Load(),
		OversizeRerouted: c.oversize.Load(),
		DecodeErrors:     c.decodeErrors.Load(),
		MergeErrors:      c.mergeErrors.Load(),
		DeltaJoinErrors:  c.joinErrors.Load(),
		Merged:           c.merged.Load(),
		Forwarded:        c.forwarded.Load(),
		Retransmits:      c.retransmits.Load(),
		GaveUp:           c.gaveUp.Load(),
		DuplicateBatches: c.duplicates.Load(),
		AERounds:         c.aeRounds.Load(),
		AERootsEqual:     c.aeEqual.Load(),
		KeysSent:         c.keysSent.Load(),
		KeysReceived:     c.keysRecv.Load(),
		TransfersDone:    c.transfersDone.Load(),
		TransfersLost:    c.transfersLost.Load(),
		RefusedRequests:  c.refused.Load(),
		WantsExpired:     c.wantsExpired.Load(),
		RejoinAttempts:   c.rejoinAttempts.Load(),
		Rejoined:         c.rejoined.Load(),
		JoinFailures:     c.formation.joinFailures.Load(),
		NameConflicts:    c.formation.nameConflicts.Load(),
		KeyMismatches:    c.formation.keyMismatches.Load(),
		LabelMismatches:  c.formation.labelMismatches.Load(),
		Requests:         c.requests.Load(),
		RequestRetries:   c.requestRetries.Load(),
		RequestsRefused:  c.requestsRefused.Load(),
		RepliesBad:       c.repliesBad.Load(),
		RepliesStale:     c.repliesStale.Load(),
	}
	for t := MsgType(1); t < numMsgTypes; t++ {
		if n := c.sent[t].msgs.Load(); n > 0 {
			s.Sent[t] = Traffic{Msgs: n, Bytes: c.sent[t].bytes.Load()}
		}
		if n := c.recv[t].msgs.Load(); n > 0 {
			s.Received[t] = Traffic{Msgs: n, Bytes: c.recv[t].bytes.Load()}
		}
	}
	return s
}

// SentBytes sums the bytes sent over all types.
func (s Stats) SentBytes() uint64 {
	var n uint64
	for _, t := range s.Sent {
		n += t.Bytes
	}
	return n
}

// InboundLen returns the number of received messages waiting for the
// worker.
func (g *Gossip) InboundLen() int { return len(g.inbound) }
