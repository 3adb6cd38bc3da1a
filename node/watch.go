package node

import (
	"slices"
	"strings"
	"sync"
)

// Watch calls fn(key) after changes to objects whose key starts with prefix
// ("" watches everything; a full key watches one object), whether the change
// was local or came from a peer.
//
// Callbacks are coalesced: a burst of changes to one key gives at least one
// call after the last change, not one call per change. They run one at a
// time on a goroutine of the watcher's own, never under the node's lock, so
// fn may read and update the node. A slow callback delays only its own
// watcher: changes keep being applied and replicated, and the keys changed
// meanwhile are delivered once when it returns.
//
// cancel stops the watcher; it does not wait for a callback in progress (so
// fn may call it). Close stops every watcher and waits for them.
func (n *Node) Watch(prefix string, fn func(key string)) (cancel func(), err error) {
	w := &watcher{
		prefix: prefix,
		fn:     fn,
		signal: make(chan struct{}, 1),
		stop:   make(chan struct{}),
		dirty:  make(map[string]struct{}),
	}
	n.watchMu.Lock()
	if n.watchers == nil {
		n.watchMu.Unlock()
		return nil, ErrClosed
	}
	n.watchers[w] = struct{}{}
	n.wg.Add(1)
	n.watchMu.Unlock()
	go func() {
		defer n.wg.Done()
		w.run()
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			n.watchMu.Lock()
			if _, ok := n.watchers[w]; ok {
				delete(n.watchers, w)
				close(w.stop)
			}
			n.watchMu.Unlock()
		})
	}, nil
}

// watcher is one subscription. The node marks keys dirty; the watcher's
// goroutine takes the whole dirty set and calls fn once per key.
type watcher struct {
	prefix string
	fn     func(key string)
	signal chan struct{} // capacity 1: "the dirty set is not empty"
	stop   chan struct{} // closed by cancel or Close (under watchMu)

	mu    sync.Mutex
	dirty map[string]struct{} // guarded by mu
}

func (w *watcher) matches(key string) bool { return strings.HasPrefix(key, w.prefix) }

// mark records a change of key and signals the goroutine. Never blocks.
func (w *watcher) mark(key string) {
	w.mu.Lock()
	w.dirty[key] = struct{}{}
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default: // a signal is pending; it will see this key too
	}
}

func (w *watcher) run() {
	for {
		select {
		case <-w.stop:
			return
		case <-w.signal:
		}
		w.mu.Lock()
		keys := make([]string, 0, len(w.dirty))
		for k := range w.dirty {
			keys = append(keys, k)
		}
		clear(w.dirty)
		w.mu.Unlock()
		slices.Sort(keys)
		for _, k := range keys {
			select {
			case <-w.stop:
				return
			default:
			}
			w.fn(k)
		}
	}
}
