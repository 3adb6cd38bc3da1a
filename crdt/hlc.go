package crdt

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/converge-crdt/converge/internal/wire"
)

// HLC is a hybrid logical clock timestamp (Kulkarni et al., "Logical
// Physical Clocks", OPODIS 2014): a wall-clock reading in nanoseconds since
// the Unix epoch plus a logical counter that orders events sharing one wall
// reading. Timestamps order by Wall, then Logical (see Compare). They order
// events but do not name them: two replicas can issue the same HLC, so a
// type that needs a total order (LWWMap) breaks ties by replica ID.
//
// Wall is never negative in a timestamp issued by Clock or accepted by the
// decoder. The zero HLC is below every timestamp a Clock issues.
type HLC struct {
	Wall    int64  // nanoseconds since 1970-01-01 UTC; never negative
	Logical uint32 // orders events within one Wall value
}

// Compare returns -1, 0 or +1 as h is before, equal to or after o.
func (h HLC) Compare(o HLC) int {
	if c := cmp.Compare(h.Wall, o.Wall); c != 0 {
		return c
	}
	return cmp.Compare(h.Logical, o.Logical)
}

// IsZero reports whether h is the zero timestamp.
func (h HLC) IsZero() bool { return h == HLC{} }

// String formats h as an RFC 3339 UTC time with nanoseconds followed by
// "+logical", for example "2026-11-27T10:25:19.5Z+3". The output depends
// only on h.
func (h HLC) String() string {
	return time.Unix(0, h.Wall).UTC().Format(time.RFC3339Nano) + "+" + strconv.FormatUint(uint64(h.Logical), 10)
}

// encode writes h as the 2-element array [wall, logical], both as msgpack
// integers in their shortest form. Types that embed a timestamp write it as
// one field this way.
func (h HLC) encode(w *wire.Writer) {
	w.Array(2)
	w.Int(h.Wall)
	w.Uint(uint64(h.Logical))
}

// decodeHLC reads what encode wrote. It rejects a negative wall time and a
// logical counter that does not fit in 32 bits. The zero HLC is accepted;
// a type that forbids it checks IsZero itself.
func decodeHLC(r *wire.Reader) (HLC, error) {
	if err := r.ExpectArray("hlc", 2); err != nil {
		return HLC{}, err
	}
	start := r.Offset()
	wall, err := r.Int("hlc wall")
	if err != nil {
		return HLC{}, err
	}
	if wall < 0 {
		return HLC{}, fmt.Errorf("%w: hlc wall time %d is negative (offset %d)", ErrInvalid, wall, start)
	}
	start = r.Offset()
	logical, err := r.Uint("hlc logical")
	if err != nil {
		return HLC{}, err
	}
	if logical > math.MaxUint32 {
		return HLC{}, fmt.Errorf("%w: hlc logical counter %d above %d (offset %d)", ErrInvalid, logical, uint32(math.MaxUint32), start)
	}
	return HLC{Wall: wall, Logical: uint32(logical)}, nil
}

// DefaultMaxSkew is the skew Clock.Observe tolerates when Clock.MaxSkew is
// zero. Hosts kept by NTP agree within milliseconds; a minute tolerates a
// badly kept clock while still refusing a peer whose timestamps would
// otherwise win every last-writer-wins race for hours or years.
const DefaultMaxSkew = time.Minute

// Clock issues hybrid logical clock timestamps. It is a pure value: the
// caller passes the wall time (nanoseconds since the Unix epoch, typically
// time.Now().UnixNano()) to every call, and the clock keeps only the last
// timestamp it issued or observed. Timestamps from one Clock strictly
// increase, whatever the wall times passed in do (a wall clock that steps
// back makes the logical counter advance instead).
//
// The zero value is ready to use, with DefaultMaxSkew. A Clock is not safe
// for concurrent use; its owner serialises calls.
type Clock struct {
	// MaxSkew is how far ahead of the local wall time a remote timestamp may
	// be for Observe to accept it. Zero or negative means DefaultMaxSkew.
	MaxSkew time.Duration

	// ObserveSkew, if positive, caps how far ahead of the local wall time
	// an observed timestamp moves the clock: Observe accepts a remote
	// timestamp up to MaxSkew ahead, but advances the clock to at most
	// wall+ObserveSkew. Without the cap one peer can hold the clock, and
	// every timestamp it issues, at MaxSkew ahead, where an honest peer
	// whose clock is a little behind refuses them (issue 9, finding 11).
	// Zero means no cap: the clock follows every timestamp it accepts.
	// Keep it well below MaxSkew; a write that must order after a
	// particular remote stamp uses NowAfter.
	ObserveSkew time.Duration

	last HLC // the largest timestamp issued or observed; zero at first
}

// Last returns the largest timestamp the clock has issued or observed.
func (c *Clock) Last() HLC { return c.last }

func (c *Clock) maxSkew() time.Duration {
	if c.MaxSkew <= 0 {
		return DefaultMaxSkew
	}
	return c.MaxSkew
}

// Now returns a timestamp for a local event at wall time wall: (wall, 0) if
// wall is past the last timestamp, otherwise the last timestamp with its
// logical counter advanced. A negative wall is treated as 0.
func (c *Clock) Now(wall int64) HLC {
	wall = max(wall, 0)
	if wall > c.last.Wall {
		c.last = HLC{Wall: wall}
	} else {
		c.last = bump(c.last.Wall, c.last.Logical)
	}
	return c.last
}

// Observe merges a timestamp received from a peer at local wall time wall
// and returns a timestamp for the receive event, later than both the
// remote timestamp and every timestamp the clock issued before. It refuses
// a remote timestamp more than MaxSkew ahead of wall with an error wrapping
// ErrClockSkew, and then leaves the clock unchanged: accepting it would drag
// every later local timestamp into the future. With ObserveSkew set, a
// remote timestamp more than ObserveSkew ahead is accepted but observed as
// wall+ObserveSkew, so the result is then below remote. A negative wall is
// treated as 0.
func (c *Clock) Observe(remote HLC, wall int64) (HLC, error) {
	wall = max(wall, 0)
	if err := c.checkSkew(remote, wall); err != nil {
		return c.last, err
	}
	if c.ObserveSkew > 0 {
		if limit := (HLC{Wall: wall + int64(c.ObserveSkew)}); remote.Compare(limit) > 0 && limit.Wall >= wall {
			remote = limit
		}
	}
	w := max(c.last.Wall, remote.Wall, wall)
	switch {
	case w == c.last.Wall && w == remote.Wall:
		c.last = bump(w, max(c.last.Logical, remote.Logical))
	case w == c.last.Wall:
		c.last = bump(w, c.last.Logical)
	case w == remote.Wall:
		c.last = bump(w, remote.Logical)
	default:
		c.last = HLC{Wall: w}
	}
	return c.last, nil
}

// checkSkew refuses remote if it is more than MaxSkew ahead of wall (>= 0).
func (c *Clock) checkSkew(remote HLC, wall int64) error {
	// wall >= 0, so remote.Wall-wall cannot overflow.
	if ahead := remote.Wall - wall; ahead > int64(c.maxSkew()) {
		return fmt.Errorf("%w: remote %v is %v ahead of local wall time %v, limit %v",
			ErrClockSkew, remote, time.Duration(ahead), HLC{Wall: wall}, c.maxSkew())
	}
	return nil
}

// NowAfter returns a timestamp for a local event that must order after
// prior, the stamp of the write it replaces: Now(wall) after observing
// prior, or, if prior is further ahead than ObserveSkew lets the clock
// follow, the timestamp right after prior. That stamp is not kept by the
// clock, so a peer's far-ahead stamp on one key moves only the writes that
// replace it, not every later timestamp. Like Observe it refuses prior more
// than MaxSkew ahead of wall (ErrClockSkew), leaving the clock unchanged.
func (c *Clock) NowAfter(prior HLC, wall int64) (HLC, error) {
	wall = max(wall, 0)
	if _, err := c.Observe(prior, wall); err != nil {
		return HLC{}, err
	}
	ts := c.Now(wall)
	if ts.Compare(prior) <= 0 {
		ts = bump(prior.Wall, prior.Logical)
	}
	return ts, nil
}

// bump returns the timestamp right after (wall, logical). When the logical
// counter is exhausted (2^32 events within one nanosecond of wall time,
// which only a hostile peer can cause, and Observe bounds how far ahead it
// can push Wall) the carry moves into Wall so timestamps keep increasing.
func bump(wall int64, logical uint32) HLC {
	if logical == math.MaxUint32 && wall < math.MaxInt64 {
		return HLC{Wall: wall + 1}
	}
	if logical == math.MaxUint32 {
		return HLC{Wall: wall, Logical: logical} // year 2262: saturate
	}
	return HLC{Wall: wall, Logical: logical + 1}
}
