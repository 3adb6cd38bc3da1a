package agent

import (
	"context"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/node"
)

// records is an FWWMap object shared by Claims and Registry: a
// first-writer-wins record per key, expired after Config.Retention.
type records struct {
	a   *Agent
	obj *node.ObjectHandle[*crdt.FWWMap]
}

func (a *Agent) records(key string) (records, error) {
	obj, err := node.Object[*crdt.FWWMap](a.n, a.cfg.Prefix+key)
	if err != nil {
		return records{}, err
	}
	return records{a: a, obj: obj}, nil
}

// fetch merges the object's state from the members Config.Read names.
func (r records) fetch(ctx context.Context) error {
	return r.a.n.Fetch(ctx, r.obj.Key(), r.a.cfg.Read)
}

// write records value for key in round, at Config.Write, and returns the
// state after it (also when the level was not met: the write is local and
// spreads).
// Before writing it raises the horizon when it lags now by more than a
// sixteenth of the retention, so expiry costs one small delta now and
// then, not one per write.
func (r records) write(ctx context.Context, key string, round uint64, value []byte) (*crdt.FWWMap, error) {
	var after *crdt.FWWMap
	err := r.obj.Update(ctx, func(m *crdt.FWWMap) (*crdt.FWWMap, error) {
		now := r.a.now()
		d := crdt.NewFWWMap()
		keep := r.a.cfg.Retention
		if h := (crdt.HLC{Wall: now.Wall - int64(keep)}); h.Wall-m.Horizon().Wall > int64(keep/16) {
			d.Merge(m.Expire(h))
		}
		d.Merge(m.Write(key, round, now, r.a.n.ReplicaID(), value))
		after = m.Clone()
		return d, nil
	}, r.a.cfg.Write)
	return after, err
}
