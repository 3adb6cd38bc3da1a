package gossip

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Config configures a Gossip. Start from DefaultConfig; New fills zero
// durations, depths and sizes with the defaults below and rejects negative
// ones. New never mutates the Config or the memberlist.Config it points to.
type Config struct {
	// Origin identifies this replica. Origin.Name is also the memberlist
	// node name and must be unique in the cluster; Origin.Epoch travels in
	// every message header and in the node metadata (Member.Epoch).
	Origin Origin

	// BindAddr and BindPort are where memberlist listens (UDP and TCP).
	// An empty BindAddr means 127.0.0.1; BindPort 0 picks a free port.
	// Ignored when Transport is set.
	BindAddr string
	BindPort int

	// AdvertiseAddr and AdvertisePort are the address peers use to reach
	// this node, if it differs from the bind address (NAT, containers).
	// Empty/0 means the bind address.
	AdvertiseAddr string
	AdvertisePort int

	// Join lists seed addresses ("host:port" or "name/host:port"). They are
	// joined in the background at start, and again by the rejoin loop
	// whenever no live member has their address (so groups that formed
	// apart merge), unless a member that left was there.
	Join []string

	// SecretKey enables memberlist encryption (AES-GCM) with this key of
	// 16, 24 or 32 bytes. Nodes without the same key can neither join nor
	// inject messages. Nil disables encryption.
	SecretKey []byte

	// Label is memberlist's cluster label: packets and streams with another
	// label are dropped. Empty means no label.
	Label string

	// Memberlist is a base memberlist config for tuning (timings, retransmit
	// multiplier, ...). Nil means memberlist.DefaultLANConfig() with
	// DeadNodeReclaimTime = DefaultDeadNodeReclaimTime. It is
	// copied; the fields that this Config owns (name, addresses, transport,
	// delegates, logger, key, label) are overwritten in the copy.
	Memberlist *memberlist.Config

	// Transport replaces memberlist's UDP/TCP transport, for tests (an
	// in-memory network, a lossy or partitioned wrapper).
	Transport memberlist.NodeAwareTransport

	// Logger receives gossip's logs and memberlist's own log lines (at the
	// level memberlist tags them with). Nil discards both.
	Logger *slog.Logger

	// AntiEntropyInterval is the time between anti-entropy rounds with one
	// random peer. A round costs one small packet when states agree.
	AntiEntropyInterval time.Duration

	// PushFanout is how many random peers a new delta is pushed to at
	// once, by the publisher and by every node that learned from it. 0
	// (the default) means automatic: ceil(ln N)+2 for N members, at least
	// MinPushFanout. Each node pushes a delta once, so a node is missed by
	// all pushes with probability about e^-fanout; with ln N + 2 the
	// expected number of nodes left to the broadcast tick is e^-2 whatever
	// N is. Measured on 32 nodes: fanout 3 converges in p50 185 ms (most
	// updates miss a node and wait for a gossip tick), fanout 6 in 9 ms.
	PushFanout int

	// Dissemination chooses how a published delta reaches the members:
	// DisseminateDirect (the zero value) sends it from the publisher to
	// every member, batched and acknowledged; DisseminateEpidemic pushes
	// it to PushFanout random peers, each of which forwards it if it was
	// new, and queues it as a memberlist broadcast. Every node receives
	// both kinds, so modes can be mixed in one cluster.
	Dissemination Dissemination

	// BatchWindow (direct dissemination) is how long deltas published
	// after a batch left wait for more before they leave together (and
	// how long acks wait for a batch to ride on). The first delta after a
	// quiet window leaves at once. A full packet leaves at once too.
	BatchWindow time.Duration

	// RetransmitTimeout (direct dissemination) is the least time before
	// a batch that a member has not acknowledged is sent to it again; the
	// timeout follows the measured ack round trip above it, and doubles
	// from the fifth retransmission on. RetransmitAttempts is how many
	// times a batch is resent before the member is left to anti-entropy.
	RetransmitTimeout  time.Duration
	RetransmitAttempts int

	// RejoinInterval is the time between checks for seeds and members
	// that were seen but are no longer in the view (members that said they
	// left excepted); their last addresses are re-dialled, so partitions
	// longer than memberlist's GossipToTheDeadTime heal. Each round dials
	// at most 3 addresses; an address that failed waits 1, 2, 4, then 8
	// intervals (jittered by ±25%) before the next try.
	RejoinInterval time.Duration

	// InboundQueueDepth and InboundQueueBytes bound the received messages
	// waiting for the worker. Messages that do not fit are dropped and
	// counted (anti-entropy repairs the loss).
	InboundQueueDepth int
	InboundQueueBytes int64

	// SendQueueDepth bounds reliable sends waiting for a sender goroutine
	// (state transfers and large deltas; small anti-entropy replies have a
	// queue of the same depth and a goroutine of their own). SendWorkers is
	// how many goroutines send state.
	SendQueueDepth int
	SendWorkers    int

	// MaxInboundStreams and MaxInboundStreamsPerHost bound the streams
	// peers may have open to this node at once, in all and from one host
	// (IP address); more are closed at once (Stats.RefusedStreams) and
	// their senders retry. memberlist allocates what a stream's header
	// declares (up to 20 MiB) before the data arrives, so these bound the
	// memory stalled streams can hold; a stream that sends nothing for
	// half of memberlist's TCPTimeout is cut. Nodes sharing a host (a
	// loopback cluster) share its limit.
	MaxInboundStreams        int
	MaxInboundStreamsPerHost int

	// MergeWorkers is how many goroutines merge received blobs into the
	// Replica. Blobs of one key are merged one at a time, in order of
	// arrival; blobs of different keys in parallel, so a large state that
	// takes long to decode and merge does not hold up updates of other
	// keys. The Replica must allow concurrent Merge calls for different
	// keys (see Replica).
	MergeWorkers int

	// MergeBytes bounds the bytes of the blobs being merged at once (a
	// blob over it is merged alone). Decoding takes memory in proportion
	// to a blob's size, up to about ten times for large sets, so this
	// bounds what merges in progress hold. Zero means twice MaxBlob, so a
	// largest state leaves room for small updates beside it.
	MergeBytes int64

	// MaxBlob is the largest message (including one reassembled from
	// chunks) this node sends or accepts. A single key's state must fit.
	// The default, 64 MiB, is a quarter of the node package's default
	// byte budget (node.DefaultMaxBytes): decoding a large set takes up to
	// about ten times its encoded size, and 256 MiB states would take
	// gigabytes each (and over a minute: a 68 MiB set of 1 M elements took
	// 18.6 s and 870 MiB to decode and merge).
	MaxBlob int

	// MaxReassemblyBytes bounds the bytes held by incomplete chunked
	// transfers; a transfer that would exceed it is dropped.
	MaxReassemblyBytes int64

	// ChunkSize is the largest stream message; bigger ones are split into
	// chunks and reassembled before use. It must stay well under
	// memberlist's 20 MiB stream limit.
	ChunkSize int

	// TransferTimeout drops a chunked transfer that did not complete this
	// long after its first chunk, however its chunks keep coming, and then
	// lets the key it was delivering be requested from another peer. It
	// must allow the largest state (MaxBlob) to cross the slowest link.
	TransferTimeout time.Duration

	// LeaveTimeout bounds how long Close waits for the leave message to be
	// gossiped.
	LeaveTimeout time.Duration

	// RequestRetry is how long a request of Deliver, Fetch or Confirm
	// waits for its reply before it is sent again (under a new ID); each
	// retry to the same peer waits twice as long, up to 16 times this.
	RequestRetry time.Duration
}

// Defaults used by DefaultConfig and for zero fields.
const (
	DefaultAntiEntropyInterval = time.Second
	MinPushFanout              = 3
	DefaultRejoinInterval      = 10 * time.Second
	DefaultInboundQueueDepth   = 1024
	DefaultInboundQueueBytes   = 512 << 20
	DefaultSendQueueDepth      = 256
	DefaultSendWorkers         = 2
	DefaultMergeWorkers        = 4
	DefaultMaxInboundStreams   = 64
	DefaultMaxInboundPerHost   = 16
	DefaultMaxBlob             = 64 << 20
	DefaultMaxReassemblyBytes  = 128 << 20
	DefaultChunkSize           = 4 << 20
	DefaultTransferTimeout     = 30 * time.Second
	DefaultLeaveTimeout        = time.Second
	DefaultBatchWindow         = 2 * time.Millisecond
	DefaultRetransmitTimeout   = 20 * time.Millisecond
	DefaultRetransmitAttempts  = 8
	DefaultRequestRetry        = 50 * time.Millisecond

	// maxStreamMsg is memberlist's limit on a received stream user
	// message (maxUserMsgBytes in net.go).
	maxStreamMsg = 20 << 20
)

// DefaultConfig returns a config for a node named name on loopback, on a free
// port, with memberlist's LAN timings.
func DefaultConfig(name string) Config {
	return Config{
		Origin:              Origin{Name: name},
		BindAddr:            "127.0.0.1",
		Memberlist:          defaultMemberlist(),
		AntiEntropyInterval: DefaultAntiEntropyInterval,
		RejoinInterval:      DefaultRejoinInterval,
		InboundQueueDepth:   DefaultInboundQueueDepth,
		InboundQueueBytes:   DefaultInboundQueueBytes,
		SendQueueDepth:      DefaultSendQueueDepth,
		SendWorkers:         DefaultSendWorkers,
		MergeWorkers:        DefaultMergeWorkers,

		MaxInboundStreams:        DefaultMaxInboundStreams,
		MaxInboundStreamsPerHost: DefaultMaxInboundPerHost,
		MaxBlob:                  DefaultMaxBlob,
		MaxReassemblyBytes:       DefaultMaxReassemblyBytes,
		ChunkSize:                DefaultChunkSize,
		TransferTimeout:          DefaultTransferTimeout,
		LeaveTimeout:             DefaultLeaveTimeout,
		BatchWindow:              DefaultBatchWindow,
		RetransmitTimeout:        DefaultRetransmitTimeout,
		RetransmitAttempts:       DefaultRetransmitAttempts,
		RequestRetry:             DefaultRequestRetry,
	}
}

// DefaultDeadNodeReclaimTime is how long after a node was declared dead its
// name may rejoin from another address (memberlist's DeadNodeReclaimTime,
// which defaults to never: a process restarted on a new port would be
// rejected as a conflict until memberlist forgets the dead node).
const DefaultDeadNodeReclaimTime = time.Second

// defaultMemberlist is memberlist's LAN config with DeadNodeReclaimTime set.
func defaultMemberlist() *memberlist.Config {
	mc := memberlist.DefaultLANConfig()
	mc.DeadNodeReclaimTime = DefaultDeadNodeReclaimTime
	return mc
}

// normalize returns a copy with defaults filled in, or an error naming the
// first invalid field.
func (c Config) normalize() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return c, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	if c.Origin.Name == "" {
		return bad("Origin.Name is empty")
	}
	if len(c.Origin.Name) > maxNameLen {
		return bad("Origin.Name is %d bytes, limit %d", len(c.Origin.Name), maxNameLen)
	}
	if c.BindPort < 0 || c.BindPort > 65535 || c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		return bad("port out of range")
	}
	switch len(c.SecretKey) {
	case 0, 16, 24, 32:
	default:
		return bad("SecretKey is %d bytes, want 16, 24 or 32", len(c.SecretKey))
	}
	if len(c.Label) > 255 {
		return bad("Label is %d bytes, limit 255", len(c.Label))
	}
	if c.BindAddr == "" {
		c.BindAddr = "127.0.0.1"
	}
	durations := []struct {
		name string
		p    *time.Duration
		def  time.Duration
	}{
		{"AntiEntropyInterval", &c.AntiEntropyInterval, DefaultAntiEntropyInterval},
		{"RejoinInterval", &c.RejoinInterval, DefaultRejoinInterval},
		{"TransferTimeout", &c.TransferTimeout, DefaultTransferTimeout},
		{"LeaveTimeout", &c.LeaveTimeout, DefaultLeaveTimeout},
		{"BatchWindow", &c.BatchWindow, DefaultBatchWindow},
		{"RetransmitTimeout", &c.RetransmitTimeout, DefaultRetransmitTimeout},
		{"RequestRetry", &c.RequestRetry, DefaultRequestRetry},
	}
	for _, d := range durations {
		if *d.p < 0 {
			return bad("%s is negative", d.name)
		}
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	ints := []struct {
		name string
		p    *int
		def  int
	}{
		{"InboundQueueDepth", &c.InboundQueueDepth, DefaultInboundQueueDepth},
		{"SendQueueDepth", &c.SendQueueDepth, DefaultSendQueueDepth},
		{"SendWorkers", &c.SendWorkers, DefaultSendWorkers},
		{"MergeWorkers", &c.MergeWorkers, DefaultMergeWorkers},
		{"MaxInboundStreams", &c.MaxInboundStreams, DefaultMaxInboundStreams},
		{"MaxInboundStreamsPerHost", &c.MaxInboundStreamsPerHost, DefaultMaxInboundPerHost},
		{"MaxBlob", &c.MaxBlob, DefaultMaxBlob},
		{"ChunkSize", &c.ChunkSize, DefaultChunkSize},
		{"RetransmitAttempts", &c.RetransmitAttempts, DefaultRetransmitAttempts},
	}
	for _, d := range ints {
		if *d.p < 0 {
			return bad("%s is negative", d.name)
		}
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	if c.Dissemination > maxDissemination {
		return bad("Dissemination %d unknown", c.Dissemination)
	}
	if c.PushFanout < 0 {
		return bad("PushFanout is negative")
	}
	if c.MergeBytes < 0 {
		return bad("MergeBytes is negative")
	}
	if c.MergeBytes == 0 {
		c.MergeBytes = 2 * int64(c.MaxBlob)
	}
	if c.InboundQueueBytes < 0 || c.MaxReassemblyBytes < 0 {
		return bad("InboundQueueBytes or MaxReassemblyBytes is negative")
	}
	if c.InboundQueueBytes == 0 {
		c.InboundQueueBytes = DefaultInboundQueueBytes
	}
	if c.MaxReassemblyBytes == 0 {
		c.MaxReassemblyBytes = DefaultMaxReassemblyBytes
	}
	if c.ChunkSize < 1024 || c.ChunkSize > maxStreamMsg/2 {
		return bad("ChunkSize %d not in [1 KiB, %d]", c.ChunkSize, maxStreamMsg/2)
	}
	if c.MaxReassemblyBytes < int64(c.MaxBlob) {
		return bad("MaxReassemblyBytes %d below MaxBlob %d", c.MaxReassemblyBytes, c.MaxBlob)
	}
	c.Join = append([]string(nil), c.Join...)
	c.SecretKey = append([]byte(nil), c.SecretKey...)
	if len(c.SecretKey) == 0 {
		c.SecretKey = nil
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// memberlistConfig builds the memberlist config: a copy of the base with the
// fields this package owns set.
func (c Config) memberlistConfig(d *delegate) *memberlist.Config {
	var mc memberlist.Config
	if c.Memberlist != nil {
		mc = *c.Memberlist
	} else {
		mc = *defaultMemberlist()
	}
	mc.Name = c.Origin.Name
	mc.BindAddr = c.BindAddr
	mc.BindPort = c.BindPort
	mc.AdvertiseAddr = c.AdvertiseAddr
	mc.AdvertisePort = c.AdvertisePort
	if c.Transport != nil {
		mc.Transport = c.Transport
	}
	if c.SecretKey != nil {
		// memberlist would add the key to a Keyring we were given, which
		// belongs to the caller; let it build its own from SecretKey.
		mc.SecretKey = c.SecretKey
		mc.Keyring = nil
	}
	mc.Label = c.Label
	mc.Delegate = d
	mc.Events = (*eventDelegate)(d)
	mc.Conflict = (*conflictDelegate)(d)
	mc.LogOutput = nil
	mc.Logger = log.New(&slogWriter{l: c.Logger.With("component", "memberlist"), handoffDrops: &d.stats.handoffDropped, formation: &d.stats.formation}, "", 0)
	return &mc
}

// slogWriter turns memberlist's "[LEVEL] memberlist: msg" lines into slog
// records, so its output goes where the user's logs go. It also counts the
// messages memberlist drops when its handoff queue is full, which memberlist
// reports only in its log.
type slogWriter struct {
	l            *slog.Logger
	handoffDrops *atomic.Uint64
	formation    *formationCounters // counts key and label mismatches memberlist logs
}

// handoffDropLine is how memberlist (net.go, v0.7.0) logs a message dropped
// because HandoffQueueDepth was reached.
const handoffDropLine = "handler queue full, dropping message"

func (w *slogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	level := slog.LevelInfo
	for _, lv := range []struct {
		tag   string
		level slog.Level
	}{
		{"[DEBUG]", slog.LevelDebug}, {"[INFO]", slog.LevelInfo},
		{"[WARN]", slog.LevelWarn}, {"[ERR]", slog.LevelError}, {"[ERROR]", slog.LevelError},
	} {
		if rest, ok := strings.CutPrefix(line, lv.tag); ok {
			level, line = lv.level, strings.TrimSpace(rest)
			break
		}
	}
	line = strings.TrimPrefix(line, "memberlist: ")
	if w.handoffDrops != nil && strings.HasPrefix(line, handoffDropLine) {
		w.handoffDrops.Add(1)
	}
	if w.formation != nil {
		w.formation.classify(line)
	}
	w.l.Log(context.Background(), level, line)
	return len(p), nil
}

var _ io.Writer = (*slogWriter)(nil)

// netTransport builds memberlist's default UDP/TCP transport for mc, as
// memberlist.Create would (memberlist.go, newMemberlist, v0.7.0): gossip
// wraps it (streamTransport), so it must build it itself. A dynamic port
// (BindPort 0) is retried a few times, since binding UDP and TCP to the same
// free port races, and is written back to mc.BindPort and mc.AdvertisePort.
func netTransport(mc *memberlist.Config) (*memberlist.NetTransport, error) {
	nc := &memberlist.NetTransportConfig{
		BindAddrs:    []string{mc.BindAddr},
		BindPort:     mc.BindPort,
		Logger:       mc.Logger,
		MetricLabels: mc.MetricLabels,
	}
	tries := 1
	if mc.BindPort == 0 {
		tries = 10
	}
	var err error
	for range tries {
		var nt *memberlist.NetTransport
		if nt, err = memberlist.NewNetTransport(nc); err == nil {
			if mc.BindPort == 0 {
				mc.BindPort = nt.GetAutoBindPort()
				mc.AdvertisePort = mc.BindPort
			}
			return nt, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("gossip: set up network transport: %w", err)
}
