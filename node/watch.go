package node

import (
	"bytes"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
)

// Watch calls fn(key) after changes to the keys Prefix(prefix) matches:
// prefix itself and the keys below it with a '/' boundary, so
// Watch("claims", …) sees "claims" and "claims/7" but not "claims-archive";
// "" and prefixes ending in '/' match by bytes (see Prefix). It is
// WatchEvents with a callback that takes only the key.
//
// Callbacks are coalesced: a burst of changes to one key gives at least one
// call after the last change, not one call per change. They run one at a
// time on a goroutine of the watcher's own, never under the node's lock, so
// fn may read and update the node. A slow callback delays only its own
// watcher: changes keep being applied and replicated, and the keys changed
// meanwhile are delivered once when it returns.
//
// cancel stops the watcher and waits for a callback in progress to return,
// so after cancel fn is not running and will not run again; called from
// inside fn itself it returns at once (fn's goroutine ends when fn
// returns). Close stops every watcher and waits for their callbacks the
// same way: fn may call Close too. (Two callbacks that cancel each other's
// watchers at the same moment wait for each other: don't.)
func (n *Node) Watch(prefix string, fn func(key string)) (cancel func(), err error) {
	return n.WatchEvents(Prefix(prefix), func(e Event) { fn(e.Key) })
}

// WatchEvents calls fn with an Event after changes to the keys m matches
// (local or from a peer). Delivery, coalescing and cancel work as for
// Watch: a burst of changes to a key gives at least one Event after the
// last of them, whose Seq is that of the key's latest change when the event
// was taken; Read returns that state or a later one.
func (n *Node) WatchEvents(m Match, fn func(Event)) (cancel func(), err error) {
	w := &watcher{
		n:      n,
		match:  m,
		fn:     fn,
		signal: make(chan struct{}, 1),
		stop:   make(chan struct{}),
		exited: make(chan struct{}),
		dirty:  make(map[string]struct{}),
	}
	n.watchMu.Lock()
	if n.watchers == nil {
		n.watchMu.Unlock()
		return nil, ErrClosed
	}
	n.watchers[w] = struct{}{}
	n.running[w] = struct{}{}
	n.watchMu.Unlock()
	go func() {
		defer func() {
			n.watchMu.Lock()
			delete(n.running, w)
			n.watchMu.Unlock()
			close(w.exited)
		}()
		w.gid.Store(goid())
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
		w.wait(goid())
	}, nil
}

// watcher is one subscription. The node marks keys dirty; the watcher's
// goroutine takes the whole dirty set and calls fn once per key.
type watcher struct {
	n      *Node
	match  Match
	fn     func(Event)
	signal chan struct{} // capacity 1: "the dirty set is not empty"
	stop   chan struct{} // closed by cancel or Close (under watchMu)
	exited chan struct{} // closed when the goroutine ends
	gid    atomic.Uint64 // the goroutine's ID (see goid), 0 until it starts

	mu    sync.Mutex
	dirty map[string]struct{} // guarded by mu
}

// wait waits for the watcher's goroutine to end (after stop is closed),
// unless the caller, whose goroutine ID is self, is that goroutine: a
// callback calling cancel or Close.
func (w *watcher) wait(self uint64) {
	if w.gid.Load() == self {
		return
	}
	<-w.exited
}

// goid returns the calling goroutine's ID, from the header of its stack
// trace ("goroutine 42 [running]:"). Go offers no other way to recognise a
// goroutine; it is used only so cancel and Close, called from a callback,
// do not wait for themselves, and costs a microsecond or so.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}

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
			w.fn(w.n.event(k))
		}
	}
}
