package gossip

import (
	"math/rand/v2"
	"sync"
	"time"
)

// peerBook remembers seed addresses and the last address of every member
// seen, for the rejoin loop. memberlist forgets dead members after
// GossipToTheDeadTime and then never contacts them again, so a partition
// that lasts longer never heals by itself.
type peerBook struct {
	mu      sync.Mutex
	seeds   []string              // guarded by mu
	members map[string]peerRecord // guarded by mu; by name
}

// peerRecord is a member's last address and the epoch it announced there.
type peerRecord struct {
	addr  string // host:port
	epoch uint64
}

func (p *peerBook) addSeeds(addrs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, a := range addrs {
		found := false
		for _, s := range p.seeds {
			found = found || s == a
		}
		if !found {
			p.seeds = append(p.seeds, a)
		}
	}
}

func (p *peerBook) seen(name, addr string, epoch uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.members == nil {
		p.members = make(map[string]peerRecord)
	}
	p.members[name] = peerRecord{addr: addr, epoch: epoch}
}

// forget drops a member that left for good, if it is still the incarnation
// that said so: a leave that arrives late, after the member restarted with a
// new epoch, must not stop us from rejoining the new one.
func (p *peerBook) forget(from Origin) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rec, ok := p.members[from.Name]; ok && rec.epoch == from.Epoch {
		delete(p.members, from.Name)
		return true
	}
	return false
}

// missing returns join addresses ("name/host:port") of members seen but not
// in alive, plus the seeds if no other member is alive.
func (p *peerBook) missing(alive map[string]bool, self string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var addrs []string
	for name, rec := range p.members {
		if !alive[name] && name != self {
			addrs = append(addrs, name+"/"+rec.addr)
		}
	}
	// memberlist tries addresses one after another, each up to TCPTimeout:
	// a few random ones per round keep a round (and Close) short.
	rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	addrs = addrs[:min(len(addrs), maxRejoinAddrs)]
	if len(alive) <= 1 {
		addrs = append(addrs, p.seeds...)
	}
	return addrs
}

// maxRejoinAddrs bounds the member addresses tried per rejoin round.
const maxRejoinAddrs = 3

// rejoinLoop re-joins missing members every RejoinInterval, and the seeds
// right away at start.
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
	alive := make(map[string]bool)
	for _, m := range g.table.all() {
		alive[m.Name] = true
	}
	addrs := g.peers.missing(alive, g.cfg.Origin.Name)
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
		n, err := g.ml.Join([]string{a})
		if n == 0 {
			g.log.Debug("rejoin failed", "addr", a, "err", err)
		}
		reached += n
	}
	if reached > 0 {
		g.stats.rejoined.Add(uint64(reached))
		g.log.Info("rejoined", "reached", reached, "tried", len(addrs))
		g.requestRound("")
	}
}
