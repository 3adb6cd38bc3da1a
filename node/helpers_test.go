package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/converge-crdt/converge/crdt"
	"github.com/converge-crdt/converge/internal/wire"
)

// openLocal opens a node without networking and closes it at cleanup.
func openLocal(t testing.TB, cfg Config) *Node {
	t.Helper()
	n, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// maxTag is the tag of the test's custom type.
const maxTag = crdt.FirstUserTag + 7

// maxReg is a custom CRDT: a register holding the largest value written.
// Its encoding is [tag, 1, value], like the built-ins.
type maxReg struct{ v int64 }

func newMaxReg() *maxReg { return &maxReg{} }

// Set raises the register to v and returns the delta.
func (m *maxReg) Set(v int64) (*maxReg, error) {
	if v < 0 {
		return nil, fmt.Errorf("negative %d", v)
	}
	m.v = max(m.v, v)
	return &maxReg{v: v}, nil
}

func (m *maxReg) Merge(o *maxReg)      { m.v = max(m.v, o.v) }
func (m *maxReg) Clone() *maxReg       { return &maxReg{v: m.v} }
func (m *maxReg) Equal(o *maxReg) bool { return m.v == o.v }
func (m *maxReg) MarshalBinary() ([]byte, error) {
	w := wire.NewWriter()
	w.Array(3)
	w.Uint(uint64(maxTag))
	w.Uint(1)
	w.Int(m.v)
	return w.Bytes(), nil
}

func (m *maxReg) UnmarshalBinary(b []byte) error {
	r := wire.NewReader(b)
	if err := r.ExpectArray("maxReg", 3); err != nil {
		return err
	}
	if tag, err := r.Uint("tag"); err != nil || tag != uint64(maxTag) {
		return fmt.Errorf("maxReg: tag %d, %v", tag, err)
	}
	if v, err := r.Uint("version"); err != nil || v != 1 {
		return fmt.Errorf("maxReg: version %d, %v", v, err)
	}
	v, err := r.Int("value")
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("maxReg: negative value %d", v)
	}
	m.v = v
	return r.Done()
}

// fakeClock is a settable wall clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }
