package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/converge-crdt/converge/gossip"
)

// Consistency levels, after Akka Distributed Data. Every update applies
// locally first and is gossiped whatever its level; a write level only
// decides how long the call waits for other members to acknowledge that
// they merged it. A read level fetches the key's state from other members
// and merges it into the local state before reading.
//
// Counts include this node. A level's timeout bounds the wait after the
// local update; the call's context bounds it too, and a timeout <= 0 leaves
// only the context. "Majority" is a majority of the members this
// node currently sees, itself included: NumMembers()/2 + 1, fixed when the
// call starts. During a partition each side keeps counting the other side's
// members until failure detection declares them dead (with memberlist's
// LAN timings a few seconds, about ProbeInterval × SuspicionMult × log N):
// until then a minority side's majority writes time out, as they should.
// Once a side's view has shrunk to itself, its majority is a majority of
// that side only, so both sides of a split can complete "majority" writes
// (and a 2-node side of a 5-node cluster needs 2, not 3). The two sides'
// views differ exactly then. For a quorum that survives partitions, use
// WriteTo and ReadFrom with a count over the cluster's known size (3 of 5:
// any two sets of 3 intersect).

// levelKind says how many members a level needs.
type levelKind uint8

const (
	levelLocal levelKind = iota
	levelCount
	levelMajority
	levelAll
)

// level is a count rule and a timeout.
type level struct {
	kind    levelKind
	n       int
	timeout time.Duration
}

// countLevel is n members, or local for n <= 1.
func countLevel(n int, timeout time.Duration) level {
	if n <= 1 {
		return level{}
	}
	return level{kind: levelCount, n: n, timeout: timeout}
}

// need returns how many members (this node included) the level needs out
// of members.
func (l level) need(members int) int {
	switch l.kind {
	case levelCount:
		return l.n
	case levelMajority:
		return members/2 + 1
	case levelAll:
		return members
	}
	return 1
}

func (l level) String() string {
	switch l.kind {
	case levelCount:
		return fmt.Sprintf("%d members", l.n)
	case levelMajority:
		return "majority"
	case levelAll:
		return "all"
	}
	return "local"
}

// WriteLevel says how many members must acknowledge an update before the
// update call returns, and for how long it waits. It is a WriteOption.
type WriteLevel struct{ l level }

// WriteLocal returns as soon as the update is applied locally (the
// default).
func WriteLocal() WriteLevel { return WriteLevel{} }

// WriteTo waits until n members, this node included, have merged the
// update, for at most timeout. n <= 1 is WriteLocal.
func WriteTo(n int, timeout time.Duration) WriteLevel { return WriteLevel{countLevel(n, timeout)} }

// WriteMajority waits until a majority of the current members (see the
// package comment on levels) have merged the update, for at most timeout.
func WriteMajority(timeout time.Duration) WriteLevel {
	return WriteLevel{level{kind: levelMajority, timeout: timeout}}
}

// WriteAll waits until every current member has merged the update, for at
// most timeout.
func WriteAll(timeout time.Duration) WriteLevel {
	return WriteLevel{level{kind: levelAll, timeout: timeout}}
}

func (w WriteLevel) String() string { return "write " + w.l.String() }

func (w WriteLevel) applyWrite(o *writeOpts) { o.level = w.l }

// ReadLevel says from how many members a Read gathers the key's state, and
// for how long it waits.
type ReadLevel struct{ l level }

// ReadLocal reads the local state only.
func ReadLocal() ReadLevel { return ReadLevel{} }

// ReadFrom merges the state of n members, this node included, waiting at
// most timeout. n <= 1 is ReadLocal.
func ReadFrom(n int, timeout time.Duration) ReadLevel { return ReadLevel{countLevel(n, timeout)} }

// ReadMajority merges the state of a majority of the current members,
// waiting at most timeout.
func ReadMajority(timeout time.Duration) ReadLevel {
	return ReadLevel{level{kind: levelMajority, timeout: timeout}}
}

// ReadAll merges the state of every current member, waiting at most
// timeout.
func ReadAll(timeout time.Duration) ReadLevel {
	return ReadLevel{level{kind: levelAll, timeout: timeout}}
}

func (r ReadLevel) String() string { return "read " + r.l.String() }

// WriteOption adjusts one update: a WriteLevel, or Track.
type WriteOption interface{ applyWrite(*writeOpts) }

type writeOpts struct {
	level   level
	receipt *Receipt
}

type trackOption struct{ r *Receipt }

func (t trackOption) applyWrite(o *writeOpts) { o.receipt = t.r }

// Track makes the update fill *r with a Receipt for Reached. If the update
// changed nothing, *r is the zero Receipt (Reached on it returns at once).
func Track(r *Receipt) WriteOption { return trackOption{r} }

// LevelError reports a write, read or Reached wait that ended before
// enough members answered: its timeout passed or its context ended (Err),
// or too few members could answer. For a write, the update is applied
// locally anyway and keeps spreading by gossip. It matches ErrLevelNotMet
// and Err with errors.Is.
type LevelError struct {
	Op   string // "write", "read" or "reached"
	Key  string
	Got  int   // members that acknowledged, answered or hold it, this node included
	Need int   // members the level needed, this node included
	Err  error // the context's error, or gossip.ErrTooFewPeers
}

func (e *LevelError) Error() string {
	return fmt.Sprintf("node: %s %q: %d of %d members: %v", e.Op, e.Key, e.Got, e.Need, e.Err)
}

// Unwrap returns ErrLevelNotMet and the cause.
func (e *LevelError) Unwrap() []error { return []error{ErrLevelNotMet, e.Err} }

// levelWait runs a gossip call for the level l on behalf of op: it needs
// need-1 peers. It returns the peers that answered and a *LevelError if
// they were too few.
func (n *Node) levelWait(ctx context.Context, op, key string, l level, call func(ctx context.Context, peers int) ([]gossip.Member, error)) ([]gossip.Member, error) {
	members := n.NumMembers()
	need := l.need(members)
	if need <= 1 {
		return nil, nil
	}
	if n.net == nil {
		return nil, &LevelError{Op: op, Key: key, Got: 1, Need: need, Err: gossip.ErrTooFewPeers}
	}
	if l.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.timeout)
		defer cancel()
	}
	got, err := call(ctx, need-1)
	if err != nil {
		if errors.Is(err, gossip.ErrClosed) {
			err = ErrClosed
		}
		return got, &LevelError{Op: op, Key: key, Got: 1 + len(got), Need: need, Err: err}
	}
	return got, nil
}
