package gossip

// Dissemination is a way of spreading published deltas (Config.Dissemination).
type Dissemination uint8

const (
	// DisseminateEpidemic pushes a delta to PushFanout random peers; every
	// node that learns something from it does the same and queues it as a
	// memberlist broadcast, retransmitted on gossip ticks. The novelty
	// rule stops it: a delta that changed nothing is not forwarded.
	DisseminateEpidemic Dissemination = 0

	maxDissemination = DisseminateEpidemic
)

// String names the mode.
func (d Dissemination) String() string {
	switch d {
	case DisseminateEpidemic:
		return "epidemic"
	}
	return "unknown"
}
