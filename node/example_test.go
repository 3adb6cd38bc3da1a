package node_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/node"
)

// A node with the zero Config is a single replica in memory. Handles type
// the objects at the call site.
func Example() {
	n, err := node.Open(node.Config{Name: "agent-1"})
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
	ctx := context.Background()

	done, _ := node.GCounter(n, "tasks-done")
	_ = done.Inc(ctx, 2)

	agents, _ := node.ORSet[string](n, "agents")
	_ = agents.Add(ctx, "agent-2")
	_ = agents.Add(ctx, "agent-1")

	claims, _ := node.LWWMap[string, string](n, "claims")
	_ = claims.Set(ctx, "job-7", "agent-2")
	_ = claims.Set(ctx, "job-7", "agent-1") // the later write wins

	fmt.Println("tasks done:", done.Value())
	all, _ := agents.Elements()
	fmt.Println("agents:", all)
	owner, ok, _ := claims.Get("job-7")
	fmt.Println("job-7:", owner, ok)

	// A key is bound to one type.
	_, err = node.PNCounter(n, "agents")
	fmt.Println(err)
	// Output:
	// tasks done: 2
	// agents: [agent-1 agent-2]
	// job-7: agent-1 true
	// node: key bound to another type: "agents" is bound to type ORSet, not PNCounter
}

// Two nodes on loopback: the second waits until the first one's updates
// have reached it.
func ExampleNode_Join() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	a, err := node.Open(node.DefaultConfig()) // 127.0.0.1, a free port
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	cfg := node.DefaultConfig()
	cfg.Join = []string{a.Addr()}
	b, err := node.Open(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	counter, _ := node.GCounter(a, "requests")
	for range 5 {
		_ = counter.Inc(ctx, 1)
	}

	// The state can arrive with the join's state exchange, before b's
	// member list has a in it: wait for both.
	seen, _ := node.GCounter(b, "requests")
	if err := b.WaitFor(ctx, func() bool { return seen.Value() == 5 && b.NumMembers() == 2 }); err != nil {
		log.Fatal(err)
	}
	fmt.Println("b sees", seen.Value(), "requests; members:", b.NumMembers())
	// Output: b sees 5 requests; members: 2
}

// WaitFor re-evaluates its condition after every change, without polling.
func ExampleNode_WaitFor() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	jobs, _ := node.PNCounter(n, "jobs")
	go func() {
		for range 3 {
			_ = jobs.Inc(ctx, 1)
		}
	}()
	err := n.WaitFor(ctx, func() bool { return jobs.Value() == 3 })
	fmt.Println(jobs.Value(), err)
	// Output: 3 <nil>
}

// Watch calls back after changes to keys with a prefix, on its own
// goroutine and never under the node's lock.
func ExampleNode_Watch() {
	n, _ := node.Open(node.Config{})
	defer n.Close()
	ctx := context.Background()

	changed := make(chan string, 10)
	cancel, _ := n.Watch("jobs/", func(key string) { changed <- key })
	defer cancel()

	other, _ := node.GCounter(n, "other")
	_ = other.Inc(ctx, 1) // not watched
	job, _ := node.LWWMap[string, string](n, "jobs/7")
	_ = job.Set(ctx, "state", "running")
	fmt.Println("changed:", <-changed)
	// Output: changed: jobs/7
}

// regTag is the type tag of the custom type below. User tags start at
// crdt.FirstUserTag.
const regTag = crdt.FirstUserTag + 1

// MaxReg is a user-defined CRDT: a register that keeps the largest value.
// Its encoding starts like every converge encoding, a msgpack array
// [tag, version, ...], so a node can route it by tag.
type MaxReg struct{ V int64 }

func NewMaxReg() *MaxReg { return &MaxReg{} }

// Set raises the register and returns the delta.
func (m *MaxReg) Set(v int64) *MaxReg {
	m.V = max(m.V, v)
	return &MaxReg{V: v}
}

func (m *MaxReg) Merge(o *MaxReg)      { m.V = max(m.V, o.V) }
func (m *MaxReg) Clone() *MaxReg       { return &MaxReg{V: m.V} }
func (m *MaxReg) Equal(o *MaxReg) bool { return m.V == o.V }

func (m *MaxReg) MarshalBinary() ([]byte, error) {
	return msgpack.Marshal([]any{uint16(regTag), 1, m.V})
}

func (m *MaxReg) UnmarshalBinary(b []byte) error {
	var f []int64
	if err := msgpack.Unmarshal(b, &f); err != nil {
		return err
	}
	if len(f) != 3 || f[0] != int64(regTag) || f[1] != 1 {
		return fmt.Errorf("MaxReg: bad encoding %v", f)
	}
	m.V = f[2]
	return nil
}

// Custom CRDTs are registered with a tag and reached through Object.
func ExampleObject() {
	n, err := node.Open(node.Config{Types: []node.Type{node.TypeOf(regTag, NewMaxReg)}})
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
	ctx := context.Background()

	highest, _ := node.Object[*MaxReg](n, "highest-epoch")
	for _, v := range []int64{3, 9, 4} {
		_ = highest.Update(ctx, func(r *MaxReg) (*MaxReg, error) { return r.Set(v), nil })
	}
	fmt.Println(highest.Value().V)
	// Output: 9
}
