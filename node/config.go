package node

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/gossip"
)

// Config configures a Node. The zero Config is a usable single replica held
// in memory, with no networking. DefaultConfig returns one that binds a
// free port on loopback (set Join to reach other nodes). Open validates the
// Config and never changes it.
type Config struct {
	// Name identifies the node in the cluster (memberlist node name) and
	// prefixes its replica ID. It must be unique among live nodes, at most
	// MaxNameLen bytes of printable UTF-8 without '~'. Empty means the
	// host name followed by a random suffix.
	Name string

	// BindAddr is the "host:port" the node listens on (UDP and TCP); port 0
	// picks a free port. Empty disables networking unless Gossip.Transport
	// is set (an in-memory test network), in which case the transport
	// decides the addresses.
	BindAddr string

	// AdvertiseAddr is the "host:port" peers use to reach this node, if it
	// differs from BindAddr (NAT, containers). Empty means BindAddr.
	AdvertiseAddr string

	// Join lists "host:port" addresses of nodes to join at Open. They are
	// joined in the background and re-dialled (backing off) whenever no
	// live member answers at them, so Open does not fail when they are not
	// up yet and groups that formed apart merge; use WaitMembers to wait
	// for the cluster.
	Join []string

	// SecretKey enables encryption (AES-GCM) with a key of 16, 24 or 32
	// bytes. Nodes without the same key can neither join nor inject state.
	// Without a key, anyone who can reach BindAddr can join and inject
	// state (any object, any value); Open logs a warning when BindAddr is
	// not a loopback address and SecretKey is empty.
	SecretKey []byte

	// Label is a cluster label: traffic with another label is dropped.
	Label string

	// Logger receives the node's logs. Nil means slog.Default() at WARN
	// and above: warnings (a listener open to the network without a key, a
	// seed that does not answer, a name conflict, a key or label mismatch,
	// a dropped peer blob) need a person to act, and a node that starts
	// silent on a misconfiguration runs alone while looking healthy. Pass
	// slog.New(slog.DiscardHandler) for silence. The gossip layer logs to
	// Gossip.Logger if set, else to this logger.
	Logger *slog.Logger

	// ReadyMembers is the member count (this node included) at which the
	// node reports ready (see Readiness). Zero means 2 when Join is set
	// (ready once a seed answered) and 1 otherwise (alone by design).
	ReadyMembers int

	// Clock is the wall clock behind LWW-Map timestamps. Nil means the
	// system clock.
	Clock Clock

	// MaxObjects bounds the number of objects (keys) the node holds, so a
	// peer cannot exhaust its memory by sending blobs for ever new keys.
	// Beyond it, a received blob for a new key is dropped (counted in
	// Counters.ObjectLimitDrops and logged at most once a minute) and a
	// handle for a new key fails with ErrTooManyObjects. Zero means
	// DefaultMaxObjects; negative is invalid.
	MaxObjects int

	// MaxBytes bounds the bytes the objects' encodings take (an upper
	// bound, exact after each anti-entropy digest refresh; the heap holds
	// a small multiple of it, up to about ten times for large sets).
	// Beyond it a local write fails with ErrTooManyBytes. Zero means
	// DefaultMaxBytes; negative is invalid.
	//
	// Blobs from peers may create and grow objects only up to 90% of
	// MaxObjects and MaxBytes: the rest is reserved for local keys and
	// writes, so a flood from peers never stops this node writing. The
	// objects that one peer's blobs create (by the origin in the message
	// header; names that are not current members count as one) may take
	// at most half of the peers' part. A blob beyond
	// these is dropped and counted (ObjectLimitDrops, ByteLimitDrops,
	// OriginShareDrops); the node then stays behind on that key.
	MaxBytes int64

	// Types registers user-defined CRDT types (see TypeOf). Tags must be
	// unique and at least crdt.FirstUserTag, and so must the Go types
	// (Object[T] finds the registration by T), built-in ones included.
	Types []Type

	// DataDir, if set, makes the node durable: its objects live in a
	// store (bbolt) in this directory, created if missing, and are loaded
	// at Open. Only one process can open a directory at a time. Every
	// Open starts a new epoch, whatever the directory holds (see the
	// package doc, Identity). Empty means in memory only.
	DataDir string

	// WriteBehind chooses how local updates reach DataDir. Zero (the
	// default): an update is committed (fsync) before its call returns
	// and before its delta leaves the process; concurrent updates share
	// one commit. Positive: an update returns, and its delta leaves, at
	// once, and it is committed within about WriteBehind; a crash loses
	// the local updates of that last interval although their calls
	// succeeded (peers that received their deltas keep them; no identity
	// is reused, since the next Open starts a new epoch). Negative is
	// invalid.
	WriteBehind time.Duration

	// PersistInterval is how often state merged from peers is written to
	// DataDir. A crash loses at most this interval's merged state, which
	// anti-entropy brings back from the peers. Zero means one second.
	PersistInterval time.Duration

	// PruneAfter is how long a replica ID that is not a live member must
	// stay away before every object is pruned of it (see crdt.Pruner): a
	// member that left, or failed and did not come back. An older epoch of
	// a live name is pruned within seconds. Zero means DefaultPruneAfter;
	// negative disables pruning and collection.
	PruneAfter time.Duration

	// ExpireAfter, if positive, deletes (see Node.Delete) every key that
	// has not changed for that long, on every node. Each node measures the
	// inactivity with its own clock (a duration since the last change it
	// saw, a write or a merge), so clock skew between nodes does not make a
	// key expire early; the delete itself is stamped by the node's hybrid
	// logical clock, like any delete. Like a delete, an expiry wins over an
	// update it has not seen: a write made behind a partition, on a side
	// that the expiring node cannot reach, is lost when the partition
	// heals. A node that is not ready (see Readiness: alone, or short of
	// Config.ReadyMembers) expires nothing, so a node cut off from the
	// cluster does not delete what the others keep writing. Zero means
	// never; negative is invalid. Every node of a cluster should use the
	// same value.
	ExpireAfter time.Duration

	// PruneHorizon is how long prune records, LWW-Map tombstones and
	// deleted keys are kept before they are collected. A node that was cut
	// off from the cluster for longer than this, and still holds entries of
	// a pruned replica or a deleted key, brings them back when it returns:
	// it must be longer than any partition the cluster tolerates, and than
	// the clock skew between nodes. Zero means DefaultPruneHorizon;
	// negative is invalid.
	PruneHorizon time.Duration

	// Gossip tunes the gossip layer (anti-entropy interval, push fanout,
	// queue sizes, the nested memberlist config, a test transport). Nil
	// means DefaultGossipConfig. The fields this Config owns (origin,
	// addresses, join list, key, label) are overwritten in a copy.
	Gossip *gossip.Config

	disk diskKnobs // set by this package's tests and benchmarks only
}

// DefaultMaxObjects is the object limit when Config.MaxObjects is zero.
const DefaultMaxObjects = 100_000

// DefaultMaxBytes is the byte budget when Config.MaxBytes is zero.
const DefaultMaxBytes = 256 << 20

// MaxNameLen bounds Config.Name. A replica ID is the name, '~' and the epoch.
const MaxNameLen = 200

// Clock is a source of wall-clock time (an interface so tests can inject
// one).
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// DefaultConfig returns a config for a node on loopback (127.0.0.1, a free
// port) with DefaultGossipConfig. Set Join to reach the other nodes.
func DefaultConfig() Config {
	g := DefaultGossipConfig()
	return Config{BindAddr: "127.0.0.1:0", Gossip: &g}
}

// DefaultGossipConfig returns gossip.DefaultConfig with memberlist's LAN
// timings and its packet compression turned off. Deltas are small msgpack
// values that LZW barely shrinks, and memberlist allocates a fresh
// compressor (about 32 KiB) for every packet it compresses: with
// compression on, a 5-node loopback cluster spent most of its update time
// in garbage collection and managed half its nominal update rate.
func DefaultGossipConfig() gossip.Config {
	g := gossip.DefaultConfig("")
	if g.Memberlist != nil {
		mc := *g.Memberlist
		mc.EnableCompression = false
		g.Memberlist = &mc
	}
	return g
}

// settings is a validated, defaulted copy of a Config.
type settings struct {
	name      string
	epoch     uint64
	replica   crdt.ReplicaID
	logger    *slog.Logger
	clock     Clock
	types     map[crdt.TypeTag]typeOps
	networked bool
	gossip    gossip.Config

	maxObjects   int
	maxBytes     int64
	pruneAfter   time.Duration // negative: pruning off
	pruneHorizon time.Duration
	expireAfter  time.Duration
	insecureNet  bool // reachable beyond loopback without a SecretKey
	readyMembers int  // members needed to be ready
	seeds        int  // len(Config.Join)

	dataDir      string
	writeBehind  time.Duration
	persistEvery time.Duration
	disk         diskKnobs // tests and benchmarks only
}

// validate checks cfg and returns its settings. It never mutates cfg.
func (cfg *Config) validate() (*settings, error) {
	bad := func(format string, args ...any) (*settings, error) {
		return nil, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	s := &settings{name: cfg.Name, logger: cfg.Logger, clock: cfg.Clock}
	if s.name == "" {
		s.name = defaultName()
	}
	if err := checkName(s.name); err != nil {
		return bad("Name: %v", err)
	}
	epoch, err := newEpoch()
	if err != nil {
		return nil, fmt.Errorf("node: choosing an epoch: %w", err)
	}
	s.epoch = epoch
	s.replica = replicaID(s.name, epoch)
	if s.logger == nil {
		s.logger = slog.New(warnOnly{slog.Default().Handler()})
	}
	if s.clock == nil {
		s.clock = systemClock{}
	}

	switch {
	case cfg.ReadyMembers < 0:
		return bad("ReadyMembers is %d, want 0 (default) or more", cfg.ReadyMembers)
	case cfg.ReadyMembers > 0:
		s.readyMembers = cfg.ReadyMembers
	case len(cfg.Join) > 0:
		s.readyMembers = 2
	default:
		s.readyMembers = 1
	}
	s.seeds = len(cfg.Join)

	switch {
	case cfg.MaxObjects < 0:
		return bad("MaxObjects is %d, want 0 (default) or more", cfg.MaxObjects)
	case cfg.MaxObjects == 0:
		s.maxObjects = DefaultMaxObjects
	default:
		s.maxObjects = cfg.MaxObjects
	}
	switch {
	case cfg.MaxBytes < 0:
		return bad("MaxBytes is %d, want 0 (default) or more", cfg.MaxBytes)
	case cfg.MaxBytes == 0:
		s.maxBytes = DefaultMaxBytes
	default:
		s.maxBytes = cfg.MaxBytes
	}

	if cfg.WriteBehind < 0 || cfg.PersistInterval < 0 {
		return bad("WriteBehind (%v) and PersistInterval (%v) must not be negative", cfg.WriteBehind, cfg.PersistInterval)
	}
	s.dataDir, s.writeBehind, s.persistEvery, s.disk = cfg.DataDir, cfg.WriteBehind, cfg.PersistInterval, cfg.disk

	switch {
	case cfg.PruneAfter == 0:
		s.pruneAfter = DefaultPruneAfter
	default:
		s.pruneAfter = cfg.PruneAfter
	}
	if cfg.ExpireAfter < 0 {
		return bad("ExpireAfter is %v, want 0 (never) or more", cfg.ExpireAfter)
	}
	s.expireAfter = cfg.ExpireAfter
	switch {
	case cfg.PruneHorizon < 0:
		return bad("PruneHorizon is %v, want 0 (default) or more", cfg.PruneHorizon)
	case cfg.PruneHorizon == 0:
		s.pruneHorizon = DefaultPruneHorizon
	default:
		s.pruneHorizon = cfg.PruneHorizon
	}

	s.types = builtinTypes()
	for i, t := range cfg.Types {
		if t.ops == nil {
			return bad("Types[%d]: zero Type (use TypeOf)", i)
		}
		if t.ops.tag() < crdt.FirstUserTag {
			return bad("Types[%d]: %s: tag %d is reserved for built-in types (use %d or above)", i, t.ops.name(), t.ops.tag(), crdt.FirstUserTag)
		}
		if prev, dup := s.types[t.ops.tag()]; dup {
			return bad("Types[%d]: %s: tag %d already used by %s", i, t.ops.name(), t.ops.tag(), prev.name())
		}
		for _, prev := range s.types {
			if prev.goType() == t.ops.goType() {
				return bad("Types[%d]: Go type %s already registered with tag %d (Object[T] finds the registration by T)", i, t.ops.name(), prev.tag())
			}
		}
		if err := t.ops.check(); err != nil {
			return bad("Types[%d]: %v", i, err)
		}
		s.types[t.ops.tag()] = t.ops
	}

	if cfg.Gossip != nil {
		s.gossip = *cfg.Gossip
	} else {
		s.gossip = DefaultGossipConfig()
	}
	g := &s.gossip
	s.networked = cfg.BindAddr != "" || g.Transport != nil
	if !s.networked && len(cfg.Join) > 0 {
		return bad("Join needs BindAddr (or a Gossip.Transport)")
	}
	g.Origin = gossip.Origin{Name: s.name, Epoch: epoch}
	if cfg.BindAddr != "" {
		host, port, err := splitHostPort(cfg.BindAddr)
		if err != nil {
			return bad("BindAddr: %v", err)
		}
		g.BindAddr, g.BindPort = host, port
		s.insecureNet = len(cfg.SecretKey) == 0 && !isLoopback(host)
	}
	if cfg.AdvertiseAddr != "" {
		host, port, err := splitHostPort(cfg.AdvertiseAddr)
		if err != nil {
			return bad("AdvertiseAddr: %v", err)
		}
		g.AdvertiseAddr, g.AdvertisePort = host, port
	}
	for i, a := range cfg.Join {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return bad("Join[%d]: %v", i, err)
		}
	}
	g.Join = append([]string(nil), cfg.Join...)
	switch len(cfg.SecretKey) {
	case 0, 16, 24, 32:
	default:
		return bad("SecretKey is %d bytes, want 16, 24 or 32", len(cfg.SecretKey))
	}
	g.SecretKey = append([]byte(nil), cfg.SecretKey...)
	g.Label = cfg.Label
	if g.Logger == nil {
		g.Logger = s.logger.With("component", "gossip")
	}
	return s, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number in [0, 65535]", p)
	}
	return host, port, nil
}

// isLoopback reports whether host (from BindAddr) is a loopback address:
// "localhost" or a loopback IP. An empty host binds every interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkName(name string) error {
	if len(name) > MaxNameLen {
		return fmt.Errorf("%d bytes, limit %d", len(name), MaxNameLen)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%q is not valid UTF-8", name)
	}
	if strings.ContainsRune(name, replicaSep) {
		return fmt.Errorf("%q contains %q, which separates name and epoch", name, replicaSep)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%q contains a space or non-printable character", name)
		}
	}
	return nil
}

// replicaSep separates the name and the epoch in a replica ID.
const replicaSep = '~'

// replicaID is the ID that goes into dots and counter entries: name~epoch,
// with the epoch in base 36.
func replicaID(name string, epoch uint64) crdt.ReplicaID {
	return crdt.ReplicaID(name + string(replicaSep) + strconv.FormatUint(epoch, 36))
}

// newEpoch draws a random non-zero epoch, so a restarted process (which has
// lost its state) never reissues a (replica, counter) pair.
func newEpoch() (uint64, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		e := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
			uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
		if e != 0 {
			return e, nil
		}
	}
}

func defaultName() string {
	host, err := os.Hostname()
	if err != nil || checkName(host) != nil || host == "" {
		host = "node"
	}
	if len(host) > 64 {
		host = "node"
	}
	return host + "-" + strings.ToLower(rand.Text()[:6])
}
