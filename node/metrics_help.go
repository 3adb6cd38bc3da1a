package node

// Help texts of the counters, by field name: what each one counts.
var nodeHelp = map[string]string{
	"Updates":          "Local updates applied (each changed state and shipped a delta).",
	"Merged":           "Blobs received from peers that changed local state.",
	"MergedNoop":       "Blobs received from peers that changed nothing (already known).",
	"Duplicates":       "Blobs received again shortly after an identical one, dropped undecoded.",
	"DecodeErrors":     "Blobs received from peers that failed to decode, dropped.",
	"TypeMismatches":   "Blobs received for a key bound to another type, dropped.",
	"UnknownTypes":     "Blobs received with a type tag not registered here, dropped.",
	"PublishErrors":    "Local deltas the gossip layer refused to send (anti-entropy carries the state).",
	"ClockSkews":       "LWW-Map blobs received stamped too far ahead of the local clock, dropped.",
	"ObjectLimitDrops": "Blobs received for new keys beyond the part of Config.MaxObjects peers may fill, dropped.",
	"IdentityClaims":   "Blobs received that claim updates in this replica's name it never made (forged, or a reused identity), dropped.",
	"ByteLimitDrops":   "Blobs received beyond the part of Config.MaxBytes peers may fill, dropped.",
	"OriginShareDrops": "Blobs received for new keys beyond their origin's share of the budgets, dropped.",
}

var gossipHelp = map[string]string{
	"DroppedInbound":   "Received messages dropped because the inbound queue was full (count or bytes).",
	"DroppedHandoff":   "Messages memberlist dropped because its handoff queue was full.",
	"DroppedSend":      "Reliable sends dropped because the send queue was full.",
	"SendErrors":       "Sends memberlist refused or that failed.",
	"OversizeRerouted": "Deltas over the packet budget sent over streams instead.",
	"DecodeErrors":     "Received messages that failed to decode.",
	"MergeErrors":      "Received blobs the replica refused to merge.",
	"DeltaJoinErrors":  "Queued deltas of one key that could not be joined into one (queued apart).",
	"Merged":           "Received blobs that changed local state.",
	"Forwarded":        "Deltas re-pushed to peers because they were new here.",
	"AERounds":         "Anti-entropy rounds started by this node.",
	"AERootsEqual":     "Anti-entropy root digests received that matched ours.",
	"KeysSent":         "Keys whose full state anti-entropy sent.",
	"KeysReceived":     "Keys whose full state anti-entropy received.",
	"TransfersDone":    "Chunked transfers reassembled.",
	"TransfersLost":    "Chunked transfers that expired or went over a limit.",
	"RejoinAttempts":   "Rejoin rounds (each tries one or more addresses).",
	"Rejoined":         "Nodes reached by rejoin rounds.",
	"JoinFailures":     "Join attempts to one address that reached no node (dead seed, wrong key or label).",
	"NameConflicts":    "Times another node claimed a member's name from another address.",
	"KeyMismatches":    "Packets and streams memberlist dropped: not decryptable with our SecretKey, or not encrypted like ours.",
	"LabelMismatches":  "Packets and streams memberlist dropped: another cluster Label.",
}
