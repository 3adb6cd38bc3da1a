package crdt

var _ Collector = (*LWWMap[string, int])(nil)

// Collect drops the tombstones stamped before before and reports whether
// any was dropped. A tombstone keeps an older write to its key, arriving
// late, from bringing the key back; once every replica has seen the delete
// no such write is left, and the node package collects tombstones older
// than its prune horizon (node.Config.PruneHorizon, 6 hours by default),
// which it keeps longer than any partition it tolerates. A replica cut off
// for longer than that which still holds an older live entry of the key
// brings the entry back when it returns; so does a write stamped before
// the tombstone that reaches no replica within the horizon. A key deleted
// and then written again holds a live entry, which is never collected.
func (m *LWWMap[K, V]) Collect(before HLC) (changed bool) {
	for k, e := range m.entries {
		if e.deleted && e.ts.Compare(before) < 0 {
			delete(m.entries, k)
			changed = true
		}
	}
	return changed
}
