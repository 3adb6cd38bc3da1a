package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/converge-crdt/converge/node"
)

// Cursor is a position in a node's change stream: the node's epoch and a
// sequence number (node.Event.Seq). Its text form, the SSE event id, is
// "<epoch>-<seq>" in decimal.
type Cursor struct {
	Epoch uint64
	Seq   uint64
}

// String returns "<epoch>-<seq>".
func (c Cursor) String() string {
	return strconv.FormatUint(c.Epoch, 10) + "-" + strconv.FormatUint(c.Seq, 10)
}

// ParseCursor parses the text form of a Cursor. Errors wrap ErrBadRequest.
func ParseCursor(s string) (Cursor, error) {
	e, q, ok := strings.Cut(s, "-")
	if !ok || len(s) > 41 {
		return Cursor{}, fmt.Errorf("%w: cursor %.50q is not <epoch>-<seq>", ErrBadRequest, s)
	}
	epoch, err1 := strconv.ParseUint(e, 10, 64)
	seq, err2 := strconv.ParseUint(q, 10, 64)
	if err1 != nil || err2 != nil {
		return Cursor{}, fmt.Errorf("%w: cursor %q is not two decimal numbers <epoch>-<seq>", ErrBadRequest, s)
	}
	return Cursor{Epoch: epoch, Seq: seq}, nil
}

// snapshotEvent is the data of a "snapshot" event: every key, and the
// cursor it is complete up to.
type snapshotEvent struct {
	Cursor string  `json:"cursor"`
	Reason string  `json:"reason"`
	Keys   []Value `json:"keys"`
}

// memberEvent is the data of a "member" event.
type memberEvent struct {
	Kind    string      `json:"kind"`
	Member  node.Member `json:"member"`
	Dropped int         `json:"dropped,omitempty"`
}

func (h *Handler) changes(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		fail(w, http.StatusInternalServerError, "streaming unsupported by this server")
		return
	}
	var from *Cursor
	if s := r.Header.Get("Last-Event-ID"); s != "" || r.URL.Query().Has("cursor") {
		if s == "" {
			s = r.URL.Query().Get("cursor")
		}
		c, err := ParseCursor(s)
		if err != nil {
			fail(w, http.StatusBadRequest, err.Error())
			return
		}
		from = &c
	}
	select {
	case h.streams <- struct{}{}:
		defer func() { <-h.streams }()
	default:
		fail(w, http.StatusServiceUnavailable, fmt.Sprintf("too many streams (limit %d)", h.cfg.MaxStreams))
		return
	}
	ctx := r.Context()
	// Subscribe before listing what changed, so no change falls between.
	wake, err := h.n.Subscribe(ctx, node.Prefix(""))
	if err != nil {
		fail(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	_, members, err := h.n.MemberEvents(ctx)
	if err != nil {
		fail(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)

	epoch := h.n.Epoch()
	cur := Cursor{Epoch: epoch}
	switch {
	case from == nil:
		cur.Seq = h.snapshot(w, "no cursor")
	case from.Epoch != epoch:
		cur.Seq = h.snapshot(w, "cursor of another epoch: the node restarted")
	case from.Seq > h.n.Seq():
		cur.Seq = h.snapshot(w, "cursor ahead of the node")
	default:
		cur.Seq = from.Seq
		cur.Seq = h.since(w, cur)
	}
	fl.Flush()
	tick := time.NewTicker(h.cfg.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-wake:
			if !ok {
				return // node closed
			}
			cur.Seq = h.since(w, cur)
		case ev, ok := <-members:
			if !ok {
				return
			}
			writeEvent(w, "member", "", memberEvent{Kind: ev.Kind.String(), Member: ev.Member, Dropped: ev.Dropped})
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		}
		fl.Flush()
	}
}

// since sends a change event for every key changed after cur, in sequence
// order, and returns the new position. Each event's id is the sequence
// number of the key's change in that order, so a client resuming from any
// id sent has every change up to it (a key's current state covers its
// earlier changes); the value read may already include later changes.
func (h *Handler) since(w http.ResponseWriter, cur Cursor) uint64 {
	for _, e := range h.n.ChangedSince(cur.Seq) {
		s, err := h.n.Read(e.Key)
		if err != nil {
			continue // gone (deleted): nothing to send
		}
		cur.Seq = e.Seq
		writeEvent(w, "change", cur.String(), valueOf(s))
	}
	return cur.Seq
}

// snapshot sends every key as one "snapshot" event and returns the
// sequence number it is complete up to.
func (h *Handler) snapshot(w http.ResponseWriter, reason string) uint64 {
	seq := h.n.Seq()
	ev := snapshotEvent{Reason: reason, Keys: []Value{}}
	for _, k := range h.n.Keys() {
		if s, err := h.n.Read(k); err == nil {
			ev.Keys = append(ev.Keys, valueOf(s))
		}
	}
	// Keys changed after seq was read are in the snapshot already, and are
	// sent again as changes: harmless, states are idempotent.
	ev.Cursor = Cursor{Epoch: h.n.Epoch(), Seq: seq}.String()
	writeEvent(w, "snapshot", ev.Cursor, ev)
	return seq
}

// writeEvent writes one Server-Sent Event. JSON has no raw newlines, so the
// data is one line.
func writeEvent(w http.ResponseWriter, kind, id string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(apiError{Error: err.Error()})
		kind = "error"
	}
	if id != "" {
		fmt.Fprintf(w, "id: %s\n", id)
	}
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", kind, b)
}
