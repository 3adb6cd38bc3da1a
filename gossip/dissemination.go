package gossip

// Dissemination is a way of spreading published deltas (Config.Dissemination).
type Dissemination uint8

const (
	// DisseminateDirect (the default) has the publisher send each delta
	// to every member itself, batched with other deltas, acknowledged, and
	// retransmitted to the members that did not acknowledge it (see
	// direct.go). Receivers never forward: every member receives an update
	// once when nothing is lost.
	DisseminateDirect Dissemination = 0

	// DisseminateEpidemic (before direct dissemination, the only mode)
	// pushes a delta to PushFanout random peers; every node that learns
	// something from it does the same and queues it as a memberlist
	// broadcast, retransmitted on gossip ticks. The novelty rule stops it:
	// a delta that changed nothing is not forwarded. It costs about
	// fanout+retransmits messages per member per update.
	DisseminateEpidemic Dissemination = 1

	maxDissemination = DisseminateEpidemic
)

// String names the mode.
func (d Dissemination) String() string {
	switch d {
	case DisseminateDirect:
		return "direct"
	case DisseminateEpidemic:
		return "epidemic"
	}
	return "unknown"
}
