package wire

import (
	"bytes"
	"fmt"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
)

// Writer accumulates one encoding. Errors from msgpack writing into a
// bytes.Buffer cannot happen for the basic kinds, so only Value, which
// encodes arbitrary user types, returns one.
type Writer struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

// NewWriter returns a Writer whose maps are encoded with sorted keys, so the
// same value always gives the same bytes (see Value).
func NewWriter() *Writer {
	w := &Writer{}
	w.enc = msgpack.NewEncoder(&w.buf)
	w.enc.SetSortMapKeys(true)
	return w
}

func (w *Writer) Array(n int)         { _ = w.enc.EncodeArrayLen(n) }
func (w *Writer) Uint(v uint64)       { _ = w.enc.EncodeUint(v) }
func (w *Writer) Int(v int64)         { _ = w.enc.EncodeInt(v) }
func (w *Writer) Bool(v bool)         { _ = w.enc.EncodeBool(v) }
func (w *Writer) String(s string)     { _ = w.enc.EncodeString(s) }
func (w *Writer) BytesValue(b []byte) { _ = w.enc.EncodeBytes(b) }

// Raw appends bytes that already hold one encoded value.
func (w *Writer) Raw(b []byte) { w.buf.Write(b) }

// Value encodes an arbitrary value (a user's element, key or value),
// deterministically: if v's type may hold a map, msgpack's output is
// rewritten with every map's entries in canonical order (see Canonical),
// because msgpack sorts the keys of only three map types.
func (w *Writer) Value(v any) error {
	if !mayHoldMap(reflect.TypeOf(v)) {
		return w.enc.Encode(v)
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b, err := Canonical(buf.Bytes())
	if err != nil {
		return fmt.Errorf("wire: canonical form of %T: %w", v, err)
	}
	w.buf.Write(b)
	return nil
}

// Bytes returns the encoding so far. The Writer must not be used after.
func (w *Writer) Bytes() []byte { return w.buf.Bytes() }

// Marshal encodes one user value deterministically (every map's entries in
// canonical order, as Writer.Value).
func Marshal(v any) ([]byte, error) {
	w := NewWriter()
	if err := w.Value(v); err != nil {
		return nil, err
	}
	return w.Bytes(), nil
}
