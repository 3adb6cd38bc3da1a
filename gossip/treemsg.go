package gossip

import "encoding/binary"

// Wire form of the digest-tree messages (after the common header):
//
//	MsgTree         token    8 bytes, the round's session token
//	                level    byte, 1..treeDepth
//	                parents  uvarint count, then per parent its index at
//	                         level-1 (uvarint) and the treeFanout sums of its
//	                         children (8 bytes each)
//	MsgTreeDigests  leaves   uvarint count, then each leaf index (uvarint)
//	                digests  a MsgDigests body without scope: token, flags
//	                         (bit 0 final), count, then key and digest each

// treeMsg is a decoded MsgTree.
type treeMsg struct {
	Token   uint64
	Level   int
	Parents []uint32
	Sums    []uint64 // treeFanout per parent
}

// treeDigestsMsg is a decoded MsgTreeDigests: the sender's key digests in
// Leaves (all of them, or with Final those that differ from ours).
type treeDigestsMsg struct {
	Token  uint64
	Leaves []uint32
	Final  bool
	Keys   []KeyDigest
}

func appendTree(b []byte, from Origin, m treeMsg) []byte {
	b = appendHeader(b, MsgTree, from)
	b = binary.BigEndian.AppendUint64(b, m.Token)
	b = append(b, byte(m.Level))
	b = binary.AppendUvarint(b, uint64(len(m.Parents)))
	for i, p := range m.Parents {
		b = binary.AppendUvarint(b, uint64(p))
		for _, s := range m.Sums[i*treeFanout : (i+1)*treeFanout] {
			b = binary.BigEndian.AppendUint64(b, s)
		}
	}
	return b
}

func decodeTree(r *reader) (treeMsg, error) {
	var m treeMsg
	var err error
	if m.Token, err = r.u64("tree token"); err != nil {
		return m, err
	}
	level, err := r.byte("tree level")
	if err != nil {
		return m, err
	}
	if level < 1 || level > treeDepth {
		return m, r.errf("tree level: %d not in [1, %d]", level, treeDepth)
	}
	m.Level = int(level)
	width := uint64(1) << (4 * (m.Level - 1)) // nodes at level-1
	n, err := r.count("tree parents", 1+treeFanout*8)
	if err != nil {
		return m, err
	}
	if uint64(n) > width {
		return m, r.errf("tree parents: %d, level %d has %d", n, m.Level-1, width)
	}
	m.Parents = make([]uint32, n)
	m.Sums = make([]uint64, 0, n*treeFanout)
	for i := range m.Parents {
		p, err := r.uvarint("tree parent")
		if err != nil {
			return m, err
		}
		if p >= width {
			return m, r.errf("tree parent: %d not below %d", p, width)
		}
		m.Parents[i] = uint32(p)
		for range treeFanout {
			s, err := r.u64("tree sum")
			if err != nil {
				return m, err
			}
			m.Sums = append(m.Sums, s)
		}
	}
	return m, r.end("tree")
}

func appendTreeDigests(b []byte, from Origin, m treeDigestsMsg) []byte {
	b = appendHeader(b, MsgTreeDigests, from)
	b = binary.AppendUvarint(b, uint64(len(m.Leaves)))
	for _, l := range m.Leaves {
		b = binary.AppendUvarint(b, uint64(l))
	}
	// The rest is a MsgDigests body; appendDigests writes it after a
	// header of its own, which is cut off.
	d := appendDigests(nil, from, digestsMsg{Token: m.Token, Final: m.Final, Keys: m.Keys})
	return append(b, d[len(appendHeader(nil, MsgDigests, from)):]...)
}

func decodeTreeDigests(r *reader) (treeDigestsMsg, error) {
	var m treeDigestsMsg
	n, err := r.count("tree leaves", 1)
	if err != nil {
		return m, err
	}
	if n > numLeaves {
		return m, r.errf("tree leaves: %d over %d", n, numLeaves)
	}
	m.Leaves = make([]uint32, n)
	for i := range m.Leaves {
		l, err := r.uvarint("tree leaf")
		if err != nil {
			return m, err
		}
		if l >= numLeaves {
			return m, r.errf("tree leaf: %d not below %d", l, numLeaves)
		}
		m.Leaves[i] = uint32(l)
	}
	d, err := decodeDigests(r)
	if err != nil {
		return m, err
	}
	if d.Scope != nil {
		return m, r.errf("tree digests: unexpected bucket scope")
	}
	m.Token, m.Final, m.Keys = d.Token, d.Final, d.Keys
	return m, nil
}
