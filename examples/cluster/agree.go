package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"strings"

	"github.com/converge-crdt/converge/node"
)

// agreeKey is the LWW-Map in which single-node processes publish their
// workload digest once their -writes are done: name -> "<digest>:done".
// The workload's own digest leaves this key out (it changes as entries
// arrive), so processes agree once their workload objects are equal.
const agreeKey = "cluster/agreement"

// agreement reports, on this process's stdout, when every live member has
// finished its writes and holds the same workload digest as this one:
//
//	agreed: 3 nodes hold workload digest 9f3a6c1e22b04d17 (counter=44 set=23 map=20) after 50 writes here
//
// The workload digest covers the three workload objects only; the view
// lines' digest also covers the agreement map itself.
type agreement struct {
	n        *node.Node
	objs     *objects
	m        *node.LWWMapHandle[string, string]
	reported string // the digest last reported
}

func newAgreement(n *node.Node, objs *objects) (*agreement, error) {
	m, err := node.LWWMap[string, string](n, agreeKey)
	if err != nil {
		return nil, err
	}
	return &agreement{n: n, objs: objs, m: m}, nil
}

// workloadDigest hashes the digests of the workload's objects.
func (a *agreement) workloadDigest() string {
	keys := map[string]bool{a.objs.counter.Key(): true, a.objs.set.Key(): true, a.objs.kv.Key(): true}
	h := fnv.New64a()
	for _, o := range a.n.Status().Objects {
		if keys[o.Key] {
			_, _ = h.Write([]byte(o.Key))
			_, _ = h.Write(binary.BigEndian.AppendUint64(nil, o.Digest))
		}
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// check publishes this node's digest and reports agreement when it is new.
// Call it after this node's writes are done.
func (a *agreement) check(ctx context.Context, out io.Writer) error {
	mine := a.workloadDigest() + ":done"
	if cur, _, _ := a.m.Get(a.n.Name()); cur != mine {
		if err := a.m.Set(ctx, a.n.Name(), mine); err != nil {
			return err
		}
	}
	members := a.n.Members()
	for _, mb := range members {
		if v, ok, err := a.m.Get(mb.Name); err != nil || !ok || v != mine {
			return nil
		}
	}
	digest, _ := strings.CutSuffix(mine, ":done")
	if digest != a.reported {
		a.reported = digest
		v := a.objs.view()
		fmt.Fprintf(out, "agreed: %d nodes hold workload digest %s (counter=%d set=%d map=%d) after %d writes here\n",
			len(members), digest, v.Counter, v.Set, v.Map, a.objs.updates)
	}
	return nil
}
