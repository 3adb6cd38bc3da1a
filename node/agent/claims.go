package agent

import (
	"context"

	"github.com/converge-crdt/converge/crdt"
)

// Claims is a board of task claims: the earliest claim of a task wins, by
// (hybrid logical clock, replica), on every replica once they have
// exchanged claims. It lives in a crdt.FWWMap object under
// Config.Prefix+"claims/"+name.
type Claims struct {
	r    records
	name string
}

// Claims returns the claim board called name.
func (a *Agent) Claims(name string) (*Claims, error) {
	r, err := a.records("claims/" + name)
	if err != nil {
		return nil, err
	}
	return &Claims{r: r, name: name}, nil
}

// Claim is the state of one task's claims as this replica sees it.
type Claim struct {
	Task string
	// Won reports whether this agent's claim is the winning one.
	Won bool
	// Winner is the winning claimant's node name and replica ID, the
	// round of its claim and when it claimed.
	Winner, WinnerReplica string
	Round                 uint64
	At                    crdt.HLC
	// Contested reports that more than one agent claimed in the winning
	// round: a double claim, resolved by the order of claims.
	Contested bool
}

// Claim claims task for this agent and reports whether it wins as far as
// this replica knows. It writes nothing when the task is already claimed
// by a live agent (then Won is false) or by this agent. When the winner is
// no longer live (it crashed, or left), Claim takes the task over in the
// next round. A claim that wins now can still lose later, when an earlier
// concurrent claim arrives from a replica that could not be reached; watch
// for that with WaitLost.
//
// With Config.Read and Config.Write levels, Claim first merges the claims
// of the members Read names, writes its claim at Write, and merges again
// before it decides. If a level is not met it returns the claim as this
// replica sees it with a *node.LevelError.
func (c *Claims) Claim(ctx context.Context, task string) (Claim, error) {
	if err := c.r.fetch(ctx); err != nil {
		cl, _ := c.Get(task)
		return cl, err
	}
	self := string(c.r.a.n.ReplicaID())
	round := uint64(0)
	if cur, ok := c.Get(task); ok {
		if cur.WinnerReplica == self || c.r.a.IsLive(cur.WinnerReplica) {
			return cur, nil
		}
		round = cur.Round + 1
	}
	st, err := c.r.write(ctx, task, round, []byte(c.r.a.n.Name()))
	if st == nil {
		return Claim{Task: task}, err
	}
	if err == nil {
		if err = c.r.fetch(ctx); err == nil {
			st = c.r.obj.Value()
		}
	}
	return c.claimIn(st, task), err
}

// Get returns task's claim state, and false if nobody has claimed it.
func (c *Claims) Get(task string) (Claim, bool) {
	st := c.r.obj.Value()
	if _, ok := st.Winner(task); !ok {
		return Claim{Task: task}, false
	}
	return c.claimIn(st, task), true
}

func (c *Claims) claimIn(st *crdt.FWWMap, task string) Claim {
	w, ok := st.Winner(task)
	if !ok {
		return Claim{Task: task}
	}
	return Claim{
		Task: task, Won: string(w.Replica) == string(c.r.a.n.ReplicaID()),
		Winner: string(w.Value), WinnerReplica: string(w.Replica), Round: w.Round, At: w.Stamp,
		Contested: st.Contested(task),
	}
}

// WaitLost blocks until this agent no longer wins task (an earlier claim
// arrived, or the task was taken over), and returns the claim that wins
// then. It returns ctx.Err() or the node's error if it ends first.
func (c *Claims) WaitLost(ctx context.Context, task string) (Claim, error) {
	var cl Claim
	err := c.r.a.n.WaitFor(ctx, func() bool {
		var ok bool
		cl, ok = c.Get(task)
		return ok && !cl.Won
	})
	return cl, err
}
