package node

import "time"

// Status is a snapshot of a node, for humans and monitoring. It marshals to
// JSON with snake_case names throughout; epochs, digests and sequence
// numbers, which use all 64 bits and would be rounded by JavaScript's
// numbers, are written as decimal strings. Counters stay numbers (they
// would need 2^53 events to round).
type Status struct {
	Name      string         `json:"name"`
	Epoch     uint64         `json:"epoch,string"`
	ReplicaID string         `json:"replica_id"`
	Addr      string         `json:"addr,omitempty"`
	Closed    bool           `json:"closed"`
	Ready     Readiness      `json:"readiness"`
	Root      uint64         `json:"root_digest,string"`
	Seq       uint64         `json:"seq,string"` // see Node.Seq
	Members   []Member       `json:"members"`
	Objects   []ObjectStatus `json:"objects"`
	Counters  Counters       `json:"counters"`
	Gossip    *GossipStatus  `json:"gossip,omitempty"`
	QueueLen  int            `json:"gossip_queue_len"`
}

// ObjectStatus describes one object.
type ObjectStatus struct {
	Key     string    `json:"key"`
	Type    string    `json:"type"`
	Tag     uint16    `json:"tag"`
	Size    int       `json:"size"`          // encoded size in bytes
	Digest  uint64    `json:"digest,string"` // FNV-64a of the encoding
	Seq     uint64    `json:"seq,string"`    // sequence number of the last change (see Event.Seq)
	Changed time.Time `json:"changed"`       // time of the last change; zero if none
}

// Counters are the node's own counters. They only grow.
type Counters struct {
	Updates          uint64 `json:"updates"`            // local updates applied
	Merged           uint64 `json:"merged"`             // received blobs that changed state
	MergedNoop       uint64 `json:"merged_noop"`        // received blobs that changed nothing
	Duplicates       uint64 `json:"duplicates"`         // received blobs seen before, dropped undecoded
	DecodeErrors     uint64 `json:"decode_errors"`      // received blobs that failed to decode
	TypeMismatches   uint64 `json:"type_mismatches"`    // received blobs of another type than their key
	UnknownTypes     uint64 `json:"unknown_types"`      // received blobs of an unregistered type
	PublishErrors    uint64 `json:"publish_errors"`     // deltas the gossip layer refused
	ClockSkews       uint64 `json:"clock_skews"`        // received LWW-Map blobs stamped too far ahead of our clock
	ObjectLimitDrops uint64 `json:"object_limit_drops"` // received blobs for new keys beyond Config.MaxObjects
	IdentityClaims   uint64 `json:"identity_claims"`    // received blobs claiming updates in our name we never made
	ByteLimitDrops   uint64 `json:"byte_limit_drops"`   // received blobs beyond the peers' part of Config.MaxBytes
	OriginShareDrops uint64 `json:"origin_share_drops"` // received blobs for new keys beyond their origin's share
	Prunes           uint64 `json:"prunes"`             // departed replicas folded out of an object (one per object and replica)
	Expired          uint64 `json:"expired"`            // idle keys deleted after Config.ExpireAfter
}

// Counters returns the node's counters.
func (n *Node) Counters() Counters {
	m := &n.metrics
	return Counters{
		Updates:          m.updates.Load(),
		Merged:           m.merged.Load(),
		MergedNoop:       m.mergedNoop.Load(),
		Duplicates:       m.duplicates.Load(),
		DecodeErrors:     m.decodeErrors.Load(),
		TypeMismatches:   m.typeMismatches.Load(),
		UnknownTypes:     m.unknownTypes.Load(),
		PublishErrors:    m.publishErrors.Load(),
		ClockSkews:       m.clockSkews.Load(),
		ObjectLimitDrops: m.objectLimit.Load(),
		IdentityClaims:   m.identityClaims.Load(),
		ByteLimitDrops:   m.byteLimit.Load(),
		OriginShareDrops: m.originShare.Load(),
		Prunes:           m.prunes.Load(),
		Expired:          m.expired.Load(),
	}
}

// Status returns a snapshot of the node.
func (n *Node) Status() Status {
	root, keys := (*replica)(n).Digests()
	st := Status{
		Name:      n.cfg.name,
		Epoch:     n.cfg.epoch,
		ReplicaID: string(n.cfg.replica),
		Addr:      n.Addr(),
		Closed:    n.isClosed(),
		Ready:     n.Readiness(),
		Root:      root,
		Members:   n.Members(),
		Counters:  n.Counters(),
		QueueLen:  n.QueueLen(),
	}
	n.mu.Lock()
	st.Seq = n.seq
	st.Objects = make([]ObjectStatus, 0, len(keys))
	for _, kd := range keys {
		obj := n.objects[kd.Key]
		if obj == nil {
			continue // removed? objects are never removed; be safe
		}
		st.Objects = append(st.Objects, ObjectStatus{
			Key: kd.Key, Type: obj.ops.name(), Tag: uint16(obj.ops.tag()),
			Size: obj.size, Digest: kd.Digest, Seq: obj.seq, Changed: obj.changed,
		})
	}
	n.mu.Unlock()
	if n.net != nil {
		st.Gossip = &GossipStatus{Stats: n.net.Stats()}
	}
	return st
}
