package node

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/gossip"
	"github.com/converge-crdt/converge/node/store"
)

// Node is one replica: named CRDT objects held in memory, kept in sync with
// the other nodes of the cluster by gossip. Open one with Open, reach its
// objects through the typed handle functions (GCounter, PNCounter, ORSet,
// LWWMap, Object), and Close it when done. A Node is safe for concurrent use.
type Node struct {
	cfg  *settings
	log  *slog.Logger
	net  *gossip.Gossip // nil without networking; set once in Open
	disk *durable       // nil without Config.DataDir; set once in Open

	// mu guards the objects and everything derived from them. It is never
	// held while calling user callbacks, the gossip layer or the network.
	mu        sync.Mutex
	closed    bool               // guarded by mu
	objects   map[string]*object // guarded by mu
	keys      []string           // guarded by mu; sorted keys of objects, nil when stale
	root      uint64             // guarded by mu; root digest, valid when !rootDirty
	rootDirty bool               // guarded by mu
	hlc       crdt.Clock         // guarded by mu; issues LWW-Map timestamps
	lwwIssued crdt.HLC           // guarded by mu; the latest LWW-Map stamp issued
	seen      seenSet            // guarded by mu; blobs merged lately
	limitLog  time.Time          // guarded by mu; when a drop over a budget was last logged
	budget    budget             // guarded by mu
	seq       uint64             // guarded by mu; number of changes so far (see Event.Seq)

	// changed is closed and replaced after every change of local state (and
	// of membership), waking WaitFor callers.
	changed atomic.Pointer[chan struct{}]
	done    chan struct{} // closed by Close, after mu.closed is set
	netDone chan struct{} // closed by Close before closing the gossip layer

	watchMu  sync.Mutex
	watchers map[*watcher]struct{} // guarded by watchMu; active watchers, nil after Close
	running  map[*watcher]struct{} // guarded by watchMu; watchers whose goroutine has not ended

	wg      sync.WaitGroup // every goroutine the node starts but watchers' (see running)
	metrics metrics

	onChange atomic.Pointer[func(key string)] // gossip's digest tree (see digestfeed.go)
}

// object is one named CRDT. Its type never changes once created.
type object struct {
	key    string // its name
	ops    typeOps
	val    any       // the state: a value of ops' type, owned by the node
	dirty  bool      // digest and size are stale
	bound  int       // at least the encoded size (see sizelimit.go)
	exact  bool      // bound is the encoded size
	elems  *elemType // values' Go type, set by the first typed handle (see elemtype.go)
	digest uint64    // FNV-64a of the encoding, valid when !dirty
	size   int       // encoded size in bytes, valid when !dirty

	seq     uint64    // Node.seq at the object's last change
	changed time.Time // wall-clock time of the last change

	gen keyGen // the key's generation: its latest delete (see Delete)

	charged int    // bytes charged to the budget (see budget.go)
	remote  bool   // created by a peer's blob, not a local handle
	origin  string // if remote, the origin that sent that blob
}

// metrics are counters read by Status. Updated from any goroutine.
type metrics struct {
	updates        atomic.Uint64
	merged         atomic.Uint64
	mergedNoop     atomic.Uint64
	duplicates     atomic.Uint64
	decodeErrors   atomic.Uint64
	typeMismatches atomic.Uint64
	unknownTypes   atomic.Uint64
	publishErrors  atomic.Uint64
	clockSkews     atomic.Uint64
	identityClaims atomic.Uint64
	byteLimit      atomic.Uint64
	originShare    atomic.Uint64
	prunes         atomic.Uint64
	expired        atomic.Uint64
	objectLimit    atomic.Uint64
	mergeLatency   histogram
}

// Open validates cfg, starts the node and, if cfg has networking, its gossip
// layer, which joins cfg.Join in the background. It never changes cfg.
func Open(cfg Config) (*Node, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:       s,
		log:       s.logger.With("node", s.name),
		objects:   make(map[string]*object),
		rootDirty: true,
		done:      make(chan struct{}),
		netDone:   make(chan struct{}),
		watchers:  make(map[*watcher]struct{}),
		running:   make(map[*watcher]struct{}),
		hlc:       crdt.Clock{ObserveSkew: observeSkew},
	}
	ch := make(chan struct{})
	n.changed.Store(&ch)
	if s.dataDir != "" {
		if err := n.openDisk(cfg.Name != ""); err != nil {
			return nil, err
		}
	}
	if s.networked {
		g, err := gossip.New(s.gossip, (*replica)(n))
		if err != nil {
			_ = n.closeDisk()
			return nil, fmt.Errorf("node: starting gossip: %w", err)
		}
		n.net = g
		// Subscribe before Open returns, so no change after it is missed.
		_, sub := g.Subscribe(1)
		n.wg.Add(1)
		go n.watchMembers(sub)
		if s.pruneAfter >= 0 || s.expireAfter > 0 {
			n.wg.Add(1)
			go n.pruneLoop()
		}
	}
	if s.insecureNet {
		n.log.Warn("listening beyond loopback without a SecretKey: anyone who can reach the port can join and inject state",
			"bind_addr", cfg.BindAddr)
	}
	n.log.Debug("opened", "replica", s.replica, "networked", s.networked)
	return n, nil
}

// Name returns the node's name.
func (n *Node) Name() string { return n.cfg.name }

// Epoch returns the epoch chosen at Open.
func (n *Node) Epoch() uint64 { return n.cfg.epoch }

// ReplicaID returns the ID this node's updates are attributed to: the name
// and the epoch.
func (n *Node) ReplicaID() crdt.ReplicaID { return n.cfg.replica }

// Close leaves the cluster gracefully, stops every goroutine the node
// started (watchers included) and waits for them, except the watcher whose
// callback calls Close: that goroutine ends when its callback returns.
// Calls after Close return ErrClosed; reads keep returning the last state.
// Close is idempotent.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()

	close(n.netDone)
	var err error
	if n.net != nil {
		err = n.net.Close()
	}
	n.watchMu.Lock()
	for w := range n.watchers {
		close(w.stop)
	}
	n.watchers = nil
	running := make([]*watcher, 0, len(n.running))
	for w := range n.running {
		running = append(running, w)
	}
	n.watchMu.Unlock()
	close(n.done)
	n.wg.Wait()
	if derr := n.closeDisk(); err == nil {
		err = derr
	}
	self := goid()
	for _, w := range running {
		w.wait(self) // not for the caller's own watcher: Close from a callback
	}
	n.log.Debug("closed")
	return err
}

// isClosed reports whether Close has started.
func (n *Node) isClosed() bool {
	select {
	case <-n.done:
		return true
	default:
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// bind returns key's object, creating an empty one of type o if the key is
// new. A key bound to another type gives ErrTypeMismatch.
func (n *Node) bind(key string, o typeOps) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	_, err := n.objectLocked(key, o)
	return err
}

func (n *Node) objectLocked(key string, o typeOps) (*object, error) {
	if key == "" {
		return nil, ErrEmptyKey
	}
	obj := n.objects[key]
	if obj == nil {
		if err := n.roomLocked(key); err != nil {
			return nil, err
		}
		obj = &object{key: key, ops: o, val: o.zero(), dirty: true, bound: growthSlack}
		n.addedLocked(obj, false, "")
		n.objects[key] = obj
		n.keys = nil
		n.rootDirty = true
		n.changedLocked(key)
		return obj, nil
	}
	if obj.ops.tag() != o.tag() {
		return nil, fmt.Errorf("%w: %q is bound to type %s, not %s", ErrTypeMismatch, key, obj.ops.name(), o.name())
	}
	return obj, nil
}

// markDirtyLocked records that obj's state changed.
func (n *Node) markDirtyLocked(obj *object) {
	obj.dirty = true
	n.rootDirty = true
	n.seq++
	obj.seq, obj.changed = n.seq, n.cfg.clock.Now()
	n.changedLocked(obj.key)
}

// update applies a local mutation to key and ships its delta. mutate runs
// under the node's lock on the stored state; it changes it in place and
// returns the delta, or returns an error and leaves it unchanged.
//
// Order: mutate, encode the delta, queue its commit (the durability seam,
// commitLocked), unlock, wait until the commit is durable (one fsync shared
// by every update queued meanwhile: group commit), then wake waiters and
// watchers and publish the delta. A delta leaves the process only after it
// is committed (unless Config.WriteBehind says otherwise); a failed commit
// returns ErrPersist and publishes nothing.
//
// If mutate or the type's encoder (user code for custom types) panics, the
// lock is released and the panic goes on to the caller; the node stays
// usable. The object keeps whatever state mutate left and is marked
// changed, so its digest is recomputed and anti-entropy ships that state
// (nothing is notified or published for the failed call).
//
// A write whose resulting state or delta would be too large to replicate
// fails with ErrTooLarge and changes nothing (see mutateLocked). update
// does not know how large the delta may be, so near the limit, and for
// every write when it is not known, mutate runs on a copy of the state;
// updateSized with a bound of the delta's encoded size avoids the copy.
//
// opts may ask for a write level (the call then waits for
// acknowledgements, see ship) and a Receipt.
func (n *Node) update(ctx context.Context, key string, o typeOps, mutate func(v any) (delta any, err error), opts []WriteOption) error {
	return n.updateSized(ctx, key, o, unknownGrowth, mutate, opts)
}

// updateSized is update for a write whose delta encodes to at most grow
// bytes (or unknownGrowth).
func (n *Node) updateSized(ctx context.Context, key string, o typeOps, grow int, mutate func(v any) (delta any, err error), opts []WriteOption) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var wo writeOpts
	for _, opt := range opts {
		if opt != nil {
			opt.applyWrite(&wo)
		}
	}
	if wo.receipt != nil {
		*wo.receipt = Receipt{}
	}
	blob, ticket, err := n.applyLocal(key, o, grow, mutate)
	if blob == nil {
		return err // nothing changed: an error, or an empty delta
	}
	if err == nil {
		err = n.awaitCommit(ticket) // durable before the delta leaves
	}
	n.metrics.updates.Add(1)
	n.notify(key)
	if err != nil {
		// The state changed in memory but the delta cannot be shipped;
		// anti-entropy will carry the full state.
		return err
	}
	return n.ship(ctx, key, blob, wo)
}

// applyLocal is update's locked part: it runs mutate, encodes and commits
// the delta, and returns it. A nil blob means nothing changed: mutate
// failed (the error is returned) or returned an empty delta (equal to the
// type's empty value: removing an absent element, say), which is neither
// committed, notified nor published, and gives a nil error;
// a non-nil blob with an error means the state changed but the delta could
// not be encoded or committed. The deferred unlock keeps a panic in user
// code from leaving the lock held.
func (n *Node) applyLocal(key string, o typeOps, grow int, mutate func(v any) (any, error)) (blob []byte, t *store.Ticket, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, nil, ErrClosed
	}
	obj, err := n.objectLocked(key, o)
	if err != nil {
		return nil, nil, err
	}
	if err := n.bytesRoomLocked(key); err != nil {
		return nil, nil, err
	}
	finished := false
	defer func() {
		if !finished {
			// A panic in mutate or encode: the state may be half changed.
			n.markDirtyLocked(obj)
		}
	}()
	// An empty delta changes nothing anywhere, and a write too large to
	// replicate is refused before it changes anything: both give a nil
	// blob.
	blob, err = n.mutateLocked(key, obj, o, grow, mutate)
	if blob == nil {
		finished = true
		return nil, nil, err
	}
	n.markDirtyLocked(obj)
	n.chargeLocked(obj, obj.charged+len(blob))
	finished = true
	if err != nil {
		return []byte{}, nil, err
	}
	blob = wrapGen(obj.gen, blob) // a write after a delete is of its generation
	return blob, n.commitLocked(key, o.tag(), blob), nil
}

// ship disseminates a committed local delta. At WriteLocal it is
// published (pushed and broadcast); at a higher level it goes to every peer
// as a write request and the call waits until the level's count of members
// acknowledged it, or the level's timeout or ctx ends (a *LevelError; the
// delta keeps spreading by gossip either way).
func (n *Node) ship(ctx context.Context, key string, blob []byte, wo writeOpts) error {
	var rc *receipt
	if wo.receipt != nil {
		rc = newReceipt(key, blob)
		*wo.receipt = Receipt{rc}
	}
	if wo.level.need(n.NumMembers()) <= 1 {
		n.publish(key, blob)
		return nil
	}
	got, err := n.levelWait(ctx, "write", key, wo.level, func(ctx context.Context, peers int) ([]gossip.Member, error) {
		return n.net.Deliver(ctx, key, blob, peers)
	})
	if rc != nil {
		rc.add(got)
	}
	return err
}

// publish hands a delta to gossip for dissemination.
func (n *Node) publish(key string, delta []byte) {
	if n.net == nil {
		return
	}
	if err := n.net.Publish(key, delta); err != nil {
		n.metrics.publishErrors.Add(1)
		n.log.Debug("publish failed", "key", key, "err", err)
	}
}

// read runs f on key's state under the lock. ok is false if the key is not
// bound yet (f is not called).
func (n *Node) read(key string, o typeOps, f func(v any)) (ok bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	obj := n.objects[key]
	if obj == nil {
		return false, nil
	}
	if obj.ops.tag() != o.tag() {
		return false, fmt.Errorf("%w: %q is bound to type %s, not %s", ErrTypeMismatch, key, obj.ops.name(), o.name())
	}
	f(obj.val)
	return true, nil
}

// notify wakes WaitFor callers and the watchers of key.
func (n *Node) notify(key string) {
	n.wake()
	n.watchMu.Lock()
	for w := range n.watchers {
		if w.match.Matches(key) {
			w.mark(key)
		}
	}
	n.watchMu.Unlock()
}

// wake wakes WaitFor callers.
func (n *Node) wake() {
	ch := make(chan struct{})
	close(*n.changed.Swap(&ch))
}

// Keys returns the keys of all objects, sorted.
func (n *Node) Keys() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.sortedKeysLocked()...)
}

func (n *Node) sortedKeysLocked() []string {
	if n.keys == nil {
		n.keys = make([]string, 0, len(n.objects))
		for k := range n.objects {
			n.keys = append(n.keys, k)
		}
		sort.Strings(n.keys)
	}
	return n.keys
}
