package gossip

import (
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// peerBook remembers seed addresses, the last address of every member seen,
// and the members that said they left, for the rejoin loop. memberlist
// forgets dead members after GossipToTheDeadTime and then never contacts
// them again, and it never merges two groups that formed apart, so the
// rejoin loop re-dials whatever is missing from the view.
//
// Leaves follow serf's model (serf.go, handleNodeLeaveIntent): a leave is
// remembered even when it arrives before the news of the incarnation that
// sent it, and it wins over any alive news of that incarnation or an older
// one, in whatever order they arrive. Incarnations are ordered by epoch, as
// serf orders intents by Lamport time. Only news of a newer epoch (a restart
// that joined someone) brings the member back.
type peerBook struct {
	mu      sync.Mutex
	seeds   []string              // guarded by mu
	members map[string]peerRecord // guarded by mu; by name
	left    map[string]leftRecord // guarded by mu; by name
	tries   map[string]backoff    // guarded by mu; by dial address
}

// peerRecord is a member's last address and the epoch it announced there.
type peerRecord struct {
	addr  string // host:port
	epoch uint64
}

// leftRecord says that a member's incarnations up to epoch left, and where
// they were: those addresses are not dialled, as seeds or otherwise.
type leftRecord struct {
	epoch uint64
	addrs []string // host:port
	at    time.Time
}

// backoff is the rejoin schedule of one dial address.
type backoff struct {
	fails int       // consecutive failed dials
	next  time.Time // no dial before
}

const (
	// maxRejoinAddrs bounds the addresses dialled per rejoin round:
	// memberlist tries them one after another, each up to TCPTimeout, and
	// a large cluster that lost many members must not flood the network.
	maxRejoinAddrs = 3
	// maxBackoffShift caps an address's delay after failed dials at
	// 2^maxBackoffShift rejoin intervals (jittered).
	maxBackoffShift = 3
	// maxLeftRecords bounds the remembered leaves; the oldest go first.
	maxLeftRecords = 4096
)

// dialAddr is the host:port part of a join address ("name/host:port" or
// "host:port").
func dialAddr(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// addSeeds remembers addrs as seeds. An address given explicitly is dialled
// again even if a member that left was there: the caller asked for it.
func (p *peerBook) addSeeds(addrs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range addrs {
		for name, l := range p.left {
			l.addrs = without(l.addrs, dialAddr(a))
			p.left[name] = l
		}
		delete(p.tries, a)
		found := false
		for _, s := range p.seeds {
			found = found || s == a
		}
		if !found {
			p.seeds = append(p.seeds, a)
		}
	}
}

// seen records a member alive at addr with epoch. It reports false, and
// records nothing, if that incarnation (or a newer one) said it left.
func (p *peerBook) seen(name, addr string, epoch uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l, ok := p.left[name]; ok {
		if epoch <= l.epoch {
			if !contains(l.addrs, addr) {
				l.addrs = append(l.addrs, addr)
				p.left[name] = l
			}
			return false
		}
		delete(p.left, name) // a newer incarnation joined
	}
	if p.members == nil {
		p.members = make(map[string]peerRecord)
	}
	p.members[name] = peerRecord{addr: addr, epoch: epoch}
	return true
}

// leave records that name's incarnation epoch left, from addr if known
// (memberlist says where; our own leave message does not). The member is
// forgotten unless a newer epoch of it is on record, and no older news
// brings it back.
func (p *peerBook) leave(name, addr string, epoch uint64, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.left == nil {
		p.left = make(map[string]leftRecord)
	}
	l, ok := p.left[name]
	if !ok && len(p.left) >= maxLeftRecords {
		p.evictOldestLeftLocked()
	}
	l.epoch, l.at = max(l.epoch, epoch), now
	if rec, ok := p.members[name]; ok && rec.epoch <= epoch {
		delete(p.members, name)
		if addr == "" {
			addr = rec.addr
		}
	}
	if addr != "" && !contains(l.addrs, addr) {
		l.addrs = append(l.addrs, addr)
	}
	p.left[name] = l
}

func (p *peerBook) evictOldestLeftLocked() {
	oldest := ""
	for name, l := range p.left {
		if oldest == "" || l.at.Before(p.left[oldest].at) {
			oldest = name
		}
	}
	delete(p.left, oldest)
}

// view is what the rejoin loop compares the book with: the live members'
// names and addresses (this node's included).
type view struct {
	names map[string]bool
	addrs map[string]bool // host:port
}

// due returns the join addresses to dial now: remembered members missing
// from v and seeds whose address no live member has, except those that
// left and those still backing off; at most maxRejoinAddrs of them, chosen
// at random. It forgets the schedule of addresses no longer missing, so a
// member that vanishes again is dialled at once.
func (p *peerBook) due(v view, self string, now time.Time) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	leftAddr := make(map[string]bool)
	for _, l := range p.left {
		for _, a := range l.addrs {
			leftAddr[a] = true
		}
	}
	missing := make(map[string]bool)
	for name, rec := range p.members { // none of them left: see seen and leave
		if name != self && !v.names[name] {
			missing[name+"/"+rec.addr] = true
		}
	}
	for _, s := range p.seeds {
		if a := dialAddr(s); !v.addrs[a] && !leftAddr[a] {
			missing[s] = true
		}
	}
	for a := range p.tries {
		if !missing[a] {
			delete(p.tries, a)
		}
	}
	var out []string
	for a := range missing {
		if !now.Before(p.tries[a].next) {
			out = append(out, a)
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:min(len(out), maxRejoinAddrs)]
}

// dialled records the outcome of dialling addr at now. A failure backs the
// address off exponentially: about interval, 2, 4, then 8 intervals,
// jittered by ±25% so that nodes cut off together do not dial in step. A
// success waits the longest delay too: the member should now be in the
// view, and if it is not (a seed given by host name, say, which no member
// address matches) it must not be dialled every round.
func (p *peerBook) dialled(addr string, ok bool, now time.Time, interval time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tries == nil {
		p.tries = make(map[string]backoff)
	}
	b := p.tries[addr]
	shift := maxBackoffShift
	if ok {
		b.fails = 0
	} else {
		shift = min(b.fails, maxBackoffShift)
		b.fails++
	}
	d := interval << shift
	d += time.Duration((rand.Float64() - 0.5) * 0.5 * float64(d))
	b.next = now.Add(d)
	p.tries[addr] = b
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func without(list []string, s string) []string {
	out := list[:0:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// rejoinLoop re-dials missing members and seeds every RejoinInterval, and
// the seeds right away at start.
func (g *Gossip) rejoinLoop() {
	defer g.wg.Done()
	if len(g.cfg.Join) > 0 {
		g.rejoin()
	}
	tick := time.NewTicker(g.cfg.RejoinInterval)
	defer tick.Stop()
	for {
		select {
		case <-g.done:
			return
		case <-tick.C:
			g.rejoin()
		}
	}
}

func (g *Gossip) rejoin() {
	v := view{names: make(map[string]bool), addrs: make(map[string]bool)}
	for _, n := range g.table.all() {
		v.names[n.Name] = true
		v.addrs[n.Address()] = true
	}
	addrs := g.peers.due(v, g.cfg.Origin.Name, time.Now())
	if len(addrs) == 0 {
		return
	}
	g.stats.rejoinAttempts.Add(1)
	// One address per Join call: a dial to an unreachable host can take
	// TCPTimeout, and Close should wait for at most one of them.
	reached := 0
	for _, a := range addrs {
		if g.isClosed() {
			return
		}
		n, err := g.joinOne(a)
		if n == 0 {
			g.joinFailed(a, err, len(v.names) <= 1)
		}
		g.peers.dialled(a, n > 0, time.Now(), g.cfg.RejoinInterval)
		reached += n
	}
	if reached > 0 {
		g.stats.rejoined.Add(uint64(reached))
		g.log.Info("rejoined", "reached", reached, "tried", len(addrs))
		g.requestRound("")
	}
}
